"""The Big-Math section of a profile: which sources and evaluation sets, and the funnel's settings.

``sample`` reads the files shipped in ``data/sample/math``; ``full`` is the Big-Math recipe
(pipelines/bigmath/recipe.py), every Hub source pinned by the committed lock file, read when a
``full`` profile is built (never at import; a missing or unresolved entry only matters when that
source is loaded, and it then refuses, naming the fix).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pipelines.bigmath.funnel import EvalSetSpec, FunnelConfig, VerifyConfig
from pipelines.bigmath.sources import SourceSpec

REPO_ROOT = Path(__file__).resolve().parents[2]

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


def for_profile(name: str, *, allow_no_eval_sets: bool = False, verify_workers: int = 1,
                read_lock: Callable[[], dict] | None = None) -> FunnelConfig:
    """The Big-Math funnel settings of profile ``name`` (``sample`` or ``full``); ``full`` reads the
    lock file with ``read_lock`` (default :func:`pipelines.bigmath.lock.read_lock`) now."""
    if name == "sample":
        sources, eval_sets = SAMPLE_MATH_SOURCES, SAMPLE_EVAL_SETS
    elif name == "full":
        from pipelines.bigmath import lock as lock_file
        from pipelines.bigmath.recipe import full_eval_sets, full_sources

        lock = (read_lock or lock_file.read_lock)()
        sources, eval_sets = full_sources(lock), full_eval_sets(lock)
    else:
        raise ValueError(f"unknown profile {name!r} for Big-Math; use 'sample' or 'full'")
    return FunnelConfig(sources=sources, eval_sets=eval_sets, base_dir=str(REPO_ROOT),
                        verify=VerifyConfig(workers=verify_workers), require_eval_sets=not allow_no_eval_sets)
