"""Solve rate: k sampled answers per problem from a model, each checked by the project's verifier.

Big-Math's ``llama8b_solve_rate`` is the share of 64 Llama-3.1-8B-Instruct samples whose boxed
answer matches the reference. Ours: ``k`` samples per problem from the configured endpoint (the
LLM layer: cache, retries, bounded concurrency) with ``prompts/bigmath/solve.md``; sample ``j``
asks with ``seed = seed0 + j`` so the k requests differ (and each is cached on its own: a rerun
asks nothing twice). Each reply's final answer (last box, ``####`` line or "the answer is") is
compared with the row's answer by :func:`pipelines.bigmath.verify.verify_answers` (math-verify,
in worker processes with a per-item deadline).

:func:`sample_rollouts` keeps every sample with its verdict (the rollouts asset: later datasets
can reuse them by ``problem_sha256``); :func:`solve_rates` turns them into one rate per problem:
correct / samples answered. A sample the model never answered (``llm_error``) is not counted; a
problem with no answered sample has a null rate.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import polars as pl

from pipelines.bigmath.verify import VerifyItem, final_answer_of, verify_answers

PROMPT = "bigmath/solve"

CORRECT = "correct"
INCORRECT = "incorrect"
NO_ANSWER = "no_answer"        # the reply states no final answer we can read
UNVERIFIABLE = "unverifiable"  # the reference answer itself does not parse
LLM_ERROR = "llm_error"        # the call failed after every retry
VERDICTS = (CORRECT, INCORRECT, NO_ANSWER, UNVERIFIABLE, LLM_ERROR)

ROLLOUT_SCHEMA = {
    "problem_id": pl.Utf8, "problem_sha256": pl.Utf8, "sample": pl.Int32, "seed": pl.Int64, "model": pl.Utf8,
    "prompt_name": pl.Utf8, "prompt_version": pl.Utf8, "prompt_hash": pl.Utf8, "reference_answer": pl.Utf8,
    "response": pl.Utf8, "predicted_answer": pl.Utf8, "verdict": pl.Utf8, "detail": pl.Utf8,
}
RATE_SCHEMA = {"problem_id": pl.Utf8, "solve_rate": pl.Float64, "solve_samples": pl.Int32}


@dataclass(frozen=True)
class SolveRateConfig:
    k: int = 8           # samples per problem (Big-Math: 64); FOUNDRY_SOLVE_K
    seed: int = 0        # sample j asks with seed + j
    prompt: str = PROMPT

    @classmethod
    def from_env(cls) -> "SolveRateConfig":
        k = int(os.environ.get("FOUNDRY_SOLVE_K", "8"))
        if k < 1:
            raise ValueError("FOUNDRY_SOLVE_K must be at least 1")
        return cls(k=k)


def problem_sha256(problem: str) -> str:
    return hashlib.sha256(problem.encode("utf-8")).hexdigest()


def empty_rollouts() -> pl.DataFrame:
    return pl.DataFrame(schema=ROLLOUT_SCHEMA)


def sample_rollouts(frame: pl.DataFrame, client, config: SolveRateConfig = SolveRateConfig(), *,
                    workers: int = 2, item_timeout_s: int = 5) -> tuple[pl.DataFrame, dict]:
    """Every sample of every row of ``frame`` (problem_id, problem, answer) with its verdict."""
    from pipelines.llm import load_prompt

    prompt = load_prompt(config.prompt)
    rows = frame.select("problem_id", "problem", "answer").sort("problem_id")
    ids, problems, answers = (rows.get_column(c).to_list() for c in ("problem_id", "problem", "answer"))
    conversations = [prompt.render(problem=p) for p in problems]
    records: list[dict] = []
    for j in range(config.k):
        seed = config.seed + j
        replies = client.complete_many(conversations, {**prompt.params, "seed": seed}, desc=f"solve {j + 1}/{config.k}")
        for pid, problem, answer, reply in zip(ids, problems, answers, replies):
            failed = isinstance(reply, Exception)
            records.append({
                "problem_id": pid, "problem_sha256": problem_sha256(problem), "sample": j, "seed": seed,
                "model": client.model, "prompt_name": prompt.name, "prompt_version": prompt.version,
                "prompt_hash": prompt.short_hash, "reference_answer": answer,
                "response": None if failed else reply.text,
                "predicted_answer": None if failed else final_answer_of(reply.text),
                "verdict": LLM_ERROR if failed else None, "detail": str(reply)[:300] if failed else None,
            })
    todo = [i for i, r in enumerate(records) if r["verdict"] is None and r["predicted_answer"]]
    for r in records:
        if r["verdict"] is None and not r["predicted_answer"]:
            r["verdict"], r["detail"] = NO_ANSWER, "no boxed, '####' or stated final answer in the reply"
    outcomes = verify_answers([VerifyItem(records[i]["reference_answer"], records[i]["response"]) for i in todo],
                              workers=workers, item_timeout_s=item_timeout_s)
    for i, o in zip(todo, outcomes):
        r = records[i]
        if not o.parsed:
            r["verdict"], r["detail"] = UNVERIFIABLE, o.detail
        elif o.agrees is None:
            r["verdict"], r["detail"] = NO_ANSWER, o.detail or "the reply's final answer does not parse"
        else:
            r["verdict"], r["detail"] = (CORRECT, None) if o.agrees else (INCORRECT, o.detail)
    out = pl.DataFrame(records, schema=ROLLOUT_SCHEMA, orient="row") if records else empty_rollouts()
    out = out.sort("problem_id", "sample")
    verdicts = out.get_column("verdict").to_list()
    meta = {"k": config.k, "model": client.model, "prompt": f"{prompt.name}@{prompt.version}/{prompt.short_hash}",
            "params": {**prompt.params, "seed": f"{config.seed} + sample"}, "problems": len(ids),
            "samples": out.height, "verdicts": {v: verdicts.count(v) for v in VERDICTS if v in verdicts}}
    return out, meta


def solve_rates(rollouts: pl.DataFrame) -> pl.DataFrame:
    """One row per problem: solve_rate = correct / answered samples (null when none answered)."""
    if rollouts.height == 0:
        return pl.DataFrame(schema=RATE_SCHEMA)
    answered = pl.col("verdict").is_in([CORRECT, INCORRECT, NO_ANSWER])
    out = rollouts.group_by("problem_id").agg(
        answered.sum().cast(pl.Int32).alias("solve_samples"),
        (pl.col("verdict") == CORRECT).sum().alias("_correct"))
    out = out.with_columns(
        pl.when(pl.col("solve_samples") > 0).then(pl.col("_correct") / pl.col("solve_samples")).otherwise(None)
        .cast(pl.Float64).alias("solve_rate"))
    return out.select(list(RATE_SCHEMA)).sort("problem_id")
