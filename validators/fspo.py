"""Rules about FSPO data, as plain functions returning (passed, metadata), plus GX suites.

The expected values come from config and the split definitions, never from the data checked.
"""

from __future__ import annotations

import json

import polars as pl

from pipelines.fspo import reasons
from pipelines.fspo.config import SPLITS, TEST_PERSONAS, TEST_QUESTIONS, TRAIN, FspoConfig
from pipelines.fspo.episodes import TASK, TASK_WITH_DESCRIPTION
from pipelines.fspo.users import persona_problems


def personas_consistent(users: pl.DataFrame) -> tuple[bool, dict]:
    """Every role-play persona satisfies the consistency constraints."""
    bad = []
    for uid, attrs in users.filter(pl.col("attributes") != "{}").select("user_id", "attributes").iter_rows():
        problems = persona_problems(json.loads(attrs))
        if problems:
            bad.append(f"{uid}: {'; '.join(problems)}")
    return not bad, {"inconsistent_personas": len(bad), "examples": "; ".join(bad[:5]) or "none"}


def no_unseen_in_train(pairs: pl.DataFrame, users: pl.DataFrame, questions: pl.DataFrame) -> tuple[bool, dict]:
    """No unseen user and no unseen question appears in train (or in any split but its own)."""
    unseen_users = users.filter(pl.col("unseen")).get_column("user_id")
    unseen_q = questions.filter(pl.col("unseen")).get_column("question_id")
    train = pairs.filter(pl.col("split") == TRAIN)
    leaked_users = train.filter(pl.col("user_id").is_in(unseen_users.implode())).height
    leaked_q = train.filter(pl.col("question_id").is_in(unseen_q.implode())).height
    misplaced_u = pairs.filter(pl.col("user_id").is_in(unseen_users.implode()) & (pl.col("split") != TEST_PERSONAS)).height
    misplaced_q = pairs.filter(pl.col("question_id").is_in(unseen_q.implode()) & ~pl.col("split").is_in(
        [TEST_QUESTIONS, TEST_PERSONAS])).height
    unknown = pairs.filter(~pl.col("split").is_in(list(SPLITS))).height
    ok = leaked_users == leaked_q == misplaced_u == misplaced_q == unknown == 0
    return ok, {"train_rows_with_unseen_user": leaked_users, "train_rows_with_unseen_question": leaked_q,
                "unseen_user_rows_outside_test_personas": misplaced_u,
                "unseen_question_rows_in_seen_splits": misplaced_q, "rows_with_unknown_split": unknown}


def enough_preferences(pairs: pl.DataFrame, users: pl.DataFrame, cfg: FspoConfig) -> tuple[bool, dict]:
    """Every user has at least N+1 preferences in its home split (train, or test_personas if unseen)
    so at least one episode can be built for it."""
    short = []
    for domain, uid, unseen in users.select("domain", "user_id", "unseen").iter_rows():
        home = TEST_PERSONAS if unseen else TRAIN
        n = pairs.filter((pl.col("user_id") == uid) & (pl.col("split") == home)).height
        need = cfg.shots[domain] + 1
        if n < need:
            short.append(f"{uid} ({home}): {n} < {need}")
    return not short, {"users": users.height, "users_short": len(short), "examples": "; ".join(short[:5]) or "none"}


def label_balance(labels: pl.DataFrame, low: float = 0.3, high: float = 0.7) -> tuple[bool, dict]:
    """x is preferred about half the time (the order is a seeded coin), per domain."""
    per = labels.group_by("domain").agg((pl.col("label") == 0).mean().alias("x_preferred"), pl.len().alias("n")).sort("domain")
    shares = {d: round(float(s), 4) for d, s, _ in per.iter_rows()}
    ok = bool(shares) and all(low <= s <= high for s in shares.values())
    return ok, {"x_preferred_share": json.dumps(shares), "allowed": f"[{low}, {high}]"}


def consistency_rate(labels: pl.DataFrame, quarantine: pl.DataFrame) -> tuple[bool, dict]:
    """Reported, not gated: the share of scored pairs whose label survived the position swap."""
    inconsistent = quarantine.filter(pl.col("reason") == reasons.POSITION_SWAP_INCONSISTENT).height
    scored = labels.height + inconsistent + quarantine.filter(pl.col("reason") == reasons.LENGTH_RULE_DISAGREES).height
    rate = 1.0 - inconsistent / scored if scored else 0.0
    return scored > 0, {"scored_pairs": scored, "position_swap_inconsistent": inconsistent,
                        "consistency_rate": round(rate, 4)}


def episode_layout(episodes: pl.DataFrame) -> tuple[bool, dict]:
    """Every episode has N `# Example i` blocks in order, one `# Task`, and a query question."""
    bad = []
    for eid, n, prompt, chosen in episodes.select("episode_id", "n_shots", "prompt", "chosen").iter_rows():
        heads = [line for line in prompt.split("\n") if line.startswith("# ")]
        expected = [f"# Example {i}" for i in range(1, n + 1)] + ["# Task"]
        if heads != expected or not chosen.startswith("## Preferred Response \n") or \
                (TASK not in prompt and TASK_WITH_DESCRIPTION not in prompt) or \
                prompt.count("## Dispreferred Response \n") != n:
            bad.append(eid)
    return not bad, {"episodes": episodes.height, "bad_layout": len(bad), "examples": ", ".join(bad[:5]) or "none"}


def episodes_within_limit(episodes: pl.DataFrame, limit: int) -> tuple[bool, dict]:
    over = episodes.filter(pl.col("n_tokens") > limit).height
    return over == 0, {"limit": limit, "over_limit": over,
                       "max_tokens": int(episodes.get_column("n_tokens").max() or 0)}


def pairs_expectations(label_values: tuple[int, ...] = (0, 1)):
    import great_expectations as gx

    e = gx.expectations
    return [
        *[e.ExpectColumnValuesToNotBeNull(column=c) for c in
          ("prompt", "response_x", "response_y", "level_x", "level_y", "scorer_level", "label", "split",
           "response_prompt_hash", "scorer_prompt_hash")],
        e.ExpectColumnValuesToBeInSet(column="label", value_set=list(label_values)),
        e.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        e.ExpectColumnValuesToBeUnique(column="pair_id"),
    ]


def roleplay_expectations():
    import great_expectations as gx

    e = gx.expectations
    return [*[e.ExpectColumnValuesToNotBeNull(column=c) for c in ("x", "yw", "yl", "level", "score_persona", "split",
                                                                   "response_prompt_hash", "scorer_prompt_hash")],
            e.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
            e.ExpectColumnValuesToBeUnique(column="pair_id")]


def episode_expectations(limit: int):
    import great_expectations as gx

    e = gx.expectations
    return [*[e.ExpectColumnValuesToNotBeNull(column=c) for c in ("episode_id", "prompt", "chosen", "rejected",
                                                                   "response_prompt_hash", "scorer_prompt_hash")],
            e.ExpectColumnValuesToBeUnique(column="episode_id"),
            e.ExpectColumnValuesToBeBetween(column="n_tokens", min_value=1, max_value=limit),
            e.ExpectColumnValuesToMatchRegex(column="prompt", regex=r"^# Example 1\n## Question \n"),
            e.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS))]
