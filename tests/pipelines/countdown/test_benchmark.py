import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "countdown_search.py"


def test_benchmark_runs_and_holds_parity_with_the_reference(capsys):
    spec = importlib.util.spec_from_file_location("countdown_search_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # non-zero when an SoS-compatible strategy and the reference semantics differ in outcome or text
    assert bench.main(["--quick", "--problems", "5"]) == 0
    out = capsys.readouterr().out
    assert "x reference" in out and "mcts" in out and "sos_dfs_sum" in out and "bfs_level_mult_b5" in out
    assert "parity: the SoS-compatible strategies solve the same problems" in out


def test_benchmark_engine_figure_is_labelled_wall_clock(capsys):
    spec = importlib.util.spec_from_file_location("countdown_search_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # one worker runs in this process: the code path without a pool's start-up
    assert bench.main(["--quick", "--problems", "3", "--engine-workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "WALL clock, not per CPU second" in out and "x reference (wall)" in out
