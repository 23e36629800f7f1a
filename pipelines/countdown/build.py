"""The whole Countdown family in one call (used by the CLI; the assets call the same pieces)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.core.io import atomic_write_parquet
from pipelines.core.steps import Funnel
from pipelines.countdown.config import CountdownConfig
from pipelines.countdown.priming import build_priming
from pipelines.countdown.problems import build_problems, generate_candidates
from pipelines.countdown.traces import build_traces


@dataclass
class CountdownBuild:
    problems: pl.DataFrame
    rejected: pl.DataFrame
    funnel: Funnel
    traces: pl.DataFrame
    priming: pl.DataFrame
    priming_rejected: pl.DataFrame
    priming_funnel: Funnel = field(default_factory=Funnel)


def build_all(cfg: CountdownConfig) -> CountdownBuild:
    problems, rejected, funnel = build_problems(generate_candidates(cfg), cfg)
    traces = build_traces(problems, cfg)
    priming, priming_rejected, priming_funnel = build_priming(problems, cfg)
    return CountdownBuild(problems, rejected, funnel, traces, priming, priming_rejected, priming_funnel)


def write_all(build: CountdownBuild, out: str | Path) -> list[Path]:
    """``problems.parquet``, ``rejected.parquet``, ``funnel.parquet``, ``traces/<strategy>.parquet``,
    ``priming/<set>.parquet``, ``priming_rejected.parquet``, ``priming_funnel.parquet`` under ``out``
    (atomic writes, sorted rows)."""
    out = Path(out)
    written = [atomic_write_parquet(build.problems, out / "problems.parquet"),
               atomic_write_parquet(build.rejected, out / "rejected.parquet"),
               atomic_write_parquet(build.funnel.to_frame(), out / "funnel.parquet"),
               atomic_write_parquet(build.priming_rejected, out / "priming_rejected.parquet"),
               atomic_write_parquet(build.priming_funnel.to_frame(), out / "priming_funnel.parquet")]
    for (name,), part in sorted(build.traces.partition_by("strategy", as_dict=True).items()):
        written.append(atomic_write_parquet(part, out / "traces" / f"{name}.parquet"))
    for (name,), part in sorted(build.priming.partition_by("set_name", as_dict=True).items()):
        written.append(atomic_write_parquet(part, out / "priming" / f"{name}.parquet"))
    return written
