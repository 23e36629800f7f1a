"""Countdown problems: generate, check solvability exhaustively, de-duplicate, split, prompt.

Generation draws ``numbers`` integers in ``[number_min, number_max]`` and a target in
``[target_min, target_max]`` from a seeded RNG: uniformly, or (``target_from_reachable``, the
default, as Stream of Search does) among the values the numbers can reach. Every candidate then goes through steps that keep
or reject it with a reason (``malformed``, ``duplicate``, ``unsolvable``). The split holds out a
seeded share of the target values entirely (``test_heldout``; no train row has such a target, as
in Stream of Search); the rest is split by id hash into ``train`` and ``val``.
"""

from __future__ import annotations

import random
from functools import lru_cache

import polars as pl

from pipelines.core.hashing import content_id
from pipelines.core.steps import Funnel, Step, StepResult, reject_where, run_steps
from pipelines.countdown import reasons
from pipelines.countdown.config import CountdownConfig
from pipelines.countdown.search import ops_to_expression, successors

QUERY_TEMPLATE = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
    "answer.\nUser: Using the numbers {numbers}, create an equation that equals {target}. You can use basic "
    "arithmetic operations (+, -, *, /) and each number can only be used once. Show your work in <think> "
    "</think> tags. And return the final answer in <answer> </answer> tags, for example <answer> (1 + 2) / 3 "
    "</answer>.\nAssistant: Let me solve this step by step.\n<think>"
)

CANDIDATE_SCHEMA = {"candidate": pl.Int64, "numbers": pl.List(pl.Int64), "target": pl.Int64}


def query(numbers, target: int) -> str:
    """The TinyZero / cognitive-behaviors prompt; the completion continues after ``<think>``."""
    return QUERY_TEMPLATE.format(numbers="[" + ", ".join(str(n) for n in numbers) + "]", target=target)


@lru_cache(maxsize=500_000)
def final_values(nums: tuple) -> frozenset:
    """Every value reachable by combining *all* of ``nums`` (sorted tuple) under Stream-of-Search rules."""
    if len(nums) == 1:
        return frozenset(nums)
    out: set = set()
    for nxt, _ in successors(nums):
        out |= final_values(tuple(sorted(nxt)))
    return frozenset(out)


def is_solvable(numbers, target: int) -> bool:
    return target in final_values(tuple(sorted(numbers)))


def solve(numbers, target: int) -> list[str] | None:
    """One solution (operations in order), found without blind search thanks to :func:`final_values`."""
    nums = tuple(numbers)
    if target not in final_values(tuple(sorted(nums))):
        return None
    ops: list[str] = []
    while len(nums) > 1:
        for nxt, op in successors(nums):
            if target in final_values(tuple(sorted(nxt))):
                nums = nxt
                ops.append(op)
                break
    return ops


def problem_id(numbers, target: int) -> str:
    return content_id("countdown", ",".join(str(n) for n in sorted(numbers)), str(target))


def generate_candidates(cfg: CountdownConfig) -> pl.DataFrame:
    rng = random.Random(cfg.seed)
    rows = []
    for i in range(cfg.n_problems):
        nums = [rng.randint(cfg.number_min, cfg.number_max) for _ in range(cfg.numbers)]
        target = rng.randint(cfg.target_min, cfg.target_max)
        if cfg.target_from_reachable:  # as Stream of Search: a target the numbers can reach, when one is in range
            reachable = sorted(v for v in final_values(tuple(sorted(nums))) if cfg.target_min <= v <= cfg.target_max)
            if reachable:
                target = reachable[rng.randrange(len(reachable))]
        rows.append((i, nums, target))
    return pl.DataFrame(rows, schema=CANDIDATE_SCHEMA, orient="row")


def step_malformed(cfg: CountdownConfig) -> Step:
    def fn(frame: pl.DataFrame) -> StepResult:
        details = []
        for nums, target in zip(frame["numbers"].to_list(), frame["target"].to_list()):
            problem = None
            if nums is None or target is None:
                problem = "numbers or target missing"
            elif len(nums) != cfg.numbers:
                problem = f"{len(nums)} numbers, expected {cfg.numbers}"
            elif any(n is None or not cfg.number_min <= n <= cfg.number_max for n in nums):
                problem = f"a number is outside [{cfg.number_min}, {cfg.number_max}]"
            elif not cfg.target_min <= target <= cfg.target_max:
                problem = f"target {target} is outside [{cfg.target_min}, {cfg.target_max}]"
            details.append(problem)
        detail = pl.Series("detail", details, dtype=pl.Utf8)
        return reject_where(frame, detail.is_not_null(), reason=reasons.MALFORMED, step="malformed", detail=detail)
    return Step("malformed", fn, "wrong count of numbers, or a number/target outside the configured ranges")


def _with_ids(frame: pl.DataFrame) -> pl.DataFrame:
    ids = [problem_id(n, t) for n, t in zip(frame["numbers"].to_list(), frame["target"].to_list())]
    return frame.with_columns(pl.Series("problem_id", ids, dtype=pl.Utf8))


def step_dedup(frame: pl.DataFrame) -> StepResult:
    first = frame.select(pl.int_range(pl.len()).alias("i"), "problem_id").group_by("problem_id").agg(pl.col("i").min())
    keep = pl.Series([False] * frame.height)
    keep = keep.scatter(first["i"].to_list(), True) if first.height else keep
    dupes = ~keep
    detail = pl.Series("detail", [None] * frame.height, dtype=pl.Utf8)
    return reject_where(frame, dupes, reason=reasons.DUPLICATE, step="dedup",
                        detail=detail if not dupes.any() else frame["problem_id"].map_elements(
                            lambda p: f"same numbers and target as problem {p}", return_dtype=pl.Utf8))


def step_solvable(frame: pl.DataFrame) -> StepResult:
    ok = [is_solvable(n, t) for n, t in zip(frame["numbers"].to_list(), frame["target"].to_list())]
    mask = ~pl.Series(ok, dtype=pl.Boolean)
    return reject_where(frame, mask, reason=reasons.UNSOLVABLE, step="solvability",
                        detail="no combination of all the numbers with + - * / reaches the target")


def heldout_targets(cfg: CountdownConfig) -> list[int]:
    rng = random.Random(f"heldout-{cfg.seed}")
    values = list(range(cfg.target_min, cfg.target_max + 1))
    k = max(1, round(len(values) * cfg.heldout_target_fraction)) if cfg.heldout_target_fraction > 0 else 0
    return sorted(rng.sample(values, k))


def assign_split(frame: pl.DataFrame, cfg: CountdownConfig) -> pl.DataFrame:
    held = set(heldout_targets(cfg))
    val_cut = int(cfg.val_fraction * 10_000)
    splits = []
    for pid, target in zip(frame["problem_id"].to_list(), frame["target"].to_list()):
        if target in held:
            splits.append("test_heldout")
        else:
            splits.append("val" if int(content_id("split", str(cfg.seed), pid), 16) % 10_000 < val_cut else "train")
    return frame.with_columns(pl.Series("split", splits, dtype=pl.Utf8))


def build_problems(candidates: pl.DataFrame, cfg: CountdownConfig) -> tuple[pl.DataFrame, pl.DataFrame, Funnel]:
    """Candidates -> (problems, rejected, funnel). Problems carry id, split, solution and prompt,
    sorted by ``problem_id`` so the same config always writes the same bytes."""
    candidates = _with_ids(candidates)
    steps = [step_malformed(cfg), Step("dedup", step_dedup, "exact duplicates (same multiset and target)"),
             Step("solvability", step_solvable, "exhaustive search over every order of operations")]
    kept, rejected, funnel = run_steps(candidates, steps)
    sols = [solve(n, t) for n, t in zip(kept["numbers"].to_list(), kept["target"].to_list())]
    exprs = [ops_to_expression(n, s) for n, s in zip(kept["numbers"].to_list(), sols)]
    n_values = [len(final_values(tuple(sorted(n)))) for n in kept["numbers"].to_list()]
    kept = kept.with_columns(
        pl.Series("solution_ops", sols, dtype=pl.List(pl.Utf8)),
        pl.Series("solution_expression", exprs, dtype=pl.Utf8),
        pl.Series("reachable_values", n_values, dtype=pl.Int64),
        pl.Series("query", [query(n, t) for n, t in zip(kept["numbers"].to_list(), kept["target"].to_list())],
                  dtype=pl.Utf8),
    )
    kept = assign_split(kept, cfg).sort("problem_id")
    cols = ["problem_id", "split", "numbers", "target", "solution_expression", "solution_ops",
            "reachable_values", "query", "candidate"]
    return kept.select(cols), rejected.sort("candidate"), funnel
