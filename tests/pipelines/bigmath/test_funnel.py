"""The funnel on the sample profile: the acceptance figures of the Big-Math issue."""

import json

import polars as pl
import pytest

from pipelines.bigmath import reasons as R
from pipelines.bigmath.funnel import FunnelConfig, VerifyConfig, run_funnel, source_breakdown
from pipelines.bigmath.sources import SourceSpec
from pipelines.config import get_profile
from pipelines.core.steps import check_funnel_conservation


@pytest.fixture(scope="module")
def sample_result():
    return run_funnel(get_profile("sample").bigmath)


def test_counts_add_up(sample_result):
    r = sample_result
    assert r.kept.height + r.rejected.height == r.rows_in == sum(r.source_rows_in.values())
    assert check_funnel_conservation(r.funnel_frame) == []
    per_source = source_breakdown(r)
    reason_cols = [c for c in per_source.columns if c not in ("source", "rows_in", "kept")]
    assert (per_source["rows_in"] == per_source["kept"] + per_source.select(reason_cols).sum_horizontal()).all()


def test_acceptance_figures(sample_result):
    by = source_breakdown(sample_result).to_dicts()
    by = {row["source"]: row for row in by}
    assert by["aqua"]["multiple_choice"] == by["aqua"]["rows_in"] == 254
    assert by["sat_math"]["multiple_choice"] >= 30 and by["sat_math"]["kept"] == 0
    assert by["harp_proofs"]["proof"] >= 300 and by["harp_proofs"]["kept"] == 0
    assert by["math500"]["contaminated"] == 100
    contaminated = sample_result.rejected.filter(pl.col("reason") == R.CONTAMINATED)
    assert set(contaminated["source_id"]) == {json.loads(l)["unique_id"] for l in
                                              open(get_profile().bigmath.base_dir + "/data/sample/math/math500_test.jsonl")
                                              .read().splitlines()[:100]}
    # the exact figures of the sample profile: a change here must be a deliberate, reviewed one
    assert {s: row["kept"] for s, row in by.items()} == {
        "gsm8k": 1319, "math500": 359, "aqua": 0, "sat_math": 0, "harp_proofs": 0, "ocw": 256, "mawps": 504}


def test_kept_rows_are_clean_and_unique(sample_result):
    kept = sample_result.kept
    assert kept["problem_id"].n_unique() == kept.height
    assert kept["answer"].null_count() == 0
    assert set(sample_result.rejected["reason"]) <= set(R.ALL)


def test_same_inputs_same_output(sample_result, tmp_path):
    again = run_funnel(get_profile("sample").bigmath)
    assert again.kept.equals(sample_result.kept) and again.rejected.equals(sample_result.rejected)


def test_planted_near_copies_in_another_source_are_contaminated(tmp_path, sample_math):
    items = [json.loads(l) for l in (sample_math / "math500_test.jsonl").read_text().splitlines()[:100]]
    planted = tmp_path / "scraped.jsonl"
    planted.write_text("\n".join(json.dumps({"q": it["problem"].replace("$", " $ ") + " Good luck!", "a": it["answer"]})
                                 for it in items[:20]) + "\n")
    cfg = get_profile("sample").bigmath
    cfg = FunnelConfig(sources=(SourceSpec("scraped", files=(str(planted),), fields={"problem": "q", "answer": "a"}),),
                       eval_sets=cfg.eval_sets, base_dir=cfg.base_dir, verify=VerifyConfig(workers=1))
    r = run_funnel(cfg)
    assert r.rejected.filter(pl.col("reason") == R.CONTAMINATED).height == 20 and r.kept.height == 0


def test_a_saturated_machine_keeps_the_same_rows(sample_result, tmp_path):
    """Issue 10: under CPU load the funnel once rejected plain GSM8K integers as unparseable
    ("timeout after 17s"). Here busy loops saturate every core while the funnel runs, with the fast
    path off so that every answer goes through math-verify's worker pool; kept and rejected rows
    must be byte-identical to the quiet run (which used the fast path). No assertion on time."""
    import os
    import subprocess
    import sys
    from dataclasses import replace

    cfg = get_profile("sample").bigmath
    loaded = replace(cfg, verify=replace(cfg.verify, fast_path=False))
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(4, (os.cpu_count() or 2) + 2))]
    try:
        busy = run_funnel(loaded)
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    assert R.VERIFY_TIMEOUT not in set(busy.rejected["reason"])
    for name, quiet, loud in (("kept", sample_result.kept, busy.kept), ("rejected", sample_result.rejected, busy.rejected)):
        quiet.write_parquet(tmp_path / f"{name}_quiet.parquet")
        loud.write_parquet(tmp_path / f"{name}_busy.parquet")
        assert (tmp_path / f"{name}_quiet.parquet").read_bytes() == (tmp_path / f"{name}_busy.parquet").read_bytes(), name
