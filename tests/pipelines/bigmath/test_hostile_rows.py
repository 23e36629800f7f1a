"""Issue 15's Big-Math reproductions: each ran for minutes (quadratic regexes) or crashed the run."""

import json

import polars as pl
from click.testing import CliRunner

from pipelines.bigmath import answers, reformulate, signals
from pipelines.cli import main
from tests.pipelines.hostile_text import SCALE_LIMIT_S, timed


def test_an_answer_of_repeated_parts_is_linear():
    # "(a)" x 30,000 took 134 s in `bigmath filter` ("(a)[\s\S]*(b)" backtracked from every "(a)")
    answer = "(a)" * 30_000
    for fn in (lambda: signals.is_multi_part("What is x?", answer), lambda: signals.is_multiple_choice("q", None, answer),
               lambda: signals.is_yes_no("q", answer), lambda: answers.clean_answer(answer)):
        _, seconds = timed(fn)
        assert seconds < SCALE_LIMIT_S


def test_a_solution_repeating_the_answer_phrase_is_linear():
    # ". the answer is x" x 12,000 took 200 s ("(.+?)\s*$" rescanned the line from every phrase)
    solution = ". the answer is x" * 12_000 + "\nso x"
    value, seconds = timed(answers.stated_answer, solution)
    assert value is None and seconds < SCALE_LIMIT_S
    assert answers.stated_answer(". the answer is x" * 12_000).startswith("x. the answer is")
    assert answers.stated_answer("Work.\nThe answer is\n18") == "18"  # the phrase may end a line


def test_a_stem_of_repeated_option_markers_is_linear():
    # "(A) " x 16,000 took minutes in `bigmath reformulate` (the options were re-parsed after every marker)
    stem = "What is 2+2? " + "(A) " * 16_000
    (rest, options), seconds = timed(reformulate.split_inline_options, stem)
    assert seconds < SCALE_LIMIT_S and options == []
    item, seconds = timed(reformulate.prepare_item, {"problem": stem, "answer": "4", "answer_letter": "B"})
    assert seconds < SCALE_LIMIT_S and item.reason is not None
    assert reformulate.split_inline_options("What is 2+2? (A) 3 (B) 4 (C) 5")[1] == ["A) 3", "B) 4", "C) 5"]


def test_hostile_rows_are_quarantined_and_the_run_completes(tmp_path):
    rows = [
        '{"problem": "What is 2+3?", "answer": "5"}',
        json.dumps({"problem": "What is 2+2?", "answer": "(a)" * 30_000}),
        '{"problem": "What is 1+1?\\ud800", "answer": "2"}',                 # a lone surrogate: crashed the run
        json.dumps({"problem": "What is 3+3?", "answer": "6", "note": "\ud800"}),  # in an extra column: the reader refuses the row (not writable as UTF-8)
        json.dumps({"problem": "What is 4+4?", "solution": "So \\boxed{" + "9" * 3000 + "}"}),
    ]
    src = tmp_path / "hostile.jsonl"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["bigmath", "filter", str(src), "--field", "problem=problem", "--field", "answer=answer",
                                    "--field", "solution=solution", "--workers", "1", "--out", str(out)])
    assert res.exception is None and res.exit_code == 0, res.output
    kept, rejected = pl.read_parquet(out / "kept.parquet"), pl.read_parquet(out / "rejected.parquet")
    report = json.loads((out / "funnel.json").read_text())
    assert kept.height + rejected.height == report["rows_in"] == 5
    malformed = rejected.filter(pl.col("reason") == "malformed").sort("source_id")
    assert malformed["source_id"].to_list() == ["2", "3", "4", "5"]
    details = malformed["detail"].to_list()
    assert "answer is 90000 characters (limit 2000)" in details[0] and "row 2" in details[0]
    assert "lone UTF-16 surrogate" in details[1] and "lone UTF-16 surrogate" in details[2]
    assert "answer is 3000 characters" in details[3]
    assert set(kept["answer"]) <= {"5"}
