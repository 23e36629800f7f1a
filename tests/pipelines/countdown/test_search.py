import pytest

from pipelines.countdown.config import STRATEGIES, CountdownConfig
from pipelines.countdown.linearize import linearize, linearize_path
from pipelines.countdown.reward import score_completion
from pipelines.countdown.search import (astar, bfs, combine, dfs, factors, mcts, mult_heuristic, ops_to_expression,
                                        run_strategy, successors, sum_heuristic)

CFG = CountdownConfig()


def _run(name, numbers, target, budget=2000, iterations=2000):
    algorithm, heuristic, beam = STRATEGIES[name]
    return run_strategy(name, numbers, target, algorithm=algorithm, heuristic=heuristic, beam=beam, budget=budget,
                        mcts_iterations=iterations, mcts_exploration=1.4, seed=7)


def _verifies(trace):
    expr = ops_to_expression(trace.numbers, trace.solution)
    return score_completion(f"<answer>{expr}</answer>", trace.numbers, trace.target).score == 1.0


def test_operations_follow_stream_of_search_rules():
    assert combine(6, 3) == [(9, "6+3=9"), (18, "6*3=18"), (3, "6-3=3"), (2, "6/3=2")]
    assert combine(3, 7) == [(10, "3+7=10"), (21, "3*7=21"), (4, "7-3=4")]  # no inexact division, no negatives
    assert len(successors((1, 2, 3))) == 3 * 4 - 1  # 2/1 divides, 3/1 divides, 3/2 does not


def test_heuristics():
    assert sum_heuristic((10, 4), 24) == (14 + 20) / 2
    assert sum_heuristic((24,), 24) == 0
    assert factors(12) == (1, 2, 3, 4, 6, 12)
    assert mult_heuristic((5, 100), 12) == 1  # 5 is one away from the factor 4 (and 6)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("numbers, target", [((2, 3), 6), ((1, 2, 3, 4), 24), ((10, 4, 3, 2), 24)])
def test_every_strategy_solves_small_known_cases(name, numbers, target):
    trace = _run(name, numbers, target)
    greedy = STRATEGIES[name][0] in ("bfs", "sos_bfs")  # both cut children to a beam
    if greedy and len(numbers) > 2:  # a beam may prune every solution away; it must then say so
        assert trace.solved == ("Goal Reached" in linearize(trace))
        assert not trace.solved or _verifies(trace)
        return
    assert trace.solved, name
    assert len(trace.solution) == len(numbers) - 1 and _verifies(trace)
    assert trace.nodes_expanded >= 1 and 0 < trace.rating() <= 1
    text = linearize(trace)
    assert text.startswith(f"Current State: {target}:[") and text.rstrip().endswith("Goal Reached")


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_unsolvable_is_reported_not_solved(name):
    trace = _run(name, (1, 1, 1, 1), 100, budget=3000, iterations=300)
    assert not trace.solved and trace.solution == [] and trace.rating() == 0
    assert "No Solution" in linearize(trace) and "Goal Reached" not in linearize(trace)


def test_dfs_backtracks_and_records_the_tree():
    trace = dfs((10, 4, 3, 2), 24, "sum", budget=5000, threshold=None)
    assert trace.solved and _verifies(trace)
    kinds = [k for k, _, _ in trace.events]
    assert kinds.count("dead_end") > 0 and trace.backtracks > 0
    assert kinds[-1] == "goal" and trace.goal == trace.events[-1][1]
    assert all(n.parent < n.id for n in trace.nodes[1:])
    assert all(0 <= nid < len(trace.nodes) for _, nid, _ in trace.events)
    leaves = trace.leaves()
    assert leaves[-1][2] and not any(reached for _, _, reached in leaves[:-1])
    assert "Moving to Node #0," in linearize(trace)


def test_dfs_threshold_prunes():
    pruned = dfs((44, 19, 35, 2), 98, "sum", budget=5000, threshold=98)
    assert any(k == "prune" for k, _, _ in pruned.events)


def test_budget_stops_search():
    trace = bfs((10, 4, 3, 2), 24, "sum", beam=5, budget=10)
    assert trace.nodes_generated <= 10 and not trace.solved
    assert "Search budget exhausted" in linearize(trace)


def test_wider_beams_explore_more():
    narrow = bfs((44, 19, 35, 2), 98, "sum", beam=1, budget=5000)
    wide = bfs((44, 19, 35, 2), 98, "sum", beam=5, budget=5000)
    assert wide.nodes_expanded > narrow.nodes_expanded


def test_astar_and_mcts():
    a = astar((10, 4, 3, 2), 24, "mult", budget=2000)
    assert a.solved and _verifies(a)
    m1 = mcts((10, 4, 3, 2), 24, iterations=500, seed=3)
    m2 = mcts((10, 4, 3, 2), 24, iterations=500, seed=3)
    assert m1.solved and _verifies(m1) and linearize(m1) == linearize(m2)
    assert "Rollout Operation" in linearize(m1)


def test_ops_to_expression_and_optimal_path_text():
    assert ops_to_expression((10, 4, 3, 2), ["10*3=30", "4+2=6", "30-6=24"]) == "(10 * 3) - (4 + 2)"
    assert ops_to_expression((5,), []) == "5"
    with pytest.raises(ValueError):
        ops_to_expression((1, 2, 3), ["1+2=3"])
    text = linearize_path((10, 4, 3, 2), 24, ["10*3=30", "4+2=6", "30-6=24"])
    assert text.splitlines()[0] == "Current State: 24:[10, 4, 3, 2], Operations: []"
    assert text.endswith("24,24 equal: Goal Reached")
    with pytest.raises(ValueError):
        linearize_path((10, 4), 24, ["10*5=50"])


@pytest.mark.parametrize("beam", [1, 3, 5])
def test_sum_beams_solve_a_known_case(beam):
    trace = bfs((1, 2, 3, 4), 24, "sum", beam=beam, budget=2000)
    assert trace.solved and _verifies(trace)


@pytest.mark.parametrize("nums, target", [((10, 4, 3, 2), 24), ((44, 19, 35, 2), 98), ((7, 0, 7), 0), ((6, 3), 1)])
def test_compact_successors_match_successors(nums, target):
    from pipelines.countdown.search import HEURISTICS, moves, op_text, scored_successors

    states, codes = moves(nums)
    assert [(s, op_text(nums, c, s[-1])) for s, c in zip(states, codes)] == successors(nums)
    for name, h in HEURISTICS.items():
        scored_states, scored_codes, hs = scored_successors(nums, target, name)
        assert (scored_states, scored_codes) == (states, codes)
        assert hs == [h(s, target) for s in states]


def test_trace_views_read_back_the_columns():
    trace = mcts((10, 4, 3, 2), 24, iterations=200, seed=1)
    nodes = trace.nodes
    assert len(nodes) == len(trace.nums) and nodes[0].label == "0" and nodes[0].op == ""
    for node in nodes[1:]:
        parent = nodes[node.parent]
        assert node.depth == parent.depth + 1 and node.label.startswith(parent.label + ",")
        assert (node.nums, node.op) in successors(parent.nums)
    assert list(trace.events)[-1] == trace.events[-1] and trace.events[-1][0] in ("goal", "budget")
