"""The one schema every Big-Math source is normalized into."""

import polars as pl

SCHEMA: dict[str, pl.DataType] = {
    "problem_id": pl.Utf8,       # stable hash of the normalized problem text
    "problem": pl.Utf8,
    "answer": pl.Utf8,           # final answer as text (LaTeX allowed); null when the source has none
    "solution": pl.Utf8,
    "options": pl.List(pl.Utf8),  # multiple-choice options as given ("A) 12"), empty otherwise
    "answer_letter": pl.Utf8,    # correct option letter for multiple-choice sources
    "answer_origin": pl.Utf8,    # column | solution: where the answer came from
    "source": pl.Utf8,
    "source_id": pl.Utf8,        # id or line number in the source
    "source_revision": pl.Utf8,  # file sha256 prefix or Hub revision
    "extra": pl.Utf8,            # the source's unmapped fields as JSON (subject, level, ...)
    "code_version": pl.Utf8,
    # Model-based signals (LLM layer); null when no model was asked.
    "llm_multiple_choice": pl.Boolean,
    "llm_proof": pl.Boolean,
    "llm_multi_part": pl.Boolean,
    "llm_yes_no": pl.Boolean,
}

REJECTED_SCHEMA = {**SCHEMA, "reason": pl.Utf8, "step": pl.Utf8, "detail": pl.Utf8}

KEPT_COLUMNS = tuple(SCHEMA)
