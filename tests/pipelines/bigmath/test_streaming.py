"""The streaming funnel (record batches, one verification pool, dedup against earlier batches)
keeps and rejects exactly what the whole-frame funnel does."""

import numpy as np
import polars as pl
import pytest

from pipelines.bigmath.distributed import NearDedupIndex, StreamingFunnel, near_duplicates_from_signatures
from pipelines.bigmath.funnel import build_contamination_index, filter_rows, read_all
from pipelines.bigmath.schema import REJECTED_SCHEMA
from pipelines.config import get_profile


@pytest.fixture(scope="module")
def sample():
    config = get_profile("sample").bigmath
    rows, _, _ = read_all(config)
    whole = filter_rows(rows, pl.DataFrame(schema=REJECTED_SCHEMA), config)
    return config, rows, whole


def _key(frame: pl.DataFrame, *cols: str) -> list[tuple]:
    return sorted(frame.select("problem_id", "source", *cols).iter_rows())


@pytest.mark.parametrize("batch_rows", [700, 4096])
def test_streaming_keeps_and_rejects_what_the_whole_frame_does(sample, batch_rows):
    config, rows, whole = sample
    kept, rejected = [], []
    with StreamingFunnel(config, build_contamination_index(config)) as funnel:
        for start in range(0, rows.height, batch_rows):
            k, r = funnel.add(rows.slice(start, batch_rows))
            kept.append(k)
            rejected.append(r)
    kept, rejected = pl.concat(kept), pl.concat(rejected, how="diagonal_relaxed")
    assert kept.equals(whole.kept)  # same rows, same order, same bytes
    assert _key(rejected, "reason", "step", "detail") == _key(whole.rejected, "reason", "step", "detail")
    assert funnel.rows_in == rows.height and funnel.rows_kept == whole.kept.height
    assert funnel.pool.slots == []  # the pool closed with the block


def test_near_dedup_index_in_batches_equals_one_call():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**32, size=(40, 128), dtype=np.uint64)
    sigs = np.vstack([base, base[:20] ^ (rng.random((20, 128)) < 0.1)])  # 20 near copies (about 90% equal)
    want = near_duplicates_from_signatures(sigs)
    index, got, kept_positions = NearDedupIndex(), [], []
    for start in range(0, len(sigs), 7):
        for j, m in enumerate(index.add(sigs[start:start + 7])):
            got.append(None if m is None else kept_positions[m])
            if m is None:
                kept_positions.append(start + j)
    assert got == want and sum(m is not None for m in want) >= 10
