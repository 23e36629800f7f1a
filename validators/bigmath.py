"""Rules about Big-Math data: residue checks and the Great Expectations suite of the kept set."""

from __future__ import annotations

import polars as pl

from pipelines.bigmath import reasons, signals
from pipelines.bigmath.schema import SCHEMA

KEPT_SUITE = "bigmath_kept_suite"
REJECTED_SUITE = "bigmath_rejected_suite"


def residue(kept: pl.DataFrame) -> tuple[bool, dict]:
    """No multiple-choice options, URLs or proof prompts may remain in the kept set."""
    problems = kept.get_column("problem").to_list()
    options = kept.get_column("options").to_list() if "options" in kept.columns else [None] * len(problems)
    answers = kept.get_column("answer").to_list() if "answer" in kept.columns else [None] * len(problems)
    found = {
        "multiple_choice": sum(signals.is_multiple_choice(p, o, a) for p, o, a in zip(problems, options, answers)),
        "hyperlink": sum(signals.has_hyperlink(p) for p in problems),
        "proof": sum(signals.is_proof(p) for p in problems),
    }
    return sum(found.values()) == 0, {f"{k}_left": v for k, v in found.items()}


def kept_expectations(sources: list[str], max_problem_chars: int) -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectTableColumnsToMatchSet(column_set=list(SCHEMA), exact_match=False),
        E.ExpectColumnValuesToNotBeNull(column="problem_id"),
        E.ExpectColumnValuesToBeUnique(column="problem_id"),
        E.ExpectColumnValuesToNotBeNull(column="problem"),
        E.ExpectColumnValueLengthsToBeBetween(column="problem", min_value=1, max_value=max_problem_chars),
        E.ExpectColumnValuesToNotBeNull(column="answer"),
        E.ExpectColumnValueLengthsToBeBetween(column="answer", min_value=1, max_value=1000),
        E.ExpectColumnValuesToBeInSet(column="source", value_set=sources),
        E.ExpectColumnValuesToNotBeNull(column="source_id"),
        E.ExpectColumnValuesToMatchRegex(column="problem_id", regex=r"^[0-9a-f]{16}$"),
        E.ExpectColumnValuesToNotMatchRegex(column="problem", regex=r"https?://"),
        E.ExpectColumnValuesToNotMatchRegex(column="problem", regex=r"\[asy\]"),
    ]


def rejected_expectations() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToNotBeNull(column="reason"),
        E.ExpectColumnValuesToBeInSet(column="reason", value_set=list(reasons.ALL)),
        E.ExpectColumnValuesToNotBeNull(column="step"),
        E.ExpectColumnValuesToNotBeNull(column="source"),
    ]
