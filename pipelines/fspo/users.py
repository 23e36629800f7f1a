"""Users: review's 8 fixed levels, ELIX's education levels, and role-play personas sampled from
structured attributes under consistency constraints (no 8-year-old with a doctorate).

A persona is drawn attribute by attribute from a seeded RNG; a draw that breaks a constraint is
drawn again and counted, so the population is consistent by construction and the count says how
often the constraints bit. Diversity of the population is measured (distinct attribute
combinations, mean pairwise attribute distance, normalized entropy per attribute).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from itertools import combinations

import polars as pl

from pipelines.fspo.config import ELIX, REVIEW, ROLEPLAY, TEST_PERSONAS, TRAIN, FspoConfig

# review users: sentiment x length and their combinations (the anchor's 8 levels)
REVIEW_LEVELS = {
    "positive": "This user prefers positive reviews.",
    "negative": "This user prefers negative reviews.",
    "concise": "This user prefers concise reviews.",
    "verbose": "This user prefers verbose reviews.",
    "positive+concise": "This user prefers positive and concise reviews.",
    "negative+concise": "This user prefers negative and concise reviews.",
    "positive+verbose": "This user prefers positive and verbose reviews.",
    "negative+verbose": "This user prefers negative and verbose reviews.",
}
ELIX_LEVELS = ("an elementary school student", "a middle school student", "a high school student",
               "a college student", "an expert")

AGES = ("8-12", "13-17", "18-24", "25-39", "40-59", "60-79")
EDUCATION = ("primary school", "secondary school", "high school diploma", "bachelor's degree",
             "master's degree", "doctorate")
OCCUPATIONS = ("pupil", "student", "nurse", "software engineer", "teacher", "farmer", "electrician",
               "research scientist", "chef", "retired", "small business owner", "musician")
INTERESTS = ("astronomy", "gardening", "football", "chess", "cooking", "history", "video games",
             "hiking", "painting", "birdwatching", "jazz", "woodworking")
STYLES = ("brief and direct", "warm and chatty", "formal and precise", "playful, with examples",
          "skeptical, wants evidence")
ATTRIBUTES = ("age", "education", "occupation", "interest", "style")

_MIN_AGE = {a: int(a.split("-")[0]) for a in AGES}
_EDU_MIN_AGE = {"primary school": 0, "secondary school": 11, "high school diploma": 17, "bachelor's degree": 20,
                "master's degree": 22, "doctorate": 25}
_EDU_MAX_AGE = {"primary school": 12, "secondary school": 17}  # still at school: an adult would have finished
_OCC_RULES = {  # occupation: (min age, allowed education or None = any)
    "pupil": (0, {"primary school", "secondary school"}),
    "student": (13, None),
    "nurse": (20, {"bachelor's degree", "master's degree"}),
    "software engineer": (18, None),
    "teacher": (22, {"bachelor's degree", "master's degree", "doctorate"}),
    "research scientist": (25, {"master's degree", "doctorate"}),
    "retired": (60, None),
}


def persona_problems(p: dict) -> list[str]:
    """The consistency constraints a persona breaks (empty = consistent)."""
    problems = []
    lo = _MIN_AGE[p["age"]]
    hi = int(p["age"].split("-")[1])
    if lo < _EDU_MIN_AGE[p["education"]] and hi < _EDU_MIN_AGE[p["education"]]:
        problems.append(f"age {p['age']} too young for {p['education']}")
    if p["education"] in _EDU_MAX_AGE and lo > _EDU_MAX_AGE[p["education"]]:
        problems.append(f"age {p['age']} too old to be in {p['education']}")
    rule = _OCC_RULES.get(p["occupation"])
    if rule:
        min_age, allowed = rule
        if hi < min_age:
            problems.append(f"age {p['age']} too young to be a {p['occupation']}")
        if allowed is not None and p["education"] not in allowed:
            problems.append(f"a {p['occupation']} does not have {p['education']} as highest education")
    elif hi < 18:
        problems.append(f"age {p['age']} too young to work as a {p['occupation']}")
    if lo < 13 and p["occupation"] != "pupil":
        problems.append(f"age {p['age']} should be a pupil, not a {p['occupation']}")
    return problems


def sample_personas(n: int, seed: int, max_draws_per_persona: int = 1000) -> tuple[list[dict], int]:
    """``n`` distinct consistent personas and the number of draws the constraints refused."""
    rng = random.Random(f"fspo-personas:{seed}")
    out: list[dict] = []
    seen: set[tuple] = set()
    refused = 0
    pools = {"age": AGES, "education": EDUCATION, "occupation": OCCUPATIONS, "interest": INTERESTS, "style": STYLES}
    for _ in range(n):
        for _draw in range(max_draws_per_persona):
            p = {a: rng.choice(pools[a]) for a in ATTRIBUTES}
            key = tuple(p[a] for a in ATTRIBUTES)
            if key in seen:
                continue
            if persona_problems(p):
                refused += 1
                continue
            seen.add(key)
            out.append(p)
            break
        else:
            raise ValueError(f"could not draw {n} distinct consistent personas (seed {seed}); lower `personas` "
                             f"in pipelines/fspo/config.py or add attribute values in pipelines/fspo/users.py")
    return out, refused


def persona_outline(p: dict) -> str:
    """A rule-written one-line description; the LLM turns it into free text (fspo_user_profiles)."""
    return (f"Age {p['age']}; highest education: {p['education']}; occupation: {p['occupation']}; "
            f"loves {p['interest']}; prefers answers that are {p['style']}.")


def diversity(personas: list[dict]) -> dict:
    """Distinct-combination share, mean pairwise attribute distance (0..1), normalized entropy per attribute."""
    n = len(personas)
    if n == 0:
        return {"personas": 0, "distinct_share": 0.0, "mean_pairwise_distance": 0.0, "entropy": {}}
    distinct = len({tuple(p[a] for a in ATTRIBUTES) for p in personas}) / n
    pairs = list(combinations(personas, 2))
    mean_dist = (sum(sum(p[a] != q[a] for a in ATTRIBUTES) / len(ATTRIBUTES) for p, q in pairs) / len(pairs)
                 if pairs else 0.0)
    entropy = {}
    for a in ATTRIBUTES:
        counts = Counter(p[a] for p in personas)
        h = -sum(c / n * math.log(c / n) for c in counts.values())
        k = min(n, len({"age": AGES, "education": EDUCATION, "occupation": OCCUPATIONS,
                        "interest": INTERESTS, "style": STYLES}[a]))
        entropy[a] = round(h / math.log(k), 4) if k > 1 else 0.0
    return {"personas": n, "distinct_share": round(distinct, 4), "mean_pairwise_distance": round(mean_dist, 4),
            "entropy": entropy}


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


USER_SCHEMA = {"domain": pl.Utf8, "user_id": pl.Utf8, "level": pl.Utf8, "description": pl.Utf8,
               "attributes": pl.Utf8, "unseen": pl.Boolean}


def build_users(cfg: FspoConfig) -> tuple[pl.DataFrame, dict]:
    """Every domain's users: ``domain, user_id, level, description, attributes (JSON), unseen``.

    ``level`` is what the anchor groups by (review level, ELIX level, persona id); ``unseen`` users
    are held out of train entirely (split ``test_personas``). Returns (users, report).
    """
    rows = []
    for level, desc in REVIEW_LEVELS.items():
        rows.append({"domain": REVIEW, "level": level, "description": desc, "attributes": "{}"})
    for level in ELIX_LEVELS:
        rows.append({"domain": ELIX, "level": level, "description": f"The user is {level}.", "attributes": "{}"})
    personas, refused = sample_personas(cfg.personas, cfg.seed)
    for p in personas:
        pid = "persona-" + _short_hash(*(p[a] for a in ATTRIBUTES))[:10]
        rows.append({"domain": ROLEPLAY, "level": pid, "description": persona_outline(p),
                     "attributes": json.dumps(p, sort_keys=True)})
    users = pl.DataFrame(rows).with_columns(
        pl.concat_str([pl.col("domain"), pl.col("level")], separator=":").alias("user_id"))
    unseen: set[str] = set()
    for domain in (REVIEW, ELIX, ROLEPLAY):
        ids = sorted(users.filter(pl.col("domain") == domain).get_column("user_id").to_list(),
                     key=lambda u: _short_hash(str(cfg.seed), "unseen-user", u))
        unseen.update(ids[: cfg.unseen_users.get(domain, 0)])
    users = users.with_columns(pl.col("user_id").is_in(sorted(unseen)).alias("unseen"))
    users = users.select(list(USER_SCHEMA)).sort("domain", "user_id")
    return users, {"persona_draws_refused": refused, "diversity": diversity(personas)}


def user_split(unseen: bool) -> str:
    return TEST_PERSONAS if unseen else TRAIN
