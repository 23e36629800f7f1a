"""The reformulation assets on the AQuA and SAT-math samples, rule path (no LLM) and with a scripted LLM."""

import polars as pl
import pytest
from dagster import AssetSelection, materialize

from assets import bigmath, bigmath_reformulated as BR
from assets.resources import foundry_resources
from pipelines.bigmath import signals
from pipelines.bigmath.normalize import normalize_source
from pipelines.bigmath.reformulate import AnswerPair, check_pair, option_math_value, option_residue
from pipelines.bigmath.schema import REJECTED_SCHEMA
from pipelines.bigmath.sources import load_source
from pipelines.config import REPO_ROOT, get_profile
from pipelines.core.io import atomic_write_parquet, write_partitioned_parquet
from tests.assets.lossy_io import lossy
from tests.pipelines.llm.server import ScriptedServer, first_user, loopback_only, valid  # noqa: F401


@pytest.fixture(autouse=True)
def _loopback(loopback_only):
    yield


def _mc_rows() -> pl.DataFrame:
    frames = []
    for spec in get_profile("sample").bigmath.sources:
        if spec.name in ("aqua", "sat_math"):
            frames.append(normalize_source(load_source(spec, REPO_ROOT))[0])
    rows = pl.concat(frames)
    return rows.with_columns(pl.lit("multiple_choice").alias("reason"), pl.lit("multiple_choice").alias("step"),
                             pl.lit(None, dtype=pl.Utf8).alias("detail")).select(list(REJECTED_SCHEMA))


def _resources(tmp_path, lose_from: str) -> dict:
    resources = foundry_resources(data_root=tmp_path)
    return {**resources, "io_manager": lossy(resources["io_manager"], lose_from)}


def _run(tmp_path, rejected: pl.DataFrame, lose_from: str = ""):
    base = tmp_path / "assets"
    kept = _mc_rows().tail(2).drop("reason", "step", "detail").with_columns(
        pl.lit("math500").alias("source"), pl.Series("problem_id", ["k" * 16, "j" * 16]))
    atomic_write_parquet(rejected, base / "bigmath_rejected.parquet")
    write_partitioned_parquet(kept, base / "bigmath_kept", "source")
    return materialize(
        [bigmath.bigmath_sources, bigmath.bigmath_funnel, BR.bigmath_reformulation, BR.bigmath_publish,
         BR.bigmath_reformulated_conservation],
        selection=AssetSelection.assets(BR.REFORMULATED, BR.REFORMULATION_REJECTED, BR.REFORMULATION_FUNNEL,
                                        BR.PUBLISHED) | AssetSelection.checks(BR.bigmath_reformulated_conservation),
        raise_on_error=False,
        resources=_resources(tmp_path, lose_from),  # tables under tmp_path/assets, as `base`
    ), base


def _meta(result, key):
    mats = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return mats[0].step_materialization_data.materialization.metadata


def test_rule_path_on_aqua_and_sat_math(tmp_path, monkeypatch):
    monkeypatch.setenv("FOUNDRY_VERIFY_WORKERS", "2")
    rejected = _mc_rows()
    assert rejected.height == 286
    result, base = _run(tmp_path, rejected)
    assert result.success
    out = pl.read_parquet(base / "bigmath_reformulated.parquet")
    rej = pl.read_parquet(base / "bigmath_reformulation_rejected.parquet")
    assert out.height + rej.height == 286 and out.height > 150  # most AQuA stems stand alone
    assert set(out["method"]) == {"rule"}
    # zero option residue, and every answer equals the correct option's value under math-verify
    assert not any(option_residue(p) or signals.is_multiple_choice(p) for p in out["problem"])
    by_id = {r["problem_id"]: r for r in rejected.to_dicts()}
    for row in out.to_dicts()[:40]:  # a worker-free spot check of the asset's own verification
        original = by_id[row["original_problem_id"]]
        expected = option_math_value(original["answer"], original["problem"]).value
        assert check_pair(AnswerPair(row["answer"], expected)).agrees
    meta = _meta(result, BR.REFORMULATED)
    assert meta["accepted_share"].value == pytest.approx(out.height / 286, abs=1e-3)
    reasons = meta["rejected_by_reason"].value
    assert sum(reasons.values()) == rej.height and "stem_refers_to_options" in reasons
    assert meta["llm_path"].value.startswith("skipped: no LLM configured")
    assert "FOUNDRY_LLM_BASE_URL" in meta["llm_path"].value
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {BR.CHECK_ACCOUNTED: True, BR.CHECK_RESIDUE: True, BR.CHECK_PROVENANCE: True,
                      BR.CHECK_ANSWERS: True, BR.CHECK_UNIQUE: True, BR.CHECK_ON_DISK: True}
    funnel = pl.read_parquet(base / "bigmath_reformulated_funnel.parquet")
    assert funnel["rows_in"][0] == 286 and funnel["rows_kept"][-1] == out.height
    assert int(funnel["count"].sum()) == rej.height
    assert set(rej["step"]) <= set(funnel["step"]) and "reformulate" not in set(rej["step"])
    published = pl.read_parquet(base / "bigmath_published", hive_partitioning=True)
    assert published.height == out.height + 2
    assert set(published.filter(pl.col("method") == "rule")["source"]) <= {"aqua_reformulated", "sat_math_reformulated"}


def test_llm_path_in_the_asset_records_model_and_stats(tmp_path, monkeypatch):
    def respond(body, n):
        text = first_user(body)
        if "Extract the key information" in text:
            return valid({"givens": ["x"], "asked": "the value"})
        if "Rewrite this multiple-choice" in text:
            return valid({"problem": "What is the value of 3 + 4?", "answer": "7"})
        if "Judge the rewrite" in text:
            return valid({"verdict": "PASS", "reasons": []})
        return valid({"final_answer": "7", "well_posed": True})

    rows = _mc_rows().head(1).with_columns(pl.lit("Which of the following is the value of 3 + 4?").alias("problem"),
                                           pl.Series("options", [["A)6", "B)7"]]), pl.lit("7").alias("answer"),
                                           pl.lit("B").alias("answer_letter"))
    with ScriptedServer(respond) as server:
        monkeypatch.setenv("FOUNDRY_LLM_BASE_URL", server.url)
        monkeypatch.setenv("FOUNDRY_LLM_MODEL", "scripted-model")
        monkeypatch.setenv("FOUNDRY_LLM_API_KEY", "sk-never-shown")
        result, base = _run(tmp_path, rows)
    assert result.success
    out = pl.read_parquet(base / "bigmath_reformulated.parquet")
    assert out.select("method", "model", "answer").rows() == [("llm", "scripted-model", "7")]
    meta = _meta(result, BR.REFORMULATED)
    assert meta["llm_path"].value == "used" and meta["llm_stats"].value["calls"] == 4
    assert "sk-never-shown" not in str({k: v.value for k, v in meta.items()})
    assert (tmp_path / "llm_cache.sqlite").exists()


def test_a_row_lost_on_write_blocks_the_published_set(tmp_path, monkeypatch):
    """The reformulated file ends one row short of what the step kept: the reformulated + rejected files no longer
    add up to the multiple-choice rows read, the blocking on-disk check fails and nothing is published."""
    monkeypatch.setenv("FOUNDRY_VERIFY_WORKERS", "1")
    result, base = _run(tmp_path, _mc_rows().head(40), lose_from="bigmath_reformulated")
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks[BR.CHECK_ACCOUNTED].passed is True  # the frames in memory add up
    assert checks[BR.CHECK_ON_DISK].passed is False
    assert "but 40 were read" in checks[BR.CHECK_ON_DISK].metadata["problems"].value
    assert not result.success
    assert not (base / "bigmath_published").exists()
