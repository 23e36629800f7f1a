import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "countdown_search.py"


def test_benchmark_runs_and_baseline_agrees_with_dfs(capsys):
    spec = importlib.util.spec_from_file_location("countdown_search_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--quick", "--problems", "5"]) == 0  # non-zero when baseline and dfs_sum disagree
    out = capsys.readouterr().out
    assert "x baseline" in out and "mcts" in out and "dfs_sum" in out
