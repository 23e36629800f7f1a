"""Shards and cross-shard steps on the local engine: the sharded funnel equals the single-frame
funnel, and the signature-based dedup equals the text-based one."""

import random

import polars as pl
import pytest

from pipelines.bigmath.dedup import NearDedupConfig, exact_duplicates, near_duplicates
from pipelines.bigmath.distributed import (exact_duplicates_from_keys, filter_rows_on_engine,
                                           near_duplicates_from_signatures, row_outcomes)
from pipelines.countdown.distributed import build_traces_on_engine
from pipelines.engine.local import LocalEngine


def _texts() -> list[str]:
    rng = random.Random(7)
    words = "triangle sum area circle radius prime number digits integer ratio angle apples".split()
    base = [" ".join(rng.choice(words) for _ in range(25)) + f" case {i}" for i in range(60)]
    out = []
    for i, t in enumerate(base):
        out.append(t)
        if i % 5 == 0:
            out.append(t)               # exact copy
        if i % 7 == 0:
            out.append(t + " Show work.")  # near copy
    return out


def test_signature_dedup_equals_text_dedup():
    from datasketch import MinHash

    from pipelines.bigmath.dedup import dedup_key, shingles

    texts = _texts()
    cfg = NearDedupConfig()
    flags, _ = exact_duplicates(texts)
    assert exact_duplicates_from_keys(dedup_key(t) for t in texts) == flags
    sigs = MinHash.bulk([shingles(t, cfg.shingle_size) for t in texts], num_perm=cfg.num_perm, seed=cfg.seed)
    got = near_duplicates_from_signatures([s.hashvalues for s in sigs], cfg)  # datasketch's own signatures
    want = near_duplicates(texts, cfg)
    assert [None if m is None else str(m) for m in got] == want
    assert sum(m is not None for m in got) >= 12  # the planted copies were found, not just agreed on


def test_sharded_funnel_equals_single_frame_funnel(bigmath_subset):
    rows, quarantined, config, ref = bigmath_subset
    assert {"contaminated", "duplicate", "near_duplicate"} <= set(ref.rejected["reason"])  # the inputs exercise them
    planted = ref.rejected.filter(pl.col("source") == "planted")
    assert sorted(planted["reason"]) == ["duplicate", "near_duplicate"]  # caught across shards
    for rows_per_shard in (97, 5000):
        got = filter_rows_on_engine(rows, quarantined, config, LocalEngine(), rows_per_shard=rows_per_shard)
        assert got.kept.equals(ref.kept)
        assert got.rejected.equals(ref.rejected)
        assert got.funnel_frame.equals(ref.funnel_frame)


def test_outcome_rows_hold_signatures_not_text(bigmath_subset):
    rows, _, config, _ = bigmath_subset
    out = row_outcomes(rows.head(50), config, None)
    assert out.height == 50 and "problem" not in out.columns
    alive = out.filter(pl.col("step").is_null())
    assert alive["minhash"].list.len().unique().to_list() == [config.near_dedup.num_perm]


@pytest.mark.parametrize("workers", [1, 2])
def test_countdown_traces_on_local_engine_equal_build_traces(countdown_small, workers):
    problems, cfg, ref = countdown_small
    with LocalEngine(num_workers=workers) as engine:
        got = build_traces_on_engine(problems, cfg, engine, chunk=4)
    assert got.equals(ref) and got.height == 6 * len(cfg.strategies)
