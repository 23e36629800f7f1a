"""OpenWebMath reasoning behaviors: documents read shard by shard, scored for verification,
backtracking, subgoal setting and backward chaining, and behavior-enriched / control corpora
selected under matched token budgets (Gandhi et al. 2025). The default path needs no LLM (the
lexical baseline scorer); annotation, classifier training and the QA rewrite take the ``llm``
resource and are tagged ``requires=llm``, so `foundry_all` and `make run` leave them out.

Pure steps live in ``pipelines/owm/``; this module only wires them.
"""


from pathlib import Path
from typing import Any

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    Failure,
    MetadataValue,
    Nothing,
    Output,
    ResourceParam,
    StaticPartitionsDefinition,
    asset,
    asset_check,
    multi_asset,
)

from assets.conservation import CHECK_NAME as CHECK_ON_DISK, conservation_check
from assets.engine_resource import EngineResource
from assets.llm_resource import LLMResource
from assets.metadata import asset_surface, frame_metadata, markdown_table
from assets.resources import FoundryResource
from pipelines.owm.config import SAMPLE_SHARDS, OwmConfig
from pipelines.owm.annotate import engine_ask
from pipelines.owm.distributed import score_on_engine
from pipelines.owm.hub import UnpinnedShardsError, locked_shards, shard_name
from pipelines.core import storage
from pipelines.owm.pipeline import DOC_SCHEMA, READ_REJECT_SCHEMA, annotate_and_train, corpora_from_files
from pipelines.owm.qa import rewrite_qa
from pipelines.owm.reader import iter_batches
from pipelines.owm.scorers import BaselineScorer
from pipelines.owm.select import CONTROL, ENRICHED
from validators import owm as rules
from validators.common import gx_check, to_check_result

FAMILY = "owm"
GROUP = "owm"
LLM_TAG = {"requires": "llm"}  # definitions.default_exclusions() keeps these and their downstream out of foundry_all
PARTITION_BY = "shard_key"  # the Hive directory name; the rows keep their own `shard` (the file name)

DOCUMENTS = AssetKey("owm_documents")
QUARANTINE = AssetKey("owm_quarantine")
SCORES = AssetKey("owm_scores")
CORPORA = AssetKey("owm_corpora")
REJECTED = AssetKey("owm_rejected")
FUNNEL = AssetKey("owm_funnel")
LABELS = AssetKey("owm_labels")
CLASSIFIER = AssetKey("owm_classifier")
QA = AssetKey("owm_qa")

CHECK_CONSERVATION = CHECK_ON_DISK
CHECK_BUDGETS = "budgets_within_tolerance_and_matched"
CHECK_SUPPLY = "budget_supply"
CHECK_DISJOINT = "no_document_in_both_sets"
CHECK_MAX_TOKENS = "documents_within_max_tokens"
CHECK_SCORED = "every_kept_document_scored_with_version"
CHECK_GX_ENRICHED = "gx_owm_enriched_suite"
CHECK_GX_CONTROL = "gx_owm_control_suite"
CHECK_SCORES_VERSION = "every_document_scored_with_version"


def shard_key(path: str | Path) -> str:
    """``data/.../stackexchange-00000.parquet`` (or an ``hf://`` URI) -> ``stackexchange-00000``: one partition per shard."""
    name = shard_name(str(path))
    for suffix in (".parquet", ".jsonl.gz", ".jsonl", ".ndjson", ".json.gz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def shard_keys() -> list[str]:
    """The sample profile's shards, then the full profile's Hub shards as the lock lists them
    (`foundry sources lock`): known offline, stable until the lock is renewed. Unpinned: none."""
    keys = [shard_key(s) for s in SAMPLE_SHARDS]
    keys += [k for k in (shard_key(f) for f in locked_shards().files) if k not in keys]
    return keys


SHARD_PARTITIONS = StaticPartitionsDefinition(shard_keys())


def owm_config(foundry: FoundryResource) -> OwmConfig:
    # the profile's owm section (pipelines/owm/config.py), the one `foundry owm build` reads too
    return foundry.profile().owm


def shard_path(cfg: OwmConfig, key: str) -> str:
    """The file or URI of partition ``key`` in the active profile; a Failure naming the fix otherwise."""
    for path in cfg.shards:
        if shard_key(path) == key:
            return path
    if cfg.hub_dataset and not cfg.hub_revision:
        try:
            locked_shards().require()
        except UnpinnedShardsError as exc:
            raise Failure(f"partition {key!r}: {exc}") from exc
    raise Failure(f"partition {key!r}: the active profile's OWM config names no such shard "
                  f"(shards: {', '.join(shard_key(s) for s in cfg.shards) or 'none'}); set OwmConfig.shards in "
                  f"pipelines/owm/config.py, renew the lock (`foundry sources lock`), or run `foundry owm build --shard FILE`")


def _surface(stage: str, llm: bool = False) -> dict:
    out = asset_surface(FAMILY, stage, automate=not llm)
    if llm:
        out["tags"].update(LLM_TAG)
    return out


def _problems(problems: list[str]) -> tuple[bool, dict]:
    return not problems, {"problems": "\n".join(problems) or "none"}


# ------------------------------------------------------------------ per shard


@multi_asset(
    outs={
        DOCUMENTS.path[-1]: AssetOut(
            key=DOCUMENTS, metadata={"partition_by": PARTITION_BY}, **_surface("documents"),
            description="OpenWebMath-shaped documents of one shard (`text`, `url`, `date`, `metadata` as a JSON "
                        "object string), read in record batches (pipelines/owm/reader.py) so memory stays flat "
                        "whatever the shard size; `doc_id` is the content id of the text, `shard`/`row` say where "
                        "it came from. One partition per shard."),
        QUARANTINE.path[-1]: AssetOut(
            key=QUARANTINE, metadata={"partition_by": PARTITION_BY}, **_surface("quarantine"),
            description="Rows of the shard the reader could not use, with `reason` (malformed, missing_text, "
                        "wrong_type, bad_metadata; pipelines/owm/reasons.py), a `detail` naming file and row, and "
                        "the raw excerpt."),
    },
    group_name=GROUP,
    partitions_def=SHARD_PARTITIONS,
)
def owm_documents(context: AssetExecutionContext, foundry: FoundryResource):
    cfg = owm_config(foundry)
    path = shard_path(cfg, context.partition_key)
    kept, rejected = [], []
    for batch in iter_batches(path, None, cfg.batch_rows):
        kept.extend(batch.kept)
        rejected.extend(batch.rejected)
    docs = pl.DataFrame(kept, schema=DOC_SCHEMA)
    bad = pl.DataFrame(rejected, schema=READ_REJECT_SCHEMA)
    read = docs.height + bad.height
    context.log.info(f"{path}: {read} rows read, {bad.height} quarantined")
    yield Output(docs, output_name=DOCUMENTS.path[-1], metadata={
        **frame_metadata(docs, ["doc_id", "row", "url", "text"]),
        "shard_file": MetadataValue.path(str(path)), "rows_read": MetadataValue.int(read),
        "batch_rows": MetadataValue.int(cfg.batch_rows)})
    yield Output(bad, output_name=QUARANTINE.path[-1], metadata={
        **frame_metadata(bad, ["row", "reason", "detail"]),
        "rejected_by_reason": MetadataValue.json(dict(sorted(bad.group_by("reason").len().iter_rows())) if bad.height else {})})


@asset(
    key=SCORES, group_name=GROUP, partitions_def=SHARD_PARTITIONS, ins={"owm_documents": AssetIn(DOCUMENTS)},
    metadata={"partition_by": PARTITION_BY}, **_surface("scores"),
    check_specs=[AssetCheckSpec(CHECK_SCORES_VERSION, asset=SCORES, blocking=True,
                                description="every document of the shard has four scores, four counts and a scorer version")],
)
def owm_scores(context: AssetExecutionContext, foundry: FoundryResource, engine: EngineResource,
               owm_documents: pl.DataFrame):
    """The shard's documents with one score per behavior (`score_<behavior>`), the lexical detector's cue
    counts (`count_<behavior>`), `scorer_version` and `labelling_model`. The default profile scores with the
    baseline (the lexical detector: no model, no LLM); a trained classifier (`owm_classifier`) is applied with
    `foundry owm score --scorer model.npz`. Backfill one shard alone with `--partition <shard>`. The scoring runs
    on the `engine` resource in batches of `batch_rows` documents (Ray Data blocks on `ray`); same rows either way."""
    cfg = owm_config(foundry)
    scorer = BaselineScorer()
    with engine.open() as eng:  # the shard's batches as engine tasks; rows come back in input order
        scored = score_on_engine(owm_documents.select(list(DOC_SCHEMA)), scorer, eng, cfg.batch_rows)
    share = {b: round(float((scored.get_column(f"score_{b}") > 0).mean() or 0.0), 4) if scored.height else 0.0
             for b in rules.BEHAVIORS}
    yield Output(scored, metadata={
        **frame_metadata(scored, ["doc_id", *rules.SCORE_COLUMNS, "scorer_version"]),
        "scorer": MetadataValue.text(scorer.kind), "scorer_version": MetadataValue.text(scorer.version),
        "labelling_model": MetadataValue.text("none (baseline: the lexical detector)"),
        "engine": MetadataValue.text(engine.config().kind),
        **{f"share_with_{b}": MetadataValue.float(v) for b, v in share.items()}})
    yield to_check_result(CHECK_SCORES_VERSION, _problems(rules.check_scored(scored, f"shard {context.partition_key}", selected=False)),
                          asset_key=SCORES)


# ------------------------------------------------------------------ corpora (all shards)


def partition_files(context: AssetExecutionContext, io_manager, key: AssetKey) -> list[str]:
    """The Parquet file of every materialized shard partition of ``key``, where the IO manager wrote
    it (its local directory or object-store URI); a shard not materialized is logged and left out,
    as the IO manager does for an unpartitioned downstream."""
    base = io_manager.remote_base()
    location = storage.join(base, *key.path) if base else str(io_manager.asset_path(list(key.path)))
    keys = SHARD_PARTITIONS.get_partition_keys()
    found = {f.replace("\\", "/").rstrip("/").split("/")[-2].split("=", 1)[1]: f
             for f in storage.list_files(location, f"{PARTITION_BY}=*/part-*.parquet")}
    missing = [k for k in keys if k not in found]
    if missing and len(missing) < len(keys):
        context.log.warning(f"{key.to_user_string()}: {len(missing)} partition(s) not materialized, read without them: "
                            f"{', '.join(missing)}")
    return [found[k] for k in keys if k in found]



def rejected_table(rejected: pl.DataFrame) -> pl.DataFrame:
    """The rejected rows as written: where they came from and why (the text stays in the documents)."""
    keep = [c for c in ("doc_id", "shard", "row", "step", "reason", "detail", "n_tokens") if c in rejected.columns]
    return rejected.select(keep).sort("step", "reason", "shard", "row")


@multi_asset(
    # read by the asset itself, partition file by partition file (two passes), not loaded whole by the IO manager
    ins={"owm_scores": AssetIn(SCORES, dagster_type=Nothing), "owm_quarantine": AssetIn(QUARANTINE, dagster_type=Nothing)},
    outs={
        CORPORA.path[-1]: AssetOut(
            key=CORPORA, **_surface("corpora"),
            description="The behavior-enriched and control corpora in one table (`set`: enriched | control), "
                        "selected from every shard's scores with the rule of pipelines/owm/config.py (ours: the "
                        "anchor's exact rule is not published), duplicates dropped, documents cut at 4,096 GPT-2 "
                        "tokens (the anchor counted with Llama-3.1's tokenizer; `tokenizer` says which), shuffled "
                        "with the seed and filled to the same token budget, a stable 5% `test` split. Per-document "
                        "behavior scores and counts, `scorer_version` and `labelling_model` are columns."),
        REJECTED.path[-1]: AssetOut(
            key=REJECTED, **_surface("rejected"),
            description="Every row read that is in neither corpus, once: `step` (read | select), `reason` "
                        "(pipelines/owm/reasons.py) and `detail`."),
        FUNNEL.path[-1]: AssetOut(
            key=FUNNEL, **_surface("funnel"),
            description="The funnel of the corpora (pipelines/core/steps.py): step, rows in, kept, rejected, "
                        "count per reason."),
    },
    check_specs=[
        AssetCheckSpec(CHECK_BUDGETS, asset=CORPORA, blocking=True,
                       description="each set within [budget - 5%, budget] tokens, and the two sets matched"),
        AssetCheckSpec(CHECK_SUPPLY, asset=CORPORA, blocking=True,
                       description="the matched budget is not more than 5% under the configured one"),
        AssetCheckSpec(CHECK_DISJOINT, asset=CORPORA, blocking=True, description="no doc_id in both sets"),
        AssetCheckSpec(CHECK_MAX_TOKENS, asset=CORPORA, blocking=True, description="no document over max_tokens"),
        AssetCheckSpec(CHECK_SCORED, asset=CORPORA, blocking=True,
                       description="every kept document has four scores, four counts, a scorer version and a tokenizer"),
        AssetCheckSpec(CHECK_GX_ENRICHED, asset=CORPORA, blocking=True,
                       description="Great Expectations suite of the enriched set"),
        AssetCheckSpec(CHECK_GX_CONTROL, asset=CORPORA, blocking=True,
                       description="Great Expectations suite of the control set"),
    ],
    group_name=GROUP,
    can_subset=False,
)
def owm_corpora(context: AssetExecutionContext, foundry: FoundryResource, io_manager: ResourceParam[Any]):
    cfg = owm_config(foundry)
    # every shard's written files, streamed twice (pipelines/owm/select.py: select_two_pass): memory holds
    # a ledger row per document and the chosen documents, never every scored text at once
    score_files = partition_files(context, io_manager, SCORES)
    quarantine_files = partition_files(context, io_manager, QUARANTINE)
    if not score_files:
        raise Failure("owm_corpora: no owm_scores partition is written; materialize the shard partitions first "
                      "(owm_documents, owm_quarantine, owm_scores)")
    corpora, rejected, funnel, stats = corpora_from_files(score_files, quarantine_files, cfg)
    rows_read = int(funnel.rows[0].rows_in)
    enriched, control = (corpora.filter(pl.col("set") == s) for s in (ENRICHED, CONTROL))
    tokens = {s: int(f.get_column("n_tokens").sum() or 0) for s, f in ((ENRICHED, enriched), (CONTROL, control))}
    versions = sorted(set(corpora.get_column("scorer_version").to_list())) if corpora.height else []
    funnel_frame = funnel.to_frame()
    yield Output(corpora, output_name=CORPORA.path[-1], metadata={
        **frame_metadata(corpora, ["set", "split", "doc_id", "n_tokens", *rules.SCORE_COLUMNS]),
        "rows_read": MetadataValue.int(rows_read),
        "enriched_share": MetadataValue.float(round(enriched.height / rows_read, 4) if rows_read else 0.0),
        "tokens_enriched": MetadataValue.float(float(tokens[ENRICHED])),
        "tokens_control": MetadataValue.float(float(tokens[CONTROL])),
        "token_budget": MetadataValue.int(int(stats.get("budget", 0))),
        "tokenizer": MetadataValue.text(cfg.tokenizer_name),
        "scorer_version": MetadataValue.text(", ".join(versions) or "none"),
        "labelling_model": MetadataValue.text("none (baseline scorer, no LLM)"),
        "selection_rule": MetadataValue.json(stats.get("rule", {})),
        "test_documents": MetadataValue.json(stats.get("test_documents", {}))})
    yield Output(rejected_table(rejected), output_name=REJECTED.path[-1], metadata={
        "dagster/row_count": MetadataValue.int(rejected.height),
        "rejected_by_reason": MetadataValue.json(funnel.rejected_by_reason())})
    yield Output(funnel_frame, output_name=FUNNEL.path[-1], metadata={
        "dagster/row_count": MetadataValue.int(funnel_frame.height),
        "funnel": MetadataValue.md(markdown_table(funnel_frame, rows=50, width=30))})
    budget = int(stats.get("budget", 0))
    yield to_check_result(CHECK_BUDGETS, _problems(rules.check_budgets(enriched, control, budget, cfg.budget_tolerance)),
                          asset_key=CORPORA)
    yield to_check_result(CHECK_SUPPLY, _problems(rules.check_budget_supply(
        budget, cfg.token_budget, stats.get("eligible_tokens", {}), cfg.budget_tolerance)), asset_key=CORPORA)
    yield to_check_result(CHECK_DISJOINT, _problems(rules.check_disjoint(enriched, control)), asset_key=CORPORA)
    yield to_check_result(CHECK_MAX_TOKENS, _problems(rules.check_max_tokens(corpora, cfg.max_tokens, "corpora")),
                          asset_key=CORPORA)
    yield to_check_result(CHECK_SCORED, _problems(rules.check_scored(corpora, "corpora")), asset_key=CORPORA)
    for name, frame, check in ((ENRICHED, enriched, CHECK_GX_ENRICHED), (CONTROL, control, CHECK_GX_CONTROL)):
        result = gx_check(frame, f"owm_{name}", rules.corpus_expectations(cfg, name), asset_key=CORPORA)
        yield AssetCheckResult(check_name=check, asset_key=CORPORA, passed=result.passed, metadata=result.metadata)


# The row contract on disk: owm_scores + owm_quarantine rows (every shard) = owm_corpora + owm_rejected
# rows, counted in the Parquet files written, and owm_funnel on disk agrees with both.
owm_conservation_on_disk = conservation_check(
    asset=CORPORA, kept=[CORPORA], rejected=[REJECTED], funnel=FUNNEL, read=[SCORES, QUARANTINE],
    description="owm_scores + owm_quarantine rows (every shard) = owm_corpora + owm_rejected rows, counted in the "
                "Parquet files written (and owm_funnel on disk agrees)")


# ------------------------------------------------------------------ needs an LLM (requires=llm)


def _client(llm: LLMResource, foundry: FoundryResource, asset_name: str, engine=None):
    """The LLM client, or a Failure that names the resource to configure (fail fast, before any work).
    ``engine``: the asset's open engine; on ``ray`` the client sends its cache misses as engine batches."""
    cfg = llm.config()
    why = cfg.why_not_configured()
    if why:
        raise Failure(f"{asset_name} needs the `llm` resource (assets/llm_resource.py: LLMResource): {why}",
                      metadata={"resource": "llm", "why": why})
    return llm.client(foundry.root(), engine=engine), cfg


ANNOTATION_SAMPLE = 2000  # documents the LLM labels (the classifier then scores the rest)


@multi_asset(
    ins={"owm_scores": AssetIn(SCORES)},
    outs={
        LABELS.path[-1]: AssetOut(
            key=LABELS, **_surface("labels", llm=True),
            description="LLM labels of a seeded sample of documents: one row per document and behavior with the "
                        "reply, the strict and the lenient `<count>` (unparsed kept apart from 0), `status`, the "
                        "labelling model and the prompt hash (prompts/owm/<behavior>.md)."),
        CLASSIFIER.path[-1]: AssetOut(
            key=CLASSIFIER, **_surface("classifier", llm=True),
            description="The classifier trained on the labels (hashed n-grams, one SGD head per behavior): one "
                        "row with its version, path (.npz under the family's artifacts), labelling model, and "
                        "precision / recall / PR-AUC against held-back LLM labels next to the baseline's."),
    },
    group_name=GROUP,
    pool="llm",
)
def owm_classifier(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource, engine: EngineResource,
                   owm_scores: pl.DataFrame):
    client, llm_cfg = _client(llm, foundry, "owm_classifier")
    cfg = owm_config(foundry)
    docs = owm_scores.select("doc_id", "text").unique("doc_id", keep="first").sort("doc_id")
    artifacts = foundry.artifact_dir(FAMILY)
    with client, engine.open() as eng:
        # the annotation requests as engine batches (Ray Data blocks on `ray`), each through the project's
        # LLM client and the shared response cache; the local in-process engine asks from this process
        ask = engine_ask(eng, llm_cfg, foundry.root()) if (eng.kind != "local" or eng.num_workers > 1) else None
        trained = annotate_and_train(cfg, client, docs, ANNOTATION_SAMPLE, plot_path=artifacts / "owm_pr.png", ask=ask)
        stats = client.stats.as_dict()
    path = trained.scorer.save(artifacts / f"{trained.scorer.version.replace('@', '-')}.npz")
    import json

    row = pl.DataFrame({"scorer_version": [trained.scorer.version], "path": [str(path)],
                        "labelling_model": [trained.scorer.labelling_model], "train_docs": [trained.train_docs],
                        "heldout_docs": [trained.heldout_docs], "metrics": [json.dumps(trained.metrics, sort_keys=True)]})
    yield Output(trained.labels, output_name=LABELS.path[-1], metadata={
        **frame_metadata(trained.labels, ["doc_id", "behavior", "status", "count_strict", "count_lenient"]),
        "parse_failures": MetadataValue.json(trained.parse_failures), "labelling_model": MetadataValue.text(client.model),
        "llm_config": MetadataValue.json(llm_cfg.public()), "llm_stats": MetadataValue.json(stats)})
    yield Output(row, output_name=CLASSIFIER.path[-1], metadata={
        "scorer_version": MetadataValue.text(trained.scorer.version), "path": MetadataValue.path(str(path)),
        "labelling_model": MetadataValue.text(client.model), "metrics": MetadataValue.json(trained.metrics)})


@asset(
    key=QA, group_name=GROUP, ins={"owm_corpora": AssetIn(CORPORA)}, **_surface("qa", llm=True), pool="llm",
)
def owm_qa(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource, engine: EngineResource,
           owm_corpora: pl.DataFrame):
    """The enriched set rewritten into question + `<think>…</think><answer>…</answer>` completions: a gate
    prompt writes `contain_problem` / `contain_solution` / `domain`, documents with both are rewritten
    (prompts/owm/qa_rewrite.md); documents that fail carry `reason` (no_problem, gate_unparsed,
    rewrite_unparsed, llm_*) in the same table (`status` = rejected)."""
    cfg = owm_config(foundry)
    docs = owm_corpora.filter(pl.col("set") == ENRICHED).select("doc_id", "text").to_dicts()
    with engine.open() as eng:  # on ray the gate and rewrite requests go out as engine batches
        client, llm_cfg = _client(llm, foundry, "owm_qa", engine=eng)
        with client:
            result = rewrite_qa(client, docs, cfg.label_chars)
            stats = client.stats.as_dict()
    qa = result.qa.drop("text", strict=False).with_columns(pl.lit("ok").alias("status"))
    rej = result.rejected.drop("text", strict=False).with_columns(pl.lit("rejected").alias("status"))
    out = pl.concat([qa, rej], how="diagonal_relaxed").sort("doc_id")
    return Output(out, metadata={
        **frame_metadata(out, ["doc_id", "status", "query", "completion"]),
        "rewritten": MetadataValue.int(qa.height), "rejected": MetadataValue.int(rej.height),
        "labelling_model": MetadataValue.text(client.model),
        "llm_config": MetadataValue.json(llm_cfg.public()), "llm_stats": MetadataValue.json(stats)})


ALL_ASSETS = [owm_documents, owm_scores, owm_corpora, owm_conservation_on_disk]
LLM_ASSETS = [owm_classifier, owm_qa]
