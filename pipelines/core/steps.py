"""The step contract: a step takes a frame and returns (kept, rejected).

``rejected`` carries every input column plus ``reason`` (a stable code), ``step`` (the step's
name) and ``detail`` (free text for humans, may be null). ``run_steps`` chains steps, feeding the
kept rows of one into the next, and records a funnel: for every step the rows in, kept, rejected,
and the rejected count per reason. Kept + rejected = in is checked after every step; a step that
loses or invents rows raises :class:`RowAccountingError` at once instead of corrupting counts.

The funnel also records, per step, its wall seconds and the peak resident memory of the process
while it ran (``Funnel.timings``). They describe the machine, not the data: they never enter the
funnel table (``to_frame``), which must be byte-identical for the same inputs.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
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
    if not mask.any():  # (most steps on most batches): nothing to split or label
        return StepResult(kept=frame, rejected=frame.clear().with_columns(
            pl.lit(None, dtype=pl.Utf8).alias("reason"), pl.lit(None, dtype=pl.Utf8).alias("step"),
            pl.lit(None, dtype=pl.Utf8).alias("detail")))
    # label the rejected rows only (per-row reasons and details filtered with them)
    rejected = frame.filter(mask).with_columns(
        _as_series(reason, frame.height, "reason").filter(mask),
        pl.lit(step, dtype=pl.Utf8).alias("step"),
        _as_series(detail, frame.height, "detail").filter(mask),
    )
    kept = frame.filter(~mask)
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


@dataclass(frozen=True)
class StepTiming:
    step: str
    seconds: float
    peak_rss_mb: float  # peak resident memory of this process during the step (worker processes not included)


_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0: write 5 to clear_refs); False where not possible."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mb(reset_ok: bool) -> float:
    """Peak RSS since the last reset (VmHWM), or the process's lifetime peak where it cannot be reset."""
    if reset_ok:
        try:
            for line in _STATUS.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class measure_step:
    """``with measure_step(funnel, "name"):`` records the block's seconds and peak memory."""

    def __init__(self, funnel: "Funnel", step: str):
        self.funnel, self.step = funnel, step

    def __enter__(self):
        self.reset_ok = _reset_peak_rss()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.funnel.timings.append(StepTiming(self.step, round(time.perf_counter() - self.start, 3),
                                              _peak_rss_mb(self.reset_ok)))
        return False


@dataclass
class Funnel:
    """The funnel table of a chain of steps: ``step, rows_in, rows_kept, rows_rejected, reason, count``."""

    rows: list[FunnelRow] = field(default_factory=list)
    timings: list[StepTiming] = field(default_factory=list)  # machine facts, kept out of to_frame()

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

    def record_counts(self, step: str, rows_in: int, rows_kept: int, rejected_by_reason: dict[str, int]) -> None:
        """Record a step that worked on items rather than frames (the reformulation, priming):
        the same checks and rows as :meth:`record`, from counts."""
        rejected = sum(rejected_by_reason.values())
        if rows_kept + rejected != rows_in:
            raise RowAccountingError(
                f"step {step!r}: {rows_in} rows in, but {rows_kept} kept + {rejected} rejected = "
                f"{rows_kept + rejected}; a step must keep or reject every row exactly once")
        if rejected == 0:
            self.rows.append(FunnelRow(step, rows_in, rows_kept, 0, None, 0))
            return
        for reason, count in sorted(rejected_by_reason.items()):
            if count:
                self.rows.append(FunnelRow(step, rows_in, rows_kept, rejected, reason, int(count)))

    def extend(self, other: "Funnel") -> None:
        self.rows.extend(other.rows)
        self.timings.extend(other.timings)

    def timings_dicts(self) -> list[dict]:
        """Per step: seconds and peak RSS (MB), for funnel.json's ``timings`` and asset metadata."""
        return [t.__dict__.copy() for t in self.timings]

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
        with measure_step(funnel, step.name):
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
