"""Materialize the Countdown family at a tiny size into a temp data root."""

import duckdb
import polars as pl
import pytest
from dagster import AssetSelection, DagsterInstance, materialize

import assets.countdown as cd
from assets.resources import foundry_resources
from tests.assets.lossy_io import lossy_resources
from pipelines.countdown import config as cd_config
from pipelines.countdown.priming import PRIMING_SETS

TINY = cd_config.CountdownConfig(n_problems=160, traces_per_strategy=6, node_budget=150, mcts_iterations=60,
                                 priming_rows=5)
ALL_ASSETS = [cd.countdown_problems, cd.countdown_search_traces, cd.countdown_priming_sets, cd.gx_countdown_problems,
              cd.countdown_problems_conservation, cd.countdown_priming_conservation]


def materialize_family(root, instance, assets=ALL_ASSETS, raise_on_error=True, resources=None):
    """The unpartitioned tables, then every partition of the partitioned ones (what `make run` does)."""
    from dagster import AssetSelection

    resources = resources or foundry_resources("sample", root)
    results = [materialize(assets, selection=AssetSelection.assets(cd.PROBLEMS, cd.REJECTED, cd.FUNNEL),
                           resources=resources, instance=instance, raise_on_error=raise_on_error)]
    for a in assets[1:]:
        if getattr(a, "partitions_def", None) is None:
            continue
        for key in a.partitions_def.get_partition_keys():
            results.append(materialize(assets, selection=AssetSelection.assets(*a.keys), partition_key=key,
                                       resources=resources, instance=instance, raise_on_error=raise_on_error))
    return results



@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(cd_config.CONFIG_BY_PROFILE, "sample", TINY)


def test_materialize_countdown_family(tmp_path, tiny):
    root = tmp_path / "data"
    with DagsterInstance.ephemeral() as instance:
        results = materialize_family(root, instance)
    assert all(r.success for r in results)
    checks = {}
    for r in results:
        for e in r.get_asset_check_evaluations():
            checks[e.check_name] = checks.get(e.check_name, True) and e.passed
    assert checks == {name: True for name in (
        cd.CHECK_CONSERVATION, cd.CHECK_UNIQUE_ID, cd.CHECK_SOLUTIONS, cd.CHECK_HELDOUT, cd.CHECK_TRACE_SOLUTIONS,
        cd.CHECK_STRATEGIES, cd.CHECK_SET_RULES, cd.CHECK_ANSWERS, cd.CHECK_REPEATS, cd.CHECK_DETECTOR,
        cd.CHECK_GX_PROBLEMS, cd.CHECK_GX_TRACES, cd.CHECK_GX_PRIMING, cd.CHECK_ON_DISK)}

    mats = {(m.asset_key.to_user_string(), m.partition): m.materialization.metadata
            for r in results for m in r.get_asset_materialization_events()}
    assert mats[("countdown_problems", None)]["dagster/row_count"].value > 100
    assert "problem_id" in mats[("countdown_problems", None)]["preview"].value
    assert mats[("countdown_priming_sets", "all_strategies")]["detector_agreement"].value["overall"] == 1.0
    assert "all_strategies" in mats[("countdown_priming_sets", "all_strategies")]["per_set"].value
    assert 0.0 <= mats[("countdown_search_traces", "mcts")]["solve_rate"].value <= 1.0
    schema = mats[("countdown_problems", None)]["dagster/column_schema"].value
    assert "problem_id" in [c.name for c in schema.columns]
    assert mats[("countdown_search_traces", "mcts")]["dagster/table_name"].value == "countdown_search_traces"
    assert (root / "assets" / "countdown_search_traces" / "strategy=mcts" / "part-0.parquet").exists()
    assert (root / "assets" / "countdown_priming_sets" / "set_name=wrong_answer" / "part-0.parquet").exists()

    con = duckdb.connect(str(root / "foundry.duckdb"), read_only=True)
    try:
        per_set = dict(con.execute("SELECT set_name, count(*) FROM countdown_priming_sets GROUP BY 1").fetchall())
        strategies = con.execute("SELECT count(DISTINCT strategy) FROM countdown_search_traces").fetchone()[0]
        only_bt_verif = con.execute("SELECT max(n_verification) FROM countdown_priming_sets "
                                    "WHERE set_name = 'only_backtracking'").fetchone()[0]
    finally:
        con.close()
    assert per_set == {s: TINY.priming_rows for s in PRIMING_SETS}
    assert strategies == len(cd_config.STRATEGIES)
    assert only_bt_verif == 0


def test_same_config_writes_same_bytes(tmp_path, tiny):
    outs = []
    for run in ("a", "b"):
        root = tmp_path / run
        with DagsterInstance.ephemeral() as instance:
            assert all(r.success for r in materialize_family(root, instance, [cd.countdown_problems,
                                                                               cd.countdown_priming_sets]))
        outs.append([(root / "assets" / "countdown_problems.parquet").read_bytes(),
                     (root / "assets" / "countdown_priming_sets" / "set_name=all_strategies" / "part-0.parquet").read_bytes()])
    assert outs[0] == outs[1]


def test_blocking_check_fails_when_a_wrong_answer_row_scores(tmp_path, tiny, monkeypatch):
    """If the wrong_answer control ever carried a correct answer, the blocking answers check fails."""
    real = cd.build_priming

    def leaky(problems, cfg, sets, count_sets):
        rows, rejected, funnel = real(problems, cfg, sets=tuple(sets) + ("all_strategies",), count_sets=count_sets)
        good = rows.filter(pl.col("set_name") == "all_strategies").head(1).with_columns(
            pl.lit("wrong_answer").alias("set_name"), pl.lit("leaked").alias("row_id"))
        return pl.concat([rows, good]), rejected, funnel

    monkeypatch.setattr(cd, "build_priming", leaky)
    root = tmp_path / "data"
    with DagsterInstance.ephemeral() as instance:
        results = materialize_family(root, instance, [cd.countdown_problems, cd.countdown_priming_sets],
                                     raise_on_error=False)
    answers = {r.dagster_run.tags.get("dagster/partition"): e.passed for r in results
               for e in r.get_asset_check_evaluations() if e.check_name == cd.CHECK_ANSWERS}
    assert answers["all_strategies"] is True  # only the partition with the leaked row fails
    checks = {cd.CHECK_ANSWERS: answers["wrong_answer"]}
    assert checks[cd.CHECK_ANSWERS] is False


def _checks(results) -> dict:
    out: dict = {}
    for r in results:
        for e in r.get_asset_check_evaluations():
            key = (e.asset_key.to_user_string(), e.check_name)
            out[key] = out.get(key, True) and e.passed
    return out


def test_a_problem_row_lost_on_write_blocks_the_family(tmp_path, tiny):
    """The problems file ends one row short of what the step kept: the kept + rejected files no longer add up
    to the candidates read, the blocking on-disk check fails and the priming sets are not built."""
    with DagsterInstance.ephemeral() as instance:
        results = materialize_family(tmp_path / "d", instance, [cd.countdown_problems, cd.countdown_priming_sets,
                                                                cd.countdown_problems_conservation],
                                     raise_on_error=False, resources=lossy_resources(tmp_path / "d", "countdown_problems"))
    checks = _checks(results[:1])
    assert checks[("countdown_problems", cd.CHECK_CONSERVATION)] is True  # the frames in memory add up
    assert checks[("countdown_problems", cd.CHECK_ON_DISK)] is False
    assert not results[0].success


def test_a_priming_row_lost_on_write_fails_the_check(tmp_path, tiny):
    with DagsterInstance.ephemeral() as instance:
        results = materialize_family(tmp_path / "d", instance, [cd.countdown_problems, cd.countdown_priming_sets,
                                                                cd.countdown_problems_conservation,
                                                                cd.countdown_priming_conservation],
                                     raise_on_error=False,
                                     resources=lossy_resources(tmp_path / "d", "countdown_priming_rejected"))
    checks = _checks(results)
    assert checks[("countdown_problems", cd.CHECK_ON_DISK)] is True
    assert checks[("countdown_priming_sets", cd.CHECK_ON_DISK)] is False
    assert not all(r.success for r in results)


def test_a_file_changed_after_writing_fails_the_check(tmp_path, tiny):
    """The check reads the files, not the frames the asset held: edit a written file and it fails."""
    root = tmp_path / "d"
    family = [cd.countdown_problems, cd.countdown_problems_conservation]
    with DagsterInstance.ephemeral() as instance:
        assert materialize(family, resources=foundry_resources("sample", root), instance=instance).success
        path = root / "assets" / "countdown_problems.parquet"
        pl.read_parquet(path).head(1).write_parquet(path)
        again = materialize(family, selection=AssetSelection.checks(cd.countdown_problems_conservation),
                            resources=foundry_resources("sample", root), instance=instance, raise_on_error=False)
    assert again.get_asset_materialization_events() == []
    evaluation = [e for e in again.get_asset_check_evaluations() if e.check_name == cd.CHECK_ON_DISK][0]
    assert evaluation.passed is False
    assert "rows on disk, but" in evaluation.metadata["problems"].value


def test_one_table_materialized_alone_warns_instead_of_blocking(tmp_path, tiny):
    """Before the rest of the family is written there is nothing to compare: the check warns, naming the file."""
    root = tmp_path / "d"
    family = [cd.countdown_problems, cd.countdown_problems_conservation]
    with DagsterInstance.ephemeral() as instance:
        assert materialize(family, resources=foundry_resources("sample", root), instance=instance).success
        (root / "assets" / "countdown_rejected.parquet").unlink()
        again = materialize(family, selection=AssetSelection.checks(cd.countdown_problems_conservation),
                            resources=foundry_resources("sample", root), instance=instance, raise_on_error=False)
    (evaluation,) = again.get_asset_check_evaluations()
    assert evaluation.passed is False and evaluation.severity.value == "WARN"
    assert "countdown_rejected" in evaluation.metadata["problems"].value
