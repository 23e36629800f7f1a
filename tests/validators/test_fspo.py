"""FSPO rules: each passes on good data and fails on data broken on purpose."""

from __future__ import annotations

import json

import polars as pl

from pipelines.fspo import reasons
from pipelines.fspo.config import FspoConfig
from pipelines.fspo.episodes import render_episode, Shot
from validators import fspo as rules

USERS = pl.DataFrame({"domain": ["elix", "roleplay"], "user_id": ["elix:a", "roleplay:p"], "unseen": [False, True],
                      "attributes": ["{}", json.dumps({"age": "25-39", "education": "doctorate",
                                                       "occupation": "chef", "interest": "jazz", "style": "x"})]})
QUESTIONS = pl.DataFrame({"question_id": ["q1", "q2"], "unseen": [False, True]})


def _pairs(rows):
    return pl.DataFrame(rows, schema=["domain", "split", "user_id", "question_id"], orient="row")


def test_unseen_in_train_fails_and_clean_passes():
    good = _pairs([("elix", "train", "elix:a", "q1"), ("elix", "test_questions", "elix:a", "q2"),
                   ("roleplay", "test_personas", "roleplay:p", "q1")])
    assert rules.no_unseen_in_train(good, USERS, QUESTIONS)[0]
    leak_q = _pairs([("elix", "train", "elix:a", "q2")])
    ok, meta = rules.no_unseen_in_train(leak_q, USERS, QUESTIONS)
    assert not ok and meta["train_rows_with_unseen_question"] == 1
    misplaced = _pairs([("roleplay", "test", "roleplay:p", "q1")])
    assert not rules.no_unseen_in_train(misplaced, USERS, QUESTIONS)[0]


def test_every_user_needs_n_plus_1_in_its_home_split():
    cfg = FspoConfig(shots={"elix": 2, "roleplay": 1})
    pairs = _pairs([("elix", "train", "elix:a", f"q{i}") for i in range(3)] +
                   [("roleplay", "test_personas", "roleplay:p", f"q{i}") for i in range(2)])
    assert rules.enough_preferences(pairs, USERS, cfg)[0]
    ok, meta = rules.enough_preferences(pairs.head(4), USERS, cfg)
    assert not ok and "roleplay:p (test_personas): 1 < 2" in meta["examples"]


def test_label_balance_and_consistency_rate():
    balanced = pl.DataFrame({"domain": ["elix"] * 4, "label": [0, 1, 0, 1]})
    assert rules.label_balance(balanced)[0]
    assert not rules.label_balance(balanced.with_columns(pl.lit(0).alias("label")))[0]
    assert not rules.label_balance(balanced.head(0))[0]  # nothing labelled cannot pass
    q = pl.DataFrame({"reason": [reasons.POSITION_SWAP_INCONSISTENT, reasons.SCORER_MISMATCH]})
    ok, meta = rules.consistency_rate(balanced, q)
    assert ok and meta["consistency_rate"] == 0.8


def test_persona_constraints_fail_on_an_inconsistent_persona():
    assert rules.personas_consistent(USERS)[0]
    bad = USERS.with_columns(pl.lit(json.dumps({"age": "8-12", "education": "doctorate", "occupation": "pupil",
                                                "interest": "jazz", "style": "x"})).alias("attributes"))
    assert not rules.personas_consistent(bad)[0]


def test_episode_layout_and_limit():
    prompt, chosen, rejected = render_episode([Shot("q", "a", "b")] * 2, Shot("q", "a", "b"))
    ep = pl.DataFrame({"episode_id": ["e"], "n_shots": [2], "prompt": [prompt], "chosen": [chosen], "n_tokens": [50]})
    assert rules.episode_layout(ep)[0] and rules.episodes_within_limit(ep, 8192)[0]
    assert not rules.episode_layout(ep.with_columns(pl.lit(3).alias("n_shots")))[0]
    assert not rules.episode_layout(ep.with_columns(pl.lit(prompt.replace("# Example 2", "# Example 3")).alias("prompt")))[0]
    assert not rules.episodes_within_limit(ep, 49)[0]
