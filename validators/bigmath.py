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


def verify_timeouts(rejected: pl.DataFrame, rows_verified: int, max_share: float) -> tuple[bool, dict]:
    """At most ``max_share`` of the rows that reached answer verification may have run out of time
    (reason ``verify_timeout``): above it the machine, not the data, decided what was kept.
    Fix: give verification more CPU (VerifyConfig.item_timeout_s / workers) or a quieter machine."""
    timed_out = int((rejected.get_column("reason") == reasons.VERIFY_TIMEOUT).sum()) if rejected.height else 0
    share = timed_out / rows_verified if rows_verified else 0.0
    return share <= max_share, {"verify_timeout_rows": timed_out, "rows_verified": rows_verified,
                                "timeout_share": round(share, 6), "max_timeout_share": max_share}
