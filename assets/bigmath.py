"""Big-Math: open math datasets filtered to problems with one verifiable, closed-form answer."""



from dataclasses import replace

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    StaticPartitionsDefinition,
    asset_check,
    multi_asset,
)

from assets.conservation import CHECK_NAME as CHECK_ON_DISK, conservation_check
from assets.engine_resource import EngineResource
from assets.llm_resource import LLMResource
from assets.metadata import asset_surface, frame_metadata, image_metadata, markdown_table
from assets.resources import FoundryResource
from pipelines.bigmath.distributed import filter_rows_on_engine
from pipelines.bigmath.funnel import filter_rows, read_all, source_breakdown
from pipelines.bigmath.llm_signals import fill_llm_signals
from pipelines.bigmath.recipe import BIGMATH_RECIPE
from pipelines.bigmath.schema import REJECTED_SCHEMA, SCHEMA
from pipelines.config import SAMPLE_MATH_SOURCES
from pipelines.core.plots import funnel_plot
from validators import bigmath as rules
from validators.common import gx_check, row_conservation, schema_matches, to_check_result, unique_values

FAMILY = "bigmath"
GROUP = "bigmath"

NORMALIZED = AssetKey("bigmath_normalized")
QUARANTINE = AssetKey("bigmath_quarantine")
KEPT = AssetKey("bigmath_kept")
REJECTED = AssetKey("bigmath_rejected")
FUNNEL = AssetKey("bigmath_funnel")

CHECK_CONSERVATION = "row_conservation"
CHECK_SCHEMA = "schema"
CHECK_UNIQUE_ID = "unique_problem_id"
CHECK_RESIDUE = "no_mc_url_proof_left"
CHECK_VERIFY_TIMEOUTS = "verify_timeouts_within_share"
CHECK_GX_KEPT = "gx_bigmath_kept_suite"
CHECK_GX_REJECTED = "gx_bigmath_rejected_suite"

PREVIEW = ["problem_id", "source", "problem", "answer"]


# One partition per source, of either profile (the sample's files and the full recipe's Hub sets): a
# source can be re-read alone. A key that is not a source of the active profile gives an empty partition.
SOURCE_PARTITIONS = StaticPartitionsDefinition(
    list(dict.fromkeys([s.name for s in SAMPLE_MATH_SOURCES] + [r.spec.name for r in BIGMATH_RECIPE])))


@multi_asset(
    outs={
        NORMALIZED.path[-1]: AssetOut(
            is_required=False, key=NORMALIZED, group_name=GROUP, metadata={"partition_by": "source"},
            **asset_surface(FAMILY, "normalized", automate=False),
            description="Every readable row of one math source (the partition) in one schema: problem, answer, "
                        "solution, options, source, source_id, stable problem_id and provenance. Sources come "
                        "from the profile (sample: files shipped in data/sample/math; full: Hugging Face datasets); "
                        "a source the active profile does not declare is an empty partition."),
        QUARANTINE.path[-1]: AssetOut(
            is_required=False, key=QUARANTINE, group_name=GROUP, metadata={"partition_by": "source"},
            **asset_surface(FAMILY, "quarantine", automate=False),
            description="Input rows of one source that could not be read or normalized (bad JSON, non-UTF-8, "
                        "missing or mistyped fields, empty or oversized problems), each with reason `malformed` and "
                        "a detail naming the source and line. Nothing is dropped silently."),
    },
    partitions_def=SOURCE_PARTITIONS,
    can_subset=True,  # one read of the source; each table is written only when selected
)
def bigmath_sources(context: AssetExecutionContext, foundry: FoundryResource):
    """Reads one source of the profile (the partition); writes the selected tables (normalized, quarantine)."""
    config = foundry.profile().bigmath
    name = context.partition_key
    specs = tuple(s for s in config.sources if s.name == name)
    rows, quarantined, loaded = read_all(replace(config, sources=specs))
    per_source = {s.spec.name: len(s.records) for s in loaded}
    context.log.info(f"read {sum(per_source.values())} rows of source {name}" if specs else
                     f"{name} is not a source of profile {foundry.profile().name}: empty partition")
    if NORMALIZED in context.selected_asset_keys:
        yield Output(rows, output_name=NORMALIZED.path[-1], metadata={
            **frame_metadata(rows, PREVIEW),
            "rows_read": MetadataValue.int(per_source.get(name, 0)),
            "in_profile": MetadataValue.bool(bool(specs)),
            "source_revision": MetadataValue.text(str(loaded[0].revision) if loaded else ""),
        })
    if QUARANTINE in context.selected_asset_keys:
        yield Output(quarantined, output_name=QUARANTINE.path[-1],
                     metadata=frame_metadata(quarantined, ["source", "source_id", "detail"]))


def in_source_order(frame: pl.DataFrame, names: list[str], schema: dict) -> pl.DataFrame:
    """Rows of every source partition back in the profile's source order (dedup keeps the first
    occurrence, so the order decides), each source's rows in read order, columns in schema order."""
    if frame.width == 0 or frame.height == 0:
        return pl.DataFrame(schema=schema)
    order = {n: i for i, n in enumerate(names)}
    return (frame.with_columns(pl.col("source").replace_strict(order, default=len(order), return_dtype=pl.Int64)
                               .alias("__order"))
            .sort("__order", maintain_order=True).select(list(schema)).cast(schema))


@multi_asset(
    outs={
        KEPT.path[-1]: AssetOut(
            is_required=False, key=KEPT, group_name=GROUP, **asset_surface(FAMILY, "kept"), metadata={"partition_by": "source"},
            description="Big-Math: problems with one verifiable, closed-form answer, after every filter of the "
                        "funnel (decontamination, rule signals, language, answer parsing with math-verify, exact "
                        "and MinHash near dedup). Stored as Parquet partitioned by source."),
        REJECTED.path[-1]: AssetOut(
            is_required=False, key=REJECTED, group_name=GROUP, **asset_surface(FAMILY, "rejected"),
            description="Every row the funnel dropped, with `reason` (a stable code), `step` and `detail`."),
        FUNNEL.path[-1]: AssetOut(
            is_required=False, key=FUNNEL, group_name=GROUP, **asset_surface(FAMILY, "funnel"),
            description="The funnel table: step, rows in, kept, rejected, and the count per reason."),
    },
    check_specs=[
        AssetCheckSpec(CHECK_CONSERVATION, asset=KEPT, blocking=True,
                       description="kept + rejected = input rows, at every step and end to end"),
        AssetCheckSpec(CHECK_SCHEMA, asset=KEPT, blocking=True, description="the kept set has the Big-Math schema"),
        AssetCheckSpec(CHECK_UNIQUE_ID, asset=KEPT, blocking=True, description="problem_id is unique and never null"),
        AssetCheckSpec(CHECK_RESIDUE, asset=KEPT, blocking=True,
                       description="no multiple-choice options, URLs or proof prompts left in the kept set"),
        AssetCheckSpec(CHECK_VERIFY_TIMEOUTS, asset=KEPT, blocking=True,
                       description="at most the configured share (default 0.1%) of verified rows ran out of time "
                                   "(verify_timeout): above it the machine, not the data, decided the kept set"),
    ],
    pool="llm",  # only calls a model when one is configured (FOUNDRY_LLM_*); then the pool limits it
    can_subset=True,  # one pass of the funnel; each table is written only when selected
)
def bigmath_funnel(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource,
                   engine: EngineResource, bigmath_normalized: pl.DataFrame, bigmath_quarantine: pl.DataFrame):
    """Runs the filtering funnel once over every source; writes the selected tables (kept, rejected, funnel)."""
    profile = foundry.profile()
    config = profile.bigmath
    names = [spec.name for spec in config.sources]
    bigmath_normalized = in_source_order(bigmath_normalized, names, SCHEMA)
    bigmath_quarantine = in_source_order(bigmath_quarantine, names, REJECTED_SCHEMA)
    signal_meta = {"llm": llm.config().why_not_configured() or "configured"}
    with engine.open() as eng:  # local in-process: the single-frame funnel; otherwise shards on the engine
        client = llm.client(foundry.root(), engine=eng)  # on ray the LLM signal calls go out as engine batches
        if client is not None:
            with client:
                bigmath_normalized, asked = fill_llm_signals(bigmath_normalized, client)
            signal_meta.update(asked)
        result = (filter_rows(bigmath_normalized, bigmath_quarantine, config) if eng.kind == "local" and eng.num_workers == 1
                  else filter_rows_on_engine(bigmath_normalized, bigmath_quarantine, config, eng))
    funnel = result.funnel_frame
    kept, rejected = result.kept, result.rejected
    png = funnel_plot(funnel, foundry.artifact_dir(FAMILY) / "bigmath_funnel.png", "Big-Math funnel")
    breakdown = source_breakdown(result)
    llm_columns = ["llm_multiple_choice", "llm_proof", "llm_multi_part", "llm_yes_no"]
    llm_used = any(kept.get_column(c).null_count() < kept.height for c in llm_columns) if kept.height else False

    selected = context.selected_asset_keys
    if KEPT in selected:
        yield from _kept_outputs(kept, result, breakdown, llm_used, signal_meta, png, funnel, config)
    if REJECTED in selected:
        yield Output(rejected, output_name=REJECTED.path[-1], metadata={
            **frame_metadata(rejected, ["source", "source_id", "reason", "step", "detail"]),
            "rejected_by_reason": MetadataValue.json(result.funnel.rejected_by_reason()),
        })
    if FUNNEL in selected:
        yield Output(funnel, output_name=FUNNEL.path[-1], metadata={
            "dagster/row_count": MetadataValue.int(funnel.height),
            "preview": MetadataValue.md(markdown_table(funnel, rows=100, width=30)),
            "eval_sets": MetadataValue.json(result.eval_set_sizes),
            # machine facts, in metadata only: the funnel table itself stays byte-identical across runs
            "step_timings": MetadataValue.json(result.funnel.timings_dicts()),
            "seconds_total": MetadataValue.float(round(sum(t.seconds for t in result.funnel.timings), 3)),
            "peak_rss_mb": MetadataValue.float(max((t.peak_rss_mb for t in result.funnel.timings), default=0.0)),
            **image_metadata(png, "funnel_plot"),
        })


def _kept_outputs(kept, result, breakdown, llm_used, signal_meta, png, funnel, config):
    rejected = result.rejected
    yield Output(kept, output_name=KEPT.path[-1], metadata={
        **frame_metadata(kept, PREVIEW),
        "rows_per_source": MetadataValue.md(markdown_table(breakdown, rows=100, width=20)),
        "signals": MetadataValue.text("rule-based and model-based" if llm_used else
                                      "rule-based only (no LLM configured; llm_* columns are null)"),
        "llm_signals": MetadataValue.json(signal_meta),
        "kept_share": MetadataValue.float(round(kept.height / result.rows_in, 4) if result.rows_in else 0.0),
        **image_metadata(png, "funnel_plot"),
    })
    yield to_check_result(CHECK_CONSERVATION, row_conservation(funnel, result.rows_in, kept.height, rejected.height),
                          asset_key=KEPT)
    yield to_check_result(CHECK_SCHEMA, schema_matches(kept, SCHEMA), asset_key=KEPT)
    yield to_check_result(CHECK_UNIQUE_ID, unique_values(kept, "problem_id"), asset_key=KEPT)
    yield to_check_result(CHECK_RESIDUE, rules.residue(kept), asset_key=KEPT)
    verified = funnel.filter(pl.col("step") == "verify_answer").get_column("rows_in")
    yield to_check_result(CHECK_VERIFY_TIMEOUTS, rules.verify_timeouts(
        rejected, int(verified[0]) if verified.len() else 0, config.verify.max_timeout_share), asset_key=KEPT)


@asset_check(asset=KEPT, name=CHECK_GX_KEPT, blocking=True,
             description="Great Expectations suite of the kept set (ids, answers, sources, no URL/figure residue)")
def gx_bigmath_kept(foundry: FoundryResource, bigmath_kept: pl.DataFrame) -> AssetCheckResult:
    profile = foundry.profile()
    sources = [s.name for s in profile.bigmath.sources]
    return gx_check(bigmath_kept, rules.KEPT_SUITE,
                    rules.kept_expectations(sources, profile.bigmath.normalize.max_problem_chars),
                    data_docs_dir=foundry.artifact_dir("gx_docs"))


@asset_check(asset=REJECTED, name=CHECK_GX_REJECTED,
             description="Great Expectations suite of the rejected set (every row has a known reason and step)")
def gx_bigmath_rejected(foundry: FoundryResource, bigmath_rejected: pl.DataFrame) -> AssetCheckResult:
    return gx_check(bigmath_rejected, rules.REJECTED_SUITE, rules.rejected_expectations())


# The row contract on disk: normalized + quarantined rows = kept + rejected rows, in the files written.
bigmath_conservation_on_disk = conservation_check(
    asset=KEPT, kept=[KEPT], rejected=[REJECTED], funnel=FUNNEL, read=[NORMALIZED, QUARANTINE],
    description="bigmath_normalized + bigmath_quarantine rows = bigmath_kept + bigmath_rejected rows, counted in the "
                "Parquet files written (and bigmath_funnel on disk agrees)")
