"""Big-Math: open math datasets filtered to problems with one verifiable, closed-form answer."""



import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    asset_check,
    multi_asset,
)

from assets.conservation import CHECK_NAME as CHECK_ON_DISK, conservation_check
from assets.llm_resource import LLMResource
from assets.metadata import frame_metadata, image_metadata, markdown_table
from assets.resources import FoundryResource
from pipelines.bigmath.funnel import filter_rows, read_all, source_breakdown
from pipelines.bigmath.llm_signals import fill_llm_signals
from pipelines.bigmath.schema import SCHEMA
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


@multi_asset(
    outs={
        NORMALIZED.path[-1]: AssetOut(
            key=NORMALIZED, group_name=GROUP,
            description="Every readable row of every configured math source in one schema: problem, answer, "
                        "solution, options, source, source_id, stable problem_id and provenance. Sources come "
                        "from the profile (sample: files shipped in data/sample/math; full: Hugging Face datasets)."),
        QUARANTINE.path[-1]: AssetOut(
            key=QUARANTINE, group_name=GROUP,
            description="Input rows that could not be read or normalized (bad JSON, non-UTF-8, missing or "
                        "mistyped fields, empty or oversized problems), each with reason `malformed` and a detail "
                        "naming the source and line. Nothing is dropped silently."),
    },
    compute_kind="polars",
)
def bigmath_sources(context: AssetExecutionContext, foundry: FoundryResource):
    config = foundry.profile().bigmath
    rows, quarantined, loaded = read_all(config)
    per_source = {s.spec.name: len(s.records) for s in loaded}
    context.log.info(f"read {sum(per_source.values())} rows from {len(loaded)} sources")
    yield Output(rows, output_name=NORMALIZED.path[-1], metadata={
        **frame_metadata(rows, PREVIEW),
        "rows_per_source": MetadataValue.json(per_source),
        "source_revisions": MetadataValue.json({s.spec.name: s.revision for s in loaded}),
    })
    yield Output(quarantined, output_name=QUARANTINE.path[-1],
                 metadata=frame_metadata(quarantined, ["source", "source_id", "detail"]))


@multi_asset(
    outs={
        KEPT.path[-1]: AssetOut(
            key=KEPT, group_name=GROUP, metadata={"partition_by": "source"},
            description="Big-Math: problems with one verifiable, closed-form answer, after every filter of the "
                        "funnel (decontamination, rule signals, language, answer parsing with math-verify, exact "
                        "and MinHash near dedup). Stored as Parquet partitioned by source."),
        REJECTED.path[-1]: AssetOut(
            key=REJECTED, group_name=GROUP,
            description="Every row the funnel dropped, with `reason` (a stable code), `step` and `detail`."),
        FUNNEL.path[-1]: AssetOut(
            key=FUNNEL, group_name=GROUP,
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
    compute_kind="polars",
    pool="llm",  # only calls a model when one is configured (FOUNDRY_LLM_*); then the pool limits it
)
def bigmath_funnel(context: AssetExecutionContext, foundry: FoundryResource,
                   bigmath_normalized: pl.DataFrame, bigmath_quarantine: pl.DataFrame):
    profile = foundry.profile()
    config = profile.bigmath
    llm = LLMResource()
    client = llm.client(foundry.root())
    signal_meta = {"llm": llm.config().why_not_configured() or "configured"}
    if client is not None:
        with client:
            bigmath_normalized, asked = fill_llm_signals(bigmath_normalized, client)
        signal_meta.update(asked)
    result = filter_rows(bigmath_normalized, bigmath_quarantine, config)
    funnel = result.funnel_frame
    kept, rejected = result.kept, result.rejected
    png = funnel_plot(funnel, foundry.artifact_dir(FAMILY) / "bigmath_funnel.png", "Big-Math funnel")
    breakdown = source_breakdown(result)
    llm_columns = ["llm_multiple_choice", "llm_proof", "llm_multi_part", "llm_yes_no"]
    llm_used = any(kept.get_column(c).null_count() < kept.height for c in llm_columns) if kept.height else False

    yield Output(kept, output_name=KEPT.path[-1], metadata={
        **frame_metadata(kept, PREVIEW),
        "rows_per_source": MetadataValue.md(markdown_table(breakdown, rows=100, width=20)),
        "signals": MetadataValue.text("rule-based and model-based" if llm_used else
                                      "rule-based only (no LLM configured; llm_* columns are null)"),
        "llm_signals": MetadataValue.json(signal_meta),
        **image_metadata(png, "funnel_plot"),
    })
    yield Output(rejected, output_name=REJECTED.path[-1], metadata={
        **frame_metadata(rejected, ["source", "source_id", "reason", "step", "detail"]),
        "rejected_by_reason": MetadataValue.json(result.funnel.rejected_by_reason()),
    })
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
