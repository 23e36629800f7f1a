"""LLM calls as engine batches: each batch runs the project's LLM client on its rows.

On ``ray`` this is a Ray Data batch transform against an OpenAI-compatible endpoint (a hosted
API, or ``vllm serve`` on the GPU nodes). Each task runs :class:`LLMClient` (retries, backoff,
``max_concurrency`` requests in flight per task) and appends every answer to its own journal file
beside the response cache (:class:`pipelines.llm.cache.AnswerJournal`): no two processes ever
write one file, and the SQLite cache is only opened by the caller, which stores the answers that
come back and absorbs the journals. The answers come back in row order whatever order the batches
finished in, so a stage gets the same replies, and writes the same bytes, on every engine.

:class:`LLMClient` sends its cache misses here by itself when it is given a ``ray`` engine; the
stages (reformulation, domain labels, solve-rate rollouts, FSPO) need no change.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Sequence

import polars as pl

from pipelines.engine import Engine, split_rows
from pipelines.llm.backends import Completion, FatalError, PermanentError, RetryableError
from pipelines.llm.cache import AnswerJournal
from pipelines.llm.client import LLMClient
from pipelines.llm.config import LLMConfig

COMPLETION_SCHEMA = {"text": pl.Utf8, "error": pl.Utf8, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64}
# what one engine task sends back per row: the error's class travels by name, the batch's retry count on its first row
BATCH_SCHEMA = {"text": pl.Utf8, "error_type": pl.Utf8, "error_message": pl.Utf8, "prompt_tokens": pl.Int64,
                "completion_tokens": pl.Int64, "retries": pl.Int64}
DEFAULT_BATCH_ROWS = 32  # conversations per task: a few rounds of a task's max_concurrency slots

_ERRORS = {cls.__name__: cls for cls in (FatalError, PermanentError, RetryableError)}


class RemoteCallError(Exception):
    """A call that failed in an engine task with an error of another kind; the message is the task's."""


class EngineAnswers(list):
    """One :class:`Completion` or exception per conversation, plus the tasks' summed ``stats``."""

    stats: dict


def complete_batch(batch: pl.DataFrame, config: LLMConfig, params: dict, journal: str) -> pl.DataFrame:
    """The batch function: ``messages`` (a JSON list of chat messages per row) -> one answer per row."""
    conversations = [json.loads(m) for m in batch.get_column("messages").to_list()]
    with LLMClient(config, cache=AnswerJournal(journal)) as client:
        results = client.complete_all(conversations, params, desc="llm batch")
        retries = client.stats.retries
    rows = [{"text": None, "error_type": type(r).__name__, "error_message": str(r), "prompt_tokens": 0,
             "completion_tokens": 0, "retries": 0}
            if isinstance(r, Exception) else
            {"text": r.text, "error_type": None, "error_message": None, "prompt_tokens": r.prompt_tokens,
             "completion_tokens": r.completion_tokens, "retries": 0}
            for r in results]
    if rows:
        rows[0]["retries"] = retries
    return pl.DataFrame(rows, schema=BATCH_SCHEMA, orient="row")


def ask_on_engine(conversations: Sequence[list[dict]], params: dict, config: LLMConfig, engine: Engine, *,
                  journal: str | Path, batch_rows: int = 0) -> EngineAnswers:
    """Every conversation asked in engine tasks; the answers (or exceptions) in input order.

    Tasks journal their answers under ``journal`` (an absolute path: a task's working directory
    is not this one; on a multi-machine cluster a shared disk keeps them across a killed run).
    A :class:`FatalError` in any task is raised here, after the batch, as it is in-process."""
    config.require()  # fail here, naming what to set, not inside a remote task
    remote = config.with_(cache_path=None, progress=False)
    frame = pl.DataFrame({"messages": [json.dumps(c, ensure_ascii=False) for c in conversations]},
                         schema={"messages": pl.Utf8})
    answers = EngineAnswers()
    answers.stats = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "retries": 0}
    if not frame.height:
        return answers
    rows = batch_rows or getattr(engine, "batch_rows", 0) or DEFAULT_BATCH_ROWS
    fn = partial(complete_batch, config=remote, params=params, journal=str(Path(journal).resolve()))
    out = pl.concat(engine.map_batches(fn, split_rows(frame, rows)), how="vertical")
    for row in out.iter_rows(named=True):
        if row["error_type"] is None:
            answers.append(Completion(row["text"], row["prompt_tokens"], row["completion_tokens"]))
            answers.stats["calls"] += 1
            answers.stats["prompt_tokens"] += row["prompt_tokens"]
            answers.stats["completion_tokens"] += row["completion_tokens"]
        else:
            answers.append(_ERRORS.get(row["error_type"], RemoteCallError)(row["error_message"]))
        answers.stats["retries"] += row["retries"]
    return answers


def complete_on_engine(conversations: Sequence[list[dict]], params: dict, config: LLMConfig, engine: Engine,
                       cache_dir: str | Path, batch_rows: int = DEFAULT_BATCH_ROWS) -> pl.DataFrame:
    """One row per conversation (``text``, ``error``, token counts), in input order, through the
    client and its cache (``config.cache_path``, default ``<cache_dir>/llm_cache.sqlite``): on a
    ``ray`` engine the misses go out as batches of ``batch_rows``, on ``local`` they run here."""
    with LLMClient(config, cache_dir=cache_dir, engine=engine) as client:
        client.batch_rows = batch_rows
        results = client.complete_many(conversations, params, desc="llm")
    rows = [{"text": None, "error": f"{type(r).__name__}: {r}"[:500], "prompt_tokens": 0, "completion_tokens": 0}
            if isinstance(r, Exception) else
            {"text": r.text, "error": None, "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens}
            for r in results]
    return pl.DataFrame(rows, schema=COMPLETION_SCHEMA, orient="row")
