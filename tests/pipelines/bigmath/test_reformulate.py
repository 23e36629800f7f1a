"""Reformulation: value parsing, stem rules, output checks, and both paths end to end."""

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.bigmath import reformulate as R
from pipelines.llm import LLMClient, LLMConfig
from tests.pipelines.llm.server import MALFORMED, ScriptedServer, first_user, loopback_only, valid  # noqa: F401

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _loopback(loopback_only):
    yield


@pytest.mark.parametrize("text, stem, value, unit", [
    ("Rs. 750", "", "750", None),
    ("5(√3 + 1)", "", "5(\\sqrt{3} + 1)", None),
    ("36 minutes", "", "36", "minutes"),
    ("$50,000", "", "50000", None),
    ("(zy – 2x)/(z -2)", "z students, x and y", "(zy - 2x)/(z -2)", None),
    ("$(-3,-6)$", "", "(-3,-6)", None),
    ("96 men", "How many men are required?", "96", None),
])
def test_option_values(text, stem, value, unit):
    v = R.option_math_value(text, stem)
    assert (v.value, v.unit) == (value, unit)


@pytest.mark.parametrize("text", ["None of these", "Cannot be determined", "III only", "10,8", "2 1/2",
                                  "3D/(M2-3M)", "s.5723", "9 Trousers", "Exactly one"])
def test_options_that_are_not_values(text):
    assert R.option_math_value(text, "M men and D rupees").value is None


@pytest.mark.parametrize("stem, reason", [
    ("What is the value of x if 2x = 6?", None),
    ("A rectangle is 8 cm by 3 cm. Find the perimeter.", None),
    ("What is the mass in grams? (1 gram = 1,000 milligrams)", None),
    ("The marked price of the watch is:", R.STEM_INCOMPLETE),
    ("Which of the following must be true?", R.STEM_REFERS_TO_OPTIONS),
    ("Which equation represents this relationship?", R.STEM_REFERS_TO_OPTIONS),
    ("What could be the value of n?", R.STEM_REFERS_TO_OPTIONS),
    ("Which is closest to the area?", R.STEM_REFERS_TO_OPTIONS),
    ("The area is approximately how many square inches?", R.APPROXIMATE),
])
def test_stem_rules(stem, reason):
    got = R.stem_problem(stem)
    assert (got[0] if got else None) == reason


def test_inline_options_are_split_from_the_stem():
    stem, options = R.split_inline_options("What is 2+3? Answer Choices: (A) 4 (B) 5 (C) 6")
    assert stem == "What is 2+3?" and options == ["A) 4", "B) 5", "C) 6"]
    stem, options = R.split_inline_options("how many legs do 3 cats have ? a ) 12 , b ) 16 , c ) 9")
    assert stem == "how many legs do 3 cats have ?" and options[:2] == ["A) 12", "B) 16"]


def test_output_checks():
    assert R.option_residue("Which of the following is 5?")
    assert R.option_residue("Find x. (A) 1 (B) 2")
    assert R.option_residue("Let P(A) = 0.2. Find P(B).") is None  # an event, not an option
    assert R.hint_added("What is 3 times 4?", "What is 3 times 4? Hint: it is 12.", "12")
    assert R.hint_added("What is 3 times 4?", "What is 3 times 4, which equals 12?", "12")
    assert R.hint_added("What is 3 times 4?", "Compute 3 times 4.", "12") is None
    assert R.numbers_missing("A train goes 120 km in 2 hours.", "A train goes 120 km. Find its speed.") == \
        "numbers of the original missing: 2"


ROWS = pl.DataFrame({
    "problem_id": ["p1", "p2", "p3", "p4"],
    "problem": ["A train covers 120 km in 2 hours. What is its speed?",
                "Which of the following is the value of 3 + 4?",
                "The value of 2 + 2 is:",
                "What is 1 + 1?"],
    "options": [["A)50 km/hr", "B)60 km/hr"], ["A)6", "B)7"], ["A)4", "B)5"], ["A)None of these", "B)3"]],
    "answer": ["60 km/hr", "7", "4", "None of these"],
    "answer_letter": ["B", "B", "A", "A"],
    "source": ["t"] * 4, "source_id": ["1", "2", "3", "4"],
})


def test_rule_path_without_llm_says_why_the_rest_was_not_tried():
    res = R.reformulate_rows(ROWS, llm_status="skipped: no LLM configured", workers=1)
    assert res.kept.get_column("problem").to_list() == [
        "A train covers 120 km in 2 hours. What is its speed? Express your answer in km/hr."]
    assert res.kept.get_column("answer").to_list() == ["60"] and res.kept["method"].to_list() == ["rule"]
    assert res.kept.height + res.rejected.height == ROWS.height
    reasons = dict(zip(res.rejected["problem_id"], res.rejected["reason"]))
    assert reasons == {"p2": R.STEM_REFERS_TO_OPTIONS, "p3": R.STEM_INCOMPLETE, "p4": R.ANSWER_NOT_A_VALUE}
    assert all("LLM path skipped" in d for d in res.rejected.filter(pl.col("problem_id") != "p4")["detail"])


def test_a_verification_timeout_is_verify_timeout_not_unparseable(monkeypatch):
    """A check that ran out of time (twice, in verify.py) says so; the row is not called unparseable."""
    from pipelines.bigmath.verify import VerifyOutcome

    def timed_out(pairs, **kw):
        return [VerifyOutcome(False, None, "timeout: over 20s CPU", timed_out=True) for _ in pairs]

    monkeypatch.setattr(R, "verify_answers", timed_out)
    res = R.reformulate_rows(ROWS, llm_status="skipped: no LLM configured", workers=1)
    assert res.kept.height == 0
    reasons = dict(zip(res.rejected["problem_id"], res.rejected["reason"]))
    assert reasons["p1"] == R.VERIFY_TIMEOUT == "verify_timeout"
    assert "timeout" in res.rejected.filter(pl.col("problem_id") == "p1")["detail"][0]


# ------------------------------------------------------------------ the LLM path against the scripted server

def stage_responder(bad_reformulation: dict | None = None, judge_fail: set = frozenset()):
    """Answers each stage from the prompt text, like a competent model would."""
    def respond(body, n):
        text = first_user(body)
        if "Extract the key information" in text:
            return valid({"givens": ["the numbers in the problem"], "asked": "the value", "answer_form": "integer"})
        if "Rewrite this multiple-choice" in text:
            original = text.split("Original problem:\n", 1)[1].split("\n\nOptions:", 1)[0]
            answer = text.split("Correct option: ", 1)[1].split(") ", 1)[1].split("\n", 1)[0]
            for key, reply in (bad_reformulation or {}).items():
                if key in original:
                    return reply
            new = original.replace("Which of the following is the value of", "What is the value of")
            new = new.replace("The value of 2 + 2 is:", "What is the value of 2 + 2?")
            return valid({"problem": new, "answer": answer})
        if "Judge the rewrite" in text:
            bad = any(k in text for k in judge_fail)
            return valid({"verdict": "FAIL" if bad else "PASS", "reasons": ["asks something else"] if bad else []})
        if "Solve the problem below" in text:
            problem = text.split("Problem:\n", 1)[1]
            return valid({"final_answer": "7" if "3 + 4" in problem else "4", "well_posed": True})
        raise AssertionError(f"unexpected prompt: {text[:80]}")
    return respond


def _client(server, tmp_path, **kw):
    return LLMClient(LLMConfig(backend="openai", base_url=server.url, model="scripted-model", progress=False,
                               cache_path=str(tmp_path / "cache.sqlite"), backoff_base_s=0.01, **kw))


def test_llm_path_end_to_end_with_provenance(tmp_path):
    with ScriptedServer(stage_responder()) as server, _client(server, tmp_path) as llm:
        res = R.reformulate_rows(ROWS, client=llm, workers=1)
    by_id = {r["original_problem_id"]: r for r in res.kept.to_dicts()}
    assert by_id["p1"]["method"] == "rule" and by_id["p1"]["model"] is None
    assert by_id["p2"]["method"] == "llm" and by_id["p2"]["problem"] == "What is the value of 3 + 4?"
    assert by_id["p2"]["answer"] == "7" and by_id["p3"]["answer"] == "4"
    assert by_id["p2"]["model"] == "scripted-model" and by_id["p2"]["prompt_name"] == "bigmath/reformulate"
    assert len(by_id["p2"]["prompt_hash"]) == 12 and set(json.loads(by_id["p2"]["llm_prompts"])) == set(R.PROMPTS)
    assert res.rejected["reason"].to_list() == [R.ANSWER_NOT_A_VALUE]
    assert res.llm_stats["calls"] == 8  # 2 items x 4 stages


def test_llm_outputs_failing_checks_or_judge_are_rejected_with_reasons(tmp_path):
    bad = {"3 + 4": valid({"problem": "Which of the following is 3 + 4? (A) 6 (B) 7", "answer": "7"}),
           "2 + 2": MALFORMED}
    with ScriptedServer(stage_responder(bad)) as server, _client(server, tmp_path, repair_attempts=1) as llm:
        res = R.reformulate_rows(ROWS, client=llm, workers=1)
    reasons = dict(zip(res.rejected["problem_id"], res.rejected["reason"]))
    assert reasons["p2"] == R.OPTION_RESIDUE and reasons["p3"] == "llm_malformed_output"
    with ScriptedServer(stage_responder(judge_fail={"3 + 4"})) as server, \
            _client(server, tmp_path / "other", repair_attempts=1) as llm:
        res = R.reformulate_rows(ROWS, client=llm, workers=1)
    reasons = dict(zip(res.rejected["problem_id"], res.rejected["reason"]))
    assert reasons["p2"] == R.JUDGE_FAIL and "p3" not in reasons


def test_wrong_llm_answer_is_an_answer_mismatch(tmp_path):
    bad = {"3 + 4": valid({"problem": "What is the value of 3 + 4?", "answer": "8"})}
    with ScriptedServer(stage_responder(bad)) as server, _client(server, tmp_path) as llm:
        res = R.reformulate_rows(ROWS, client=llm, workers=1)
    row = res.rejected.filter(pl.col("problem_id") == "p2").row(0, named=True)
    assert row["reason"] == R.ANSWER_MISMATCH and "'8'" in row["detail"]


def test_llm_signals_fill_the_funnel_columns_and_leave_failures_null(tmp_path):
    from pipelines.bigmath.llm_signals import fill_llm_signals

    def respond(body, n):
        text = first_user(body)
        if "sub-questions" in text and "Problem B" in text:
            return MALFORMED
        yes = ("answer options" in text and "Problem A" in text) or ("proof" in text and "Problem B" in text)
        return valid({"answer": "yes" if yes else "no"})

    frame = pl.DataFrame({"problem": ["Problem A", "Problem B"], "answer": ["1", None],
                          "llm_multiple_choice": [None, None], "llm_proof": [None, None],
                          "llm_multi_part": [None, None], "llm_yes_no": [None, None]},
                         schema_overrides={c: pl.Boolean for c in ("llm_multiple_choice", "llm_proof",
                                                                    "llm_multi_part", "llm_yes_no")})
    with ScriptedServer(respond) as server, _client(server, tmp_path, repair_attempts=0) as llm:
        out, meta = fill_llm_signals(frame, llm)
    assert out["llm_multiple_choice"].to_list() == [True, False]
    assert out["llm_proof"].to_list() == [False, True]
    assert out["llm_multi_part"].to_list() == [False, None]  # an unusable reply is no opinion, not a "no"
    assert meta["llm_multi_part"]["unanswered"] == 1 and meta["model"] == "scripted-model"
