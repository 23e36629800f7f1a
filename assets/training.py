"""Training stage: the exports a GPU user runs with the anchors' trainers, and the validation runs
that consume them — continued pretraining, SFT priming, GRPO on Countdown and Big-Math, evaluation.

Kept out of ``foundry_all`` (its own job ``training_job``): even the cpu profile imports torch and
trains for tens of seconds, and ``make run`` must stay a fast data build. torch, transformers and
TRL are imported only when a training asset runs (the ``train`` extra).
"""


from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, MetadataValue, Output, asset

from assets.metadata import asset_surface, frame_metadata, image_metadata, markdown_table
from assets.resources import FoundryResource, TrainingResource
from pipelines.core.plots import metrics_plot

FAMILY = "training"
GROUP = "training"
KINDS = {"pytorch", "parquet"}
# the shared surface, without an automation condition: a training run is launched on purpose, never
# because an upstream table changed

PROBLEMS = AssetKey("countdown_problems")
PRIMING = AssetKey("countdown_priming_sets")
TRACES = AssetKey("countdown_search_traces")
BIGMATH_KEPT = AssetKey("bigmath_kept")

EXPORTS = AssetKey("training_exports")
PRETRAIN = AssetKey("training_pretrain")
PRIMING_SFT = AssetKey("training_priming_sft")
GRPO_COUNTDOWN = AssetKey("training_grpo_countdown")
GRPO_BIGMATH = AssetKey("training_grpo_bigmath")
EVALUATION = AssetKey("training_evaluation")
TRAINING_ASSETS = (EXPORTS, PRETRAIN, PRIMING_SFT, GRPO_COUNTDOWN, GRPO_BIGMATH, EVALUATION)


def _dir(foundry: FoundryResource, *parts: str) -> Path:
    return foundry.root().joinpath("training", *parts)


def _dagster_version(context: AssetExecutionContext, key: AssetKey) -> str | None:
    record = context.instance.get_latest_data_version_record(key)
    if record is None or record.asset_materialization is None:
        return None
    tag = (record.asset_materialization.tags or {}).get("dagster/data_version")
    return tag


def _export(manifest: pl.DataFrame, name: str) -> dict:
    rows = manifest.filter(pl.col("name") == name).to_dicts()
    if not rows:
        raise ValueError(f"training_exports has no export {name!r} (exports: {manifest['name'].to_list()}); "
                         "re-materialize training_exports")
    return rows[0]


def _consumed(manifest: pl.DataFrame, names: list[str]) -> dict:
    """What a run read: export name -> the dataset asset it came from, its version and the file hash."""
    return {n: {k: _export(manifest, n)[k] for k in ("dataset", "dataset_version", "content_sha256", "path")}
            for n in names}


def _stage_output(foundry: FoundryResource, stage: str, result, consumed: dict, title: str) -> Output:
    png = metrics_plot(result.metrics, foundry.artifact_dir(FAMILY) / f"{stage}_metrics.png", title)
    return Output(result.metrics, metadata={
        **frame_metadata(result.metrics, ["stage", "step", "loss", "reward", "accuracy"], rows=20),
        "consumed": MetadataValue.json(consumed),
        "global_step": MetadataValue.int(result.global_step),
        "resumed_from": MetadataValue.json(result.resumed_from),
        "weight_change_l2": MetadataValue.float(result.weight_change),
        "final_model": MetadataValue.path(str(result.final_dir)),
        **image_metadata(png, "metrics_plot"),
    })


@asset(
    key=EXPORTS, group_name=GROUP, **asset_surface(FAMILY, "exports", kinds=KINDS, automate=False),
    ins={"countdown_problems": AssetIn(PROBLEMS), "countdown_priming_sets": AssetIn(PRIMING),
         "countdown_search_traces": AssetIn(TRACES), "bigmath_kept": AssetIn(BIGMATH_KEPT)},
)
def training_exports(context: AssetExecutionContext, foundry: FoundryResource, training: TrainingResource,
                     countdown_problems: pl.DataFrame, countdown_priming_sets: pl.DataFrame,
                     countdown_search_traces: pl.DataFrame, bigmath_kept: pl.DataFrame) -> Output:
    """Files a GPU user feeds unchanged to the anchors' trainers, under `<data root>/training/exports/`:
    veRL RL Parquet for Countdown and Big-Math (`data_source`, chat `prompt`, `ability`, `reward_model`,
    `extra_info`), query/completion Parquet of the configured priming set, and a text corpus for
    continued pretraining (Stream-of-Search traces, or the OWM enriched corpus when configured). One
    row per file: rows, the dataset asset it came from, that asset's version and the file's SHA-256."""
    from pipelines.training.exports import manifest_frame, write_all

    cfg = training.config(foundry.profile().seed)
    corpus, text_col, id_col, corpus_name = countdown_search_traces, "search_text", "trace_id", "countdown_search_traces"
    if training.owm_corpus_dir:
        corpus = pl.read_parquet(Path(training.owm_corpus_dir) / "enriched.parquet")
        text_col, id_col, corpus_name = "text", "doc_id", "owm_enriched"
    if id_col not in corpus.columns:  # traces carry (strategy, problem_id) rather than one id column
        corpus = corpus.with_columns(pl.concat_str(["strategy", "problem_id"], separator=":").alias(id_col))
    versions = {}
    for name, key in (("countdown_problems", PROBLEMS), ("countdown_priming_sets", PRIMING),
                      ("bigmath_kept", BIGMATH_KEPT), ("pretrain_corpus", TRACES)):
        v = _dagster_version(context, key) if not (name == "pretrain_corpus" and training.owm_corpus_dir) else None
        if v:
            versions[name] = f"dagster:{v}"
    records = write_all(_dir(foundry, "exports"), problems=countdown_problems, priming=countdown_priming_sets,
                        priming_set=cfg.priming_set, bigmath=bigmath_kept, corpus=corpus,
                        corpus_text_column=text_col, corpus_id_column=id_col, versions=versions)
    manifest = manifest_frame(records).with_columns(
        pl.when(pl.col("name") == "pretrain_corpus").then(pl.lit(corpus_name)).otherwise(pl.col("dataset"))
        .alias("dataset"))
    return Output(manifest, metadata={
        **frame_metadata(manifest, ["name", "format", "rows", "dataset", "dataset_version", "content_sha256"], rows=20),
        "export_dir": MetadataValue.path(str(_dir(foundry, "exports"))),
    })


def _texts(manifest: pl.DataFrame, cfg) -> tuple[list[str], list[str]]:
    """(pretraining texts, tokenizer texts): the cpu tokenizer is trained once on every corpus the run uses."""
    corpus = pl.read_parquet(_export(manifest, "pretrain_corpus")["path"]).head(cfg.pretrain_docs)
    priming = pl.read_parquet(_export(manifest, f"priming_{cfg.priming_set}")["path"])
    verl_cd = pl.read_parquet(_export(manifest, "countdown_verl_train")["path"]).head(cfg.rl_problems)
    verl_bm = pl.read_parquet(_export(manifest, "bigmath_verl_train")["path"]).head(cfg.rl_problems)
    texts = corpus["text"].to_list()
    prompts = [m[0]["content"] for m in verl_cd["prompt"].to_list() + verl_bm["prompt"].to_list()]
    return texts, texts + [q + c for q, c in zip(priming["query"], priming["completion"])] + prompts


@asset(
    key=PRETRAIN, group_name=GROUP, **asset_surface(FAMILY, "pretrain", kinds=KINDS, automate=False),
    ins={"training_exports": AssetIn(EXPORTS)},
)
def training_pretrain(context: AssetExecutionContext, foundry: FoundryResource, training: TrainingResource,
                      training_exports: pl.DataFrame) -> Output:
    """Continued pretraining (causal LM on raw text) of the profile's model on the exported corpus; one
    metrics row per optimizer step (loss, learning rate). Resumes from its last complete checkpoint
    when a run was killed; the final model feeds priming."""
    from pipelines.training.runs import run_stage

    cfg = training.config(foundry.profile().seed)
    texts, tok_texts = _texts(training_exports, cfg)
    result = run_stage("pretrain", cfg, _dir(foundry, "runs", "pretrain"), texts=texts, tokenizer_texts=tok_texts,
                       consumed=_consumed(training_exports, ["pretrain_corpus"]))
    context.log.info(f"pretrain: {result.global_step} steps, resumed from {result.resumed_from}")
    return _stage_output(foundry, "pretrain", result, result.info["consumed"], "continued pretraining")


@asset(
    key=PRIMING_SFT, group_name=GROUP, **asset_surface(FAMILY, "priming", kinds=KINDS, automate=False),
    ins={"training_exports": AssetIn(EXPORTS), "training_pretrain": AssetIn(PRETRAIN)},
)
def training_priming_sft(context: AssetExecutionContext, foundry: FoundryResource, training: TrainingResource,
                         training_exports: pl.DataFrame, training_pretrain: pl.DataFrame) -> Output:
    """SFT priming (cognitive-behaviors paper) of the pretrained model on the configured Countdown priming
    set as query/completion pairs (loss on the completion only); metrics per step."""
    from pipelines.training.runs import run_stage

    cfg = training.config(foundry.profile().seed)
    name = f"priming_{cfg.priming_set}"
    rows = pl.read_parquet(_export(training_exports, name)["path"])
    result = run_stage("priming", cfg, _dir(foundry, "runs", "priming"),
                       base_dir=_dir(foundry, "runs", "pretrain", "final"),
                       pairs=list(zip(rows["query"].to_list(), rows["completion"].to_list())),
                       consumed=_consumed(training_exports, [name]))
    return _stage_output(foundry, "priming", result, result.info["consumed"], f"priming on {cfg.priming_set}")


def _countdown_rl_rows(manifest: pl.DataFrame, cfg) -> list[dict]:
    verl = pl.read_parquet(_export(manifest, "countdown_verl_train")["path"]).head(cfg.rl_problems)
    return [{"prompt": r["prompt"][0]["content"], "target": r["reward_model"]["ground_truth"]["target"],
             "numbers": r["reward_model"]["ground_truth"]["numbers"]} for r in verl.iter_rows(named=True)]


def _bigmath_rl_rows(manifest: pl.DataFrame, cfg) -> list[dict]:
    verl = pl.read_parquet(_export(manifest, "bigmath_verl_train")["path"])
    if cfg.profile == "cpu":  # the tiny model's context: the shortest problems
        verl = verl.with_columns(pl.col("prompt").list.first().struct.field("content").str.len_chars().alias("_n")) \
            .sort("_n", "extra_info").drop("_n")
    verl = verl.head(cfg.rl_problems)
    return [{"prompt": r["prompt"][0]["content"], "answer": r["reward_model"]["ground_truth"]}
            for r in verl.iter_rows(named=True)]


@asset(
    key=GRPO_COUNTDOWN, group_name=GROUP, **asset_surface(FAMILY, "grpo", kinds=KINDS, automate=False),
    ins={"training_exports": AssetIn(EXPORTS), "training_priming_sft": AssetIn(PRIMING_SFT)},
)
def training_grpo_countdown(context: AssetExecutionContext, foundry: FoundryResource, training: TrainingResource,
                            training_exports: pl.DataFrame, training_priming_sft: pl.DataFrame) -> Output:
    """RL validation with TRL's GRPOTrainer on the Countdown train prompts, starting from the primed
    model, rewarded by the project's Countdown reward (or the TinyZero-compatible one, by config). Per
    step: loss, mean reward, accuracy and the behavior detector's counts on the sampled completions."""
    from pipelines.training.runs import run_stage

    cfg = training.config(foundry.profile().seed)
    result = run_stage("grpo_countdown", cfg, _dir(foundry, "runs", "grpo_countdown"),
                       base_dir=_dir(foundry, "runs", "priming", "final"),
                       rl_rows=_countdown_rl_rows(training_exports, cfg),
                       consumed=_consumed(training_exports, ["countdown_verl_train"]))
    return _stage_output(foundry, "grpo_countdown", result, result.info["consumed"], "GRPO on Countdown")


@asset(
    key=GRPO_BIGMATH, group_name=GROUP, **asset_surface(FAMILY, "grpo", kinds=KINDS, automate=False),
    ins={"training_exports": AssetIn(EXPORTS), "training_pretrain": AssetIn(PRETRAIN)},
)
def training_grpo_bigmath(context: AssetExecutionContext, foundry: FoundryResource, training: TrainingResource,
                          training_exports: pl.DataFrame, training_pretrain: pl.DataFrame) -> Output:
    """RL validation with TRL's GRPOTrainer on Big-Math prompts from the pretrained model, rewarded 1/0
    by the project's verifier (math-verify in worker processes) on each completion's final answer."""
    from pipelines.training.runs import run_stage

    cfg = training.config(foundry.profile().seed)
    result = run_stage("grpo_bigmath", cfg, _dir(foundry, "runs", "grpo_bigmath"),
                       base_dir=_dir(foundry, "runs", "pretrain", "final"),
                       rl_rows=_bigmath_rl_rows(training_exports, cfg),
                       consumed=_consumed(training_exports, ["bigmath_verl_train"]))
    return _stage_output(foundry, "grpo_bigmath", result, result.info["consumed"], "GRPO on Big-Math")


@asset(
    key=EVALUATION, group_name=GROUP, **asset_surface(FAMILY, "evaluation", kinds=KINDS, automate=False),
    ins={"countdown_problems": AssetIn(PROBLEMS), "training_grpo_countdown": AssetIn(GRPO_COUNTDOWN)},
)
def training_evaluation(context: AssetExecutionContext, foundry: FoundryResource, training: TrainingResource,
                        countdown_problems: pl.DataFrame, training_grpo_countdown: pl.DataFrame) -> Output:
    """Greedy generations of the GRPO-trained model on the held-out Countdown split (targets never seen in
    training): one row per problem with completion, reward, correct and the behavior detector's counts;
    accuracy and total counts in metadata."""
    from pipelines.training.exports import frame_sha256
    from pipelines.training.runs import evaluate_countdown, evaluation_summary

    cfg = training.config(foundry.profile().seed)
    table = evaluate_countdown(_dir(foundry, "runs", "grpo_countdown", "final"), countdown_problems, cfg)
    summary = evaluation_summary(table)
    context.log.info(f"evaluation: {summary}")
    consumed = {"countdown_problems": {"dataset": PROBLEMS.to_user_string(), "split": "test_heldout",
                                       "content_sha256": frame_sha256(countdown_problems),
                                       "dataset_version": _dagster_version(context, PROBLEMS)},
                "model": str(_dir(foundry, "runs", "grpo_countdown", "final"))}
    return Output(table, metadata={
        **frame_metadata(table, ["problem_id", "completion", "reward", "correct"], rows=10),
        "summary": MetadataValue.json(summary),
        "accuracy": MetadataValue.float(summary["accuracy"]),
        "consumed": MetadataValue.json(consumed),
        "behavior_counts": MetadataValue.md(markdown_table(
            pl.DataFrame([{k: v for k, v in summary.items() if k not in ("problems",)}]))),
    })
