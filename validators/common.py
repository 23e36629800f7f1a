"""Invariants every family shares, as plain functions returning (passed, metadata).

Families turn them into ``AssetCheckResult`` with :func:`to_check_result`.
"""

from __future__ import annotations

from typing import Mapping

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from pipelines.core.steps import check_funnel_conservation


def row_conservation(funnel: pl.DataFrame, rows_in: int, kept: int, rejected: int) -> tuple[bool, dict]:
    """Every input row is kept or rejected once: per step, and end to end."""
    problems = check_funnel_conservation(funnel)
    if kept + rejected != rows_in:
        problems.append(f"end to end: kept {kept} + rejected {rejected} != input {rows_in}")
    return not problems, {"rows_in": rows_in, "kept": kept, "rejected": rejected,
                          "problems": "\n".join(problems) or "none"}


def unique_values(frame: pl.DataFrame, column: str) -> tuple[bool, dict]:
    dupes = frame.height - frame.get_column(column).n_unique()
    nulls = frame.get_column(column).null_count()
    return dupes == 0 and nulls == 0, {"duplicates": dupes, "nulls": nulls}


def schema_matches(frame: pl.DataFrame, expected: Mapping[str, pl.DataType]) -> tuple[bool, dict]:
    missing = [c for c in expected if c not in frame.columns]
    wrong = [f"{c}: {frame.schema[c]} != {t}" for c, t in expected.items() if c in frame.columns and frame.schema[c] != t]
    extra = [c for c in frame.columns if c not in expected]
    return not (missing or wrong), {"missing": ", ".join(missing) or "none", "wrong_types": "; ".join(wrong) or "none",
                                     "extra": ", ".join(extra) or "none"}


def to_check_result(name: str, outcome: tuple[bool, dict], *, asset_key=None,
                    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR) -> AssetCheckResult:
    passed, meta = outcome
    return AssetCheckResult(
        check_name=name,
        asset_key=asset_key,
        passed=bool(passed),
        severity=severity,
        metadata={k: (MetadataValue.text(v) if isinstance(v, str) else v) for k, v in meta.items()},
    )


def gx_check(frame: pl.DataFrame, suite_name: str, expectations, *, data_docs_dir=None,
             asset_key=None) -> AssetCheckResult:
    """Run a Great Expectations suite on ``frame`` and report it as an asset check result, with
    the per-expectation table as markdown (and the Data Docs page when ``data_docs_dir`` is set)."""
    from validators.gx import validate_frame

    ok, meta = validate_frame(frame, suite_name, expectations, data_docs_dir=data_docs_dir)
    return AssetCheckResult(asset_key=asset_key, passed=ok,
                            metadata={**meta, "results_markdown": MetadataValue.md(meta["results_markdown"])})
