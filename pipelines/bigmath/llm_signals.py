"""Model-based signals for the Big-Math funnel: four yes/no questions asked of an LLM.

``fill_llm_signals`` fills the nullable ``llm_multiple_choice``, ``llm_proof``, ``llm_multi_part``
and ``llm_yes_no`` columns of normalized rows; the funnel ORs each with its rule signal. With no
LLM configured the columns stay null and the funnel runs on rule signals alone (and says so). An
item whose question failed (call error, unusable reply) keeps null for that column: a missing
model opinion never rejects a row.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import BaseModel

SIGNALS = {
    "llm_multiple_choice": "bigmath/signal_multiple_choice",
    "llm_proof": "bigmath/signal_proof",
    "llm_multi_part": "bigmath/signal_multi_part",
    "llm_yes_no": "bigmath/signal_yes_no",
}


class YesNo(BaseModel):
    answer: Literal["yes", "no"]


def fill_llm_signals(frame: pl.DataFrame, client, columns: tuple[str, ...] = tuple(SIGNALS)) -> tuple[pl.DataFrame, dict]:
    """Ask each signal question of every row; returns (frame with the columns filled, metadata)."""
    from pipelines.llm import load_prompt

    variables = [{"problem": p, "answer": a} for p, a in frame.select("problem", "answer").iter_rows()]
    out, meta = frame, {}
    for column in columns:
        prompt = load_prompt(SIGNALS[column])
        results = client.structured(prompt, variables, YesNo)
        values = [None if not r.ok else r.parsed.answer == "yes" for r in results]
        out = out.with_columns(pl.Series(column, values, dtype=pl.Boolean))
        meta[column] = {"yes": sum(v is True for v in values), "no": sum(v is False for v in values),
                        "unanswered": sum(v is None for v in values),
                        "prompt": f"{prompt.name}@{prompt.version}/{prompt.short_hash}"}
    meta["model"] = client.model
    return out, meta
