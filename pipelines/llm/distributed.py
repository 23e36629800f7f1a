"""LLM calls as engine batches: each batch opens the project's LLM client and asks its rows.

On ``ray`` this is a Ray Data batch transform against an OpenAI-compatible endpoint (a hosted
API, or ``vllm serve`` on the GPU nodes); every task uses the same response cache file when the
cache path is on a shared disk (SQLite WAL; one machine), so a re-run asks nothing twice. The
answers come back in row order whatever order the batches finished in.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Sequence

import polars as pl

from pipelines.engine import Engine, split_rows
from pipelines.llm.client import LLMClient
from pipelines.llm.config import LLMConfig

COMPLETION_SCHEMA = {"text": pl.Utf8, "error": pl.Utf8, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64}


def complete_batch(batch: pl.DataFrame, config: LLMConfig, params: dict) -> pl.DataFrame:
    """The batch function: ``messages`` (a JSON list of chat messages per row) -> one completion per row."""
    conversations = [json.loads(m) for m in batch.get_column("messages").to_list()]
    with LLMClient(config) as client:
        results = client.complete_many(conversations, params, desc="llm batch")
    rows = [{"text": None, "error": f"{type(r).__name__}: {r}"[:500], "prompt_tokens": 0, "completion_tokens": 0}
            if isinstance(r, Exception) else
            {"text": r.text, "error": None, "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens}
            for r in results]
    return pl.DataFrame(rows, schema=COMPLETION_SCHEMA, orient="row")


def complete_on_engine(conversations: Sequence[list[dict]], params: dict, config: LLMConfig, engine: Engine,
                       cache_dir: str | Path, batch_rows: int = 32) -> pl.DataFrame:
    """One row per conversation (``text``, ``error``, token counts), in input order. Every task
    uses the cache file ``config.cache_path`` (default ``<cache_dir>/llm_cache.sqlite``)."""
    config.require()  # fail here, naming what to set, not inside a remote task
    # an absolute path: a remote task's working directory is not this one
    config = config.with_(cache_path=str(Path(config.resolved_cache_path(cache_dir)).resolve()))
    frame = pl.DataFrame({"messages": [json.dumps(c, ensure_ascii=False) for c in conversations]},
                         schema={"messages": pl.Utf8})
    if not frame.height:
        return pl.DataFrame(schema=COMPLETION_SCHEMA)
    out = engine.map_batches(partial(complete_batch, config=config, params=params), split_rows(frame, batch_rows))
    return pl.concat(out, how="vertical")
