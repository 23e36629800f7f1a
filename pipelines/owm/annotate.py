"""LLM labels on a sample of documents: one prompt per behavior, through ``pipelines.llm``.

Every (document, behavior) pair gives one row: the reply, the strict and the lenient count,
the yes/no line, a ``status`` (``ok``, ``unparsed`` — the lenient parser found no count —, or an
LLM failure code) and the labelling model and prompt hash. Calls go through
``LLMClient.complete_many``: cached, resumable after a kill, retried on 429/5xx.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import polars as pl

from pipelines.behaviors.detector import BEHAVIORS
from pipelines.llm import LLM_ERROR, LLMClient, load_prompt
from pipelines.owm.parse import OK, UNPARSED, parse_count_lenient, parse_count_strict, parse_yes_no

LABEL_SCHEMA = {
    "doc_id": pl.Utf8, "behavior": pl.Utf8, "status": pl.Utf8, "count_strict": pl.Int64,
    "count_lenient": pl.Int64, "said_yes": pl.Boolean, "reply": pl.Utf8, "error": pl.Utf8,
    "labelling_model": pl.Utf8, "prompt_hash": pl.Utf8,
}


def behavior_prompt(behavior: str):
    return load_prompt(f"owm/{behavior}")


def _yes_line(reply: str, behavior: str) -> bool | None:
    label = behavior.replace("_", " ").lower()
    for line in reversed(reply.splitlines()):
        if line.lower().lstrip("#* ").startswith(label):
            return parse_yes_no(line[len(label) + line.lower().find(label):])
    return None


# (conversations, params, desc) -> one completion (with ``.text``) or Exception per conversation
Ask = Callable[..., list]


class EngineLLMError(RuntimeError):
    """An LLM call that failed inside an engine batch; the message is the batch's error text."""


class _EngineReply:
    """The part of a completion :func:`annotate` reads."""

    __slots__ = ("text",)

    def __init__(self, text: str | None):
        self.text = text


def engine_ask(engine, config, cache_dir, batch_rows: int = 32) -> Ask:
    """Ask through ``pipelines.llm.distributed.complete_on_engine``: the conversations become engine
    batches (Ray Data blocks on ``ray``), each batch opens the project's LLM client against the
    endpoint of ``config`` and uses the shared cache under ``cache_dir``; answers in input order."""
    from pipelines.llm.distributed import complete_on_engine

    def ask(conversations, params, desc: str = "") -> list:
        frame = complete_on_engine(conversations, params, config, engine, cache_dir, batch_rows=batch_rows)
        return [EngineLLMError(error) if error is not None else _EngineReply(text)
                for text, error in frame.select("text", "error").iter_rows()]

    return ask


def annotate(llm: LLMClient, docs: Sequence[dict[str, Any]], behaviors: Sequence[str] = BEHAVIORS,
             label_chars: int = 12_000, ask: Ask | None = None) -> pl.DataFrame:
    """One label row per document and behavior (documents cut to ``label_chars`` characters).
    ``ask`` (default: ``llm.complete_many`` in this process) may send the calls elsewhere, e.g.
    :func:`engine_ask`; ``llm`` still names the labelling model."""
    rows: list[dict[str, Any]] = []
    ask = ask or llm.complete_many
    for behavior in behaviors:
        prompt = behavior_prompt(behavior)
        conversations = [prompt.render(text=d["text"][:label_chars]) for d in docs]
        replies = ask(conversations, dict(prompt.params), desc=f"owm {behavior}")
        for doc, reply in zip(docs, replies):
            row = {"doc_id": doc["doc_id"], "behavior": behavior, "labelling_model": llm.model,
                   "prompt_hash": prompt.short_hash, "count_strict": None, "count_lenient": None,
                   "said_yes": None, "reply": None, "error": None}
            if isinstance(reply, Exception):
                row.update(status=LLM_ERROR, error=f"{type(reply).__name__}: {reply}"[:500])
            else:
                text = reply.text or ""
                strict, lenient = parse_count_strict(text), parse_count_lenient(text)
                row.update(reply=text[:4000], count_strict=strict.count, count_lenient=lenient.count,
                           said_yes=_yes_line(text, behavior), status=OK if lenient.count is not None else UNPARSED)
            rows.append(row)
    return pl.DataFrame(rows, schema=LABEL_SCHEMA)


def parse_failure_rates(labels: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Per behavior: the share of answered replies each parser could not read, and LLM failures."""
    out: dict[str, dict[str, float]] = {}
    for behavior in sorted(set(labels.get_column("behavior").to_list())):
        part = labels.filter(pl.col("behavior") == behavior)
        answered = part.filter(pl.col("reply").is_not_null())
        n = max(answered.height, 1)
        out[behavior] = {
            "replies": answered.height,
            "strict_unparsed_rate": round(answered.get_column("count_strict").null_count() / n, 4),
            "lenient_unparsed_rate": round(answered.get_column("count_lenient").null_count() / n, 4),
            "llm_failures": part.height - answered.height,
        }
    return out


def label_matrix(labels: pl.DataFrame) -> pl.DataFrame:
    """``doc_id`` + one 0/1 column per behavior (lenient count > 0) for documents whose every
    behavior was read; documents with an unparsed or failed behavior are left out (not 0)."""
    ok = labels.filter(pl.col("status") == OK)
    wide = ok.with_columns((pl.col("count_lenient") > 0).cast(pl.Int8).alias("y")).pivot(
        on="behavior", index="doc_id", values="y")
    behaviors = sorted(set(labels.get_column("behavior").to_list()))
    for b in behaviors:
        if b not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Int8).alias(b))
    return wide.drop_nulls(behaviors).select(["doc_id", *behaviors]).sort("doc_id")
