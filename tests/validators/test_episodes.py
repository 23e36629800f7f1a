import numpy as np
import polars as pl

from pipelines.episodes.convert import standardize
from pipelines.episodes.schema import Episode
from validators import episodes as rules
from validators.gx import validate_frame


def _res(n=3):
    eps = [Episode(source="s", source_format="rlds", source_id=f"f#{i}", obs_state=np.ones((4, 2)), actions=np.zeros((3, 1)),
                   rewards=np.ones(3), terminated=i % 2 == 0, truncated=i % 2 == 1, task=f"t{i}", data_source=f"d{i}")
           for i in range(n)]
    return standardize(eps)


def test_group_reports_each_named_check_and_fails_when_one_fails():
    res = _res()
    outcomes = rules.outcomes(res.episodes, res.steps, res.stats)
    ok, meta = rules.group(outcomes, rules.CONSISTENCY + rules.STATS)
    assert ok and set(meta) == {"lengths_match", "returns_match", "steps_reference_episodes", "stats_match"}
    broken = rules.outcomes(res.episodes.with_columns(pl.col("return") * 2), res.steps, res.stats)
    ok, meta = rules.group(broken, rules.CONSISTENCY)
    assert not ok and meta["returns_match"].startswith("FAIL")


def test_coverage_and_round_trip():
    res = _res(3)
    assert rules.coverage(res.episodes, 3, 3)[0]
    assert not rules.coverage(res.episodes.head(2), 3, 3)[0]
    manifest = pl.DataFrame({"format": ["minari", "lerobot-v3"], "source": ["s", "s"], "round_trip_equal": [True, False]})
    ok, meta = rules.round_trip(manifest)
    assert not ok and meta["failed"] == "lerobot-v3:s"


def test_gx_suites_accept_good_and_reject_bad():
    res = _res()
    frame = res.episodes.drop("action_low", "action_high")
    def exps():  # a GX expectation belongs to one suite, so each run gets fresh ones
        return [e for e in rules.episodes_expectations(["s"]) if type(e).__name__ != "ExpectTableColumnsToMatchSet"]

    assert validate_frame(frame, rules.EPISODES_SUITE, exps())[0]
    bad = frame.with_columns(pl.lit("elsewhere").alias("source"))
    ok, meta = validate_frame(bad, rules.EPISODES_SUITE, exps())
    assert not ok and "source" in meta["failed"]
    q = pl.DataFrame({"reason": ["unreadable", "made_up"], "step": ["read", "read"], "detail": ["x", "y"]})
    assert not validate_frame(q, rules.QUARANTINE_SUITE, rules.quarantine_expectations())[0]
