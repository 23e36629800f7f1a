"""Users: fixed levels, consistent personas, measured diversity, question banks de-duplicated."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.fspo.config import FspoConfig
from pipelines.fspo.questions import bank_rows, load_questions
from pipelines.fspo.users import ATTRIBUTES, build_users, diversity, persona_problems, sample_personas


def test_an_eight_year_old_with_a_doctorate_is_refused():
    p = {"age": "8-12", "education": "doctorate", "occupation": "pupil", "interest": "chess", "style": "brief and direct"}
    assert any("too young for doctorate" in x for x in persona_problems(p))
    assert persona_problems({**p, "education": "primary school"}) == []


@settings(derandomize=True, max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60))
def test_sampled_personas_are_distinct_and_consistent(seed, n):
    personas, refused = sample_personas(n, seed)
    assert len(personas) == n and refused >= 0
    assert len({tuple(p[a] for a in ATTRIBUTES) for p in personas}) == n
    assert all(persona_problems(p) == [] for p in personas)


def test_users_have_the_fixed_sets_and_seeded_personas():
    users, report = build_users(FspoConfig(personas=8, seed=3))
    assert dict(users.group_by("domain").len().iter_rows()) == {"review": 8, "elix": 5, "roleplay": 8}
    assert users.filter(pl.col("domain") == "roleplay").get_column("unseen").sum() == 2
    assert report["diversity"]["distinct_share"] == 1.0 and report["persona_draws_refused"] > 0
    again, _ = build_users(FspoConfig(personas=8, seed=3))
    assert users.equals(again)
    assert all(json.loads(a) == {} for a in users.filter(pl.col("domain") != "roleplay").get_column("attributes"))


def test_diversity_is_zero_for_clones_and_high_for_distinct():
    p = {"age": "25-39", "education": "doctorate", "occupation": "chef", "interest": "jazz", "style": "brief and direct"}
    assert diversity([p, p, p])["mean_pairwise_distance"] == 0.0
    q = {"age": "60-79", "education": "high school diploma", "occupation": "retired", "interest": "chess",
         "style": "warm and chatty"}
    assert diversity([p, q])["mean_pairwise_distance"] == 1.0


def test_banks_are_deduplicated_on_normalized_text():
    rows, dropped = bank_rows("elix", [{"question": "What is  X?"}, {"question": "what is x?"}, {"question": "Y?"}])
    assert dropped == 1 and len(rows) == 2


def test_shipped_banks_load_without_duplicates_and_mark_unseen():
    q = load_questions(FspoConfig())
    assert q.get_column("question_id").n_unique() == q.height
    assert dict(q.filter(pl.col("unseen")).group_by("domain").len().iter_rows()) == {"review": 2, "elix": 1, "roleplay": 2}
