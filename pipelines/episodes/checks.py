"""Checks of standardized episodes, as pure functions on the episodes and steps tables.

``episode_diagnostics`` computes, per episode, every fact the rules need; ``quarantine_steps``
turns the rules into funnel steps over the episodes table (a failing episode is rejected with a
reason, the rest go on); ``dataset_checks`` evaluates the same rules on a whole dataset for
``foundry episodes validate`` and the asset checks.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.core.steps import Step, StepResult, reject_where
from pipelines.episodes import reasons

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
RETURN_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name:<28} {self.detail}"


def _finite_list(col: str) -> pl.Expr:
    """Number of non-finite values in a list column (nulls, i.e. invalid last actions, do not count)."""
    return pl.col(col).list.eval(~pl.element().is_finite()).list.sum().fill_null(0)


def episode_diagnostics(episodes: pl.DataFrame, steps: pl.DataFrame) -> pl.DataFrame:
    """Per episode: step count, flag positions, non-finite values, out-of-space actions, widths."""
    per_step = steps.with_columns(
        _finite_list("observation_state").alias("__nf_obs"),
        _finite_list("action").alias("__nf_act"),
        (~pl.col("reward").is_finite()).cast(pl.Int64).alias("__nf_rew"),
        pl.col("observation_state").list.len().alias("__obs_dim"),
    )
    agg = per_step.group_by("episode_id").agg(
        pl.len().alias("n_steps"),
        pl.col("is_first").sum().alias("n_first"),
        pl.col("is_last").sum().alias("n_last"),
        pl.col("is_terminal").sum().alias("n_terminal"),
        pl.col("is_first").sort_by("step_index").first().alias("first_at_start"),
        pl.col("is_last").sort_by("step_index").last().alias("last_at_end"),
        pl.col("is_terminal").sort_by("step_index").last().alias("terminal_at_end"),
        # the is_last row, and only it, is flagged RLDS-invalid (its values are the source's, kept)
        (pl.col("rlds_invalid") == pl.col("is_last")).all().alias("invalid_on_last_only"),
        pl.col("action").sort_by("step_index").head(pl.len() - 1).null_count().alias("null_actions"),
        (pl.col("__nf_obs").sum() + pl.col("__nf_act").sum() + pl.col("__nf_rew").sum()).alias("non_finite"),
        pl.col("reward").sum().alias("step_return"),  # every source reward, the is_last row's included
        pl.col("__obs_dim").min().alias("obs_dim_min"),
        pl.col("__obs_dim").max().alias("obs_dim_max"),
        (pl.col("step_index").max() - pl.col("step_index").min() + 1 - pl.len()).alias("index_gaps"),
    )
    space = _out_of_space(episodes, steps)
    return (episodes.select("episode_id").join(agg, on="episode_id", how="left")
            .join(space, on="episode_id", how="left")
            .with_columns(pl.col("out_of_space").fill_null(0), pl.col("n_steps").fill_null(0)))


def _out_of_space(episodes: pl.DataFrame, steps: pl.DataFrame) -> pl.DataFrame:
    bounded = episodes.filter(pl.col("action_low").is_not_null() & pl.col("action_high").is_not_null())
    if bounded.height == 0 or steps.height == 0:
        return pl.DataFrame(schema={"episode_id": pl.Utf8, "out_of_space": pl.Int64})
    acts = (steps.filter(pl.col("action").is_not_null()).select("episode_id", "action")
            .join(bounded.select("episode_id", "action_low", "action_high"), on="episode_id", how="inner"))
    if acts.height == 0:
        return pl.DataFrame(schema={"episode_id": pl.Utf8, "out_of_space": pl.Int64})
    acts = acts.with_columns(
        (pl.col("action").list.len() != pl.col("action_low").list.len()).alias("__dim_bad"))
    exploded = (acts.filter(~pl.col("__dim_bad")).explode(["action", "action_low", "action_high"], empty_as_null=True)
                .with_columns(((pl.col("action") < pl.col("action_low") - 1e-6) |
                               (pl.col("action") > pl.col("action_high") + 1e-6)).cast(pl.Int64).alias("__out")))
    out = exploded.group_by("episode_id").agg(pl.col("__out").sum().alias("out_of_space"))
    dim_bad = (acts.filter(pl.col("__dim_bad")).group_by("episode_id").len()
               .select("episode_id", pl.col("len").cast(pl.Int64).alias("out_of_space")))
    return pl.concat([out, dim_bad]).group_by("episode_id").agg(pl.col("out_of_space").sum())


def modal_obs_dim(episodes: pl.DataFrame) -> pl.DataFrame:
    """The most common observation width per source (ties: the smaller width)."""
    return (episodes.group_by(["source", "obs_dim"]).len().sort(["source", "len", "obs_dim"], descending=[False, True, False])
            .group_by("source", maintain_order=True).first().select("source", pl.col("obs_dim").alias("source_obs_dim")))


def with_diagnostics(episodes: pl.DataFrame, steps: pl.DataFrame) -> pl.DataFrame:
    diag = episode_diagnostics(episodes, steps)
    return (episodes.join(diag, on="episode_id", how="left")
            .join(modal_obs_dim(episodes), on="source", how="left"))


DIAGNOSTIC_COLUMNS = ("n_steps", "n_first", "n_last", "n_terminal", "first_at_start", "last_at_end",
                      "terminal_at_end", "invalid_on_last_only", "null_actions", "non_finite", "step_return",
                      "obs_dim_min", "obs_dim_max", "index_gaps", "out_of_space", "source_obs_dim")


def _flags_bad() -> pl.Expr:
    return ~((pl.col("n_first") == 1) & (pl.col("n_last") == 1) & pl.col("first_at_start") & pl.col("last_at_end")
             & (pl.col("n_terminal") <= 1) & ((pl.col("n_terminal") == 0) | pl.col("terminal_at_end"))
             & pl.col("invalid_on_last_only") & (pl.col("null_actions") == 0) & (pl.col("index_gaps") == 0)
             & (pl.col("n_steps") == pl.col("length") + 1)).fill_null(True)


def _step(name: str, reason: str, mask_fn, detail_fn) -> Step:
    def run(frame: pl.DataFrame) -> StepResult:
        if frame.height == 0:
            return StepResult(frame, frame.clear().with_columns(
                pl.lit(None, pl.Utf8).alias("reason"), pl.lit(None, pl.Utf8).alias("step"), pl.lit(None, pl.Utf8).alias("detail")))
        mask = frame.select(mask_fn().alias("m")).to_series()
        detail = frame.select(detail_fn().alias("d")).to_series()
        return reject_where(frame, mask, reason=reason, step=name, detail=detail)
    return Step(name, run)


def dedup_step() -> Step:
    """Duplicate episode ids (the same source episode read twice): the first one stays.

    Runs before the steps are laid out, since diagnostics group steps by episode id."""
    return _step("dedup_episode_id", reasons.DUPLICATE_EPISODE,
                 lambda: pl.col("episode_id").is_duplicated() & ~pl.col("episode_id").is_first_distinct(),
                 lambda: pl.format("episode_id {} seen before", pl.col("episode_id")))


def quarantine_steps() -> list[Step]:
    """The per-episode rules, in order, as funnel steps over the episodes table with diagnostics."""
    return [
        _step("check_flags", reasons.BAD_FLAGS, _flags_bad,
              lambda: pl.format("{} steps for length {}: {} is_first, {} is_last, {} is_terminal",
                                pl.col("n_steps"), pl.col("length"), pl.col("n_first"), pl.col("n_last"),
                                pl.col("n_terminal"))),
        _step("check_finite", reasons.NON_FINITE, lambda: pl.col("non_finite") > 0,
              lambda: pl.format("{} NaN/inf values in observations, actions or rewards", pl.col("non_finite"))),
        _step("check_action_space", reasons.ACTION_OUT_OF_SPACE, lambda: pl.col("out_of_space") > 0,
              lambda: pl.format("{} action values outside [low, high]", pl.col("out_of_space"))),
        _step("check_obs_shape", reasons.OBS_SHAPE_INCONSISTENT,
              lambda: (pl.col("obs_dim_min") != pl.col("obs_dim_max")) | (pl.col("obs_dim") != pl.col("source_obs_dim")),
              lambda: pl.format("observation width {} (steps {}..{}); the source's is {}", pl.col("obs_dim"),
                                pl.col("obs_dim_min"), pl.col("obs_dim_max"), pl.col("source_obs_dim"))),
    ]


# --- dataset-level checks --------------------------------------------------------------------

def _count_fail(name: str, bad: int, what: str, total: int) -> CheckOutcome:
    return CheckOutcome(name, bad == 0, f"{bad} of {total} {what}")


def dataset_checks(episodes: pl.DataFrame, steps: pl.DataFrame, stats: dict | None = None) -> list[CheckOutcome]:
    """Every rule of the standard on a whole dataset; each outcome says how many rows break it."""
    d = with_diagnostics(episodes, steps)
    n = d.height
    out = [
        _count_fail("flags", d.filter(_flags_bad()).height, "episodes without exactly one is_first at the start, "
                    "one is_last at the end and rlds_invalid set on it alone", n),
        _count_fail("lengths_match", d.filter(pl.col("n_steps") != pl.col("length") + 1).height,
                    "episodes whose steps != length + 1", n),
        _count_fail("returns_match", d.filter(((pl.col("step_return").fill_null(0.0) - pl.col("return")).abs() >
                                               RETURN_TOLERANCE * (1 + pl.col("return").abs()))).height,
                    "episodes whose return != sum of step rewards", n),
        _count_fail("terminal_flags_match", d.filter((pl.col("terminated") != (pl.col("n_terminal") == 1)) |
                                                     (pl.col("terminated") & pl.col("truncated"))).height,
                    "episodes whose terminated/truncated disagree with is_terminal", n),
        _count_fail("actions_in_space", d.filter(pl.col("out_of_space") > 0).height, "episodes with actions outside "
                    "the action space", n),
        _count_fail("finite", d.filter(pl.col("non_finite") > 0).height, "episodes with NaN/inf", n),
    ]
    widths = steps.group_by("source").agg(pl.col("observation_state").list.len().n_unique().alias("w"),
                                          pl.col("action").list.len().drop_nulls().n_unique().alias("a"))
    bad_sources = widths.filter((pl.col("w") > 1) | (pl.col("a") > 1)).get_column("source").to_list()
    out.append(CheckOutcome("obs_shape_constant_per_source", not bad_sources,
                            f"sources with several observation/action widths: {', '.join(map(str, bad_sources)) or 'none'}"))
    dupes = episodes.height - episodes.get_column("episode_id").n_unique()
    out.append(_count_fail("unique_episode_ids", dupes + episodes.get_column("episode_id").null_count(),
                           "duplicate or null episode ids", episodes.height))
    orphans = steps.join(episodes.select("episode_id"), on="episode_id", how="anti").height
    out.append(_count_fail("steps_reference_episodes", orphans, "steps without an episode row", steps.height))
    if stats is not None:
        fresh = compute_stats(episodes, steps)
        problems = _stats_differences(stats, fresh)
        out.append(CheckOutcome("stats_match", not problems, "; ".join(problems[:5]) or
                                f"stats of {len(fresh)} sources match the data"))
    return out


def _stats_differences(stored: dict, fresh: dict, tol: float = 1e-4) -> list[str]:
    problems = []
    for source, feats in fresh.items():
        if source not in stored:
            problems.append(f"{source}: no stats stored")
            continue
        for feat, values in feats.items():
            for key, v in values.items():
                s = stored[source].get(feat, {}).get(key)
                if s is None:
                    problems.append(f"{source}.{feat}.{key}: missing")
                elif not np.allclose(np.asarray(s, dtype=float), np.asarray(v, dtype=float), rtol=tol, atol=tol):
                    problems.append(f"{source}.{feat}.{key}: stored differs from the data")
    for source in stored:
        if source not in fresh:
            problems.append(f"{source}: stats for a source with no episodes")
    return problems


def array_stats(arr: np.ndarray) -> dict:
    """mean, std, min, max, count and quantiles q01..q99 per dimension (LeRobot v3's stats keys)."""
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape[0] == 0:
        return {"count": [0]}
    out = {"mean": arr.mean(axis=0), "std": arr.std(axis=0), "min": arr.min(axis=0), "max": arr.max(axis=0),
           "count": [int(arr.shape[0])]}
    for q in QUANTILES:
        out[f"q{int(round(q * 100)):02d}"] = np.quantile(arr, q, axis=0)
    return {k: [float(x) for x in np.asarray(v).reshape(-1)] for k, v in out.items()}


def compute_stats(episodes: pl.DataFrame, steps: pl.DataFrame) -> dict:
    """Per source: statistics of ``observation_state`` (all steps), ``action`` and ``reward`` (valid
    steps), and of episode ``length`` and ``return``."""
    stats: dict = {}
    for source in sorted(episodes.get_column("source").unique().to_list()):
        s = steps.filter(pl.col("source") == source)
        valid = s.filter(~pl.col("is_last"))
        e = episodes.filter(pl.col("source") == source)
        entry = {}
        if s.height:
            entry["observation_state"] = array_stats(np.asarray(s.get_column("observation_state").to_list(), dtype=np.float64))
        if valid.height:
            entry["action"] = array_stats(np.asarray(valid.get_column("action").to_list(), dtype=np.float64))
            entry["reward"] = array_stats(valid.get_column("reward").to_numpy())
        entry["episode_length"] = array_stats(e.get_column("length").to_numpy())
        entry["episode_return"] = array_stats(e.get_column("return").to_numpy())
        stats[source] = entry
    return stats


def stats_json(stats: dict) -> str:
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v
    return json.dumps(stats, sort_keys=True, indent=1, default=clean)
