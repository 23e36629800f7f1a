import random

import polars as pl
import pytest

from pipelines.behaviors import BEHAVIORS, detect_behaviors
from pipelines.countdown import reasons
from pipelines.countdown.config import CountdownConfig
from pipelines.countdown.priming import (PRIMING_SETS, SET_BEHAVIORS, build_priming_sets, detector_agreement,
                                         priming_trace, render)
from pipelines.countdown.problems import build_problems, generate_candidates
from pipelines.countdown.reward import score_completion

CFG = CountdownConfig(n_problems=250, priming_rows=25, node_budget=300)


@pytest.fixture(scope="module")
def sets():
    problems, _, _ = build_problems(generate_candidates(CFG), CFG)
    rows, rejected = build_priming_sets(problems, CFG)
    return problems, rows, rejected


def test_every_set_is_filled(sets):
    _, rows, _ = sets
    counts = dict(rows.group_by("set_name").len().iter_rows())
    assert counts == {s: CFG.priming_rows for s in PRIMING_SETS}


def test_behavior_counts_follow_each_set_definition(sets):
    _, rows, _ = sets
    for set_name, allowed in SET_BEHAVIORS.items():
        part = rows.filter(pl.col("set_name") == set_name)
        for b in BEHAVIORS:
            if b in allowed:
                assert part[f"n_{b}"].min() >= 1, (set_name, b)
            else:
                assert part[f"n_{b}"].max() == 0, (set_name, b)
    only_bt = rows.filter(pl.col("set_name") == "only_backtracking")
    assert only_bt["n_verification"].sum() == 0 and only_bt["n_backtracking"].sum() >= CFG.priming_rows


def test_detector_agrees_with_generator_counts(sets):
    _, rows, _ = sets
    for row in rows.iter_rows(named=True):
        thinking = row["completion"].split("\n</think>")[0] if "\n</think>" in row["completion"] else ""
        counts = detect_behaviors(thinking).as_dict()
        assert counts == {b: row[f"n_{b}"] for b in BEHAVIORS}, (row["set_name"], thinking)
    assert detector_agreement(rows)["overall"] == 1.0


def test_answers_are_correct_except_the_wrong_answer_control(sets):
    _, rows, _ = sets
    for set_name, nums, target, completion in rows.select("set_name", "numbers", "target", "completion").iter_rows():
        s = score_completion(completion, nums, target)
        assert s.format_ok
        assert s.correct == (set_name != "wrong_answer"), (set_name, completion)


def test_controls(sets):
    _, rows, _ = sets
    empty = rows.filter(pl.col("set_name") == "empty_thinking")
    assert (empty["thinking_chars"] == 0).all() and empty["completion"].str.starts_with("</think>").all()
    dots = rows.filter(pl.col("set_name") == "length_matched_dots").select("problem_id", "thinking_chars", "completion")
    full = rows.filter(pl.col("set_name") == "all_strategies").select("problem_id", pl.col("thinking_chars").alias("t"))
    joined = dots.join(full, on="problem_id")
    assert joined.height == dots.height and (joined["thinking_chars"] == joined["t"]).all()
    assert joined["completion"].str.contains(r"^\.+\n</think>").all()
    neg = rows.filter(pl.col("set_name") == "negative_control")
    assert not neg["completion"].str.contains("(?i)go back|backtrack|verify").any()


def test_no_row_repeats_verbatim(sets):
    _, rows, _ = sets
    assert rows.select("set_name", "query", "completion").unique().height == rows.height
    texts = rows.filter(pl.col("thinking_chars") > 0, pl.col("set_name") != "length_matched_dots")
    thinking = texts["completion"].str.split("\n</think>").list.first()
    assert thinking.n_unique() == texts.height


def test_rejected_rows_say_why(sets):
    _, _, rejected = sets
    assert set(rejected["reason"].unique().to_list()) <= {reasons.NO_TRACE, reasons.DUPLICATE_ROW}
    assert rejected["detail"].null_count() == 0


def test_deterministic(sets):
    problems, rows, _ = sets
    again, _ = build_priming_sets(problems, CFG)
    assert rows.equals(again)


def test_render_counts_exact_sentences():
    trace = priming_trace((10, 4, 3, 2), 24, budget=2000)
    leaves = trace.leaves()
    failed = [leaf for leaf in leaves if not leaf[2]][:3]
    attempts = failed + [leaves[-1]]
    out = render((10, 4, 3, 2), 24, attempts, SET_BEHAVIORS["all_strategies"], random.Random(0))
    assert out.counts["backtracking"] == 3 and out.counts["verification"] >= 1
    assert out.counts["subgoal_setting"] >= 1 and out.counts["backward_chaining"] >= 1
    assert detect_behaviors(out.thinking).as_dict() == out.counts
    assert score_completion(f"<answer>{out.expression}</answer>", [10, 4, 3, 2], 24).correct


def test_the_funnel_counts_every_pair_tried_and_only_the_sets_asked(sets):
    from pipelines.core.steps import check_funnel_conservation
    from pipelines.countdown.priming import build_priming

    problems, rows, rejected = sets
    again, rej, funnel = build_priming(problems, CFG)
    table = funnel.to_frame()
    assert check_funnel_conservation(table) == []
    assert table["rows_in"][0] == rows.height + rejected.height and table["rows_kept"][-1] == rows.height
    assert {"numbers", "target", "query", "set_name", "reason", "step", "detail"} <= set(rej.columns)
    _, _, only = build_priming(problems, CFG, sets=("all_strategies", "length_matched_dots"),
                               count_sets=("length_matched_dots",))
    dots = rows.filter(pl.col("set_name") == "length_matched_dots").height
    dots_rej = rejected.filter(pl.col("set_name") == "length_matched_dots").height
    assert only.to_frame()["rows_in"][0] == dots + dots_rej and only.to_frame()["rows_kept"][-1] == dots
