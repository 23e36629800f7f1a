"""Rules about standardized robot episodes: the standard's checks as (passed, metadata) pairs, the
export round trip, and the Great Expectations suites of the episodes and steps tables."""

from __future__ import annotations

import polars as pl

from pipelines.episodes import reasons
from pipelines.episodes.checks import CheckOutcome, dataset_checks
from pipelines.episodes.readers import FORMATS
from pipelines.episodes.schema import EPISODE_SCHEMA, STEP_SCHEMA

EPISODES_SUITE = "episodes_table_suite"
QUARANTINE_SUITE = "episodes_quarantine_suite"

# which dataset checks each asset check reports
FLAGS = ("flags", "terminal_flags_match")
CONSISTENCY = ("lengths_match", "returns_match", "steps_reference_episodes")
VALUES = ("finite", "actions_in_space", "obs_shape_constant_per_source")
IDS = ("unique_episode_ids",)
STATS = ("stats_match",)


def outcomes(episodes: pl.DataFrame, steps: pl.DataFrame, stats: dict | None = None) -> dict[str, CheckOutcome]:
    return {o.name: o for o in dataset_checks(episodes, steps, stats)}


def group(results: dict[str, CheckOutcome], names: tuple[str, ...]) -> tuple[bool, dict]:
    """Several dataset checks as one (passed, metadata): passed when all of them pass."""
    picked = [results[n] for n in names if n in results]
    return all(o.passed for o in picked) and bool(picked), {o.name: ("PASS " if o.passed else "FAIL ") + o.detail
                                                            for o in picked}


def round_trip(manifest: pl.DataFrame) -> tuple[bool, dict]:
    """Every export read back equals the standard data it came from."""
    bad = manifest.filter(~pl.col("round_trip_equal"))
    return bad.height == 0 and manifest.height > 0, {
        "exports": manifest.height,
        "failed": ", ".join(f"{r['format']}:{r['source']}" for r in bad.iter_rows(named=True)) or "none"}


def coverage(episodes: pl.DataFrame, min_tasks: int, min_data_sources: int) -> tuple[bool, dict]:
    """Enough distinct tasks and data sources made it through."""
    tasks = episodes.get_column("task").n_unique() if episodes.height else 0
    sources = episodes.get_column("data_source").n_unique() if episodes.height else 0
    return tasks >= min_tasks and sources >= min_data_sources, {"tasks": tasks, "data_sources": sources,
                                                                "min_tasks": min_tasks, "min_data_sources": min_data_sources}


def episodes_expectations(sources: list[str]) -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectTableColumnsToMatchSet(column_set=list(EPISODE_SCHEMA), exact_match=True),
        E.ExpectColumnValuesToNotBeNull(column="episode_id"),
        E.ExpectColumnValuesToBeUnique(column="episode_id"),
        E.ExpectColumnValuesToMatchRegex(column="episode_id", regex=r"^ep_[0-9a-f]{16}$"),
        E.ExpectColumnValuesToBeInSet(column="source", value_set=sources),
        E.ExpectColumnValuesToBeInSet(column="source_format", value_set=list(FORMATS)),
        E.ExpectColumnValuesToBeBetween(column="length", min_value=1),
        E.ExpectColumnValuesToBeBetween(column="obs_dim", min_value=1),
        E.ExpectColumnValuesToBeBetween(column="action_dim", min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="robot"),
        E.ExpectColumnValuesToNotBeNull(column="data_source"),
    ]


def steps_columns_present(steps: pl.DataFrame) -> tuple[bool, dict]:
    missing = [c for c in STEP_SCHEMA if c not in steps.columns]
    return not missing, {"missing": ", ".join(missing) or "none"}


def quarantine_expectations() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToNotBeNull(column="reason"),
        E.ExpectColumnValuesToBeInSet(column="reason", value_set=list(reasons.ALL)),
        E.ExpectColumnValuesToNotBeNull(column="step"),
        E.ExpectColumnValuesToNotBeNull(column="detail"),
    ]
