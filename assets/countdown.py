"""Countdown: problems, symbolic search traces (Meta-CoT / Stream of Search) and behavior-controlled
priming sets (cognitive-behaviors paper), all generated here with no LLM, no network and no GPU."""


import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    MetadataValue,
    Output,
    asset_check,
    StaticPartitionsDefinition,
    asset,
    multi_asset,
)

from assets.conservation import CHECK_NAME as CHECK_ON_DISK, conservation_check
from assets.engine_resource import EngineResource
from assets.metadata import asset_surface, frame_metadata, image_metadata, markdown_table
from assets.resources import FoundryResource
from pipelines.countdown.distributed import build_traces_on_engine
from pipelines.core.plots import funnel_plot
from pipelines.countdown.config import STRATEGIES, CountdownConfig
from pipelines.countdown.priming import PRIMING_SETS, build_priming, detector_agreement
from pipelines.countdown.problems import build_problems, generate_candidates, heldout_targets
from pipelines.countdown.traces import strategy_summary
from validators import countdown as rules
from validators.common import gx_check, row_conservation, to_check_result, unique_values

FAMILY = "countdown"
GROUP = "countdown"

PROBLEMS = AssetKey("countdown_problems")
REJECTED = AssetKey("countdown_rejected")
FUNNEL = AssetKey("countdown_funnel")
TRACES = AssetKey("countdown_search_traces")
PRIMING = AssetKey("countdown_priming_sets")
PRIMING_REJECTED = AssetKey("countdown_priming_rejected")
PRIMING_FUNNEL = AssetKey("countdown_priming_funnel")

CHECK_CONSERVATION = "row_conservation"
CHECK_UNIQUE_ID = "unique_problem_id"
CHECK_SOLUTIONS = "solutions_verify_with_reward"
CHECK_HELDOUT = "heldout_targets_disjoint"
CHECK_TRACE_SOLUTIONS = "trace_solutions_verify_with_reward"
CHECK_STRATEGIES = "every_strategy_present"
CHECK_SET_RULES = "behavior_counts_match_set_definitions"
CHECK_ANSWERS = "answers_correct_and_wrong_answer_fails"
CHECK_REPEATS = "no_verbatim_repeats"
CHECK_DETECTOR = "detector_agrees_with_generator"
CHECK_GX_PROBLEMS = "gx_countdown_problems_suite"
CHECK_GX_TRACES = "gx_countdown_traces_suite"
CHECK_GX_PRIMING = "gx_countdown_priming_suite"


def countdown_config(foundry: FoundryResource) -> CountdownConfig:
    return foundry.profile().countdown


# one partition per search strategy and per priming set: a strategy or a set can be rebuilt alone
STRATEGY_PARTITIONS = StaticPartitionsDefinition(list(STRATEGIES))
PRIMING_SET_PARTITIONS = StaticPartitionsDefinition(list(PRIMING_SETS))


def _selected(context: AssetExecutionContext, key: AssetKey) -> bool:
    return key in context.selected_asset_keys


@multi_asset(
    outs={
        PROBLEMS.path[-1]: AssetOut(
            is_required=False, key=PROBLEMS, **asset_surface(FAMILY, "problems", automate=False),
            description="Countdown problems: numbers, target, split (train / val / test_heldout — held-out targets "
                        "never appear in train or val), one solution found by exhaustive search, and the "
                        "TinyZero / cognitive-behaviors prompt (`<think>`, `<answer>`). Generated from the seed in "
                        "the profile's Countdown config; sorted by problem_id."),
        REJECTED.path[-1]: AssetOut(
            is_required=False, key=REJECTED, **asset_surface(FAMILY, "rejected", automate=False),
            description="Generated candidates dropped on the way, with `reason` (malformed, duplicate, unsolvable), "
                        "`step` and `detail`."),
        FUNNEL.path[-1]: AssetOut(
            is_required=False, key=FUNNEL, **asset_surface(FAMILY, "funnel", automate=False),
            description="The funnel of problem generation: step, rows in, kept, rejected, count per reason."),
    },
    check_specs=[
        AssetCheckSpec(CHECK_CONSERVATION, asset=PROBLEMS, blocking=True,
                       description="every generated candidate is kept or rejected exactly once"),
        AssetCheckSpec(CHECK_UNIQUE_ID, asset=PROBLEMS, blocking=True, description="problem_id is unique and never null"),
        AssetCheckSpec(CHECK_SOLUTIONS, asset=PROBLEMS, blocking=True,
                       description="every stored solution scores 1.0 with the reward function"),
        AssetCheckSpec(CHECK_HELDOUT, asset=PROBLEMS, blocking=True,
                       description="train/val and test_heldout share no target"),
    ],
    group_name=GROUP,
    can_subset=True,  # generation is one pass, but each table is written only when selected
)
def countdown_problems(context: AssetExecutionContext, foundry: FoundryResource):
    """Generates candidates once; writes only the selected tables (problems, rejected, funnel)."""
    cfg = countdown_config(foundry)
    candidates = generate_candidates(cfg)
    problems, rejected, funnel = build_problems(candidates, cfg)
    funnel_frame = funnel.to_frame()
    context.log.info(f"{problems.height} problems kept of {candidates.height} candidates")
    if _selected(context, PROBLEMS):
        splits = problems.group_by("split").len().sort("split")
        yield Output(problems, output_name=PROBLEMS.path[-1], metadata={
            **frame_metadata(problems, ["problem_id", "split", "numbers", "target", "solution_expression"]),
            "rows_per_split": MetadataValue.json({s: int(n) for s, n in splits.iter_rows()}),
            "kept_share": MetadataValue.float(problems.height / candidates.height if candidates.height else 0.0),
            "heldout_targets": MetadataValue.json(heldout_targets(cfg)),
            "config": MetadataValue.json({k: v for k, v in cfg.__dict__.items() if k != "strategies"}),
        })
        yield to_check_result(CHECK_CONSERVATION, row_conservation(funnel_frame, candidates.height, problems.height,
                                                                   rejected.height), asset_key=PROBLEMS)
        yield to_check_result(CHECK_UNIQUE_ID, unique_values(problems, "problem_id"), asset_key=PROBLEMS)
        yield to_check_result(CHECK_SOLUTIONS, rules.solutions_verify(problems), asset_key=PROBLEMS)
        yield to_check_result(CHECK_HELDOUT, rules.heldout_targets_disjoint(problems), asset_key=PROBLEMS)
    if _selected(context, REJECTED):
        yield Output(rejected, output_name=REJECTED.path[-1], metadata={
            **frame_metadata(rejected, ["candidate", "numbers", "target", "reason", "detail"]),
            "rejected_by_reason": MetadataValue.json(funnel.rejected_by_reason()),
        })
    if _selected(context, FUNNEL):
        png = funnel_plot(funnel_frame, foundry.artifact_dir(FAMILY) / "countdown_funnel.png", "Countdown problems")
        yield Output(funnel_frame, output_name=FUNNEL.path[-1], metadata={
            "dagster/row_count": MetadataValue.int(funnel_frame.height),
            "preview": MetadataValue.md(markdown_table(funnel_frame, rows=50, width=30)),
            **image_metadata(png, "funnel_plot"),
        })


@asset(
    key=TRACES, group_name=GROUP, partitions_def=STRATEGY_PARTITIONS, metadata={"partition_by": "strategy"},
    **asset_surface(FAMILY, "traces"),
    check_specs=[
        AssetCheckSpec(CHECK_TRACE_SOLUTIONS, asset=TRACES, blocking=True,
                       description="every solved trace's solution and every optimal path scores 1.0 with the reward"),
        AssetCheckSpec(CHECK_STRATEGIES, asset=TRACES, blocking=True,
                       description="the partition's strategy produced traces"),
        AssetCheckSpec(CHECK_GX_TRACES, asset=TRACES,
                       description="Great Expectations suite of the search traces (strategies, ratings, SoS text)"),
    ],
)
def countdown_search_traces(context: AssetExecutionContext, foundry: FoundryResource, engine: EngineResource,
                            countdown_problems: pl.DataFrame):
    """Search traces (Meta-CoT / Stream of Search), one partition per strategy: DFS and BFS beams of
    several widths with the sum and factor heuristics, A*, MCTS, all run on the same train problems.
    Each row has the tree (nodes, events: expand, generate, prune, dead_end, backtrack, rollout, goal),
    its Stream-of-Search linearization (`search_text`), the optimal path, solved or not, nodes expanded
    and the rating. Backfill one strategy alone: `--partition <strategy>`."""
    cfg = countdown_config(foundry)
    strategy = context.partition_key
    with engine.open() as eng:  # chunks of problems as engine tasks; the same rows as build_traces
        traces = build_traces_on_engine(countdown_problems, cfg, eng, strategies=(strategy,))
    summary = strategy_summary(traces)
    solve_rate = float(traces.get_column("solved").mean() or 0.0) if traces.height else 0.0
    context.log.info(f"{traces.height} traces of strategy {strategy}")
    yield Output(traces, metadata={
        **frame_metadata(traces, ["strategy", "problem_id", "numbers", "target", "solved", "nodes_expanded",
                                  "solution_expression"]),
        "per_strategy": MetadataValue.md(markdown_table(summary, rows=100, width=20)),
        "solve_rate": MetadataValue.float(round(solve_rate, 4)),
    })
    yield to_check_result(CHECK_TRACE_SOLUTIONS, rules.trace_solutions_verify(traces), asset_key=TRACES)
    yield to_check_result(CHECK_STRATEGIES, rules.every_strategy_present(traces, (strategy,)), asset_key=TRACES)
    frame = traces.drop("tree_nodes", "tree_events")  # GX never looks inside the tree
    yield _gx_result(gx_check(frame, rules.TRACES_SUITE, rules.traces_expectations()), CHECK_GX_TRACES, TRACES)


def _gx_result(result: AssetCheckResult, name: str, key: AssetKey) -> AssetCheckResult:
    """A GX result (built by ``gx_check`` for a standalone check) named for a ``check_specs`` entry."""
    return AssetCheckResult(passed=result.passed, metadata=result.metadata, severity=result.severity,
                            check_name=name, asset_key=key)


@multi_asset(
    ins={"countdown_problems": AssetIn(PROBLEMS)},
    outs={
        PRIMING.path[-1]: AssetOut(
            is_required=False, key=PRIMING, metadata={"partition_by": "set_name"}, **asset_surface(FAMILY, "priming"),
            description="Behavior-controlled priming sets (cognitive-behaviors paper) written from a symbolic "
                        "search, not an LLM, one partition per set: all_strategies, only_backtracking, "
                        "backtracking_verification, backtracking_backward, backtracking_subgoal, negative_control, "
                        "and the controls empty_thinking, length_matched_dots and wrong_answer. Each row: query, "
                        "completion (`…</think><answer>…</answer>`), the exact count of each behavior the generator "
                        "wrote (`n_*`) and the shared detector's count (`detected_*`)."),
        PRIMING_REJECTED.path[-1]: AssetOut(
            is_required=False, key=PRIMING_REJECTED, metadata={"partition_by": "set_name"}, **asset_surface(FAMILY, "rejected"),
            description="Problems a priming set could not use (no dead end to backtrack from, no solution within "
                        "the search budget) or verbatim repeats: the problem's columns and `set_name`, with "
                        "`reason`, `step` and `detail`; one partition per set."),
        PRIMING_FUNNEL.path[-1]: AssetOut(
            is_required=False, key=PRIMING_FUNNEL, metadata={"partition_by": "set_name"},
            **asset_surface(FAMILY, "funnel"),
            description="The funnel of one priming set over every problem tried for it: usable_trace, then "
                        "no_verbatim_repeat; rows in, kept, rejected, count per reason. One partition per set."),
    },
    check_specs=[
        AssetCheckSpec(CHECK_SET_RULES, asset=PRIMING, blocking=True,
                       description="each set has exactly its behaviors (e.g. only_backtracking has zero verification)"),
        AssetCheckSpec(CHECK_ANSWERS, asset=PRIMING, blocking=True,
                       description="re-scored with the reward: correct sets score 1.0, wrong_answer rows all fail"),
        AssetCheckSpec(CHECK_REPEATS, asset=PRIMING, blocking=True, description="no row repeats another verbatim"),
        AssetCheckSpec(CHECK_DETECTOR, asset=PRIMING,
                       description="the shared behavior detector agrees with the generator's counts"),
        AssetCheckSpec(CHECK_GX_PRIMING, asset=PRIMING,
                       description="Great Expectations suite of the priming sets (set names, answer format, counts)"),
    ],
    group_name=GROUP,
    partitions_def=PRIMING_SET_PARTITIONS,
    can_subset=True,
)
def countdown_priming_sets(context: AssetExecutionContext, foundry: FoundryResource,
                           countdown_problems: pl.DataFrame):
    """Builds one priming set (the partition) and writes the selected tables: its rows, its rejects."""
    cfg = countdown_config(foundry)
    set_name = context.partition_key
    # length_matched_dots copies the length of all_strategies' thinking, so it is built beside it
    sets = ("all_strategies", set_name) if set_name == "length_matched_dots" else (set_name,)
    rows, rejected, funnel = build_priming(countdown_problems, cfg, sets=sets, count_sets=(set_name,))
    funnel_frame = funnel.to_frame()
    rows = rows.filter(pl.col("set_name") == set_name)
    rejected = rejected.filter(pl.col("set_name") == set_name)
    if _selected(context, PRIMING):
        per_set = rows.group_by("set_name").agg(
            pl.len().alias("rows"), *[pl.col(f"n_{b}").sum().alias(b) for b in
                                      ("verification", "backtracking", "subgoal_setting", "backward_chaining")],
            pl.col("answer_correct").mean().round(3).alias("correct_share"),
            pl.col("thinking_chars").mean().round(1).alias("mean_thinking_chars"),
        ).sort("set_name")
        agreement = detector_agreement(rows)
        yield Output(rows, output_name=PRIMING.path[-1], metadata={
            **frame_metadata(rows, ["set_name", "target", "completion", "n_verification", "n_backtracking",
                                    "n_subgoal_setting", "n_backward_chaining"]),
            "per_set": MetadataValue.md(markdown_table(per_set, rows=20, width=26)),
            "detector_agreement": MetadataValue.json(agreement),
            "detector_agreement_share": MetadataValue.float(float(agreement.get("overall", 0.0))),
        })
        yield to_check_result(CHECK_SET_RULES, rules.priming_counts_match_definitions(rows, (set_name,)), asset_key=PRIMING)
        yield to_check_result(CHECK_ANSWERS, rules.priming_answers(rows), asset_key=PRIMING)
        yield to_check_result(CHECK_REPEATS, rules.no_verbatim_repeats(rows), asset_key=PRIMING)
        yield to_check_result(CHECK_DETECTOR, rules.detector_agreement(rows), asset_key=PRIMING,
                              severity=AssetCheckSeverity.WARN)
        yield _gx_result(gx_check(rows, rules.PRIMING_SUITE, rules.priming_expectations()), CHECK_GX_PRIMING, PRIMING)
    if _selected(context, PRIMING_REJECTED):
        yield Output(rejected, output_name=PRIMING_REJECTED.path[-1], metadata={
            **frame_metadata(rejected, ["set_name", "problem_id", "reason", "step", "detail"]),
            "rejected_by_reason": MetadataValue.json(funnel.rejected_by_reason()),
        })
    if _selected(context, PRIMING_FUNNEL):
        yield Output(funnel_frame, output_name=PRIMING_FUNNEL.path[-1], metadata={
            "dagster/row_count": MetadataValue.int(funnel_frame.height),
            "preview": MetadataValue.md(markdown_table(funnel_frame, rows=50, width=30)),
        })


@asset_check(asset=PROBLEMS, name=CHECK_GX_PROBLEMS, blocking=True,
             description="Great Expectations suite of the problems (ids, splits, target range, prompt tags)")
def gx_countdown_problems(foundry: FoundryResource, countdown_problems: pl.DataFrame) -> AssetCheckResult:
    cfg = countdown_config(foundry)
    return gx_check(countdown_problems, rules.PROBLEMS_SUITE, rules.problems_expectations(cfg))


# The row contract on disk. The inputs (generated candidates, (set, problem) pairs tried) live in
# memory only, so the rows read are the funnel's first input (summed over the priming funnel's
# partitions); kept and rejected files must add up to it and to the funnel's last kept and total rejected.
countdown_problems_conservation = conservation_check(
    asset=PROBLEMS, kept=[PROBLEMS], rejected=[REJECTED], funnel=FUNNEL,
    description="candidates generated = countdown_problems + countdown_rejected rows, counted in the Parquet files "
                "written (and countdown_funnel on disk agrees)")
countdown_priming_conservation = conservation_check(
    asset=PRIMING, kept=[PRIMING], rejected=[PRIMING_REJECTED], funnel=PRIMING_FUNNEL,
    description="(set, problem) pairs tried = countdown_priming_sets + countdown_priming_rejected rows, counted in "
                "the Parquet files written, every set written (and countdown_priming_funnel on disk agrees)")
