"""The engine contract on the local engine: ordered, row-aligned, the same on any worker count."""

import polars as pl
import pytest

from pipelines.engine import EngineConfig, EngineError, make_engine, split_rows
from pipelines.engine.local import LocalEngine


def text_lengths(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col("text").str.len_chars().alias("n"), (pl.col("text") + "!").alias("loud"))


def drop_half(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.head(frame.height // 2)


def shards_of_text() -> list[pl.DataFrame]:
    sizes = [7, 0, 31, 1, 64]  # an empty shard and uneven sizes, so batches cut shards unevenly
    return [pl.DataFrame({"text": [f"s{s}-r{r}-" + "x" * ((s * 7 + r) % 13) for r in range(n)]}, schema={"text": pl.Utf8})
            for s, n in enumerate(sizes)]


def expected(shards):
    return [text_lengths(s) for s in shards]


@pytest.mark.parametrize("workers,batch_rows", [(1, 0), (1, 5), (2, 0), (2, 3)])
def test_results_per_shard_in_row_order_on_any_worker_count(workers, batch_rows):
    shards = shards_of_text()
    with LocalEngine(num_workers=workers, batch_rows=batch_rows) as engine:
        out = engine.map_batches(text_lengths, shards)
    assert len(out) == len(shards)
    for got, want in zip(out, expected(shards)):
        assert got.equals(want)


def test_a_batch_function_that_drops_rows_is_refused_naming_it():
    with pytest.raises(EngineError, match="drop_half returned 3 rows for a batch of 7"):
        LocalEngine().map_batches(drop_half, shards_of_text()[:1])


@pytest.mark.parametrize("workers", [1, 2])
def test_stream_yields_in_input_order(workers):
    batches = split_rows(pl.concat(shards_of_text()), 4)
    with LocalEngine(num_workers=workers) as engine:
        got = list(engine.map_stream(text_lengths, iter(batches), window=3))
    assert len(got) == len(batches)
    assert pl.concat(got).equals(text_lengths(pl.concat(batches)))


def test_config_from_environment_and_bad_values():
    assert EngineConfig.from_env({}) == EngineConfig("local", "", 1, 0)
    cfg = EngineConfig.from_env({"FOUNDRY_ENGINE": "ray", "RAY_ADDRESS": "127.0.0.1:6379", "FOUNDRY_ENGINE_WORKERS": "4"})
    assert (cfg.kind, cfg.address, cfg.num_workers) == ("ray", "127.0.0.1:6379", 4)
    with pytest.raises(EngineError, match="FOUNDRY_ENGINE"):
        EngineConfig(kind="spark")
    with pytest.raises(EngineError, match="must be integers"):
        EngineConfig.from_env({"FOUNDRY_ENGINE_WORKERS": "many"})
    assert make_engine(EngineConfig()).kind == "local"

