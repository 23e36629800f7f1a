"""The LLM stages on the scripted local server: swap check, length rule, scorer_match."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.fspo import reasons
from pipelines.fspo.generate import length_rule_verdict, score_step, scorer_match
from pipelines.llm import LLMClient, LLMConfig, load_prompt
from tests.pipelines.llm.server import ScriptedServer, first_user, loopback_only, valid  # noqa: F401


@pytest.fixture(autouse=True)
def _guard(loopback_only):
    yield


def _pairs() -> pl.DataFrame:
    return pl.DataFrame({"pair_id": ["p1", "p2"], "user_description": ["likes short", "likes short"],
                         "prompt": ["steady question", "biased question"], "scorer_level": ["concise", "concise"],
                         "level_x": ["concise", "verbose"], "level_y": ["verbose", "concise"],
                         "response_x": ["short one", "long " * 20], "response_y": ["long " * 20, "short one"]})


def test_position_swap_disagreement_is_quarantined(tmp_path):
    def responder(body, n):
        text = first_user(body)
        if "biased question" in text:
            return valid({"preferred": "A"})  # always the first position: inconsistent under the swap
        a = text.split("Response A:\n", 1)[1]
        return valid({"preferred": "A" if a.startswith("short") else "B"})

    with ScriptedServer(responder) as server:
        cfg = LLMConfig(backend="openai", base_url=server.url, model="m", api_key="k", max_retries=0)
        with LLMClient(cfg, cache_dir=tmp_path) as client:
            result = score_step(client, load_prompt("fspo/score"))(_pairs())
        assert len(server.requests) == 4
    assert result.kept.select("pair_id", "label").rows() == [("p1", 0)]
    assert result.rejected.select("pair_id", "reason").rows() == [("p2", reasons.POSITION_SWAP_INCONSISTENT)]
    assert result.kept.get_column("scorer_prompt_hash")[0] == load_prompt("fspo/score").short_hash


def test_length_rule_judges_only_when_measurable():
    short, long = "a b", "a b c d e f"
    assert length_rule_verdict("concise", short, long, 0, 1.5) == "agrees"
    assert length_rule_verdict("concise", short, long, 1, 1.5) == "disagrees"
    assert length_rule_verdict("positive+verbose", short, long, 1, 1.5) == "agrees"
    assert length_rule_verdict("positive", short, long, 1, 1.5) == "not_measurable"
    assert length_rule_verdict("concise", "a b c", "a b c d", 1, 1.5) == "not_measurable"


def test_scorer_match_keeps_pairs_with_the_scorer_level():
    frame = _pairs().with_columns(pl.Series("scorer_level", ["concise", "positive"]))
    result = scorer_match(frame)
    assert result.kept.get_column("pair_id").to_list() == ["p1"]
    assert result.rejected.get_column("reason").to_list() == [reasons.SCORER_MISMATCH]
