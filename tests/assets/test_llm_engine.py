"""The LLM assets on the `ray` engine write the `local` engine's bytes: reformulation (rule and LLM
paths, judge failures), and domain labels + solve-rate rollouts, against the scripted server, on
the in-process Ray cluster. Each engine gets its own data root (so its own cache) and asks the same
requests, once each."""

import re

import polars as pl
import pytest
from dagster import AssetSelection, DagsterInstance, materialize

from assets import bigmath, bigmath_anchor as A, bigmath_reformulated as BR
from assets.engine_resource import EngineResource
from assets.resources import foundry_resources
from pipelines.bigmath import domain as D
from pipelines.bigmath.normalize import normalize_source
from pipelines.bigmath.schema import REJECTED_SCHEMA
from pipelines.bigmath.sources import load_source
from pipelines.config import REPO_ROOT, get_profile
from pipelines.core.io import atomic_write_parquet, write_partitioned_parquet
from tests.pipelines.llm.server import Reply, ScriptedServer, first_user, last_user, loopback_only, valid  # noqa: F401

pytestmark = pytest.mark.slow

ENGINES = {"local": EngineResource(kind="local"),
           "ray": EngineResource(kind="ray", num_workers=2, batch_rows=3)}  # joins the in-process cluster


@pytest.fixture(autouse=True)
def _loopback(loopback_only):  # noqa: F811 - also clears every FOUNDRY_LLM_* variable
    yield


def _source(name: str) -> pl.DataFrame:
    spec = next(s for s in get_profile("sample").bigmath.sources if s.name == name)
    return normalize_source(load_source(spec, REPO_ROOT))[0]


def _files(base, names) -> dict[str, bytes]:
    out = {}
    for name in names:
        path = base / name
        parts = sorted(path.glob("**/*.parquet")) if path.is_dir() else [path.with_suffix(".parquet")]
        out.update({str(p.relative_to(base)): p.read_bytes() for p in parts})
    return out


def _asked_on_the_cluster(tmp_path) -> None:
    # engine tasks journal their answers beside the cache (absorbed since); the local run asked in-process
    assert (tmp_path / "ray" / "llm_cache.sqlite.journal").is_dir()
    assert not (tmp_path / "local" / "llm_cache.sqlite.journal").exists()


# ------------------------------------------------------------------ reformulation

SUM = re.compile(r"value of (\d+) \+ (\d+)")


def _reformulation_respond(body, n):
    text = first_user(body)
    a, b = map(int, SUM.search(text).groups()) if SUM.search(text) else (0, 0)
    if "Extract the key information" in text:
        return valid({"givens": [str(a), str(b)], "asked": "the sum"})
    if "Rewrite this multiple-choice" in text:
        return valid({"problem": f"What is the value of {a} + {b}?", "answer": str(a + b)})
    if "Judge the rewrite" in text:
        return valid({"verdict": "FAIL" if a % 3 == 0 else "PASS", "reasons": ["scripted"] if a % 3 == 0 else []})
    return valid({"final_answer": str(a + b), "well_posed": True})


def _mc_rows() -> pl.DataFrame:
    real = _source("aqua").head(10)  # mostly the rule path
    llm = _source("sat_math").head(6).with_columns(  # stems that need the LLM path
        pl.Series("problem", [f"Which of the following is the value of {a} + {a + 4}?" for a in range(1, 7)]),
        pl.Series("options", [[f"A){2 * a + 3}", f"B){2 * a + 4}"] for a in range(1, 7)]),
        pl.Series("answer", [str(2 * a + 4) for a in range(1, 7)]), pl.lit("B").alias("answer_letter"),
        pl.Series("problem_id", [f"llm-path-{a:07d}" for a in range(1, 7)]))
    rows = pl.concat([real, llm], how="vertical_relaxed")
    return rows.with_columns(pl.lit("multiple_choice").alias("reason"), pl.lit("multiple_choice").alias("step"),
                             pl.lit(None, dtype=pl.Utf8).alias("detail")).select(list(REJECTED_SCHEMA))


def _reformulate(root, engine: EngineResource) -> dict[str, bytes]:
    base = root / "assets"
    kept = _source("gsm8k").head(2).with_columns(pl.lit("math500").alias("source"))
    atomic_write_parquet(_mc_rows(), base / "bigmath_rejected.parquet")
    write_partitioned_parquet(kept, base / "bigmath_kept", "source")
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [bigmath.bigmath_sources, bigmath.bigmath_funnel, BR.bigmath_reformulation, BR.bigmath_publish],
            selection=AssetSelection.assets(BR.REFORMULATED, BR.REFORMULATION_REJECTED, BR.REFORMULATION_FUNNEL,
                                            BR.PUBLISHED),
            resources={**foundry_resources(data_root=root), "engine": engine}, instance=instance)
    assert result.success
    return _files(base, ["bigmath_reformulated", "bigmath_reformulation_rejected", "bigmath_reformulated_funnel",
                         "bigmath_published"])


def test_reformulation_on_ray_writes_the_local_bytes(tmp_path, monkeypatch, ray_inprocess):
    monkeypatch.setenv("FOUNDRY_VERIFY_WORKERS", "1")
    monkeypatch.setenv("FOUNDRY_LLM_MODEL", "scripted-model")
    with ScriptedServer(_reformulation_respond) as server:
        out = {}
        for name, engine in ENGINES.items():
            monkeypatch.setenv("FOUNDRY_LLM_BASE_URL", server.url_for(name))
            out[name] = _reformulate(tmp_path / name, engine)
        assert len(server.requests_for("ray")) == len(server.requests_for("local")) > 0
    assert out["ray"] == out["local"]
    _asked_on_the_cluster(tmp_path)
    made = pl.read_parquet(tmp_path / "ray" / "assets" / "bigmath_reformulated.parquet")
    rejected = pl.read_parquet(tmp_path / "ray" / "assets" / "bigmath_reformulation_rejected.parquet")
    assert set(made["method"]) == {"rule", "llm"}  # both paths ran, and the LLM one on the cluster
    assert made.filter(pl.col("method") == "llm").height == 4  # a = 1, 2, 4, 5 pass; 3 and 6 the judge fails
    assert rejected.filter(pl.col("reason") == "judge_fail").height == 2


# ------------------------------------------------------------------ domain labels and solve-rate rollouts

def _annotate(root, engine: EngineResource, published: pl.DataFrame) -> dict[str, bytes]:
    base = root / "assets"
    write_partitioned_parquet(published, base / "bigmath_published", "source")
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [bigmath.bigmath_sources, bigmath.bigmath_funnel, BR.bigmath_reformulation, BR.bigmath_publish,
             A.bigmath_rollouts, A.bigmath_annotate],
            selection=AssetSelection.assets(A.ROLLOUTS, A.ANNOTATED),
            resources={**foundry_resources(data_root=root), "engine": engine}, instance=instance)
    assert result.success
    return _files(base, ["bigmath_rollouts", "bigmath_annotated"])


def test_domain_and_solve_rate_on_ray_write_the_local_bytes(tmp_path, monkeypatch, ray_inprocess):
    published = _source("gsm8k").head(8).with_columns(pl.lit("filtered").alias("method"))
    gold = dict(zip(published["problem"], published["answer"]))
    ids = {p: i for i, p in enumerate(published["problem"])}

    def respond(body, n):
        system = body["messages"][0]["content"]
        if "classify" in system:  # a label that depends on the row, and one reply outside the list
            i = next(i for p, i in ids.items() if f"Problem:\n{p}\n" in last_user(body))
            return valid({"domain": D.DOMAINS[i % len(D.DOMAINS)] if i != 5 else "Cooking"})
        answer = gold[last_user(body)]
        return Reply(f"Working... \\boxed{{{answer if (body['seed'] + ids[last_user(body)]) % 2 == 0 else answer + '1'}}}")

    monkeypatch.setenv("FOUNDRY_VERIFY_WORKERS", "1")
    monkeypatch.setenv("FOUNDRY_LLM_MODEL", "scripted-solver")
    monkeypatch.setenv("FOUNDRY_SOLVE_K", "3")
    with ScriptedServer(respond) as server:
        out = {}
        for name, engine in ENGINES.items():
            monkeypatch.setenv("FOUNDRY_LLM_BASE_URL", server.url_for(name))
            out[name] = _annotate(tmp_path / name, engine, published)
        assert len(server.requests_for("ray")) == len(server.requests_for("local")) >= 8 * 3 + 8
    assert out["ray"] == out["local"] and len(out["ray"]) >= 2
    _asked_on_the_cluster(tmp_path)
    rollouts = pl.read_parquet(tmp_path / "ray" / "assets" / "bigmath_rollouts.parquet")
    annotated = pl.read_parquet(tmp_path / "ray" / "assets" / "bigmath_annotated", hive_partitioning=True)
    assert rollouts.height == 3 * 8 and set(rollouts["verdict"]) == {"correct", "incorrect"}
    assert set(annotated["domain_method"]) == {"llm", "rule"}  # the out-of-list label fell back to the rules


# ------------------------------------------------------------------ FSPO generation

def test_fspo_generation_on_ray_writes_the_local_bytes(tmp_path, monkeypatch, ray_inprocess):
    import assets.fspo as fs
    from tests.pipelines.fspo.scripted import responder

    generated = [fs.fspo_users, fs.fspo_questions, fs.fspo_user_profiles, fs.fspo_responses, fs.fspo_labels]
    engines = {**ENGINES, "ray": EngineResource(kind="ray", num_workers=2, batch_rows=64)}  # hundreds of calls
    monkeypatch.setenv("FOUNDRY_LLM_MODEL", "scripted-model")
    with ScriptedServer(responder) as server:
        out = {}
        for name, engine in engines.items():
            monkeypatch.setenv("FOUNDRY_LLM_BASE_URL", server.url_for(name))
            root = tmp_path / name
            with DagsterInstance.ephemeral() as instance:
                result = materialize(generated, resources={**foundry_resources("sample", root), "engine": engine},
                                     instance=instance)
            assert result.success
            out[name] = _files(root / "assets", ["fspo_user_profiles", "fspo_responses", "fspo_labels",
                                                 "fspo_quarantine", "fspo_funnel"])
        assert len(server.requests_for("ray")) == len(server.requests_for("local")) > 100
    assert out["ray"] == out["local"] and len(out["ray"]) >= 5
    _asked_on_the_cluster(tmp_path)
