"""The step contract: a step takes a frame and returns (kept, rejected).

``rejected`` carries every input column plus ``reason`` (a stable code), ``step`` (the step's
name) and ``detail`` (free text for humans, may be null). ``run_steps`` chains steps, feeding the
kept rows of one into the next, and records a funnel: for every step the rows in, kept, rejected,
and the rejected count per reason. Kept + rejected = in is checked after every step; a step that
loses or invents rows raises :class:`RowAccountingError` at once instead of corrupting counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import polars as pl

REASON_COLUMNS = ("reason", "step", "detail")
FUNNEL_SCHEMA = {
    "step": pl.Utf8,
    "rows_in": pl.Int64,
    "rows_kept": pl.Int64,
    "rows_rejected": pl.Int64,
    "reason": pl.Utf8,
    "count": pl.Int64,
}


class RowAccountingError(AssertionError):
    """A step's kept + rejected rows do not add up to its input."""


@dataclass(frozen=True)
class StepResult:
    kept: pl.DataFrame
    rejected: pl.DataFrame


StepFn = Callable[[pl.DataFrame], StepResult]


@dataclass(frozen=True)
class Step:
    """A named step; ``fn`` returns a :class:`StepResult`."""

    name: str
    fn: StepFn
    doc: str = ""

    def __call__(self, frame: pl.DataFrame) -> StepResult:
        return self.fn(frame)


def empty_rejected(schema: pl.Schema | dict) -> pl.DataFrame:
    """An empty rejected frame for rows of ``schema``."""
    return pl.DataFrame(schema=_rejected_schema(schema))


def _rejected_schema(schema) -> dict:
    out = dict(schema)
    for col in REASON_COLUMNS:
        out[col] = pl.Utf8
    return out


def reject_where(
    frame: pl.DataFrame,
    mask: pl.Series | pl.Expr,
    *,
    reason: str | pl.Series,
    step: str,
    detail: pl.Series | str | None = None,
) -> StepResult:
    """Split ``frame`` by ``mask`` (True = reject) and label the rejects.

    ``reason`` and ``detail`` may be constants or per-row series aligned with ``frame``.
    """
    if isinstance(mask, pl.Expr):
        mask = frame.select(mask.alias("__m")).to_series()
    mask = mask.fill_null(False).cast(pl.Boolean)
    labelled = frame.with_columns(
        _as_series(reason, frame.height, "reason"),
        pl.lit(step, dtype=pl.Utf8).alias("step"),
        _as_series(detail, frame.height, "detail"),
    )
    kept = frame.filter(~mask)
    rejected = labelled.filter(mask)
    return StepResult(kept=kept, rejected=rejected)


def _as_series(value, n: int, name: str) -> pl.Series:
    if isinstance(value, pl.Series):
        return value.cast(pl.Utf8).alias(name)
    return pl.Series(name, [value] * n, dtype=pl.Utf8)


@dataclass(frozen=True)
class FunnelRow:
    step: str
    rows_in: int
    rows_kept: int
    rows_rejected: int
    reason: str | None
    count: int


@dataclass
class Funnel:
    """The funnel table of a chain of steps: ``step, rows_in, rows_kept, rows_rejected, reason, count``."""

    rows: list[FunnelRow] = field(default_factory=list)

    def record(self, step: str, rows_in: int, result: StepResult) -> None:
        kept, rejected = result.kept.height, result.rejected.height
        if kept + rejected != rows_in:
            raise RowAccountingError(
                f"step {step!r}: {rows_in} rows in, but {kept} kept + {rejected} rejected = "
                f"{kept + rejected}; a step must keep or reject every row exactly once"
            )
        if rejected == 0:
            self.rows.append(FunnelRow(step, rows_in, kept, 0, None, 0))
            return
        counts = result.rejected.group_by("reason").len().sort("reason")
        for reason, count in counts.iter_rows():
            self.rows.append(FunnelRow(step, rows_in, kept, rejected, reason, int(count)))

    def extend(self, other: "Funnel") -> None:
        self.rows.extend(other.rows)

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame([r.__dict__ for r in self.rows], schema=FUNNEL_SCHEMA, orient="row")

    def steps(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.rows:
            seen.setdefault(r.step, None)
        return list(seen)

    def rejected_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            if r.reason is not None:
                out[r.reason] = out.get(r.reason, 0) + r.count
        return dict(sorted(out.items()))


def run_steps(
    frame: pl.DataFrame, steps: Sequence[Step], funnel: Funnel | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, Funnel]:
    """Run ``steps`` in order; return (kept, all rejected, funnel)."""
    funnel = funnel if funnel is not None else Funnel()
    rejected_parts: list[pl.DataFrame] = []
    kept = frame
    for step in steps:
        rows_in = kept.height
        result = step(kept)
        funnel.record(step.name, rows_in, result)
        if result.rejected.height:
            rejected_parts.append(result.rejected)
        kept = result.kept
    rejected = concat_rejected(rejected_parts, frame.schema)
    return kept, rejected, funnel


def concat_rejected(parts: Iterable[pl.DataFrame], schema) -> pl.DataFrame:
    parts = [p for p in parts if p.height]
    if not parts:
        return empty_rejected(schema)
    return pl.concat(parts, how="diagonal_relaxed")


def check_funnel_conservation(funnel: pl.DataFrame) -> list[str]:
    """Return a list of problems (empty = every step's kept + rejected equals its input,
    per-reason counts add up to the step's rejected count, and each step's input is the
    previous step's kept)."""
    problems: list[str] = []
    previous_kept: int | None = None
    for step in funnel.get_column("step").unique(maintain_order=True).to_list():
        rows = funnel.filter(pl.col("step") == step)
        rows_in, kept, rejected = rows.row(0)[1:4]
        if kept + rejected != rows_in:
            problems.append(f"{step}: kept {kept} + rejected {rejected} != in {rows_in}")
        if int(rows.get_column("count").sum()) != rejected:
            problems.append(f"{step}: reasons sum to {rows.get_column('count').sum()}, rejected {rejected}")
        if previous_kept is not None and rows_in != previous_kept:
            problems.append(f"{step}: {rows_in} rows in, but the previous step kept {previous_kept}")
        previous_kept = kept
    return problems
