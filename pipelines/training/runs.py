"""The training stages: continued pretraining, SFT priming, GRPO validation, evaluation.

Each stage writes under its own directory::

    <dir>/tokenizer/            the run's tokenizer (saved first, reloaded on resume)
    <dir>/checkpoint-<step>/    HF Trainer checkpoints (model, optimizer, scheduler, RNG, state)
    <dir>/checkpoint-<step>/COMPLETE   written last, atomically: a checkpoint counts only with it
    <dir>/metrics.parquet       stage, step, loss, reward, accuracy, behavior counts (atomic)
    <dir>/final/                the trained model + tokenizer (staged, then renamed into place)
    <dir>/run.json              what the run consumed, where it resumed from, weight change

A killed run resumes from its newest COMPLETE checkpoint: Trainer restores weights, optimizer and
data position, the metrics table is cut back to that step, and half-written checkpoints (no
marker) are removed. ``FOUNDRY_TRAINING_KILL_AT_STEP=N`` is a test hook: the process SIGKILLs
itself right after checkpoint N is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import polars as pl

from pipelines.behaviors.detector import BEHAVIORS
from pipelines.core.io import atomic_write_parquet, atomic_write_text
from pipelines.training.config import TrainingConfig
from pipelines.training.rewards import BigMathReward, CountdownReward, RewardLog, countdown_score

COMPLETE = "COMPLETE"
KILL_ENV = "FOUNDRY_TRAINING_KILL_AT_STEP"
METRICS_SCHEMA = {"stage": pl.Utf8, "step": pl.Int64, "loss": pl.Float64, "reward": pl.Float64,
                  "accuracy": pl.Float64, "learning_rate": pl.Float64,
                  **{b: pl.Int64 for b in BEHAVIORS}, "sample_completion": pl.Utf8}


@dataclass
class StageResult:
    stage: str
    final_dir: Path
    metrics: pl.DataFrame
    resumed_from: int | None
    global_step: int
    weight_change: float
    tokens_seen: int
    info: dict[str, Any] = field(default_factory=dict)


def require_train_extra() -> None:
    try:
        import torch  # noqa: F401
        import trl  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"the training stage needs the `train` extra ({exc.name} is missing): "
                          "pip install -e '.[train]' (torch==2.13.0 is the CPU wheel)") from exc


def complete_checkpoints(stage_dir: Path) -> list[tuple[int, Path]]:
    out = []
    for p in Path(stage_dir).glob("checkpoint-*"):
        if p.is_dir() and (p / COMPLETE).exists() and p.name.split("-")[-1].isdigit():
            out.append((int(p.name.split("-")[-1]), p))
    return sorted(out)


def latest_checkpoint(stage_dir: Path) -> Path | None:
    """The newest complete checkpoint; incomplete ones (killed mid-write) are deleted."""
    for p in Path(stage_dir).glob("checkpoint-*"):
        if p.is_dir() and not (p / COMPLETE).exists():
            shutil.rmtree(p)
    done = complete_checkpoints(stage_dir)
    return done[-1][1] if done else None


def _empty_metrics() -> pl.DataFrame:
    return pl.DataFrame(schema=METRICS_SCHEMA)


def merge_metrics(stage: str, logs: Sequence[dict], rewards: Sequence[dict]) -> pl.DataFrame:
    """Trainer log rows and reward-function rows as one row per (stage, step)."""
    by_step: dict[int, dict] = {}
    for row in logs:
        slot = by_step.setdefault(int(row["step"]), {"stage": stage, "step": int(row["step"])})
        for k in ("loss", "learning_rate"):
            if row.get(k) is not None:
                slot[k] = float(row[k])
        if row.get("reward") is not None and "reward" not in slot:
            slot["reward"] = float(row["reward"])
    for row in rewards:
        slot = by_step.setdefault(int(row["step"]), {"stage": stage, "step": int(row["step"])})
        slot.update({k: row[k] for k in ("reward", "accuracy", "sample_completion", *BEHAVIORS)})
    rows = [by_step[s] for s in sorted(by_step)]
    return pl.DataFrame(rows, schema=METRICS_SCHEMA) if rows else _empty_metrics()


def _callbacks(stage: str, stage_dir: Path, prior: pl.DataFrame, reward_log: RewardLog | None):
    from transformers import TrainerCallback

    history: list[dict] = []  # this process's Trainer log rows; earlier steps are in ``prior``
    kill_at = int(os.environ.get(KILL_ENV, "0") or 0)

    def snapshot() -> pl.DataFrame:
        fresh = merge_metrics(stage, history, reward_log.rows if reward_log else [])
        old = prior.filter(~pl.col("step").is_in(fresh["step"].to_list()))
        return pl.concat([old, fresh], how="vertical").sort("step")

    class Metrics(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):
            history.append({"step": state.global_step,
                            **{k: v for k, v in (logs or {}).items() if isinstance(v, (int, float))}})

        def on_save(self, args, state, control, **kw):
            ckpt = stage_dir / f"checkpoint-{state.global_step}"
            atomic_write_parquet(snapshot(), stage_dir / "metrics.parquet")
            atomic_write_text(json.dumps({"step": state.global_step}) + "\n", ckpt / COMPLETE)
            if kill_at and state.global_step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)  # test hook: die right after a complete checkpoint

    return [Metrics()], snapshot


def _save_final(model, tokenizer, stage_dir: Path) -> Path:
    final, staging, old = stage_dir / "final", stage_dir / f".final.{os.getpid()}.tmp", stage_dir / ".final.old"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(staging, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _param_vector(model):
    import torch

    return torch.cat([p.detach().float().flatten().cpu() for p in model.parameters()])


def _model_and_tokenizer(cfg: TrainingConfig, stage_dir: Path, base_dir: Path | None, tokenizer_texts: Sequence[str]):
    from pipelines.training.model import build_model, load_checkpoint, load_tokenizer

    if base_dir is not None:
        return load_checkpoint(base_dir, cfg.model.dtype)
    tok_dir = stage_dir / "tokenizer"
    if (tok_dir / "tokenizer.json").exists():  # a resumed run keeps the tokenizer it started with
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
        tokenizer.padding_side = "left"
    else:
        tokenizer = load_tokenizer(cfg, tokenizer_texts)
        staging = stage_dir / f".tokenizer.{os.getpid()}.tmp"
        tokenizer.save_pretrained(staging)
        os.replace(staging, tok_dir)
    return build_model(cfg, tokenizer), tokenizer


def _common_args(cfg: TrainingConfig, stage: str, stage_dir: Path) -> dict:
    spec = cfg.stage(stage)
    return dict(output_dir=str(stage_dir), max_steps=spec.max_steps, per_device_train_batch_size=spec.batch_size,
                learning_rate=spec.learning_rate, lr_scheduler_type="constant", logging_steps=1,
                save_strategy="steps", save_steps=spec.save_every, report_to="none", seed=cfg.seed,
                data_seed=cfg.seed, use_cpu=cfg.device == "cpu", bf16=cfg.model.dtype == "bfloat16",
                disable_tqdm=True, dataloader_num_workers=0, save_only_model=False)


def run_stage(stage: str, cfg: TrainingConfig, stage_dir: str | Path, *, base_dir: str | Path | None = None,
              texts: Sequence[str] | None = None, pairs: Sequence[tuple[str, str]] | None = None,
              rl_rows: Sequence[dict] | None = None, consumed: dict | None = None,
              tokenizer_texts: Sequence[str] | None = None) -> StageResult:
    """Run (or resume) one stage. ``texts``: raw-text causal LM; ``pairs``: (query, completion) SFT;
    ``rl_rows``: GRPO prompts with ``prompt`` and ``target``/``numbers`` (Countdown) or ``answer``
    (Big-Math). ``base_dir``: a previous stage's ``final`` directory (default: a fresh model, whose
    cpu tokenizer is trained on ``tokenizer_texts``, default the stage's own texts)."""
    from datasets import Dataset

    require_train_extra()
    stage_dir = Path(stage_dir)
    if (stage_dir / "run.json").exists():  # a finished run is redone from scratch; only unfinished ones resume
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True, exist_ok=True)
    resume = latest_checkpoint(stage_dir)
    resumed_from = int(resume.name.split("-")[-1]) if resume else None
    prior = _empty_metrics()
    if resume and (stage_dir / "metrics.parquet").exists():
        prior = pl.read_parquet(stage_dir / "metrics.parquet").filter(pl.col("step") <= resumed_from)
    if texts is None and pairs is None and rl_rows is None:
        raise ValueError(f"stage {stage!r}: give texts, pairs or rl_rows")
    tok_texts = list(tokenizer_texts) if tokenizer_texts is not None else (
        list(texts or []) + [q + c for q, c in (pairs or [])] + [r["prompt"] for r in (rl_rows or [])])
    model, tokenizer = _model_and_tokenizer(cfg, stage_dir, Path(base_dir) if base_dir else None, tok_texts)
    before = _param_vector(model)
    spec = cfg.stage(stage)
    reward_log = RewardLog() if rl_rows is not None else None
    callbacks, snapshot = _callbacks(stage, stage_dir, prior, reward_log)

    if rl_rows is None:
        from trl import SFTConfig, SFTTrainer

        if texts is not None:
            data = Dataset.from_dict({"text": list(texts)})
        else:
            data = Dataset.from_dict({"prompt": [q for q, _ in pairs], "completion": [c for _, c in pairs]})
        args = SFTConfig(**_common_args(cfg, stage, stage_dir), max_length=spec.max_length, packing=False)
        trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                             callbacks=callbacks)
    else:
        from trl import GRPOConfig, GRPOTrainer

        columns = {k: [r[k] for r in rl_rows] for k in rl_rows[0]}
        data = Dataset.from_dict(columns)
        if "target" in columns:
            reward = CountdownReward(cfg.reward_mode, reward_log, stage)
        else:
            reward = BigMathReward(cfg.verify_workers, log=reward_log, stage=stage)
        args = GRPOConfig(**_common_args(cfg, stage, stage_dir), num_generations=spec.num_generations,
                          max_completion_length=spec.max_completion_length, temperature=spec.temperature,
                          beta=spec.beta, use_vllm=cfg.use_vllm,
                          **({"vllm_mode": "colocate"} if cfg.use_vllm else {}))
        trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=args, train_dataset=data,
                              processing_class=tokenizer, callbacks=callbacks)

    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    metrics = snapshot()
    atomic_write_parquet(metrics, stage_dir / "metrics.parquet")
    final = _save_final(trainer.model, tokenizer, stage_dir)
    change = float((_param_vector(trainer.model) - before).norm())
    # TRL logs the cumulative token count as `num_tokens` (prompt + completion tokens it processed)
    tokens = int(max([h.get("num_tokens", 0) for h in trainer.state.log_history] or [0]))
    info = {"stage": stage, "resumed_from": resumed_from, "global_step": trainer.state.global_step,
            "weight_change_l2": change, "consumed": consumed or {}, "profile": cfg.profile}
    atomic_write_text(json.dumps(info, indent=2, sort_keys=True, default=str) + "\n", stage_dir / "run.json")
    return StageResult(stage, final, metrics, resumed_from, trainer.state.global_step, change, tokens, info)


def generate(model, tokenizer, prompts: Sequence[str], max_new_tokens: int, batch_size: int = 8) -> list[str]:
    """Greedy completions (deterministic), decoded without special tokens."""
    import torch

    out: list[str] = []
    model.eval()
    for i in range(0, len(prompts), batch_size):
        batch = tokenizer(list(prompts[i:i + batch_size]), return_tensors="pt", padding=True)
        batch = {k: v.to(model.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        with torch.no_grad():
            ids = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        out.extend(tokenizer.batch_decode(ids[:, batch["input_ids"].shape[1]:], skip_special_tokens=True))
    return out


def evaluate_countdown(model_dir: str | Path, problems: pl.DataFrame, cfg: TrainingConfig,
                       split: str = "test_heldout") -> pl.DataFrame:
    """One row per held-out problem: the greedy completion, reward, correctness and behavior counts."""
    from pipelines.behaviors.detector import detect_behaviors
    from pipelines.training.model import load_checkpoint

    part = problems.filter(pl.col("split") == split).sort("problem_id").head(cfg.eval_problems)
    model, tok = load_checkpoint(model_dir, cfg.model.dtype)
    completions = generate(model, tok, part["query"].to_list(), cfg.eval_max_new_tokens)
    rows = []
    for r, text in zip(part.iter_rows(named=True), completions):
        reward, correct = countdown_score(text, r["numbers"], r["target"], cfg.reward_mode)
        rows.append({"problem_id": r["problem_id"], "split": split, "completion": text, "reward": reward,
                     "correct": correct, **detect_behaviors(text).as_dict()})
    schema = {"problem_id": pl.Utf8, "split": pl.Utf8, "completion": pl.Utf8, "reward": pl.Float64,
              "correct": pl.Boolean, **{b: pl.Int64 for b in BEHAVIORS}}
    return pl.DataFrame(rows, schema=schema)


def evaluation_summary(generations: pl.DataFrame) -> dict:
    n = generations.height
    return {"problems": n, "accuracy": float(generations["correct"].mean()) if n else 0.0,
            "mean_reward": float(generations["reward"].mean()) if n else 0.0,
            **{b: int(generations[b].sum()) for b in BEHAVIORS}}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipelines.training.runs pretrain --texts FILE.parquet --out DIR [--steps N --save-every K]``:
    one raw-text stage in its own process (what the kill + resume test drives)."""
    import argparse

    from pipelines.training.config import StageSpec, cpu_config

    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["pretrain"])
    ap.add_argument("--texts", required=True, help="Parquet with a `text` column")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--save-every", type=int, default=2)
    a = ap.parse_args(argv)
    cfg = cpu_config()
    spec = StageSpec(max_steps=a.steps, batch_size=4, learning_rate=3e-3, max_length=64, save_every=a.save_every)
    cfg = cfg.with_(stages={**cfg.stages, "pretrain": spec})
    result = run_stage("pretrain", cfg, a.out, texts=pl.read_parquet(a.texts)["text"].to_list())
    print(json.dumps({"resumed_from": result.resumed_from, "global_step": result.global_step}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
