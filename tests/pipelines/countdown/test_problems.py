import polars as pl

from pipelines.countdown import reasons
from pipelines.countdown.config import CountdownConfig
from pipelines.countdown.problems import (build_problems, final_values, generate_candidates, heldout_targets,
                                          is_solvable, query, solve)
from pipelines.countdown.reward import score_completion
from pipelines.countdown.search import ops_to_expression
from pipelines.core.steps import check_funnel_conservation

CFG = CountdownConfig(n_problems=300, target_from_reachable=False, heldout_target_fraction=0.2, seed=3)


def test_exhaustive_solvability():
    assert is_solvable([10, 4, 3, 2], 24)
    assert not is_solvable([1, 1, 1, 1], 100)
    assert final_values((2, 3)) == frozenset({5, 6, 1})
    ops = solve([25, 5, 4, 7], 41)
    expr = ops_to_expression([25, 5, 4, 7], ops)
    assert score_completion(f"<answer>{expr}</answer>", [25, 5, 4, 7], 41).correct
    assert solve([1, 1, 1, 1], 100) is None


def test_build_problems_accounts_for_every_candidate():
    candidates = generate_candidates(CFG)
    candidates = pl.concat([candidates, candidates.head(3).with_columns(pl.col("candidate") + 1000),
                            pl.DataFrame({"candidate": [2000], "numbers": [[1, 2]], "target": [50]},
                                         schema=candidates.schema)])
    problems, rejected, funnel = build_problems(candidates, CFG)
    assert problems.height + rejected.height == candidates.height
    assert check_funnel_conservation(funnel.to_frame()) == []
    by_reason = funnel.rejected_by_reason()
    assert by_reason[reasons.DUPLICATE] >= 3 and by_reason[reasons.MALFORMED] == 1
    assert by_reason[reasons.UNSOLVABLE] > 0  # uniform targets: many cannot be reached
    assert problems["problem_id"].n_unique() == problems.height
    assert problems["problem_id"].to_list() == sorted(problems["problem_id"].to_list())
    for nums, target, expr in problems.select("numbers", "target", "solution_expression").iter_rows():
        assert score_completion(f"<answer>{expr}</answer>", nums, target).score == 1.0


def test_heldout_split_shares_no_target():
    problems, _, _ = build_problems(generate_candidates(CFG), CFG)
    held = set(heldout_targets(CFG))
    test = problems.filter(pl.col("split") == "test_heldout")
    rest = problems.filter(pl.col("split") != "test_heldout")
    assert test.height > 0 and set(test["target"]) <= held
    assert not set(rest["target"]) & held
    assert set(problems["split"]) == {"train", "val", "test_heldout"}


def test_generation_is_deterministic_and_seeded():
    a, _, _ = build_problems(generate_candidates(CFG), CFG)
    b, _, _ = build_problems(generate_candidates(CFG), CFG)
    c, _, _ = build_problems(generate_candidates(CFG.with_(seed=4)), CFG.with_(seed=4))
    assert a.equals(b) and not a.equals(c)


def test_reachable_targets_are_all_solvable():
    cfg = CountdownConfig(n_problems=200)
    _, rejected, funnel = build_problems(generate_candidates(cfg), cfg)
    assert reasons.UNSOLVABLE not in funnel.rejected_by_reason()


def test_query_template():
    q = query([1, 2, 3], 6)
    assert "Using the numbers [1, 2, 3], create an equation that equals 6." in q
    assert "<answer> (1 + 2) / 3 </answer>" in q and q.endswith("<think>")
