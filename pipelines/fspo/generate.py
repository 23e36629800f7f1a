"""The LLM stages of FSPO: persona text, view-conditioned responses, and labels from a scorer that
sees the user's description, asked twice with the order swapped.

Every stage takes an :class:`pipelines.llm.LLMClient` (cache, retries, concurrency live there) and
returns (kept, rejected) frames; rejected rows keep their input columns plus reason/step/detail.
"""

from __future__ import annotations

import hashlib

import polars as pl

from pipelines.core.steps import Funnel, Step, StepResult, concat_rejected, reject_where, run_steps
from pipelines.fspo import reasons
from pipelines.fspo.config import ROLEPLAY, TEST, TEST_PERSONAS, TEST_QUESTIONS, TRAIN, FspoConfig
from pipelines.llm import LLMClient, Prompt
from pydantic import BaseModel, Field


class PersonaText(BaseModel):
    description: str = Field(min_length=1)


class ResponseText(BaseModel):
    response: str = Field(min_length=1)


class Preference(BaseModel):
    preferred: str = Field(pattern=r"^\s*[ABab]\s*$")


def _h(*parts) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _unit(*parts) -> float:
    """A deterministic number in [0, 1) from ``parts`` (seeded choices without global RNG state)."""
    return int(_h(*parts)[:12], 16) / 16 ** 12


def _provenance(prompt: Prompt, model: str | None, prefix: str) -> list[pl.Expr]:
    return [pl.lit(model, dtype=pl.Utf8).alias(f"{prefix}_model"),
            pl.lit(prompt.name).alias(f"{prefix}_prompt_name"),
            pl.lit(prompt.version).alias(f"{prefix}_prompt_version"),
            pl.lit(prompt.short_hash).alias(f"{prefix}_prompt_hash")]


def _split_results(frame: pl.DataFrame, results, step: str) -> tuple[pl.Series, StepResult]:
    failed = pl.Series([not r.ok for r in results], dtype=pl.Boolean)
    reason = pl.Series([r.reason or "" for r in results], dtype=pl.Utf8)
    detail = pl.Series([r.error for r in results], dtype=pl.Utf8)
    return failed, reject_where(frame, failed, reason=reason, step=step, detail=detail)


def write_profiles(users: pl.DataFrame, client: LLMClient, prompt: Prompt) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Role-play personas get free text from the LLM; fixed levels keep their fixed description."""
    personas = users.filter(pl.col("domain") == ROLEPLAY)
    fixed = users.filter(pl.col("domain") != ROLEPLAY).with_columns(
        pl.lit("fixed").alias("description_source"), *_provenance(prompt, None, "persona"))
    results = client.structured(prompt, [{"outline": d} for d in personas.get_column("description")], PersonaText)
    texts = pl.Series([r.parsed.description.strip() if r.ok else None for r in results], dtype=pl.Utf8)
    personas = personas.with_columns(pl.col("description").alias("outline"))
    _, split = _split_results(personas.with_columns(texts.alias("description")), results, "write_persona")
    kept = split.kept.drop("outline").with_columns(pl.lit("llm").alias("description_source"),
                                                   *_provenance(prompt, client.model, "persona"))
    kept = kept.with_columns(*[pl.col(c).cast(pl.Utf8) for c in ("persona_model",)])
    out = pl.concat([fixed.with_columns(pl.col("persona_model").cast(pl.Utf8)), kept], how="vertical_relaxed")
    return out.sort("domain", "user_id"), split.rejected.drop("outline", strict=False)


def views(profiles: pl.DataFrame) -> pl.DataFrame:
    """The views responses are conditioned on: one per user (a level or a persona)."""
    return profiles.select("domain", pl.col("level").alias("view"), pl.col("description").alias("view_description"))


def generate_responses(profiles: pl.DataFrame, questions: pl.DataFrame, client: LLMClient,
                       prompt: Prompt) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One response per (question, view) of the same domain."""
    grid = questions.select("domain", "question_id", "question").join(views(profiles), on="domain")
    grid = grid.sort("domain", "question_id", "view")
    variables = [{"view": v, "view_description": d, "question": q}
                 for v, d, q in grid.select("view", "view_description", "question").iter_rows()]
    results = client.structured(prompt, variables, ResponseText)
    texts = pl.Series([r.parsed.response.strip() if r.ok else None for r in results], dtype=pl.Utf8)
    _, split = _split_results(grid.with_columns(texts.alias("response")), results, "respond")
    kept = split.kept.with_columns(*_provenance(prompt, client.model, "response"))
    return kept, split.rejected


RESPONSE_PROVENANCE = ("response_model", "response_prompt_name", "response_prompt_version", "response_prompt_hash")
PAIR_COLUMNS = ["pair_id", "domain", "split", "user_id", "scorer_level", "user_description", "question_id",
                "prompt", "level_x", "level_y", "response_x", "response_y"]


def pair_split(user_unseen: bool, question_unseen: bool, pair_id: str, cfg: FspoConfig) -> str:
    if user_unseen:
        return TEST_PERSONAS
    if question_unseen:
        return TEST_QUESTIONS
    return TEST if _unit(cfg.seed, "test", pair_id) < cfg.test_share else TRAIN


def plan_pairs(profiles: pl.DataFrame, questions: pl.DataFrame, responses: pl.DataFrame,
               cfg: FspoConfig) -> pl.DataFrame:
    """Candidate pairs: per user and question, the user's own view against another view; plus
    ``unmatched_pairs_per_user`` pairs of two other views (the scorer_match filter drops those).
    Which response is x is a seeded coin, so x is preferred about half the time."""
    text = {(d, q, v): r for d, q, v, r in responses.select("domain", "question_id", "view", "response").iter_rows()}
    prov_cols = [c for c in RESPONSE_PROVENANCE if c in responses.columns]
    prov = {(d, q, v): rest for d, q, v, *rest in responses.select("domain", "question_id", "view", *prov_cols).iter_rows()}
    rows = []
    for domain, user_df in profiles.sort("domain", "user_id").group_by("domain", maintain_order=True):
        domain = domain[0]
        levels = sorted(user_df.get_column("level").to_list())
        qs = questions.filter(pl.col("domain") == domain).sort("question_id").select("question_id", "question", "unseen")
        for uid, level, desc, u_unseen in user_df.select("user_id", "level", "description", "unseen").iter_rows():
            others = [lv for lv in levels if lv != level]
            if not others:
                continue
            plans = []
            for qid, question, q_unseen in qs.select("question_id", "question", "unseen").iter_rows():
                other = others[int(_unit(cfg.seed, "other", uid, qid) * len(others))]
                plans.append((qid, question, q_unseen, level, other, "matched"))
            for k in range(cfg.unmatched_pairs_per_user if len(others) >= 2 else 0):
                qid, question, q_unseen = qs.row(int(_unit(cfg.seed, "unmatched-q", uid, k) * qs.height))
                i = int(_unit(cfg.seed, "unmatched-a", uid, k) * len(others))
                a, b = others[i], others[(i + 1) % len(others)]
                plans.append((qid, question, q_unseen, a, b, f"unmatched{k}"))
            for qid, question, q_unseen, a, b, kind in plans:
                x, y = (a, b) if _unit(cfg.seed, "order", uid, qid, kind) < 0.5 else (b, a)
                pid = _h(cfg.seed, uid, qid, kind)[:16]
                rows.append({"pair_id": pid, "domain": domain,
                             "split": pair_split(u_unseen, q_unseen, pid, cfg), "user_id": uid,
                             "scorer_level": level, "user_description": desc, "question_id": qid,
                             "prompt": question, "level_x": x, "level_y": y,
                             "response_x": text.get((domain, qid, x)), "response_y": text.get((domain, qid, y)),
                             # both responses come from the same stage run; x's row carries its provenance
                             **dict(zip(prov_cols, prov.get((domain, qid, x), [None] * len(prov_cols))))})
    schema = {c: pl.Utf8 for c in PAIR_COLUMNS + list(RESPONSE_PROVENANCE)}
    return pl.DataFrame(rows, schema=schema).sort("domain", "user_id", "pair_id")


def scorer_match(frame: pl.DataFrame) -> StepResult:
    """The anchor's scorer_match filter: keep pairs whose scorer level is one of the two levels."""
    mask = (pl.col("scorer_level") != pl.col("level_x")) & (pl.col("scorer_level") != pl.col("level_y"))
    return reject_where(frame, mask, reason=reasons.SCORER_MISMATCH, step="scorer_match",
                        detail=pl.Series([f"scorer {s!r} not in ({x!r}, {y!r})" for s, x, y in
                                          frame.select("scorer_level", "level_x", "level_y").iter_rows()],
                                         dtype=pl.Utf8))


def responses_present(frame: pl.DataFrame) -> StepResult:
    mask = pl.col("response_x").is_null() | pl.col("response_y").is_null()
    return reject_where(frame, mask, reason=reasons.MISSING_RESPONSE, step="responses_present",
                        detail="a response this pair needs failed in the responses stage (see fspo_responses_rejected)")


def score_step(client: LLMClient, prompt: Prompt) -> Step:
    """Ask the scorer twice, x first then y first; agreeing answers give ``label`` (0 = x preferred)."""

    def run(frame: pl.DataFrame) -> StepResult:
        base = [{"user_description": d, "question": q} for d, q in
                frame.select("user_description", "prompt").iter_rows()]
        xs, ys = frame.get_column("response_x").to_list(), frame.get_column("response_y").to_list()
        first = client.structured(prompt, [{**b, "response_a": x, "response_b": y} for b, x, y in zip(base, xs, ys)],
                                  Preference)
        second = client.structured(prompt, [{**b, "response_a": y, "response_b": x} for b, x, y in zip(base, xs, ys)],
                                   Preference)
        labels, reason, detail = [], [], []
        for a, b in zip(first, second):
            if not (a.ok and b.ok):
                bad = a if not a.ok else b
                labels.append(None), reason.append(reasons.SCORER_FAILED), detail.append(f"{bad.reason}: {bad.error}")
                continue
            x_first = a.parsed.preferred.strip().upper() == "A"    # x was shown as A
            x_second = b.parsed.preferred.strip().upper() == "B"   # x was shown as B
            if x_first != x_second:
                labels.append(None), reason.append(reasons.POSITION_SWAP_INCONSISTENT)
                detail.append(f"x first: preferred {a.parsed.preferred.strip()}; y first: preferred "
                              f"{b.parsed.preferred.strip()} (the same position both times, not the same response)")
                continue
            labels.append(0 if x_first else 1), reason.append(None), detail.append(None)
        scored = frame.with_columns(pl.Series("label", labels, dtype=pl.Int64),
                                    *_provenance(prompt, client.model, "scorer"))
        mask = pl.Series([r is not None for r in reason], dtype=pl.Boolean)
        result = reject_where(scored, mask, reason=pl.Series(reason, dtype=pl.Utf8), step="score_position_swap",
                              detail=pl.Series(detail, dtype=pl.Utf8))
        return StepResult(kept=result.kept, rejected=result.rejected.drop("label"))

    return Step("score_position_swap", run, "LLM scorer asked twice with the order swapped")


def length_expectation(level: str) -> str | None:
    parts = set(level.split("+"))
    return "shorter" if "concise" in parts else "longer" if "verbose" in parts else None


def length_rule_verdict(level: str, response_x: str, response_y: str, label: int, ratio: float) -> str:
    """``agrees``, ``disagrees`` or ``not_measurable`` (no length preference, or lengths too close)."""
    want = length_expectation(level)
    if want is None:
        return "not_measurable"
    wx, wy = len(response_x.split()), len(response_y.split())
    if min(wx, wy) == 0 or max(wx, wy) / min(wx, wy) < ratio:
        return "not_measurable"
    x_shorter = wx < wy
    x_preferred = label == 0
    expected_x = x_shorter if want == "shorter" else not x_shorter
    return "agrees" if expected_x == x_preferred else "disagrees"


def length_rule_step(ratio: float) -> Step:
    def run(frame: pl.DataFrame) -> StepResult:
        verdicts = [length_rule_verdict(s, x, y, lab, ratio) for s, x, y, lab in
                    frame.select("scorer_level", "response_x", "response_y", "label").iter_rows()]
        out = frame.with_columns(pl.Series("length_rule", verdicts, dtype=pl.Utf8))
        mask = pl.Series([v == "disagrees" for v in verdicts], dtype=pl.Boolean)
        detail = [f"user level {s!r} wants the {length_expectation(s)} response; x has {len(x.split())} words, "
                  f"y {len(y.split())}; the scorer preferred {'x' if lab == 0 else 'y'}" if v == "disagrees" else None
                  for v, (s, x, y, lab) in zip(verdicts, frame.select("scorer_level", "response_x", "response_y",
                                                                       "label").iter_rows())]
        return reject_where(out, mask, reason=reasons.LENGTH_RULE_DISAGREES, step="length_rule",
                            detail=pl.Series(detail, dtype=pl.Utf8))

    return Step("length_rule", run, "word-count rule cross-checks concise/verbose labels")


def label_pairs(pairs: pl.DataFrame, client: LLMClient, prompt: Prompt,
                cfg: FspoConfig) -> tuple[pl.DataFrame, pl.DataFrame, Funnel]:
    steps = [Step("scorer_match", scorer_match), Step("responses_present", responses_present),
             score_step(client, prompt), length_rule_step(cfg.length_ratio)]
    kept, rejected, funnel = run_steps(pairs, steps)
    return kept, concat_rejected([rejected], pairs.schema), funnel
