"""Big-Math's per-row columns: `domain` and a model solve rate, on the published set.

They belong on ``bigmath_published`` (kept + reformulated rows): the anchor's rows carry both for
every one of its 251,122 rows, reformulated ones included. Two assets, so the costly part can be
reused: ``bigmath_rollouts`` keeps every sampled answer with its verdict (later datasets read it
instead of asking the model again), ``bigmath_annotated`` is the published set plus ``domain``,
``domain_method``, ``solve_rate``, ``solve_samples``, ``solve_k``, ``solve_model`` and
``solve_prompt_hash``. Without an LLM the rollouts are empty, ``solve_*`` columns are null,
``domain`` comes from the keyword rules, and the metadata says why.
"""

import polars as pl
from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, AssetOut, MetadataValue, Output, multi_asset

from assets.engine_resource import EngineResource
from assets.llm_resource import LLMResource
from assets.metadata import asset_surface, frame_metadata, markdown_table
from assets.resources import FoundryResource
from pipelines.bigmath.domain import with_domain
from pipelines.bigmath.solve_rate import SolveRateConfig, empty_rollouts, sample_rollouts, solve_rates
from validators.common import to_check_result, unique_values

FAMILY = "bigmath_anchor"
GROUP = "bigmath"

PUBLISHED = AssetKey("bigmath_published")
ROLLOUTS = AssetKey("bigmath_rollouts")
ANNOTATED = AssetKey("bigmath_annotated")

CHECK_UNIQUE = "unique_problem_id"
CHECK_DOMAIN = "domain_on_every_row"
CHECK_ROLLOUTS = "k_rollouts_per_problem"


@multi_asset(
    outs={ROLLOUTS.path[-1]: AssetOut(
        key=ROLLOUTS, group_name=GROUP, **asset_surface(FAMILY, "rollouts"),
        description="Every sampled answer behind the solve rate: k samples per published problem from the configured "
                    "model (prompts/bigmath/solve.md, sample j asks with seed j), the reply, its final answer and the "
                    "verifier's verdict (correct, incorrect, no_answer, unverifiable, llm_error). Keyed by problem_id "
                    "and problem_sha256 so later datasets can reuse them. Empty when no LLM is configured.")},
    check_specs=[AssetCheckSpec(CHECK_ROLLOUTS, asset=ROLLOUTS, blocking=True,
                                description="every problem has exactly k samples (or none when no LLM is configured)")],
    pool="llm",
)
def bigmath_rollouts(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource,
                     engine: EngineResource, bigmath_published: pl.DataFrame):
    profile = foundry.profile()
    config = SolveRateConfig.from_env()
    why_not = llm.config().why_not_configured()
    if why_not is not None:
        rollouts, meta = empty_rollouts(), {"skipped": why_not}
    else:
        # on ray the samples are asked in engine batches; the verdicts are computed here, as on local
        with engine.open() as eng, llm.client(foundry.root(), engine=eng) as client:
            rollouts, meta = sample_rollouts(bigmath_published, client, config, workers=profile.bigmath.verify.workers,
                                             item_timeout_s=profile.bigmath.verify.item_timeout_s)
            meta["llm_stats"] = client.stats.as_dict()
    context.log.info(f"rollouts: {rollouts.height} samples ({meta.get('skipped') or 'k=' + str(config.k)})")
    yield Output(rollouts, output_name=ROLLOUTS.path[-1], metadata={
        **frame_metadata(rollouts, ["problem_id", "sample", "predicted_answer", "verdict"]),
        "solve_rate_sampling": MetadataValue.json(meta),
        "llm_config": MetadataValue.json(llm.config().public()),  # never the key
    })
    per_problem = rollouts.group_by("problem_id").len()
    expected = config.k if rollouts.height else 0
    bad = per_problem.filter(pl.col("len") != expected).height
    yield to_check_result(CHECK_ROLLOUTS, (bad == 0, {"k": expected, "problems_with_other_counts": bad}),
                          asset_key=ROLLOUTS)


@multi_asset(
    outs={ANNOTATED.path[-1]: AssetOut(
        key=ANNOTATED, group_name=GROUP, metadata={"partition_by": "source"}, **asset_surface(FAMILY, "annotated"),
        description="The published Big-Math set with the anchor's columns: `domain` (one label path in a list, by the "
                    "LLM with prompts/bigmath/domain.md, else keyword rules; `domain_method` says which) and "
                    "`solve_rate` (share of k sampled answers the verifier accepts; `solve_k`, `solve_model`, "
                    "`solve_prompt_hash` record how). solve_* are null when no LLM is configured.")},
    check_specs=[
        AssetCheckSpec(CHECK_UNIQUE, asset=ANNOTATED, blocking=True, description="problem_id is unique and never null"),
        AssetCheckSpec(CHECK_DOMAIN, asset=ANNOTATED, blocking=True, description="every row has a domain label"),
    ],
    pool="llm",
)
def bigmath_annotate(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource,
                     engine: EngineResource, bigmath_published: pl.DataFrame, bigmath_rollouts: pl.DataFrame):
    why_not = llm.config().why_not_configured()
    if why_not is None:
        with engine.open() as eng, llm.client(foundry.root(), engine=eng) as client:
            annotated, domain_meta = with_domain(bigmath_published, client)
    else:
        annotated, domain_meta = with_domain(bigmath_published, None)
        domain_meta["why_not_llm"] = why_not
    rates = solve_rates(bigmath_rollouts)
    annotated = annotated.join(rates, on="problem_id", how="left")
    if bigmath_rollouts.height:
        first = bigmath_rollouts.row(0, named=True)
        k = int(bigmath_rollouts.group_by("problem_id").len().get_column("len").max())
        how = {"solve_k": k, "solve_model": first["model"], "solve_prompt_hash": first["prompt_hash"]}
        solve_meta = {"k": k, "model": first["model"], "prompt": f"{first['prompt_name']}@{first['prompt_version']}/"
                                                                 f"{first['prompt_hash']}",
                      "rated": annotated.get_column("solve_rate").is_not_null().sum(),
                      "mean_solve_rate": annotated.get_column("solve_rate").mean()}
        context.add_output_metadata({"mean_solve_rate": MetadataValue.float(float(solve_meta["mean_solve_rate"] or 0.0))},
                                    output_name=ANNOTATED.path[-1])
    else:
        how = {"solve_k": None, "solve_model": None, "solve_prompt_hash": None}
        solve_meta = {"why_null": why_not or "bigmath_rollouts is empty"}
    annotated = annotated.with_columns(
        pl.when(pl.col("solve_samples").is_not_null())
        .then(pl.lit(how["solve_k"], dtype=pl.Int32)).otherwise(None).alias("solve_k"),
        pl.when(pl.col("solve_samples").is_not_null()).then(pl.lit(how["solve_model"], dtype=pl.Utf8))
        .otherwise(None).alias("solve_model"),
        pl.when(pl.col("solve_samples").is_not_null()).then(pl.lit(how["solve_prompt_hash"], dtype=pl.Utf8))
        .otherwise(None).alias("solve_prompt_hash"),
    ).sort("source", "source_id", "problem_id")
    counts = pl.DataFrame({"domain": list(domain_meta["counts"]), "rows": list(domain_meta["counts"].values())},
                          schema={"domain": pl.Utf8, "rows": pl.Int64})
    yield Output(annotated, output_name=ANNOTATED.path[-1], metadata={
        **frame_metadata(annotated, ["problem_id", "source", "domain", "solve_rate"]),
        "domain": MetadataValue.json({k: v for k, v in domain_meta.items() if k != "counts"}),
        "rows_per_domain": MetadataValue.md(markdown_table(counts, rows=50, width=70)),
        "solve_rate": MetadataValue.json(solve_meta),
    })
    yield to_check_result(CHECK_UNIQUE, unique_values(annotated, "problem_id"), asset_key=ANNOTATED)
    missing = annotated.filter(pl.col("domain").is_null() | (pl.col("domain").list.len() == 0)).height
    yield to_check_result(CHECK_DOMAIN, (missing == 0, {"rows_without_domain": missing}), asset_key=ANNOTATED)
