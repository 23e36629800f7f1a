"""The `ray` engine gives the `local` engine's outputs byte for byte: on a Ray cluster this test
starts in-process, and on a `ray start --head` cluster on 127.0.0.1 used through its address."""

import io

import polars as pl
import pytest

from pipelines.bigmath.distributed import filter_rows_on_engine
from pipelines.countdown.distributed import build_traces_on_engine
from pipelines.llm.config import LLMConfig
from pipelines.llm.distributed import complete_on_engine
from pipelines.engine.local import LocalEngine
from pipelines.owm.distributed import score_on_engine
from pipelines.owm.pipeline import DOC_SCHEMA, score_frame
from pipelines.owm.scorers import BaselineScorer
from tests.pipelines.llm.server import Reply, ScriptedServer, last_user

pytestmark = pytest.mark.slow


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", compression_level=3, statistics=True)
    return buf.getvalue()


def test_inprocess_cluster_countdown_traces_equal_local(ray_inprocess, countdown_small):
    problems, cfg, ref = countdown_small
    got = build_traces_on_engine(problems, cfg, ray_inprocess, chunk=3)
    assert got.equals(ref)
    assert parquet_bytes(got) == parquet_bytes(ref)


def test_inprocess_cluster_bigmath_funnel_equals_single_frame(ray_inprocess, bigmath_subset):
    rows, quarantined, config, ref = bigmath_subset
    got = filter_rows_on_engine(rows, quarantined, config, ray_inprocess, rows_per_shard=200)
    assert parquet_bytes(got.kept) == parquet_bytes(ref.kept)
    assert parquet_bytes(got.rejected) == parquet_bytes(ref.rejected)
    assert got.funnel_frame.equals(ref.funnel_frame)


def test_inprocess_cluster_behavior_scores_equal_local(ray_inprocess):
    texts = ["Wait, let me check that again. " * (i % 4) + f"Let x = {i}. First, we solve for y." for i in range(90)]
    docs = pl.DataFrame({"doc_id": [f"d{i}" for i in range(90)], "shard": ["s0"] * 90, "row": list(range(90)),
                         "text": texts, "url": [None] * 90, "date": [None] * 90, "metadata": [None] * 90}, schema=DOC_SCHEMA)
    scorer = BaselineScorer()
    want = score_frame(docs, scorer)
    assert score_on_engine(docs, scorer, ray_inprocess, batch_rows=16).equals(want)
    assert score_on_engine(docs, scorer, LocalEngine(), batch_rows=16).equals(want)


def test_inprocess_cluster_llm_batches_against_scripted_server(ray_inprocess, tmp_path):
    with ScriptedServer(lambda body, n: Reply("echo: " + last_user(body))) as server:
        cfg = LLMConfig(backend="openai", base_url=server.url, model="test-model", api_key="sk-test",
                        max_retries=2, timeout_s=10, progress=False)
        conversations = [[{"role": "user", "content": f"question {i}"}] for i in range(20)]
        got = complete_on_engine(conversations, {"temperature": 0}, cfg, ray_inprocess, tmp_path / "ray", batch_rows=6)
        local = complete_on_engine(conversations, {"temperature": 0}, cfg, LocalEngine(), tmp_path / "local", batch_rows=6)
        assert got["text"].to_list() == [f"echo: question {i}" for i in range(20)]
        assert got.equals(local) and got["error"].null_count() == 20
        assert len(server.requests) == 40  # each engine asked every question once (separate caches)
        again = complete_on_engine(conversations, {"temperature": 0}, cfg, ray_inprocess, tmp_path / "ray", batch_rows=6)
        assert again.equals(got) and len(server.requests) == 40  # the re-run came from the shared cache


def test_head_cluster_by_address_countdown_equal_local(ray_head, countdown_small):
    # the Big-Math funnel on this cluster is materialized as assets in tests/assets/test_engine.py
    problems, cfg, ref = countdown_small
    assert parquet_bytes(build_traces_on_engine(problems, cfg, ray_head, chunk=5)) == parquet_bytes(ref)
