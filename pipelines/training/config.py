"""Training profiles: which model, how big, how many steps, where checkpoints go.

``cpu``: a tiny randomly initialized Llama-style model built in code (seeded) and a byte-level BPE
tokenizer trained on the consumed corpora (no download), sized to run each stage in seconds on
two cores. ``gpu``: a local model directory (its own tokenizer), bf16, vLLM generation for GRPO
when TRL finds vLLM installed. Everything here is config, nothing reads the environment at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

PROFILES = ("cpu", "gpu")
STAGES = ("pretrain", "priming", "grpo_countdown", "grpo_bigmath")


@dataclass(frozen=True)
class ModelSpec:
    # cpu: built from these sizes; gpu: loaded from ``path`` (a local directory, never a Hub id)
    path: str | None = None
    hidden_size: int = 64
    intermediate_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    max_positions: int = 512
    vocab_size: int = 1024        # of the trained tokenizer (cpu); ignored when ``path`` is set
    dtype: str = "float32"        # "bfloat16" on gpu


@dataclass(frozen=True)
class StageSpec:
    max_steps: int = 8
    batch_size: int = 4
    learning_rate: float = 3e-3
    max_length: int = 128         # tokens per training sequence (prompt + completion)
    save_every: int = 4           # a complete checkpoint every N optimizer steps
    # GRPO only
    num_generations: int = 4
    max_completion_length: int = 24
    temperature: float = 1.0
    beta: float = 0.0             # KL weight; 0 like recent GRPO recipes (no reference model held)


@dataclass(frozen=True)
class TrainingConfig:
    profile: str = "cpu"
    seed: int = 0
    device: str = "cpu"
    model: ModelSpec = field(default_factory=ModelSpec)
    tokenizer: str = "trained"    # "trained" (BPE on the consumed corpora) or a tokenizer JSON path
    stages: dict[str, StageSpec] = field(default_factory=dict)
    priming_set: str = "empty_thinking"  # short completions: the tiny model can learn the answer format in seconds
    reward_mode: str = "project"  # "project" (pipelines.countdown.reward, strict) or "tinyzero"
    pretrain_docs: int = 64       # documents of the corpus used for continued pretraining
    rl_problems: int = 16         # training prompts per GRPO run
    eval_problems: int = 8        # held-out problems evaluated
    eval_max_new_tokens: int = 24
    use_vllm: bool = False        # TRL's GRPO can generate with vLLM (colocate mode) on a GPU
    verify_workers: int = 1       # math-verify worker processes for the Big-Math reward

    def stage(self, name: str) -> StageSpec:
        if name not in STAGES:
            raise ValueError(f"training stage {name!r}: use one of {STAGES}")
        return self.stages.get(name, StageSpec())

    def with_(self, **kw) -> "TrainingConfig":
        return replace(self, **kw)


def cpu_config(seed: int = 0) -> TrainingConfig:
    """Seconds per stage on two cores: enough steps that the loss falls and GRPO sees rewards differ."""
    # TinyZero's own reward on cpu: its format score (any answer block on the last line) varies between
    # a tiny model's samples; the project's strict reward gives them all 0, and GRPO learns nothing from ties
    return TrainingConfig(profile="cpu", seed=seed, reward_mode="tinyzero", pretrain_docs=32, rl_problems=8, eval_problems=4,
                          eval_max_new_tokens=20, stages={
        "pretrain": StageSpec(max_steps=8, batch_size=4, learning_rate=3e-3, max_length=96, save_every=4),
        "priming": StageSpec(max_steps=40, batch_size=8, learning_rate=5e-3, max_length=256, save_every=20),
        "grpo_countdown": StageSpec(max_steps=2, batch_size=8, learning_rate=1e-3, save_every=2,
                                    num_generations=4, max_completion_length=20),
        "grpo_bigmath": StageSpec(max_steps=1, batch_size=4, learning_rate=1e-3, save_every=1,
                                  num_generations=2, max_completion_length=12),
    })


def gpu_config(model_path: str, seed: int = 0) -> TrainingConfig:
    """A real run on a local model directory (e.g. Qwen2.5-3B, as in TinyZero / cognitive behaviors)."""
    return TrainingConfig(
        profile="gpu", seed=seed, device="cuda", tokenizer=model_path, priming_set="all_strategies",
        model=ModelSpec(path=model_path, dtype="bfloat16"), pretrain_docs=100_000, rl_problems=10_000,
        eval_problems=512, eval_max_new_tokens=1024, use_vllm=True, verify_workers=8,
        stages={
            "pretrain": StageSpec(max_steps=1000, batch_size=8, learning_rate=1e-5, max_length=4096, save_every=200),
            "priming": StageSpec(max_steps=500, batch_size=8, learning_rate=1e-5, max_length=4096, save_every=100),
            "grpo_countdown": StageSpec(max_steps=500, batch_size=64, learning_rate=1e-6, save_every=50,
                                        num_generations=8, max_completion_length=1024),
            "grpo_bigmath": StageSpec(max_steps=500, batch_size=64, learning_rate=1e-6, save_every=50,
                                      num_generations=8, max_completion_length=2048),
        })


def config_for_profile(name: str | None = None, seed: int = 0, model_path: str | None = None) -> TrainingConfig:
    """``cpu`` (default) or ``gpu``; the gpu profile needs ``model_path`` (or FOUNDRY_TRAINING_MODEL)."""
    name = name or "cpu"
    if name == "cpu":
        return cpu_config(seed)
    if name == "gpu":
        path = model_path or os.environ.get("FOUNDRY_TRAINING_MODEL")
        if not path:
            raise ValueError("training profile 'gpu' needs a local model directory: set FOUNDRY_TRAINING_MODEL "
                             "(or pass model_path) to e.g. /models/Qwen2.5-3B")
        return gpu_config(path, seed)
    raise ValueError(f"training profile {name!r}: use one of {PROFILES}")
