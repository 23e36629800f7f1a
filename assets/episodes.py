"""Robot episodes: D5RL-style data sources recorded from MuJoCo through Minari, standardized into one
episode schema (RLDS semantics, Parquet storage, no TensorFlow), exported to LeRobot v3 and Minari."""


import json
from pathlib import Path

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    StaticPartitionsDefinition,
    asset,
    multi_asset,
)

from assets.engine_resource import EngineResource
from assets.conservation import CHECK_NAME as CHECK_ON_DISK, conservation_check
from assets.metadata import asset_surface, frame_metadata, image_metadata, markdown_table, selected_only
from assets.resources import FoundryResource
from pipelines.core.plots import funnel_plot
from pipelines.episodes.checks import stats_json
from pipelines.config import PROFILE_NAMES
from pipelines.episodes.collect import collect, dataset_id
from pipelines.episodes.config import episodes_config
from pipelines.episodes.convert import standardize
from pipelines.episodes.engine import LaidOut, convert_on_engine
from pipelines.episodes.readers import minari_source_name, read_lerobot, read_minari
from pipelines.episodes.schema import EPISODE_SCHEMA, STEP_SCHEMA, sort_frames
from pipelines.episodes.writers import write_lerobot_v3, write_minari
from pipelines.release.registry import REGISTRY
from validators import episodes as rules
from validators.common import gx_check, row_conservation, schema_matches, to_check_result

FAMILY = "episodes"
GROUP = "episodes"

COLLECTED = AssetKey("episodes_minari_collected")
EPISODES = AssetKey("episodes_table")
STEPS = AssetKey("episodes_steps")
QUARANTINE = AssetKey("episodes_quarantine")
FUNNEL = AssetKey("episodes_funnel")
EXPORTS = AssetKey("episodes_exports")

CHECK_CONSERVATION = "row_conservation"
CHECK_SCHEMA = "schema"
CHECK_FLAGS = "rlds_flags"
CHECK_CONSISTENCY = "lengths_and_returns_match"
CHECK_VALUES = "finite_in_space_constant_shapes"
CHECK_UNIQUE_ID = "unique_episode_id"
CHECK_COVERAGE = "three_tasks_three_data_sources"
CHECK_ROUND_TRIP = "export_round_trip_equal"
CHECK_GX_EPISODES = "gx_episodes_table_suite"
CHECK_GX_QUARANTINE = "gx_episodes_quarantine_suite"

# Episodes per engine task: a task reads and lays out one Minari dataset's share of episodes (an
# episode is milliseconds to a second; a few per task keep the tasks worth sending).
EPISODES_PER_TASK = 2

PREVIEW = ["episode_id", "source", "robot", "task", "data_source", "length", "return"]

# One partition per source (a Minari dataset: task x data source, e.g. reacher_noisy), of either
# profile; a source can be re-converted alone. A key the profile did not collect is an empty partition.
SOURCE_PARTITIONS = StaticPartitionsDefinition(sorted({
    minari_source_name(dataset_id(task, data_source))
    for profile in PROFILE_NAMES for cfg in [episodes_config(profile).collect]
    for task in cfg.tasks for data_source in cfg.data_sources}))


def _config(foundry: FoundryResource):
    return foundry.profile().episodes


def _as_schema(frame: pl.DataFrame, schema: dict) -> pl.DataFrame:
    """Frames loaded from hive partitions carry ``source`` last; restore the standard column order."""
    if frame.width == 0:
        return pl.DataFrame(schema=schema)
    return frame.select(list(schema)).cast(schema)


@asset(key=COLLECTED, group_name=GROUP, **asset_surface(FAMILY, "collected", {"mujoco", "minari", "polars", "parquet", "duckdb"}, automate=False),
       description="Minari datasets recorded from gymnasium MuJoCo tasks (InvertedPendulum, Reacher, HalfCheetah), "
                   "each with D5RL-like data sources: a scripted controller, the same controller with action noise, "
                   "and random temporally-correlated play. One row per (task, data source) dataset with its path "
                   "under the artifacts directory, storage format (HDF5 or Arrow), episodes, steps and seed. "
                   "Headless, CPU only; seeds come from the profile.")
def episodes_minari_collected(context: AssetExecutionContext, foundry: FoundryResource) -> Output[pl.DataFrame]:
    cfg = _config(foundry)
    out_dir = foundry.artifact_dir(FAMILY) / "minari_collected"
    rows = collect(cfg.collect, out_dir)
    root = foundry.root()
    for r in rows:
        r["path"] = str(Path(r["path"]).relative_to(root))
    frame = pl.DataFrame(rows).sort("dataset_id")
    context.log.info(f"recorded {frame['steps'].sum()} steps in {frame.height} Minari datasets")
    return Output(frame, metadata={**frame_metadata(frame, ["dataset_id", "data_format", "episodes", "steps"], rows=20),
                                   "minari_root": MetadataValue.path(str(out_dir))})


@multi_asset(
    outs={
        EPISODES.path[-1]: AssetOut(
            is_required=False, key=EPISODES, group_name=GROUP, **asset_surface(FAMILY, "episodes"), metadata={"partition_by": "source"},
            description="The episodes table of the standard: one row per episode with id, source, robot/embodiment, "
                        "task, data source, language instruction, length (transitions), return, terminated/"
                        "truncated, observation and action widths, action space and JSON metadata. Partitioned by "
                        "source; per-source statistics (mean, std, quantiles) are in the materialization metadata."),
        STEPS.path[-1]: AssetOut(
            is_required=False, key=STEPS, group_name=GROUP, **asset_surface(FAMILY, "steps"), metadata={"partition_by": "source"},
            description="The steps table of the standard, RLDS semantics: T + 1 rows per episode; observation_state, "
                        "observation_image (encoded bytes), action, action_ee7 (standardized "
                        "7-D end-effector delta + gripper where known), reward, discount, is_first, is_last, "
                        "is_terminal (truncation = is_last without is_terminal), rlds_invalid (the is_last row: its "
                        "action/reward/discount are the source's, kept), features (every other source feature by "
                        "declared type). Partitioned by source."),
        QUARANTINE.path[-1]: AssetOut(
            is_required=False, key=QUARANTINE, group_name=GROUP, **asset_surface(FAMILY, "quarantine"),
            metadata={"partition_by": "source"},
            description="Every source episode (or file) that did not convert, with `reason` (a stable code), the "
                        "`step` that caught it and a `detail` naming the file and episode."),
        FUNNEL.path[-1]: AssetOut(
            is_required=False, key=FUNNEL, group_name=GROUP, **asset_surface(FAMILY, "funnel"),
            metadata={"partition_by": "source"},
            description="The funnel at episode granularity: read, dedup, flags, finite, action space, shapes; rows "
                        "in, kept, rejected and the count per reason."),
    },
    check_specs=[
        AssetCheckSpec(CHECK_CONSERVATION, asset=EPISODES, blocking=True,
                       description="every source episode is kept or quarantined, once"),
        AssetCheckSpec(CHECK_SCHEMA, asset=EPISODES, blocking=True, description="episodes and steps have the standard schema"),
        AssetCheckSpec(CHECK_FLAGS, asset=STEPS, blocking=True,
                       description="one is_first at the start, one is_last at the end, rlds_invalid there alone; "
                                   "is_terminal agrees with terminated"),
        AssetCheckSpec(CHECK_CONSISTENCY, asset=EPISODES, blocking=True,
                       description="lengths and returns of the episodes table match the steps"),
        AssetCheckSpec(CHECK_VALUES, asset=STEPS, blocking=True,
                       description="no NaN/inf, actions within the action space, observation shapes constant per source"),
        AssetCheckSpec(CHECK_UNIQUE_ID, asset=EPISODES, blocking=True, description="episode_id is unique and never null"),
        AssetCheckSpec(CHECK_GX_EPISODES, asset=EPISODES, blocking=True,
                       description="Great Expectations suite of the episodes table (ids, sources, formats, widths)"),
        AssetCheckSpec(CHECK_GX_QUARANTINE, asset=QUARANTINE,
                       description="Great Expectations suite of the quarantine (every row has a known reason, step "
                                   "and detail)"),
    ],
    partitions_def=SOURCE_PARTITIONS,
    can_subset=True,  # one conversion pass; each table is written only when selected
)
def episodes_standardize(context: AssetExecutionContext, foundry: FoundryResource, engine: EngineResource,
                         episodes_minari_collected: pl.DataFrame):
    root = foundry.root()
    source = context.partition_key
    laid_out = LaidOut()
    with engine.open() as eng:  # read + lay out as engine tasks (a share of a dataset's episodes each)
        for did, rel in episodes_minari_collected.select("dataset_id", "path").iter_rows():
            if minari_source_name(did) == source:
                convert_on_engine("minari", root / rel, eng, episodes_per_task=EPISODES_PER_TASK, into=laid_out,
                                  source=source)
    result = laid_out.standardize()  # dedup and checks over the whole source, as in-process
    episodes, steps, funnel = result.episodes, result.steps, result.funnel_frame
    artifacts = foundry.artifact_dir(FAMILY)
    (artifacts / "stats").mkdir(exist_ok=True)
    (artifacts / "stats" / f"{source}.json").write_text(stats_json(result.stats), encoding="utf-8")
    png = funnel_plot(funnel, artifacts / f"episodes_funnel_{source}.png", f"Episodes funnel: {source}")
    per_source = (episodes.group_by("source").agg(pl.len().alias("episodes"), pl.col("length").sum().alias("transitions"),
                                                  pl.col("return").mean().round(3).alias("mean_return"))
                  .sort("source"))
    outcomes = rules.outcomes(episodes, steps, result.stats)
    declared = sorted(s.name for s in REGISTRY["episodes"].sources(foundry.profile()))
    yield from selected_only(context, _standardize_events(episodes, steps, funnel, result, outcomes, per_source,
                                                          artifacts, png, declared))


def _standardize_events(episodes, steps, funnel, result, outcomes, per_source, artifacts, png, declared_sources):
    yield Output(episodes, output_name=EPISODES.path[-1], metadata={
        **frame_metadata(episodes, PREVIEW),
        "per_source": MetadataValue.md(markdown_table(per_source, rows=100, width=30)),
        "stats": MetadataValue.json(json.loads(stats_json(result.stats))),
        "stats_path": MetadataValue.path(str(artifacts / "stats" / f"{episodes_source(episodes, result)}.json")),
        **image_metadata(png, "funnel_plot"),
    })
    yield Output(steps, output_name=STEPS.path[-1], metadata={
        **frame_metadata(steps, ["episode_id", "step_index", "reward", "is_first", "is_last", "is_terminal"]),
        "with_action_ee7": MetadataValue.int(int(steps.get_column("action_ee7").is_not_null().sum())),
    })
    yield Output(result.quarantine, output_name=QUARANTINE.path[-1],
                 metadata=frame_metadata(result.quarantine, ["source", "source_id", "reason", "detail"]))
    yield Output(funnel, output_name=FUNNEL.path[-1], metadata={
        "dagster/row_count": MetadataValue.int(funnel.height),
        "preview": MetadataValue.md(markdown_table(funnel, rows=100, width=30)),
        "rejected_by_reason": MetadataValue.json(result.funnel.rejected_by_reason()),
    })
    yield to_check_result(CHECK_CONSERVATION, row_conservation(funnel, result.items_in, episodes.height,
                                                               result.quarantine.height), asset_key=EPISODES)
    ep_ok, ep_meta = schema_matches(episodes, EPISODE_SCHEMA)
    st_ok, st_meta = schema_matches(steps, STEP_SCHEMA)
    yield to_check_result(CHECK_SCHEMA, (ep_ok and st_ok, {**{f"episodes_{k}": v for k, v in ep_meta.items()},
                                                           **{f"steps_{k}": v for k, v in st_meta.items()}}),
                          asset_key=EPISODES)
    yield to_check_result(CHECK_FLAGS, rules.group(outcomes, rules.FLAGS), asset_key=STEPS)
    yield to_check_result(CHECK_CONSISTENCY, rules.group(outcomes, rules.CONSISTENCY + rules.STATS), asset_key=EPISODES)
    yield to_check_result(CHECK_VALUES, rules.group(outcomes, rules.VALUES), asset_key=STEPS)
    yield to_check_result(CHECK_UNIQUE_ID, rules.group(outcomes, rules.IDS), asset_key=EPISODES)
    gx_frame = _as_schema(episodes, EPISODE_SCHEMA).drop("action_low", "action_high")
    # the allowed sources come from the profile's declaration, never from the frame being checked
    exps = [e for e in rules.episodes_expectations(declared_sources)
            if type(e).__name__ != "ExpectTableColumnsToMatchSet"]
    yield _named(gx_check(gx_frame, rules.EPISODES_SUITE, exps), CHECK_GX_EPISODES, EPISODES)
    yield _named(gx_check(result.quarantine, rules.QUARANTINE_SUITE, rules.quarantine_expectations()),
                 CHECK_GX_QUARANTINE, QUARANTINE)


def episodes_source(episodes: pl.DataFrame, result) -> str:
    frame = episodes if episodes.height else result.quarantine
    return str(frame.get_column("source")[0]) if frame.height else "none"


def _named(result: AssetCheckResult, name: str, key: AssetKey) -> AssetCheckResult:
    """A GX result (``gx_check``) named for a ``check_specs`` entry of a partitioned asset."""
    return AssetCheckResult(passed=result.passed, metadata=result.metadata, severity=result.severity,
                            check_name=name, asset_key=key)


def _core_equal(a_eps: pl.DataFrame, a_steps: pl.DataFrame, b_eps: pl.DataFrame, b_steps: pl.DataFrame) -> bool:
    """Same episodes in the same order: lengths, returns, termination, observations, valid actions."""
    if a_eps.height != b_eps.height:
        return False
    # exports number episodes in the standard's order; read back, their ids carry that number
    b_eps = b_eps.with_columns(pl.col("source_id").str.extract(r"(\d+)$").cast(pl.Int64).alias("__n")).sort("__n")
    for x, y in zip(a_eps.iter_rows(named=True), b_eps.iter_rows(named=True)):
        if x["length"] != y["length"] or x["terminated"] != y["terminated"] or abs(x["return"] - y["return"]) > 1e-4:
            return False
        sx = a_steps.filter(pl.col("episode_id") == x["episode_id"]).sort("step_index")
        sy = b_steps.filter(pl.col("episode_id") == y["episode_id"]).sort("step_index")
        for col in ("observation_state", "action", "is_first", "is_last", "is_terminal"):
            if sx.get_column(col).to_list() != sy.get_column(col).to_list():
                return False
    return True


@asset(key=EXPORTS, group_name=GROUP, **asset_surface(FAMILY, "exports", {"lerobot", "minari", "polars", "parquet", "duckdb"}),
       ins={"episodes_table": AssetIn(EPISODES), "episodes_steps": AssetIn(STEPS)},
       check_specs=[AssetCheckSpec(CHECK_ROUND_TRIP, asset=EXPORTS, blocking=True,
                                   description="each LeRobot v3 and Minari export, read back, equals the standard"),
                    AssetCheckSpec(CHECK_COVERAGE, asset=EXPORTS,
                                   description="at least three MuJoCo tasks and three data sources made it through "
                                               "(over every source partition)")],
       description="Exports of the standard episodes, one per source and format: LeRobotDataset v3.0 "
                   "(meta/info.json, stats.json with quantiles, tasks and episodes tables, data Parquet) and Minari "
                   "(HDF5). Each is read back with this family's readers and compared with the standard; one row per "
                   "export with its path, episodes, frames and whether the round trip was equal.")
def episodes_exports(context: AssetExecutionContext, foundry: FoundryResource, episodes_table: pl.DataFrame,
                     episodes_steps: pl.DataFrame):
    root = foundry.root()
    episodes, steps = sort_frames(_as_schema(episodes_table, EPISODE_SCHEMA), _as_schema(episodes_steps, STEP_SCHEMA))
    out = foundry.artifact_dir(FAMILY) / "exports"
    rows = []
    for lr in write_lerobot_v3(out / "lerobot", episodes, steps):
        back = standardize(read_lerobot(lr))
        src = lr.name
        eq = back.quarantine.height == 0 and _core_equal(
            episodes.filter(pl.col("source") == src), steps.filter(pl.col("source") == src), back.episodes, back.steps)
        rows.append({"format": "lerobot-v3", "source": src, "path": str(lr.relative_to(root)),
                     "episodes": back.episodes.height, "frames": back.steps.height, "round_trip_equal": eq})
    minari_dir = out / "minari"
    for md in write_minari(minari_dir, episodes, steps):
        back = standardize(read_minari(md))
        src = back.episodes.get_column("source")[0] if back.episodes.height else md.name
        eq = back.quarantine.height == 0 and _core_equal(
            episodes.filter(pl.col("source") == src), steps.filter(pl.col("source") == src), back.episodes, back.steps)
        rows.append({"format": "minari", "source": src, "path": str(md.relative_to(root)),
                     "episodes": back.episodes.height, "frames": back.steps.height, "round_trip_equal": eq})
    manifest = pl.DataFrame(rows, schema={"format": pl.Utf8, "source": pl.Utf8, "path": pl.Utf8, "episodes": pl.Int64,
                                          "frames": pl.Int64, "round_trip_equal": pl.Boolean}).sort(["format", "source"])
    yield Output(manifest, metadata={**frame_metadata(manifest, rows=40), "exports_dir": MetadataValue.path(str(out))})
    yield to_check_result(CHECK_ROUND_TRIP, rules.round_trip(manifest), asset_key=EXPORTS)
    yield to_check_result(CHECK_COVERAGE, rules.coverage(episodes, 3, 3), asset_key=EXPORTS)


# The row contract on disk: source episodes read = episodes_table + episodes_quarantine rows, in the files
# written (the items read are the funnel's first input, summed over its source partitions: a reader
# yields them, nothing writes them).
episodes_conservation_on_disk = conservation_check(
    asset=EPISODES, kept=[EPISODES], rejected=[QUARANTINE], funnel=FUNNEL,
    description="source episodes read = episodes_table + episodes_quarantine rows, counted in the Parquet files "
                "written (and episodes_funnel on disk agrees)")
