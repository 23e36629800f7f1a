"""The full recipe, the source lock and the refusals: against a stand-in Hub on 127.0.0.1 and
local dataset directories. Nothing here reaches the internet (the loopback guard fails any test that tries)."""

import hashlib
import json
from dataclasses import replace

import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.bigmath import reasons as R
from pipelines.bigmath.funnel import FunnelConfig, VerifyConfig, build_contamination_index, read_all, run_funnel
from pipelines.bigmath.lock import LOCK_PATH, listed_datasets, lock_document, read_lock, read_lock_files
from pipelines.bigmath.recipe import (
    BIGMATH_RECIPE,
    EVAL_RECIPE,
    PAPER_REFORMULATED,
    PAPER_TOTAL,
    full_eval_sets,
    full_sources,
    hub_specs,
)
from pipelines.bigmath.sources import HubEvalSet, SourceSpec, UnpinnedSourceError, load_source
from pipelines.cli import main
from pipelines.config import get_profile
from tests.pipelines.owm.hub_stand_in import HubStandIn
from tests.pipelines.llm.server import loopback_only  # noqa: F401 - a fixture


@pytest.fixture(autouse=True)
def _loopback(loopback_only, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    yield


def _sha(repo: str) -> str:
    return hashlib.sha1(repo.encode()).hexdigest()


# ------------------------------------------------------------------ the recipe


def test_full_profile_lists_every_bigmath_source_and_eval_set():
    full = get_profile("full").bigmath
    names = [s.name for s in full.sources]
    assert names == ["orca_math", "cn_k12", "olympiads", "math", "aops_forum", "gsm8k", "harp", "omni_math", "amc_aime"]
    assert sum(r.paper_kept for r in BIGMATH_RECIPE) + PAPER_REFORMULATED == PAPER_TOTAL == 251_122
    assert {e.name for e in full.eval_sets} == {"math500", "gsm8k_test", "aime_2024", "aime_2025", "amc_2023",
                                                "olympiadbench", "minerva_ocw"}
    assert full.require_eval_sets and get_profile("sample").bigmath.require_eval_sets
    for r in BIGMATH_RECIPE:  # each source says how its answer is found and what was confirmed
        assert r.spec.answer_from in ("boxed", "gsm8k", "column") and r.confirmed


def test_committed_lock_file_covers_every_hub_source():
    # the committed lock names every Hub dataset of the recipe (resolved or marked unresolved)
    text = LOCK_PATH.read_text()
    assert text == lock_document(hub_specs(), read_lock(), read_lock_files())
    # ... and every dataset read file by file (OWM's shards: tests/pipelines/owm/test_hub.py)
    assert set(json.loads(text)["datasets"]) == {s.hf_id for s in hub_specs()} | {d.hf_id for d in listed_datasets()}


def test_unpinned_hub_source_refuses_with_the_command(monkeypatch):
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("must refuse before loading"))
    with pytest.raises(UnpinnedSourceError, match="foundry sources lock"):
        load_source(SourceSpec("x", hf_id="org/data", fields={"problem": "q"}))
    # the full profile with no resolved lock entry refuses the same way, naming its first source
    cfg = replace(get_profile("full").bigmath, sources=full_sources({}), eval_sets=full_eval_sets({}))
    with pytest.raises(UnpinnedSourceError, match=r"'orca_math'.*foundry sources lock"):
        read_all(cfg)


def test_no_eval_set_refuses_unless_allowed(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"q": "What is 2 + 3?", "a": "5"}) + "\n")
    src = (SourceSpec("tiny", files=(str(f),), fields={"problem": "q", "answer": "a"}),)
    strict = replace(get_profile("sample").bigmath, sources=src, eval_sets=(), verify=VerifyConfig(workers=1))
    with pytest.raises(ValueError, match="FOUNDRY_ALLOW_NO_EVAL_SETS"):
        run_funnel(strict)
    allowed = get_profile("sample", allow_no_eval_sets=True).bigmath
    assert not allowed.require_eval_sets
    assert run_funnel(replace(allowed, sources=src, eval_sets=(), verify=VerifyConfig(workers=1))).kept.height == 1


# ------------------------------------------------------------------ foundry sources lock


def test_lock_command_resolves_every_hub_source_through_huggingface_hub(tmp_path, monkeypatch):
    commits = {s.hf_id: _sha(s.hf_id) for s in hub_specs()}
    lock = tmp_path / "sources.lock.json"
    monkeypatch.setattr("pipelines.bigmath.lock.listed_datasets", lambda: ())  # Big-Math's sources only here
    with HubStandIn({r: (sha, {}) for r, sha in commits.items()}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)  # read at call time, as a mirror would be set
        res = CliRunner().invoke(main, ["sources", "lock", "--lock-file", str(lock)])
        assert res.exit_code == 0, res.output
        first = lock.read_bytes()
        res = CliRunner().invoke(main, ["sources", "lock", "--lock-file", str(lock)])
        assert res.exit_code == 0 and lock.read_bytes() == first  # byte-stable: no timestamps
    assert read_lock(lock) == commits
    assert sorted(p for _, p, _ in hub.requests) == sorted([f"/api/datasets/{r}" for r in commits] * 2)
    assert "unresolved" not in first.decode()
    pinned = full_sources(read_lock(lock))
    assert all(s.hf_revision == commits[s.hf_id] for s in pinned if s.kind == "hf")
    assert all(e.source.hf_revision == commits[e.source.hf_id] for e in full_eval_sets(read_lock(lock)))


def test_lock_command_marks_a_missing_dataset_unresolved_and_fails(tmp_path, monkeypatch):
    monkeypatch.setattr("pipelines.bigmath.lock.listed_datasets", lambda: ())  # Big-Math's sources only here
    commits = {s.hf_id: _sha(s.hf_id) for s in hub_specs()}
    gone = EVAL_RECIPE[-1].eval_set.source.hf_id
    del commits[gone]
    lock = tmp_path / "sources.lock.json"
    with HubStandIn({r: (sha, {}) for r, sha in commits.items()}) as hub:
        res = CliRunner().invoke(main, ["sources", "lock", "--lock-file", str(lock), "--endpoint", hub.url])
    assert res.exit_code != 0 and gone in res.output and "1 dataset(s) unresolved" in res.output
    doc = json.loads(lock.read_text())["datasets"]
    assert doc[gone]["revision"] is None and "foundry sources lock" in doc[gone]["status"]
    assert all(doc[r]["revision"] == commits[r] for r in commits)


# ------------------------------------------------------------------ loading pinned sources


@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    """Hub ids served from local dataset directories; every load_dataset call is recorded."""
    import datasets

    real = datasets.load_dataset
    dirs, calls = {}, []

    def add(hf_id: str, rows: list[dict], split: str = "train") -> None:
        d = tmp_path / "hub" / hf_id.replace("/", "__")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        dirs[hf_id] = d

    def fake(path, name=None, *, split=None, revision=None, **kw):
        calls.append((path, name, split, revision))
        return real(str(dirs[path]), split=split, cache_dir=str(tmp_path / "hf_cache"))

    monkeypatch.setattr(datasets, "load_dataset", fake)
    return add, calls


def test_pinned_sources_load_at_their_revision_and_the_funnel_decontaminates(local_hub, tmp_path):
    add, calls = local_hub
    add("AI-MO/NuminaMath-CoT", [
        {"source": "cn_k12", "problem": "Compute $3 \\cdot 7$.", "solution": "It is $\\boxed{21}$."},
        {"source": "olympiads", "problem": "Find $x$ if $2x = 8$.", "solution": "So $x=\\boxed{4}$."},
        {"source": "cn_k12", "problem": "What is $10 - 4$?", "solution": "$\\boxed{6}$"},
        {"source": "cn_k12", "problem": "How many sides does a hexagon have?", "solution": "$\\boxed{6}$"},
    ])
    add("HuggingFaceH4/MATH-500", [{"problem": "What is $10 - 4$?", "answer": "6"}], split="test")
    lock = {"AI-MO/NuminaMath-CoT": "a" * 40, "HuggingFaceH4/MATH-500": "b" * 40}
    cn_k12 = next(r.spec for r in BIGMATH_RECIPE if r.spec.name == "cn_k12")
    math500 = next(e.eval_set for e in EVAL_RECIPE if e.eval_set.name == "math500")
    cfg = FunnelConfig(sources=full_sources(lock)[1:2], eval_sets=(replace(math500, source=replace(
        math500.source, hf_revision=lock["HuggingFaceH4/MATH-500"])),), verify=VerifyConfig(workers=1),
        require_eval_sets=True)
    assert cfg.sources[0] == replace(cn_k12, hf_revision="a" * 40)
    loaded = load_source(cfg.sources[0])
    assert [r.source_id for r in loaded.records] == ["0", "2", "3"]  # the subset, ids from the whole split
    assert loaded.revision == "a" * 40
    result = run_funnel(cfg)
    assert ("AI-MO/NuminaMath-CoT", None, "train", "a" * 40) in calls
    assert ("HuggingFaceH4/MATH-500", None, "test", "b" * 40) in calls
    assert result.eval_set_sizes == {"math500": 1}
    assert result.rejected.filter(pl.col("reason") == R.CONTAMINATED)["source_id"].to_list() == ["2"]
    assert sorted(result.kept["answer"].to_list()) == ["21", "6"]
    assert set(result.source_revisions.values()) == {"a" * 40}


def test_hub_eval_set_refuses_when_unpinned(local_hub):
    ev = HubEvalSet("math500", SourceSpec("math500", hf_id="HuggingFaceH4/MATH-500", hf_split="test",
                                          fields={"problem": "problem"}))
    with pytest.raises(UnpinnedSourceError, match="foundry sources lock"):
        build_contamination_index(FunnelConfig(sources=(), eval_sets=(ev,)))
