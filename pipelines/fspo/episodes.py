"""Few-shot episodes per user, in the anchor's markdown layout.

An episode is N labelled pairs of one user (the shots) and one more pair of the same user (the
query), all from one split::

    # Example 1
    ## Question 
    <question>
    ## Preferred Response 
    <preferred>
    ## Dispreferred Response 
    <dispreferred>

    ... (N examples) ...
    # Task
    Given the examples above, generate a preferred response to the following question.
    ## Question 
    <query question>

``chosen`` / ``rejected`` are ``## Preferred Response \\n<text>\\n`` for the query's preferred and
dispreferred responses (the anchor gives both the same header: the model is asked for a preferred
response either way). With ``user_description`` on, the task line asks for a user description
first and the prompt ends with ``## User Description\\n<description>\\n`` (the anchor's
teacher-forced form). Headers keep the anchor's trailing space (``## Question \\n``).

Departures from the anchor (see README): a window is exactly N+1 rows and uses all of them (the
anchor takes N+2 and uses N+1); N comes from config per domain and is never overridden by a
second value; an episode identical to one from an earlier reshuffled pass is dropped as a
duplicate; held-out-question episodes take their shots from the user's train pairs.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import polars as pl

from pipelines.core.steps import Funnel, Step, StepResult, reject_where, run_steps
from pipelines.fspo import reasons
from pipelines.fspo.config import TEST, TEST_PERSONAS, TEST_QUESTIONS, TRAIN, FspoConfig

TASK = "Given the examples above, generate a preferred response to the following question."
TASK_WITH_DESCRIPTION = ("Generate a user description based on the examples above. Then, generate a preferred "
                         "response to the following question.")

EPISODE_SCHEMA = {"episode_id": pl.Utf8, "domain": pl.Utf8, "split": pl.Utf8, "user_id": pl.Utf8,
                  "user": pl.Utf8, "n_shots": pl.Int64, "pass_index": pl.Int64,
                  "shot_pair_ids": pl.List(pl.Utf8), "query_pair_id": pl.Utf8, "prompt": pl.Utf8,
                  "chosen": pl.Utf8, "rejected": pl.Utf8, "n_tokens": pl.Int64,
                  "response_prompt_hash": pl.Utf8, "scorer_prompt_hash": pl.Utf8}


@dataclass(frozen=True)
class Shot:
    question: str
    preferred: str
    dispreferred: str


def render_episode(shots: list[Shot], query: Shot, user_description: str | None = None) -> tuple[str, str, str]:
    """(prompt, chosen, rejected) in the anchor's layout."""
    parts = []
    for i, s in enumerate(shots, 1):
        parts.append(f"# Example {i}\n"
                     f"## Question \n{s.question.strip()}\n"
                     f"## Preferred Response \n{s.preferred.strip()}\n"
                     f"## Dispreferred Response \n{s.dispreferred.strip()}\n\n")
    parts.append("# Task\n")
    parts.append((TASK_WITH_DESCRIPTION if user_description is not None else TASK) + "\n")
    parts.append(f"## Question \n{query.question.strip()}\n")
    if user_description is not None:
        parts.append(f"## User Description\n{user_description.strip()}\n")
    chosen = f"## Preferred Response \n{query.preferred.strip()}\n"
    rejected = f"## Preferred Response \n{query.dispreferred.strip()}\n"
    return "".join(parts), chosen, rejected


def load_tokenizer(path: str):
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(path)
    except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exception on a bad file
        raise ValueError(f"{path}: not a `tokenizers` JSON file ({exc}); copy gpt2.json into data/tokenizers/") from exc


def windows(n_rows: int, n_shots: int) -> list[range]:
    """Non-overlapping windows of exactly N+1 rows; a last partial window is not used."""
    size = n_shots + 1
    return [range(s, s + size) for s in range(0, n_rows - size + 1, size)]


def assemble(shots: pl.DataFrame, cfg: FspoConfig, descriptions: dict[str, str]) -> tuple[pl.DataFrame, dict]:
    """Every episode of every user over ``cfg.passes`` reshuffled passes, before the length and
    duplicate filters. ``train`` and ``test_personas`` episodes are windows of N+1 pairs of that
    split; a ``test`` or ``test_questions`` episode asks one held-out pair as the query after N shots
    drawn from the same user's ``train`` pairs (the user is known, the question is not).
    Returns (episodes, report)."""
    rows, short_groups = [], []

    def emit(domain, split, user_id, p, shot_rows, query, desc):
        prompt, chosen, rejected = render_episode([Shot(*r[1:4]) for r in shot_rows], Shot(*query[1:4]), desc)
        ids = [r[0] for r in shot_rows]
        eid = hashlib.sha256("\x1f".join([domain, split, user_id, *ids, query[0], str(desc)]).encode()).hexdigest()[:16]
        rows.append({"episode_id": eid, "domain": domain, "split": split, "user_id": user_id, "user": query[4],
                     "n_shots": len(shot_rows), "pass_index": p, "shot_pair_ids": ids, "query_pair_id": query[0],
                     "prompt": prompt, "chosen": chosen, "rejected": rejected, "n_tokens": 0,
                     # the prompts that made the query pair (every pair of a run shares them)
                     "response_prompt_hash": query[5] if len(query) > 5 else None,
                     "scorer_prompt_hash": query[6] if len(query) > 6 else None})

    cols = ["pair_id", "question", "preferred", "dispreferred", "user"] + [
        c for c in ("response_prompt_hash", "scorer_prompt_hash") if c in shots.columns]
    for (domain, user_id), group in shots.sort("domain", "user_id", "split", "pair_id").group_by(
            "domain", "user_id", maintain_order=True):
        n = cfg.shots[domain]
        desc = descriptions.get(user_id) if cfg.user_description else None
        by_split = {sp: g.select(cols).rows() for (sp,), g in group.group_by("split", maintain_order=True)}
        for split in (TRAIN, TEST_PERSONAS):
            records = by_split.get(split, [])
            if records and len(records) < n + 1:
                short_groups.append(f"{domain}/{split}/{user_id}: {len(records)} pairs < {n + 1}")
                continue
            for p in range(cfg.passes):
                order = list(records)
                random.Random(f"{cfg.seed}:{domain}:{split}:{user_id}:{p}").shuffle(order)
                for w in windows(len(order), n):
                    chunk = [order[i] for i in w]
                    emit(domain, split, user_id, p, chunk[:n], chunk[n], desc)
        train = by_split.get(TRAIN, [])
        for split in (TEST, TEST_QUESTIONS):
            queries = by_split.get(split, [])
            if queries and len(train) < n:
                short_groups.append(f"{domain}/{split}/{user_id}: {len(train)} train shots < {n}")
                continue
            for p in range(cfg.passes):
                for query in queries:
                    pool = list(train)
                    random.Random(f"{cfg.seed}:{domain}:{split}:{user_id}:{query[0]}:{p}").shuffle(pool)
                    emit(domain, split, user_id, p, pool[:n], query, desc)
    frame = pl.DataFrame(rows, schema=EPISODE_SCHEMA)
    return frame, {"groups_too_small": short_groups}


def count_tokens(frame: pl.DataFrame, tokenizer) -> pl.DataFrame:
    """Tokens of the longer of prompt+chosen and prompt+rejected (what a trainer must fit)."""
    if frame.height == 0:
        return frame
    a = tokenizer.encode_batch([p + c for p, c in frame.select("prompt", "chosen").iter_rows()])
    b = tokenizer.encode_batch([p + r for p, r in frame.select("prompt", "rejected").iter_rows()])
    return frame.with_columns(pl.Series("n_tokens", [max(len(x.ids), len(y.ids)) for x, y in zip(a, b)], dtype=pl.Int64))


def length_step(limit: int) -> Step:
    def run(frame: pl.DataFrame) -> StepResult:
        detail = pl.Series([f"{n} GPT-2 tokens > limit {limit} (max_episode_tokens in pipelines/fspo/config.py)"
                            for n in frame.get_column("n_tokens")], dtype=pl.Utf8)
        return reject_where(frame, pl.col("n_tokens") > limit, reason=reasons.EPISODE_TOO_LONG,
                            step="episode_length", detail=detail)

    return Step("episode_length", run, "episodes over the token limit are rejected")


def dedup_step(frame: pl.DataFrame) -> StepResult:
    dup = frame.get_column("episode_id").is_duplicated() & ~frame.select(
        pl.col("episode_id").is_first_distinct()).to_series()
    return reject_where(frame, dup, reason=reasons.DUPLICATE_EPISODE, step="episode_dedup",
                        detail="the same shots and query as an episode of an earlier pass")


def build_episodes(shots: pl.DataFrame, cfg: FspoConfig, descriptions: dict[str, str],
                   tokenizer=None) -> tuple[pl.DataFrame, pl.DataFrame, Funnel, dict]:
    episodes, report = assemble(shots, cfg, descriptions)
    episodes = count_tokens(episodes, tokenizer or load_tokenizer(cfg.tokenizer_path))
    kept, rejected, funnel = run_steps(episodes, [Step("episode_dedup", dedup_step), length_step(cfg.max_episode_tokens)])
    return kept.sort("domain", "split", "user_id", "episode_id"), rejected, funnel, report
