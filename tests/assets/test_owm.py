"""OWM assets: one shard partition alone, then the corpora over every shard, the blocking checks, a
conservation break seen by the blocking check, the LLM assets failing fast, and the release."""

from __future__ import annotations

import json

import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, materialize

import assets.owm as owm
from assets.resources import foundry_resources
from tests.pipelines.llm.server import loopback_only  # noqa: F401 - fixture: the LLM test talks to 127.0.0.1 only
from tests.pipelines.owm.conftest import owm_rows  # noqa: F401 - fixture: 60 tiny documents the scripted LLM reads

SHARDS = owm.SHARD_PARTITIONS.get_partition_keys()
CORPORA_CHECKS = (owm.CHECK_BUDGETS, owm.CHECK_SUPPLY, owm.CHECK_DISJOINT, owm.CHECK_MAX_TOKENS, owm.CHECK_SCORED,
                  owm.CHECK_GX_ENRICHED, owm.CHECK_GX_CONTROL)


CORPORA_KEYS = [owm.CORPORA, owm.REJECTED, owm.FUNNEL]


def _read(root, key: str) -> pl.DataFrame:
    path = root / "assets" / key
    if path.is_dir():
        return pl.read_parquet(str(path / "**" / "*.parquet"), hive_partitioning=True)
    return pl.read_parquet(root / "assets" / f"{key}.parquet")


def _materialize_shards(root, instance, shards=SHARDS):
    for shard in shards:
        result = materialize([owm.owm_documents, owm.owm_scores], partition_key=shard,
                             resources=foundry_resources("sample", root), instance=instance)
        assert result.success


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    root = tmp_path_factory.mktemp("owm")
    with DagsterInstance.ephemeral() as instance:
        _materialize_shards(root, instance)
        result = materialize(owm.ALL_ASSETS, selection=CORPORA_KEYS, resources=foundry_resources("sample", root),
                             instance=instance)
    return root, result


def test_one_shard_partition_materializes_alone(tmp_path):
    with DagsterInstance.ephemeral() as instance:
        result = materialize([owm.owm_documents, owm.owm_scores], partition_key="wikitext-00000",
                             resources=foundry_resources("sample", tmp_path), instance=instance)
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {owm.CHECK_SCORES_VERSION: True}
    assert [p.name for p in (tmp_path / "assets" / "owm_scores").iterdir()] == ["shard_key=wikitext-00000"]
    scores = _read(tmp_path, "owm_scores")
    assert scores.height == 1000 and set(scores.get_column("shard")) == {"wikitext-00000.parquet"}
    assert scores.get_column("scorer_version").str.starts_with("lexical-detector@").all()
    meta = result.asset_materializations_for_node("owm_scores")[0].metadata
    assert meta["scorer"].value == "baseline"


def test_corpora_over_every_shard_pass_their_blocking_checks(materialized):
    root, result = materialized
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {**{c: True for c in CORPORA_CHECKS}, owm.CHECK_CONSERVATION: True}
    corpora, rejected = _read(root, "owm_corpora"), _read(root, "owm_rejected")
    documents, quarantine = _read(root, "owm_documents"), _read(root, "owm_quarantine")
    assert corpora.height + rejected.height == documents.height + quarantine.height == 1987
    assert set(corpora.get_column("set")) == {"enriched", "control"}
    assert set(corpora.get_column("split")) == {"train", "test"}
    # the same rows as the CLI's pure build (`foundry owm build`): one selection, two entry points
    from pipelines.owm.config import config_for_profile
    from pipelines.owm.pipeline import build_corpora

    build = build_corpora(config_for_profile("sample"))
    assert sorted(corpora.filter(pl.col("set") == "enriched").get_column("doc_id")) == \
        sorted(build.enriched.get_column("doc_id"))
    meta = result.asset_materializations_for_node("owm_corpora")[0].metadata
    assert 0 < meta["enriched_share"].value < 1 and meta["tokens_enriched"].value > 0


def test_corpora_read_from_the_partition_files_equal_the_one_frame_funnel(materialized):
    """owm_corpora streams the shards' written files twice (a ledger row per document, then the chosen);
    its three tables equal the one-frame funnel over every row read at once."""
    from pipelines.owm.config import config_for_profile
    from pipelines.owm.pipeline import corpora_funnel, rows_read

    root, _ = materialized
    cfg = config_for_profile("sample")
    kept, rejected, funnel, _ = corpora_funnel(rows_read(cfg), cfg)
    assert _read(root, "owm_corpora").equals(kept)
    assert _read(root, "owm_rejected").equals(owm.rejected_table(rejected))
    assert _read(root, "owm_funnel").equals(funnel.to_frame())


def test_breaking_conservation_fails_the_blocking_check(tmp_path):
    """owm_rejected written one row short (tests/assets/lossy_io.py): the check over the written files fails,
    and it blocks: the release reading owm_corpora is not built."""
    from assets.release import RELEASE_ASSETS
    from tests.assets.lossy_io import lossy_resources

    resources = lossy_resources(tmp_path, "owm_rejected")
    with DagsterInstance.ephemeral() as instance:
        _materialize_shards(tmp_path, instance)
        result = materialize([*owm.ALL_ASSETS, RELEASE_ASSETS["owm"]], selection=[*CORPORA_KEYS, AssetKey("release_owm")],
                             resources=resources, instance=instance, raise_on_error=False)
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}[owm.CHECK_CONSERVATION]
    assert not check.passed
    assert "rows on disk, but 1987 were read" in check.metadata["problems"].value
    assert not result.success and not result.asset_materializations_for_node("release_owm")


def test_validators_fail_on_a_document_in_both_sets_and_a_wrong_tokenizer():
    import validators.owm as rules
    from pipelines.owm.config import config_for_profile
    from validators.gx import validate_frame

    row = {"doc_id": "owm-0123456789abcdef", "n_tokens": 5}
    assert rules.check_disjoint(pl.DataFrame([row]), pl.DataFrame([row]))
    cfg = config_for_profile("sample")
    frame = pl.DataFrame({"doc_id": ["owm-0123456789abcdef"], "text": ["x"], "split": ["train"], "n_tokens": [5],
                          "tokenizer": ["llama-3.1"], "scorer_version": ["v"], "set": ["control"],
                          **{c: [0] for c in rules.COUNT_COLUMNS}, **{c: [0.0] for c in rules.SCORE_COLUMNS}})
    ok, meta = validate_frame(frame, "owm_test", rules.corpus_expectations(cfg, "control"))
    assert not ok and "tokenizer" in meta["failed"]


def test_llm_assets_fail_fast_naming_the_llm_resource(materialized, monkeypatch):
    from dagster import Failure

    for name in ("FOUNDRY_LLM_BACKEND", "FOUNDRY_LLM_BASE_URL", "OPENAI_BASE_URL", "FOUNDRY_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    root, _ = materialized
    with DagsterInstance.ephemeral() as instance, pytest.raises(Failure, match="needs the `llm` resource"):
        materialize([*owm.ALL_ASSETS, owm.owm_qa], selection="owm_qa", resources=foundry_resources("sample", root),
                    instance=instance)


def test_default_job_leaves_out_the_llm_assets():
    from assets.definitions import MAIN_JOB, build_definitions

    job = build_definitions("sample").resolve_job_def(MAIN_JOB)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"owm_corpora", "owm_rejected", "owm_funnel"} <= keys
    assert not keys & {"owm_labels", "owm_classifier", "owm_qa"}


def test_release_builds_and_both_corpora_load_with_datasets(materialized, tmp_path):
    import datasets
    from click.testing import CliRunner

    from pipelines.cli import main
    from pipelines.release.manifest import verify_release

    root, _ = materialized
    out = tmp_path / "release"
    run = CliRunner().invoke(main, ["release", "build", "owm", "--version", "1.0.0", "--out", str(out),
                                    "--data-root", str(root)], env={"FOUNDRY_PROFILE": "sample"})
    assert run.exit_code == 0, run.output
    assert verify_release(out).ok
    # the pipeline entry point (no warehouse) builds the same rows: same version, same content hash
    again = CliRunner().invoke(main, ["release", "build", "owm", "--version", "1.0.0", "--out", str(tmp_path / "again"),
                                      "--data-root", str(root), "--from-pipeline"], env={"FOUNDRY_PROFILE": "sample"})
    assert again.exit_code == 0, again.output
    hashes = {json.loads((d / "manifest.json").read_text())["content_hash"] for d in (out, tmp_path / "again")}
    assert len(hashes) == 1
    from pipelines.config import get_profile
    from pipelines.release.registry import REGISTRY
    from validators.release import validate_release

    ok, meta = validate_release(REGISTRY["owm"], get_profile("sample", root), out)
    assert ok, meta["failed"]
    corpora = _read(root, "owm_corpora")
    for name in ("enriched", "control"):
        ds = datasets.load_dataset(str(out), name)
        want = corpora.filter(pl.col("set") == name)
        assert {s: ds[s].num_rows for s in ds} == {s: want.filter(pl.col("split") == s).height for s in ("train", "test")}
        assert set(ds["train"]["set"]) == {name} and ds["train"][0]["scorer_version"].startswith("lexical-detector@")


def test_llm_assets_label_train_and_rewrite_with_the_scripted_server(tmp_path, monkeypatch, loopback_only, owm_rows):
    """annotate -> train (owm_classifier) and the QA rewrite (owm_qa) as assets, against the scripted local
    server of tests/pipelines/owm (spaced/unclosed/unparseable counts, a 500, bad gates and rewrites)."""
    from pipelines.owm.config import OwmConfig
    from tests.pipelines.llm.server import ScriptedServer
    from tests.pipelines.owm.conftest import write_parquet
    from tests.pipelines.owm.test_llm_end_to_end import responder

    rows = owm_rows
    shards = tuple(str(write_parquet(tmp_path / f"{key}.parquet", rows[i::2])) for i, key in enumerate(SHARDS))
    # tiny documents: a loose tolerance so the blocking budget checks pass and the LLM assets run
    cfg = OwmConfig(shards=shards, token_budget=300, budget_tolerance=0.25, n_features=2 ** 12, epochs=10,
                    heldout_fraction=0.3)
    monkeypatch.setattr(owm, "owm_config", lambda foundry: cfg)
    for name in ("FOUNDRY_LLM_BACKEND", "OPENAI_BASE_URL", "FOUNDRY_LLM_CACHE"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "root"
    with ScriptedServer(responder) as server, DagsterInstance.ephemeral() as instance:
        monkeypatch.setenv("FOUNDRY_LLM_BASE_URL", server.url)
        monkeypatch.setenv("FOUNDRY_LLM_MODEL", "scripted-model")
        monkeypatch.setenv("FOUNDRY_LLM_API_KEY", "sk-test")
        _materialize_shards(root, instance)
        result = materialize([*owm.ALL_ASSETS, *owm.LLM_ASSETS], selection=[*CORPORA_KEYS, owm.LABELS, owm.CLASSIFIER,
                                                                            owm.QA],
                             resources=foundry_resources("sample", root), instance=instance)
    assert result.success
    labels, classifier, qa = _read(root, "owm_labels"), _read(root, "owm_classifier"), _read(root, "owm_qa")
    assert labels.height == 60 * 4 and set(labels.get_column("labelling_model")) == {"scripted-model"}
    assert labels.filter(pl.col("status") == "unparsed").height == 6 * 4  # unparsed kept apart from 0
    row = classifier.row(0, named=True)
    assert row["scorer_version"].startswith("owm-clf@") and row["labelling_model"] == "scripted-model"
    assert (tmp_path / "root" / "artifacts" / "owm").is_dir() and row["path"].endswith(".npz")
    enriched = _read(root, "owm_corpora").filter(pl.col("set") == "enriched")
    assert qa.height == enriched.height and set(qa.get_column("status")) <= {"ok", "rejected"}
    assert qa.filter(pl.col("status") == "ok").get_column("completion").str.contains(
        r"^<think>.*</think><answer>.*</answer>$").all()
    meta = result.asset_materializations_for_node("owm_classifier")[0].metadata
    assert meta["labelling_model"].value == "scripted-model"


def test_malformed_rows_of_a_shard_go_to_its_quarantine_partition(tmp_path, monkeypatch):
    from pipelines.owm.config import OwmConfig
    from tests.pipelines.owm.conftest import write_jsonl

    shard = write_jsonl(tmp_path / "stackexchange-00000.jsonl", [
        {"text": "Let me verify: 2 + 2 = 4.", "url": "u1", "date": "2024", "metadata": "{}"},
        b"{not json",
        {"text": "   ", "url": "u3"},
        {"text": "Working backwards from 10.", "metadata": "[1, 2]"},
    ])
    monkeypatch.setattr(owm, "owm_config", lambda foundry: OwmConfig(shards=(str(shard),)))
    with DagsterInstance.ephemeral() as instance:
        result = materialize([owm.owm_documents], partition_key="stackexchange-00000",
                             resources=foundry_resources("sample", tmp_path / "root"), instance=instance)
        assert result.success
        missing = materialize([owm.owm_documents], partition_key="wikitext-00000", raise_on_error=False,
                              resources=foundry_resources("sample", tmp_path / "root"), instance=instance)
    assert not missing.success  # the config names no wikitext shard: the run fails, naming the fix
    quarantine = _read(tmp_path / "root", "owm_quarantine")
    assert sorted(quarantine.get_column("reason")) == ["bad_metadata", "malformed", "missing_text"]
    assert quarantine.get_column("detail").str.contains("stackexchange-00000.jsonl").all()
    assert _read(tmp_path / "root", "owm_documents").height == 1


@pytest.mark.slow
def test_scores_partition_on_ray_equals_local(tmp_path, ray_inprocess):
    """owm_scores of one shard: the batches of `batch_rows` documents run as Ray Data blocks on the in-process
    cluster (2 workers) and write the same Parquet bytes as the local engine."""
    from assets.engine_resource import EngineResource

    out = {}
    for name, engine in (("local", EngineResource(kind="local")), ("ray", EngineResource(kind="ray", num_workers=2))):
        root = tmp_path / name
        with DagsterInstance.ephemeral() as instance:
            result = materialize([owm.owm_documents, owm.owm_scores], partition_key="stackexchange-00000",
                                 resources={**foundry_resources("sample", root), "engine": engine}, instance=instance)
        assert result.success
        assert result.asset_materializations_for_node("owm_scores")[0].metadata["engine"].value == name
        out[name] = (root / "assets" / "owm_scores" / "shard_key=stackexchange-00000" / "part-0.parquet").read_bytes()
    assert out["ray"] == out["local"] and len(out["local"]) > 1000
