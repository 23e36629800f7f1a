"""Search traces for every configured strategy over the same problems, as rows.

Each row: the strategy and its settings, solved or not, nodes expanded/generated, backtracks, the
Stream-of-Search rating, the solution (operations and infix expression), the optimal path of the
exhaustive solver (operations, expression, text), the Stream-of-Search linearization of the whole
search, and the tree itself (``tree_nodes``: id, parent, numbers, operation, depth, heuristic;
``tree_events``: kind and node id, in order).
"""

from __future__ import annotations

import polars as pl

from pipelines.core.hashing import content_id
from pipelines.countdown.config import STRATEGIES, CountdownConfig
from pipelines.countdown.linearize import linearize, linearize_path
from pipelines.countdown.search import EVENT_KINDS, SearchTrace, ops_to_expression, run_strategy

NODE_STRUCT = pl.Struct({"id": pl.Int64, "parent": pl.Int64, "numbers": pl.List(pl.Int64), "op": pl.Utf8,
                         "depth": pl.Int64, "h": pl.Float64})
EVENT_STRUCT = pl.Struct({"kind": pl.Utf8, "node": pl.Int64})
SCHEMA = {
    "trace_id": pl.Utf8, "problem_id": pl.Utf8, "strategy": pl.Utf8, "algorithm": pl.Utf8,
    "heuristic": pl.Utf8, "beam_width": pl.Int64, "numbers": pl.List(pl.Int64), "target": pl.Int64,
    "solved": pl.Boolean, "nodes_expanded": pl.Int64, "nodes_generated": pl.Int64, "backtracks": pl.Int64,
    "rating": pl.Float64, "solution_ops": pl.List(pl.Utf8), "solution_expression": pl.Utf8,
    "optimal_ops": pl.List(pl.Utf8), "optimal_expression": pl.Utf8, "optimal_text": pl.Utf8,
    "search_text": pl.Utf8, "tree_nodes": pl.List(NODE_STRUCT), "tree_events": pl.List(EVENT_STRUCT),
}


def trace_problems(problems: pl.DataFrame, cfg: CountdownConfig) -> pl.DataFrame:
    """The problems every strategy searches: the first ``traces_per_strategy`` train problems by id."""
    return problems.filter(pl.col("split") == "train").sort("problem_id").head(cfg.traces_per_strategy)


def problem_seed(problem: dict, cfg: CountdownConfig) -> int:
    """One seed per problem: MCTS's rollouts and the Stream-of-Search BFS's shuffle."""
    return int(content_id("mcts", str(cfg.seed), problem["problem_id"]), 16) % (2**31)


def run_one(name: str, problem: dict, cfg: CountdownConfig) -> SearchTrace:
    algorithm, heuristic, beam = STRATEGIES[name]
    seed = problem_seed(problem, cfg) if algorithm in ("mcts", "sos_bfs") else 0  # the others draw nothing
    return run_strategy(name, problem["numbers"], problem["target"], algorithm=algorithm, heuristic=heuristic,
                        beam=beam, budget=cfg.node_budget, mcts_iterations=cfg.mcts_iterations,
                        mcts_exploration=cfg.mcts_exploration, seed=seed, sos_budget=cfg.sos_node_budget)


def trace_row(trace: SearchTrace, problem: dict, name: str) -> dict:
    algorithm, heuristic, beam = STRATEGIES[name]
    numbers, target = problem["numbers"], problem["target"]
    solution = trace.solution
    n0 = len(trace.numbers)  # depth = numbers used up
    return {
        "trace_id": content_id("countdown-trace", name, problem["problem_id"]),
        "problem_id": problem["problem_id"], "strategy": name, "algorithm": algorithm, "heuristic": heuristic,
        "beam_width": beam or None, "numbers": list(numbers), "target": target, "solved": trace.solved,
        "nodes_expanded": trace.nodes_expanded, "nodes_generated": trace.nodes_generated,
        "backtracks": trace.backtracks, "rating": round(trace.rating(), 6), "solution_ops": solution,
        "solution_expression": ops_to_expression(numbers, solution) if solution else None,
        "optimal_ops": problem["solution_ops"], "optimal_expression": problem["solution_expression"],
        "optimal_text": linearize_path(numbers, target, problem["solution_ops"]),
        "search_text": linearize(trace),
        "tree_nodes": [{"id": i, "parent": parent, "numbers": list(nums), "op": trace.op(i), "depth": n0 - len(nums),
                        "h": h} for i, (parent, nums, h) in enumerate(zip(trace.parents, trace.nums, trace.hs))],
        "tree_events": [{"kind": EVENT_KINDS[k], "node": nid} for k, nid in zip(trace.event_kinds, trace.event_nodes)],
    }


def checked_strategies(cfg: CountdownConfig, strategies: tuple[str, ...] | None = None) -> list[str]:
    """``strategies`` (default: the config's), sorted; an unknown name is a ValueError naming the known ones."""
    strategies = tuple(strategies or cfg.strategies)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; known: {sorted(STRATEGIES)}")
    return sorted(strategies)


def build_traces(problems: pl.DataFrame, cfg: CountdownConfig, strategies: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Run every strategy on :func:`trace_problems`; rows sorted by (strategy, problem_id)."""
    names = checked_strategies(cfg, strategies)
    chosen = trace_problems(problems, cfg)
    rows = []
    for name in names:
        for problem in chosen.iter_rows(named=True):
            rows.append(trace_row(run_one(name, problem, cfg), problem, name))
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    return pl.DataFrame(rows, schema=SCHEMA, orient="row").sort("strategy", "problem_id")


def strategy_summary(traces: pl.DataFrame) -> pl.DataFrame:
    """Per strategy: traces, solve rate, mean nodes expanded, backtracks, rating and text length."""
    return traces.group_by("strategy").agg(
        pl.len().alias("traces"),
        pl.col("solved").mean().round(4).alias("solve_rate"),
        pl.col("nodes_expanded").mean().round(2).alias("mean_nodes_expanded"),
        pl.col("nodes_generated").mean().round(2).alias("mean_nodes_generated"),
        pl.col("backtracks").mean().round(2).alias("mean_backtracks"),
        pl.col("rating").mean().round(4).alias("mean_rating"),
        pl.col("search_text").str.len_chars().mean().round(1).alias("mean_text_chars"),
    ).sort("strategy")
