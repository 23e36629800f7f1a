"""Profiles: one object that selects inputs and sizes.

``sample`` (the default) reads the files shipped in ``data/sample`` and needs no network and no
LLM; ``full`` reads the real Hub datasets. ``FOUNDRY_PROFILE`` picks one; ``FOUNDRY_DATA_ROOT``
says where outputs go (default ``var/`` in the repository, git-ignored).

A profile's funnel refuses to run without an evaluation set to decontaminate against (it would
otherwise silently skip decontamination); ``FOUNDRY_ALLOW_NO_EVAL_SETS=1`` (or
``get_profile(..., allow_no_eval_sets=True)``) says that is meant.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.bigmath.funnel import EvalSetSpec, FunnelConfig, VerifyConfig
from pipelines.bigmath.lock import read_lock
from pipelines.bigmath.recipe import full_eval_sets, full_sources
from pipelines.bigmath.sources import SourceSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"

SAMPLE_MATH_SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("gsm8k", files=("data/sample/math/gsm8k_test.jsonl",), fields={"problem": "question", "answer": "answer"},
               answer_from="gsm8k", license="MIT", origin="openai/grade-school-math test"),
    SourceSpec("math500", files=("data/sample/math/math500_test.jsonl",),
               fields={"problem": "problem", "answer": "answer", "solution": "solution", "id": "unique_id"},
               answer_from="column", license="MIT", origin="MATH-500 (math-evaluation-harness)"),
    SourceSpec("aqua", files=("data/sample/math/aqua_test.jsonl",),
               fields={"problem": "question", "answer": "correct", "solution": "rationale", "options": "options"},
               answer_from="option", license="Apache-2.0", origin="google-deepmind/AQuA test"),
    SourceSpec("sat_math", files=("data/sample/math/sat_math_test.jsonl",),
               fields={"problem": "question", "answer": "Answer", "options": "options", "id": "id"},
               answer_from="option", license="MIT", origin="SAT-math (math-evaluation-harness)"),
    SourceSpec("ocw", files=("data/sample/math/ocw_test.jsonl",),
               fields={"problem": "problem", "solution": "solution", "id": "idx"},
               answer_from="boxed", license="MIT", origin="MIT OCW (math-evaluation-harness)"),
    SourceSpec("mawps", files=("data/sample/math/mawps_singleeq.jsonl",), fields={"problem": "input", "answer": "target"},
               answer_from="column", license="MIT", origin="MAWPS SingleEq (math-evaluation-harness)"),
    SourceSpec("harp_proofs", files=("data/sample/math/harp_proofs.jsonl",),
               fields={"problem": "problem", "solution": "solution_1"}, answer_from="boxed",
               license="MIT", origin="aadityasingh/HARP proof-based", proof_source=True),
)

# The evaluation reference of the sample profile: the first 100 MATH-500 problems are held out
# as "our eval set", so the funnel must reject them (and near copies of them) as contaminated.
SAMPLE_EVAL_SETS: tuple[EvalSetSpec, ...] = (
    EvalSetSpec("math500_heldout", files=("data/sample/math/math500_test.jsonl",), field="problem", limit=100),
)



def full_math_sources() -> tuple[SourceSpec, ...]:
    """The full profile's sources: the Big-Math recipe (pipelines/bigmath/recipe.py), every Hub
    source pinned by the committed lock file (`foundry sources lock` resolves it). Read when the
    full profile is asked for, never at import, so a malformed lock cannot break the sample profile."""
    return full_sources(read_lock())


def full_eval_sets_pinned() -> tuple[EvalSetSpec, ...]:
    return full_eval_sets(read_lock())  # type: ignore[return-value] - same attributes


PROFILE_NAMES = ("sample", "full")  # assets/resources.py offers these in the launchpad (ProfileName)


@dataclass(frozen=True)
class Profile:
    name: str
    bigmath: FunnelConfig
    seed: int = 0
    data_root: Path = field(default_factory=lambda: REPO_ROOT / "var")


def get_profile(name: str | None = None, data_root: str | Path | None = None,
                allow_no_eval_sets: bool | None = None) -> Profile:
    name = name or os.environ.get("FOUNDRY_PROFILE", "sample")
    if allow_no_eval_sets is None:
        allow_no_eval_sets = os.environ.get("FOUNDRY_ALLOW_NO_EVAL_SETS", "") not in ("", "0", "false", "False")
    root = Path(data_root or os.environ.get("FOUNDRY_DATA_ROOT") or REPO_ROOT / "var").resolve()
    workers = int(os.environ.get("FOUNDRY_VERIFY_WORKERS", str(min(4, os.cpu_count() or 1))))
    if name == "sample":
        cfg = FunnelConfig(sources=SAMPLE_MATH_SOURCES, eval_sets=SAMPLE_EVAL_SETS, base_dir=str(REPO_ROOT),
                           verify=VerifyConfig(workers=workers), require_eval_sets=not allow_no_eval_sets)
    elif name == "full":
        cfg = FunnelConfig(sources=full_math_sources(), eval_sets=full_eval_sets_pinned(), base_dir=str(REPO_ROOT),
                           verify=VerifyConfig(workers=workers), require_eval_sets=not allow_no_eval_sets)
    else:
        raise ValueError(f"unknown profile {name!r}; FOUNDRY_PROFILE must be one of {PROFILE_NAMES}")
    return Profile(name=name, bigmath=cfg, data_root=root)
