import polars as pl
import pytest

from pipelines.countdown.config import CountdownConfig
from pipelines.countdown.priming import build_priming_sets
from pipelines.countdown.problems import build_problems, generate_candidates
from pipelines.countdown.traces import build_traces
from validators import countdown as rules
from validators.gx import validate_frame

CFG = CountdownConfig(n_problems=150, traces_per_strategy=2, priming_rows=4, node_budget=200, mcts_iterations=50)


@pytest.fixture(scope="module")
def data():
    problems, _, _ = build_problems(generate_candidates(CFG), CFG)
    traces = build_traces(problems, CFG)
    rows, _ = build_priming_sets(problems, CFG)
    return problems, traces, rows


def test_good_data_passes_every_rule(data):
    problems, traces, rows = data
    assert rules.solutions_verify(problems)[0]
    assert rules.heldout_targets_disjoint(problems)[0]
    assert rules.trace_solutions_verify(traces)[0]
    assert rules.every_strategy_present(traces, CFG.strategies)[0]
    assert rules.priming_counts_match_definitions(rows)[0]
    assert rules.priming_answers(rows)[0]
    assert rules.no_verbatim_repeats(rows)[0]
    assert rules.detector_agreement(rows)[0]


def test_bad_solution_is_caught(data):
    problems, _, _ = data
    bad = problems.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("1 + 1"))
                                .otherwise(pl.col("solution_expression")).alias("solution_expression"))
    ok, meta = rules.solutions_verify(bad)
    assert not ok and meta["failing"] == 1


def test_leaked_heldout_target_is_caught(data):
    problems, _, _ = data
    held = problems.filter(pl.col("split") == "test_heldout")["target"][0]
    leaked = problems.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(held))
                                   .otherwise(pl.col("target")).alias("target"))
    leaked = leaked.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("train"))
                                 .otherwise(pl.col("split")).alias("split"))
    ok, meta = rules.heldout_targets_disjoint(leaked)
    assert not ok and str(held) in meta["shared_targets"]


def test_bad_trace_claim_is_caught(data):
    _, traces, _ = data
    solved = traces.filter(pl.col("solved")).head(1).with_columns(pl.lit("1 + 2").alias("solution_expression"))
    ok, meta = rules.trace_solutions_verify(solved)
    assert not ok and meta["failing"] == 1
    ok, meta = rules.every_strategy_present(traces.filter(pl.col("strategy") != "mcts"), CFG.strategies)
    assert not ok and meta["missing"] == "mcts"


def test_set_rule_violations_are_caught(data):
    _, _, rows = data
    bad = rows.with_columns(pl.when(pl.col("set_name") == "only_backtracking").then(1)
                            .otherwise(pl.col("n_verification")).alias("n_verification"))
    ok, meta = rules.priming_counts_match_definitions(bad)
    assert not ok and "only_backtracking" in meta["problems"]
    ok, meta = rules.priming_counts_match_definitions(rows.filter(pl.col("set_name") != "wrong_answer"))
    assert not ok and "wrong_answer" in meta["problems"]


def test_answer_and_repeat_violations_are_caught(data):
    _, _, rows = data
    right = rows.filter(pl.col("set_name") == "all_strategies").head(1)
    wrong_passing = right.with_columns(pl.lit("wrong_answer").alias("set_name"))
    ok, meta = rules.priming_answers(pl.concat([rows, wrong_passing]))
    assert not ok and meta["wrong_rows_passing"] == 1
    ok, meta = rules.no_verbatim_repeats(pl.concat([rows, right]))
    assert not ok and meta["duplicate_rows"] == 1
    disagree = rows.with_columns(pl.lit(False).alias("detector_agrees"))
    assert not rules.detector_agreement(disagree)[0]


def test_gx_suites_pass_on_good_data(data):
    problems, traces, rows = data
    assert validate_frame(problems, rules.PROBLEMS_SUITE, rules.problems_expectations(CFG))[0]
    assert validate_frame(traces.drop("tree_nodes", "tree_events"), rules.TRACES_SUITE, rules.traces_expectations())[0]
    ok, meta = validate_frame(rows, rules.PRIMING_SUITE, rules.priming_expectations())
    assert ok, meta["failed"]
    bad = rows.with_columns(pl.lit("bogus_set").alias("set_name"))
    assert not validate_frame(bad, rules.PRIMING_SUITE, rules.priming_expectations())[0]
