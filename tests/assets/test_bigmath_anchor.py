"""bigmath_rollouts and bigmath_annotated on published sample rows: without an LLM, and with the scripted one."""

import polars as pl
import pytest
from dagster import AssetSelection, materialize

from assets import bigmath, bigmath_anchor as A, bigmath_reformulated as BR
from assets.resources import foundry_resources
from pipelines.bigmath import domain as D
from pipelines.bigmath.normalize import normalize_source
from pipelines.bigmath.sources import load_source
from pipelines.config import REPO_ROOT, get_profile
from pipelines.core.io import write_partitioned_parquet
from tests.pipelines.llm.server import Reply, ScriptedServer, last_user, loopback_only, valid  # noqa: F401


@pytest.fixture(autouse=True)
def _loopback(loopback_only):  # noqa: F811 - also clears every FOUNDRY_LLM_* variable
    yield


def _published() -> pl.DataFrame:
    spec = next(s for s in get_profile("sample").bigmath.sources if s.name == "gsm8k")
    rows = normalize_source(load_source(spec, REPO_ROOT))[0].head(12)
    return rows.with_columns(pl.lit("filtered").alias("method"))


def _run(tmp_path, published: pl.DataFrame):
    base = tmp_path / "assets"
    write_partitioned_parquet(published, base / "bigmath_published", "source")
    result = materialize(
        [bigmath.bigmath_sources, bigmath.bigmath_funnel, BR.bigmath_reformulation, BR.bigmath_publish,
         A.bigmath_rollouts, A.bigmath_annotate],
        selection=AssetSelection.assets(A.ROLLOUTS, A.ANNOTATED),
        resources=foundry_resources(data_root=tmp_path),  # tables under tmp_path/assets, as `base`
    )
    annotated = pl.read_parquet(base / "bigmath_annotated", hive_partitioning=True)
    rollouts = pl.read_parquet(base / "bigmath_rollouts.parquet")
    return result, annotated, rollouts


def _meta(result, key):
    mats = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return mats[0].step_materialization_data.materialization.metadata


def test_without_llm_domain_by_rules_and_solve_rate_null_with_reason(tmp_path):
    published = _published()
    result, annotated, rollouts = _run(tmp_path, published)
    assert result.success
    assert annotated.height == published.height and rollouts.height == 0
    assert annotated["domain"].list.len().to_list() == [1] * published.height
    assert set(annotated["domain_method"]) == {"rule"}
    assert annotated["solve_rate"].null_count() == annotated["solve_k"].null_count() == published.height
    why = _meta(result, A.ANNOTATED)["solve_rate"].value["why_null"]
    assert "no LLM configured" in why and "FOUNDRY_LLM_BASE_URL" in why
    assert "no LLM configured" in _meta(result, A.ROLLOUTS)["solve_rate_sampling"].value["skipped"]
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {A.CHECK_ROLLOUTS: True, A.CHECK_UNIQUE: True, A.CHECK_DOMAIN: True}


def test_with_scripted_llm_k_samples_verified_and_recorded(tmp_path, monkeypatch):
    published = _published()
    gold = dict(zip(published["problem"], published["answer"]))

    def respond(body, n):
        system = body["messages"][0]["content"]
        if "classify" in system:
            return valid({"domain": D.WORD_PROBLEMS})
        answer = gold[last_user(body)]
        return Reply(f"Working... \\boxed{{{answer if body['seed'] == 0 else answer + '1'}}}")

    with ScriptedServer(respond) as server:
        monkeypatch.setenv("FOUNDRY_LLM_BASE_URL", server.url)
        monkeypatch.setenv("FOUNDRY_LLM_MODEL", "scripted-solver")
        monkeypatch.setenv("FOUNDRY_SOLVE_K", "2")
        result, annotated, rollouts = _run(tmp_path, published)
    assert result.success
    assert rollouts.height == 2 * published.height
    assert set(annotated["solve_rate"]) == {0.5}  # sample 0 right, sample 1 wrong, on every problem
    assert set(annotated["solve_k"]) == {2} and set(annotated["solve_model"]) == {"scripted-solver"}
    assert set(annotated["solve_prompt_hash"]) == set(rollouts["prompt_hash"])
    assert set(annotated["domain_method"]) == {"llm"} and set(annotated["domain"].list.first()) == {D.WORD_PROBLEMS}
    meta = _meta(result, A.ROLLOUTS)["solve_rate_sampling"].value
    assert meta["k"] == 2 and meta["model"] == "scripted-solver" and meta["prompt"].startswith("bigmath/solve@1/")
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert all(checks.values()) and len(checks) == 3
