"""Standardize: reader output -> checked episodes and steps tables, quarantine and funnel.

The funnel runs at episode granularity: ``read`` (episodes the reader could lay out), then the
rules of :mod:`pipelines.episodes.checks`. Every source episode ends kept or quarantined, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import polars as pl

from pipelines.core.steps import Funnel, StepResult, run_steps
from pipelines.episodes.checks import DIAGNOSTIC_COLUMNS, compute_stats, dedup_step, quarantine_steps, with_diagnostics
from pipelines.episodes.readers import ReadItem, split_items
from pipelines.episodes.schema import (EPISODE_SCHEMA, episode_row, QUARANTINE_SCHEMA, Quarantined, STEP_SCHEMA,
                                       quarantine_frame, sort_frames, step_frame)


@dataclass
class Standardized:
    episodes: pl.DataFrame
    steps: pl.DataFrame
    quarantine: pl.DataFrame
    funnel: Funnel
    stats: dict
    items_in: int

    @property
    def funnel_frame(self) -> pl.DataFrame:
        return self.funnel.to_frame()


def quarantine_table(read_q: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """The row contract: an episode rejected after it was laid out keeps its input columns (the
    episodes-table columns; the per-step diagnostics are dropped, being derived, not input) plus
    ``reason``, ``step``, ``detail``; an item the reader could not lay out has only the
    quarantine columns, the episode columns null."""
    schema = {**QUARANTINE_SCHEMA, **{c: t for c, t in EPISODE_SCHEMA.items() if c not in QUARANTINE_SCHEMA}}
    checked = rejected.select([c for c in schema if c in rejected.columns]) if rejected.height else None
    parts = [read_q.cast(QUARANTINE_SCHEMA)] + ([checked] if checked is not None else [])
    out = pl.concat(parts, how="diagonal_relaxed")
    return out.select([pl.col(c).cast(t) if c in out.columns else pl.lit(None, dtype=t).alias(c)
                       for c, t in schema.items()]).sort(["source", "source_id", "step"])


def standardize(items: list[ReadItem]) -> Standardized:
    """Lay out readable episodes, run the per-episode rules, split kept from quarantined."""
    good, bad = split_items(items)
    # the steps of an episode are laid out only if it survives dedup (the costly part of the layout)
    return standardize_laid_out([episode_row(ep) for ep in good], lambda i: step_frame(good[i]), bad, len(items))


def standardize_laid_out(rows: list[dict], steps_of: Callable[[int], pl.DataFrame] | Sequence[pl.DataFrame],
                         bad: list[Quarantined], items_in: int) -> Standardized:
    """:func:`standardize` from episodes already laid out (on engine tasks): ``rows[i]`` is the
    episodes-table row of the i-th readable episode, ``steps_of[i]`` (or ``steps_of(i)``) its steps
    frame, ``bad`` the items the readers quarantined, ``items_in`` every item read."""
    steps_for = steps_of if callable(steps_of) else steps_of.__getitem__
    read_q = quarantine_frame(bad, step="read")
    funnel = Funnel()
    # the read step: every item in, the laid-out episodes kept, the rest quarantined with their reason
    frame = pl.DataFrame(rows, schema=EPISODE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=EPISODE_SCHEMA)
    funnel.record("read", items_in, StepResult(kept=frame, rejected=read_q))
    deduped = dedup_step()(frame.with_row_index("__i"))
    funnel.record("dedup_episode_id", frame.height, deduped)
    kept_i = deduped.kept.get_column("__i").to_list()
    episodes = (pl.DataFrame([rows[i] for i in kept_i], schema=EPISODE_SCHEMA, orient="row") if kept_i
                else pl.DataFrame(schema=EPISODE_SCHEMA))
    parts = [steps_for(i) for i in kept_i]
    steps = pl.concat(parts) if parts else pl.DataFrame(schema=STEP_SCHEMA)
    diag = with_diagnostics(episodes, steps)
    kept, rejected, funnel = run_steps(diag, quarantine_steps(), funnel)
    if deduped.rejected.height:
        rejected = pl.concat([deduped.rejected.drop("__i"), rejected], how="diagonal_relaxed")
    kept_eps = kept.drop([c for c in DIAGNOSTIC_COLUMNS if c in kept.columns]).select(list(EPISODE_SCHEMA))
    kept_steps = steps.join(kept_eps.select("episode_id"), on="episode_id", how="semi")
    kept_eps, kept_steps = sort_frames(kept_eps, kept_steps)
    quarantine = quarantine_table(read_q, rejected)
    stats = compute_stats(kept_eps, kept_steps) if kept_eps.height else {}
    return Standardized(kept_eps.cast(EPISODE_SCHEMA), kept_steps.select(list(STEP_SCHEMA)).cast(STEP_SCHEMA),
                        quarantine, funnel, stats, items_in)
