"""`domain` and the solve rate, through the real LLM layer against the scripted server on 127.0.0.1."""

import json
import re

import polars as pl
import pytest

from pipelines.bigmath import domain as D
from pipelines.bigmath.solve_rate import (
    CORRECT,
    INCORRECT,
    LLM_ERROR,
    NO_ANSWER,
    SolveRateConfig,
    sample_rollouts,
    solve_rates,
)
from pipelines.llm import LLMClient, LLMConfig, load_prompt
from tests.pipelines.llm.server import SERVER_ERROR, Reply, ScriptedServer, first_user, last_user, loopback_only, valid  # noqa: F401


@pytest.fixture(autouse=True)
def _loopback(loopback_only):  # noqa: F811
    yield


def _client(server, tmp_path, **kw):
    cfg = LLMConfig(backend="openai", base_url=server.url, model="scripted-solver", progress=False,
                    backoff_base_s=0, backoff_max_s=0, **kw)
    return LLMClient(cfg, cache_dir=tmp_path, sleep=lambda s: None)


# ------------------------------------------------------------------ domain


@pytest.mark.parametrize("problem, expected", [
    ("Find $\\int_0^1 x^2\\,dx$.", D.CALCULUS),
    ("A fair die is rolled twice. What is the probability that the sum is 7?", D.PROBABILITY),
    ("What is the remainder when $2^{100}$ is divided by 7?", D.NUMBER_THEORY),
    ("In how many ways can 5 people arrange themselves in a row? Use permutations.", D.COMBINATORICS),
    ("A triangle has sides 3, 4, 5. What is the area of the triangle?", D.GEOMETRY),
    ("Solve the equation $x^2 - 5x + 6 = 0$ for the larger root.", D.ALGEBRA),
    ("Tom had 5 apples and bought 3 more. How many does he have now?", D.WORD_PROBLEMS),
    ("Compute $\\sin^2 30^\\circ + \\cos^2 30^\\circ$.", D.TRIGONOMETRY),
])
def test_rule_domain_labels(problem, expected):
    assert D.rule_domain(problem) == expected
    assert D.rule_domain(problem) == D.rule_domain(problem)  # deterministic


def test_no_llm_gives_rule_labels_on_every_row():
    frame = pl.DataFrame({"problem": ["What is the probability of heads?", "Tom has 3 cats."]})
    out, meta = D.with_domain(frame)
    assert out["domain"].to_list() == [[D.PROBABILITY], [D.WORD_PROBLEMS]]
    assert out["domain_method"].to_list() == ["rule", "rule"] and meta["method"] == "rule"


def test_llm_labels_with_rule_fallback_for_unusable_replies(tmp_path):
    def respond(body, n):
        text = first_user(body)
        if "hexagon" in text:
            return valid({"domain": "Mathematics -> Poetry"})  # not a label: schema mismatch, then fallback
        assert D.GEOMETRY in text and D.WORD_PROBLEMS in text  # the prompt lists the labels
        return valid({"domain": D.NUMBER_THEORY})

    frame = pl.DataFrame({"problem": ["Is 91 prime? Give the smallest factor.", "A hexagon has how many sides?"]})
    with ScriptedServer(respond) as server, _client(server, tmp_path, repair_attempts=1) as llm:
        out, meta = D.with_domain(frame, llm)
    assert out["domain"].to_list() == [[D.NUMBER_THEORY], [D.rule_domain("A hexagon has how many sides?")]]
    assert out["domain_method"].to_list() == ["llm", "rule"]
    assert meta["llm_labelled"] == 1 and meta["rule_fallback"] == 1
    assert meta["prompt"].startswith("bigmath/domain@1/") and meta["model"] == "scripted-solver"


# ------------------------------------------------------------------ solve rate


PROBLEMS = pl.DataFrame({
    "problem_id": ["p1", "p2", "p3", "p4"],
    "problem": ["What is 2 + 3?", "What is 10 / 4?", "Name a colour.", "What is 7 * 6?"],
    "answer": ["5", "\\frac{5}{2}", "7", "42"],
})


def solver(body, n):
    """p1: right on even seeds only; p2: always right in another form; p3: never boxes; p4: server error."""
    problem, seed = last_user(body), body.get("seed")
    if "2 + 3" in problem:
        return Reply(f"2 + 3 = 5, so \\boxed{{{5 if seed % 2 == 0 else 6}}}.")
    if "10 / 4" in problem:
        return Reply("10/4 = \\boxed{2.5}")
    if "colour" in problem:
        return Reply("Blue is nice.")
    return SERVER_ERROR


def test_rollouts_keep_every_sample_with_its_verdict_and_give_the_rate(tmp_path):
    cfg = SolveRateConfig(k=4, seed=10)
    with ScriptedServer(solver) as server, _client(server, tmp_path, max_retries=0) as llm:
        rollouts, meta = sample_rollouts(PROBLEMS, llm, cfg, workers=1)
        seeds = sorted({b["seed"] for b in server.requests})
        first_requests = len(server.requests)
    assert seeds == [10, 11, 12, 13]  # the k samples are distinct requests
    assert rollouts.height == 4 * 4 and rollouts.group_by("problem_id").len()["len"].to_list() == [4, 4, 4, 4]
    by = {pid: grp.sort("sample")["verdict"].to_list() for pid, grp in
          ((k[0], g) for k, g in rollouts.group_by("problem_id"))}
    assert by == {"p1": [CORRECT, INCORRECT] * 2, "p2": [CORRECT] * 4, "p3": [NO_ANSWER] * 4, "p4": [LLM_ERROR] * 4}
    prompt = load_prompt("bigmath/solve")
    assert set(rollouts["model"]) == {"scripted-solver"} and set(rollouts["prompt_hash"]) == {prompt.short_hash}
    assert meta["k"] == 4 and meta["verdicts"] == {CORRECT: 6, INCORRECT: 2, NO_ANSWER: 4, LLM_ERROR: 4}
    rates = dict(solve_rates(rollouts).select("problem_id", "solve_rate").iter_rows())
    assert rates == {"p1": 0.5, "p2": 1.0, "p3": 0.0, "p4": None}

    # a second run reuses every answered sample from the cache: only the failed ones are asked again
    with ScriptedServer(solver) as server, _client(server, tmp_path, max_retries=0) as llm:
        again, _ = sample_rollouts(PROBLEMS, llm, cfg, workers=1)
        assert len(server.requests) == 4 and all("7 * 6" in last_user(b) for b in server.requests)
    assert again.equals(rollouts) and first_requests == 16


def test_rollouts_are_reusable_by_problem_text(tmp_path):
    with ScriptedServer(solver) as server, _client(server, tmp_path) as llm:
        rollouts, _ = sample_rollouts(PROBLEMS.head(1), llm, SolveRateConfig(k=2), workers=1)
    import hashlib

    assert set(rollouts["problem_sha256"]) == {hashlib.sha256(b"What is 2 + 3?").hexdigest()}
    assert re.fullmatch(r"[0-9a-f]{12}", rollouts["prompt_hash"][0])
    assert json.dumps(rollouts.to_dicts())  # plain values only: any later dataset can read them
