import numpy as np
import polars as pl

from pipelines.core.steps import check_funnel_conservation
from pipelines.episodes import reasons
from pipelines.episodes.checks import compute_stats, dataset_checks
from pipelines.episodes.convert import standardize
from pipelines.episodes.schema import Episode, Quarantined


def _ep(sid, t=4, obs_dim=3, low=-1.0, high=1.0, act=0.5, source="s"):
    return Episode(source=source, source_format="minari", source_id=sid, obs_state=np.ones((t + 1, obs_dim)),
                   actions=np.full((t, 2), act), rewards=np.ones(t), terminated=False, truncated=True,
                   action_low=np.array([low, low]), action_high=np.array([high, high]))


def _by_name(outcomes):
    return {o.name: o for o in outcomes}


def test_standardize_quarantines_each_rule_and_conserves_rows():
    nan = _ep("nan")
    nan.rewards[1] = np.inf
    items = [_ep("a"), _ep("b"), _ep("a"), nan, _ep("wide", obs_dim=5), _ep("out", act=3.0),
             Quarantined("s", "minari", "gone", reasons.UNREADABLE, "boom")]
    res = standardize(items)
    got = dict(zip(res.quarantine.get_column("source_id"), res.quarantine.get_column("reason")))
    assert got == {"a": reasons.DUPLICATE_EPISODE, "nan": reasons.NON_FINITE, "wide": reasons.OBS_SHAPE_INCONSISTENT,
                   "out": reasons.ACTION_OUT_OF_SPACE, "gone": reasons.UNREADABLE}
    assert res.episodes.get_column("source_id").to_list() == ["a", "b"]
    funnel = res.funnel_frame
    assert check_funnel_conservation(funnel) == []
    assert funnel.filter(pl.col("step") == "read").get_column("rows_in")[0] == len(items)
    assert res.episodes.height + res.quarantine.height == len(items)
    # the row contract: a laid-out episode keeps its input columns; an unreadable item has them null
    by_id = {r["source_id"]: r for r in res.quarantine.iter_rows(named=True)}
    assert set(res.episodes.columns) <= set(res.quarantine.columns)
    assert by_id["out"]["length"] == 4 and by_id["out"]["step"] and by_id["gone"]["length"] is None


def test_dataset_checks_pass_on_clean_data_and_fail_on_tampering():
    res = standardize([_ep("a"), _ep("b", t=6)])
    clean = _by_name(dataset_checks(res.episodes, res.steps, res.stats))
    assert all(o.passed for o in clean.values()), [o.line() for o in clean.values() if not o.passed]
    steps = res.steps.with_columns(
        pl.when(pl.col("step_index") == 2).then(True).otherwise(pl.col("is_first")).alias("is_first"))
    assert not _by_name(dataset_checks(res.episodes, steps))["flags"].passed
    episodes = res.episodes.with_columns(pl.col("return") + 1)
    assert not _by_name(dataset_checks(episodes, res.steps))["returns_match"].passed
    episodes = res.episodes.with_columns(pl.lit(res.episodes["episode_id"][0]).alias("episode_id"))
    assert not _by_name(dataset_checks(episodes, res.steps))["unique_episode_ids"].passed
    episodes = res.episodes.with_columns(pl.col("length") + 1)
    assert not _by_name(dataset_checks(episodes, res.steps))["lengths_match"].passed
    episodes = res.episodes.with_columns(pl.col("action_high").list.eval(pl.element() * 0.1))
    assert not _by_name(dataset_checks(episodes, res.steps))["actions_in_space"].passed
    stale = {"s": {**res.stats["s"], "reward": {**res.stats["s"]["reward"], "mean": [9.0]}}}
    assert not _by_name(dataset_checks(res.episodes, res.steps, stale))["stats_match"].passed


def test_stats_have_quantiles_per_source():
    res = standardize([_ep("a"), _ep("x", source="t", obs_dim=2)])
    stats = compute_stats(res.episodes, res.steps)
    assert set(stats) == {"s", "t"}
    assert set(stats["s"]["action"]) >= {"mean", "std", "q01", "q10", "q50", "q90", "q99", "count"}
    assert len(stats["t"]["observation_state"]["mean"]) == 2
    assert stats["s"]["episode_return"]["mean"] == [4.0]
