"""Labelled pairs in the anchor's two schemas.

- ELIX and review: ``prompt, response_x, response_y, level_x, level_y, scorer_level, label`` with
  ``label == 0`` meaning the user (``scorer_level``) prefers ``response_x``, ``1`` ``response_y``.
- role-play: ``x, yw, yl, level, score_persona``: ``yw`` preferred over ``yl`` by the user
  ``level`` (the persona id), whose description the scorer saw is ``score_persona``.

Both carry ``domain, split, user_id, pair_id, question_id`` and the model/prompt provenance of the
response and scorer stages after the anchor's columns.
"""

from __future__ import annotations

import polars as pl

from pipelines.fspo.config import ROLEPLAY

SCORED_COLUMNS = ("prompt", "response_x", "response_y", "level_x", "level_y", "scorer_level", "label")
ROLEPLAY_COLUMNS = ("x", "yw", "yl", "level", "score_persona")
KEY_COLUMNS = ("domain", "split", "user_id", "pair_id", "question_id")
PROVENANCE = ("length_rule", "response_model", "response_prompt_name", "response_prompt_version",
              "response_prompt_hash", "scorer_model", "scorer_prompt_name", "scorer_prompt_version",
              "scorer_prompt_hash")


def scored_pairs(labels: pl.DataFrame) -> pl.DataFrame:
    """ELIX and review rows in the anchor's schema."""
    rows = labels.filter(pl.col("domain") != ROLEPLAY)
    return rows.select(*SCORED_COLUMNS, *KEY_COLUMNS, *PROVENANCE).sort("domain", "user_id", "pair_id")


def roleplay_pairs(labels: pl.DataFrame) -> pl.DataFrame:
    """Role-play rows in the anchor's schema (yw = the preferred response)."""
    rows = labels.filter(pl.col("domain") == ROLEPLAY)
    x_wins = pl.col("label") == 0
    return rows.select(
        pl.col("prompt").alias("x"),
        pl.when(x_wins).then(pl.col("response_x")).otherwise(pl.col("response_y")).alias("yw"),
        pl.when(x_wins).then(pl.col("response_y")).otherwise(pl.col("response_x")).alias("yl"),
        pl.col("scorer_level").alias("level"),
        pl.col("user_description").alias("score_persona"),
        *KEY_COLUMNS, *PROVENANCE,
    ).sort("domain", "user_id", "pair_id")


EPISODE_PROVENANCE = ("response_prompt_hash", "scorer_prompt_hash")  # carried from the query pair onto its episode


def shots_view(scored: pl.DataFrame, roleplay: pl.DataFrame) -> pl.DataFrame:
    """Both schemas as ``domain, split, user_id, pair_id, question, preferred, dispreferred, user``
    plus the prompt hashes: what the episode builder reads (``user`` is the level the anchor groups by)."""
    x_wins = pl.col("label") == 0
    a = scored.select(*KEY_COLUMNS, pl.col("prompt").alias("question"),
                      pl.when(x_wins).then(pl.col("response_x")).otherwise(pl.col("response_y")).alias("preferred"),
                      pl.when(x_wins).then(pl.col("response_y")).otherwise(pl.col("response_x")).alias("dispreferred"),
                      pl.col("scorer_level").alias("user"), *EPISODE_PROVENANCE)
    b = roleplay.select(*KEY_COLUMNS, pl.col("x").alias("question"), pl.col("yw").alias("preferred"),
                        pl.col("yl").alias("dispreferred"), pl.col("level").alias("user"), *EPISODE_PROVENANCE)
    return pl.concat([a, b], how="vertical_relaxed").sort("domain", "split", "user_id", "pair_id")
