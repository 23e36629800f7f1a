"""Rules about Big-Math-Reformulated: no option residue, provenance on LLM rows, rows accounted for."""

from __future__ import annotations

import polars as pl

from pipelines.bigmath import signals
from pipelines.bigmath.reformulate import LLM, RULE, option_residue

METHODS = (RULE, LLM)


def residue(frame: pl.DataFrame) -> tuple[bool, dict]:
    """No option letters, option lists or "which of the following" in any reformulated problem."""
    bad = [(pid, option_residue(p)) for pid, p in frame.select("problem_id", "problem").iter_rows()
           if option_residue(p) or signals.is_multiple_choice(p)]
    return not bad, {"rows_with_residue": len(bad), "examples": "; ".join(f"{pid}: {why}" for pid, why in bad[:5]) or "none"}


def provenance(frame: pl.DataFrame) -> tuple[bool, dict]:
    """Every row says how it was made; every LLM row names its model, prompt, version and hash."""
    unknown = frame.filter(~pl.col("method").is_in(list(METHODS)) | pl.col("method").is_null()).height
    llm = frame.filter(pl.col("method") == LLM)
    missing = llm.filter(pl.any_horizontal(pl.col(c).is_null() for c in
                                           ("model", "prompt_name", "prompt_version", "prompt_hash"))).height
    return unknown == 0 and missing == 0, {"unknown_method": unknown, "llm_rows": llm.height,
                                           "llm_rows_without_provenance": missing}


def answers_present(frame: pl.DataFrame) -> tuple[bool, dict]:
    empty = frame.filter(pl.col("answer").is_null() | (pl.col("answer").str.strip_chars() == "")).height
    return empty == 0, {"rows_without_answer": empty}


def accounted(rows_in: int, kept: int, rejected: int) -> tuple[bool, dict]:
    """Every multiple-choice row ends reformulated or rejected with a reason, once."""
    return kept + rejected == rows_in, {"rows_in": rows_in, "reformulated": kept, "rejected": rejected}
