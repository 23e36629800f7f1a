"""The fast path decides exactly as math-verify does, wherever it decides at all."""

import itertools
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.bigmath.fastpath import decide, numbers, verify_with_fast_path
from pipelines.bigmath.funnel import read_all
from pipelines.bigmath.verify import VerifyItem, VerifyOutcome, check_item
from pipelines.config import get_profile

PAIRS = Path(__file__).parent / "data" / "math_verify_pairs.json"

# forms the fast path knows, and near misses it must leave to math-verify
FORMS = ["18", "18.0", "18.5", "-18", "0.5", "1/2", "\\frac{1}{2}", "\\dfrac12", "-\\frac{1}{2}", "\\frac{2}{4}", "4/2",
         "2", "2.0", "0.333333", "1/3", "0.3333333", "50\\%", "50%", "50 %", "0.5\\%", "50", "\\$50", "\\$50.00",
         "45^\\circ", "45^{\\circ}", "45", "1,000", "1000", "1,000.5", "1000.50", "\\$32,\\!348", "32348", "0.1",
         "1/10", "\\frac{1}{10}", "1.000001", "1", "1.0000001", "007", "7", "-0", "0", "0.0", "3.14159", "3.14158",
         "22/7", "1e3", "12.50", "25/2", "\\tfrac{3}{4}", "-\\dfrac{3}{4}", "3/0", "1234567890", "$5$"]


def sample_items() -> list[VerifyItem]:
    rows, _, _ = read_all(get_profile("sample").bigmath)
    return [VerifyItem(a, s if origin == "column" else None)  # as the funnel's verify step builds them
            for a, s, origin in rows.select("answer", "solution", "answer_origin").iter_rows() if a]


def pair_items() -> list[VerifyItem]:
    out = []
    for gold, pred, _ in json.loads(PAIRS.read_text())["pairs"]:
        out += [VerifyItem(gold, pred), VerifyItem(pred, gold), VerifyItem(gold, None), VerifyItem(pred, None)]
    return out


def form_items() -> list[VerifyItem]:
    return [VerifyItem(a, f"so the answer is \\boxed{{{b}}}.") for a, b in itertools.product(FORMS, FORMS)]


@pytest.mark.parametrize("name,make", [("sample", sample_items), ("math_verify_pairs", pair_items),
                                       ("forms", form_items)])
def test_every_fast_decision_equals_math_verify(name, make):
    items = make()
    fast = decide(items)
    decided = [(it, o) for it, o in zip(items, fast.outcomes) if o is not None]
    assert decided, "the fast path should decide something here"
    differ = [(it, o, ref) for it, o in decided if (ref := check_item(it, None)) != o]
    assert differ == [], differ[:5]


def test_the_fast_path_takes_most_sample_answers_and_defers_the_rest():
    items = sample_items()
    fast = decide(items)
    share = sum(fast.decided) / len(items)
    assert share > 0.6, share
    by_answer = {it.answer: d for it, d in zip(items, fast.decided)}
    assert by_answer["1096061"] and by_answer["0.625"]
    assert not by_answer["\\sqrt{53}"] and not by_answer["13 hrs"]


def test_grammar():
    f = numbers(pl.Series(["18", "-0.625", "3/4", "-\\dfrac{3}{4}", "\\$32,\\!348", "45^\\circ", "20\\%",
                           "x", None, "\\frac{1}{0}", "1234567890", "1.5e3"]))
    assert f["ok"].to_list() == [True, True, True, True, True, True, True, False, False, False, False, False]
    assert f.select("num", "den").rows()[:6] == [(18, 1), (-625, 1000), (3, 4), (-3, 4), (32348, 1), (45, 1)]
    assert f["pct"].to_list()[6] and f["deg"].to_list()[5]


def test_fast_path_and_pool_together_keep_input_order():
    items = [VerifyItem("18", "\\boxed{18}"), VerifyItem("\\sqrt{2}", "\\boxed{\\sqrt 2}"), VerifyItem("3", "\\boxed{4}"),
             VerifyItem("\\text{Evelyn}", None)]
    out, fast = verify_with_fast_path(items, workers=1)
    assert fast == 2
    assert out == [VerifyOutcome(True, True), VerifyOutcome(True, True), VerifyOutcome(True, False, "solution says '4'"),
                   VerifyOutcome(False, None, "answer is words, not a mathematical value")]
