"""Big-Math-Reformulated: multiple-choice problems the funnel rejected, made open-ended."""

import polars as pl
from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, AssetOut, MetadataValue, Output, multi_asset

from assets.conservation import CHECK_NAME as CHECK_CONSERVATION_ON_DISK, asset_path, conservation_check, rows_where
from assets.engine_resource import EngineResource
from assets.llm_resource import LLMResource
from assets.metadata import asset_surface, frame_metadata, markdown_table
from assets.resources import FoundryResource
from pipelines.bigmath import reasons
from pipelines.bigmath.reformulate import reformulate_rows
from pipelines.bigmath.schema import SCHEMA
from validators import reformulation as rules
from validators.common import to_check_result, unique_values

FAMILY = "bigmath_reformulated"
GROUP = "bigmath"

SOURCE_REJECTED = AssetKey("bigmath_rejected")
SOURCE_KEPT = AssetKey("bigmath_kept")
REFORMULATED = AssetKey("bigmath_reformulated")
REFORMULATION_REJECTED = AssetKey("bigmath_reformulation_rejected")
REFORMULATION_FUNNEL = AssetKey("bigmath_reformulated_funnel")
PUBLISHED = AssetKey("bigmath_published")

CHECK_ACCOUNTED = "reformulation_rows_accounted"
CHECK_RESIDUE = "no_option_residue"
CHECK_PROVENANCE = "llm_provenance"
CHECK_ANSWERS = "answers_present"
CHECK_UNIQUE = "unique_problem_id"
CHECK_ON_DISK = CHECK_CONSERVATION_ON_DISK

REFORMULATED_SUFFIX = "_reformulated"  # source "aqua" -> "aqua_reformulated" in the published set
PROVENANCE = ["method", "original_problem_id", "original_problem", "model", "prompt_name", "prompt_version",
              "prompt_hash", "llm_prompts"]
PREVIEW = ["problem_id", "source", "method", "problem", "answer"]


@multi_asset(
    outs={
        REFORMULATED.path[-1]: AssetOut(
            is_required=False, key=REFORMULATED, group_name=GROUP, **asset_surface(FAMILY, "reformulated"),
            description="Big-Math-Reformulated: the funnel's multiple-choice rejects rewritten as open-ended problems "
                        "whose answer is the correct option's value. Rule path for stems that are complete questions; "
                        "LLM path (extract key information, reformulate, judge, verify) when an LLM is configured. "
                        "Every row passed: no option residue, answer = correct option under math-verify, no hint, "
                        "numbers of the stem preserved. `method` and the prompt/model columns say how it was made."),
        REFORMULATION_REJECTED.path[-1]: AssetOut(
            is_required=False, key=REFORMULATION_REJECTED, group_name=GROUP, **asset_surface(FAMILY, "rejected"),
            description="Multiple-choice rows that could not be reformulated, with `reason` (stem_refers_to_options, "
                        "stem_incomplete, approximate_answer, answer_not_a_value, option_residue, answer_mismatch, "
                        "judge_fail, llm_* ...), the `step` that rejected it and a `detail` a person can act on; "
                        "the input columns are kept."),
        REFORMULATION_FUNNEL.path[-1]: AssetOut(
            is_required=False, key=REFORMULATION_FUNNEL, group_name=GROUP, **asset_surface(FAMILY, "funnel"),
            description="The funnel of the reformulation: per step (prepare, stem_stands_alone, llm_reformulate, "
                        "output_checks, llm_review, dedup) the rows in, kept, rejected and the count per reason."),
    },
    check_specs=[
        AssetCheckSpec(CHECK_ACCOUNTED, asset=REFORMULATED, blocking=True,
                       description="every multiple-choice row is reformulated or rejected, once"),
        AssetCheckSpec(CHECK_RESIDUE, asset=REFORMULATED, blocking=True,
                       description="no option letters, option lists or 'which of the following' left"),
        AssetCheckSpec(CHECK_PROVENANCE, asset=REFORMULATED, blocking=True,
                       description="every LLM-made row records model, prompt name, version and hash"),
        AssetCheckSpec(CHECK_ANSWERS, asset=REFORMULATED, blocking=True, description="every row has an answer"),
    ],
    pool="llm",
    can_subset=True,  # one reformulation pass; each table is written only when selected
)
def bigmath_reformulation(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource,
                          engine: EngineResource, bigmath_rejected: pl.DataFrame, bigmath_kept: pl.DataFrame):
    """Reformulates the funnel's multiple-choice rejects once; writes the selected tables."""
    profile = foundry.profile()
    mc = bigmath_rejected.filter(pl.col("reason") == reasons.MULTIPLE_CHOICE).drop("reason", "step", "detail")
    mc = mc.sort("source", "source_id")
    cfg = llm.config()
    why_not = cfg.why_not_configured()
    status = "used" if why_not is None else f"skipped: {why_not}"
    context.log.info(f"{mc.height} multiple-choice rows; LLM path {status}")
    with engine.open() as eng:  # on ray the LLM calls go out as engine batches; local: in this process
        client = llm.client(foundry.root(), engine=eng) if why_not is None else None
        try:
            result = reformulate_rows(mc, client=client, llm_status=status,
                                      existing_problem_ids=bigmath_kept.get_column("problem_id").to_list(),
                                      workers=profile.bigmath.verify.workers,
                                      item_timeout_s=profile.bigmath.verify.item_timeout_s)
        finally:
            if client is not None:
                client.close()
    kept = result.kept.with_columns(
        pl.lit([], dtype=pl.List(pl.Utf8)).alias("options"), pl.lit(None, dtype=pl.Utf8).alias("answer_letter"),
        pl.lit(None, dtype=pl.Utf8).alias("solution"), pl.lit("reformulated").alias("answer_origin"),
    ).select(list(SCHEMA) + [c for c in PROVENANCE if c not in SCHEMA])
    rejected = result.rejected
    summary = result.summary()
    per_source = _per_source(mc, result.kept, rejected)
    if REFORMULATION_REJECTED in context.selected_asset_keys:
        yield Output(rejected, output_name=REFORMULATION_REJECTED.path[-1], metadata={
            **frame_metadata(rejected, ["source", "source_id", "reason", "step", "detail"]),
            "rejected_by_reason": MetadataValue.json(summary["rejected_by_reason"]),
        })
    if REFORMULATION_FUNNEL in context.selected_asset_keys:
        funnel = result.funnel_frame
        yield Output(funnel, output_name=REFORMULATION_FUNNEL.path[-1], metadata={
            "dagster/row_count": MetadataValue.int(funnel.height),
            "preview": MetadataValue.md(markdown_table(funnel, rows=100, width=30)),
        })
    if REFORMULATED not in context.selected_asset_keys:
        return
    yield Output(kept, output_name=REFORMULATED.path[-1], metadata={
        **frame_metadata(kept, PREVIEW),
        "accepted_share": MetadataValue.float(summary["accepted_share"]),
        "reformulated_share": MetadataValue.float(summary["accepted_share"]),
        "rule_path_share": MetadataValue.float(summary["rule_path_share"]),
        "by_method": MetadataValue.json(result.by_method()),
        "rejected_by_reason": MetadataValue.json(summary["rejected_by_reason"]),
        "per_source": MetadataValue.md(markdown_table(per_source, rows=50, width=30)),
        "llm_path": MetadataValue.text(status),
        "llm_config": MetadataValue.json(cfg.public()),  # never the key
        "llm_stats": MetadataValue.json(result.llm_stats or {"calls": 0}),
    })
    yield to_check_result(CHECK_ACCOUNTED, rules.accounted(mc.height, kept.height, rejected.height), asset_key=REFORMULATED)
    yield to_check_result(CHECK_RESIDUE, rules.residue(kept), asset_key=REFORMULATED)
    yield to_check_result(CHECK_PROVENANCE, rules.provenance(kept), asset_key=REFORMULATED)
    yield to_check_result(CHECK_ANSWERS, rules.answers_present(kept), asset_key=REFORMULATED)


def _per_source(mc: pl.DataFrame, kept: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    ins = mc.group_by("source").len().rename({"len": "multiple_choice"})
    ok = kept.group_by("source").len().rename({"len": "reformulated"})
    out = ins.join(ok, on="source", how="left").fill_null(0)
    if rejected.height:
        rej = rejected.group_by("source", "reason").len().pivot(on="reason", index="source", values="len")
        out = out.join(rej, on="source", how="left").fill_null(0)
    return out.with_columns((pl.col("reformulated") / pl.col("multiple_choice")).round(3).alias("share")).sort("source")


@multi_asset(
    outs={PUBLISHED.path[-1]: AssetOut(
        key=PUBLISHED, group_name=GROUP, metadata={"partition_by": "source"}, **asset_surface(FAMILY, "published"),
        description="The published Big-Math set: every kept problem plus every reformulated one. Reformulated rows "
                    "have `source` = '<original source>_reformulated' and `method` rule or llm; kept rows have "
                    "method 'filtered'. Partitioned by source.")},
    check_specs=[AssetCheckSpec(CHECK_UNIQUE, asset=PUBLISHED, blocking=True,
                                description="problem_id is unique and never null across kept and reformulated rows")],
)
def bigmath_publish(context: AssetExecutionContext, bigmath_kept: pl.DataFrame, bigmath_reformulated: pl.DataFrame):
    kept = bigmath_kept.select(list(SCHEMA)).with_columns(pl.lit("filtered").alias("method"))
    reformulated = bigmath_reformulated.with_columns((pl.col("source") + REFORMULATED_SUFFIX).alias("source"))
    published = pl.concat([kept, reformulated], how="diagonal_relaxed").sort("source", "source_id", "problem_id")
    counts = published.group_by("source", "method").len().sort("source", "method")
    yield Output(published, output_name=PUBLISHED.path[-1], metadata={
        **frame_metadata(published, PREVIEW),
        "kept_rows": MetadataValue.int(kept.height),
        "reformulated_rows": MetadataValue.int(reformulated.height),
        "rows_per_source": MetadataValue.md(markdown_table(counts, rows=100, width=30)),
    })
    yield to_check_result(CHECK_UNIQUE, unique_values(published, "problem_id"), asset_key=PUBLISHED)


# The row contract on disk: the multiple-choice rows of bigmath_rejected = reformulated + rejected files.
bigmath_reformulated_conservation = conservation_check(
    asset=REFORMULATED, kept=[REFORMULATED], rejected=[REFORMULATION_REJECTED], funnel=REFORMULATION_FUNNEL,
    read=[SOURCE_REJECTED],
    read_rows=lambda foundry: rows_where(asset_path(foundry, SOURCE_REJECTED), "reason", reasons.MULTIPLE_CHOICE),
    description="the multiple-choice rows of bigmath_rejected = reformulated + rejected rows, counted in the "
                "Parquet files written (and the reformulation funnel on disk agrees)")
