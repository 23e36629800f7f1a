"""Countdown search throughput and memory, as ratios against a straightforward recursive search.

The baseline is the textbook way to write a Stream-of-Search DFS: a recursive function that copies
the number list at every step and grows the trace text by string concatenation. For every strategy
of the family this prints traces per second (search + Stream-of-Search linearization) and the
ratio to the baseline's rate, then the peak traced memory of generating the traces (tracemalloc)
against the baseline's. It also checks that the baseline and ``dfs_sum`` agree on solved/unsolved
and solution. Runs in well under 60 s; ``--quick`` is the CI size.

    python benchmarks/countdown_search.py [--quick] [--problems N]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.countdown.config import STRATEGIES, CountdownConfig  # noqa: E402
from pipelines.countdown.linearize import linearize  # noqa: E402
from pipelines.countdown.problems import build_problems, generate_candidates  # noqa: E402
from pipelines.countdown.traces import run_one  # noqa: E402


def naive_dfs(target, nums, budget, ops=None, text="", counter=None):
    """Recursive DFS with list copies and string concatenation (the baseline). Returns (ops|None, text)."""
    ops = ops or []
    counter = counter if counter is not None else [0]
    text += f"Current State: {target}:{nums}, Operations: {ops}\n"
    kids = []
    for i in range(len(nums)):
        for j in range(i + 1, len(nums)):
            a, b = nums[i], nums[j]
            rest = [nums[k] for k in range(len(nums)) if k not in (i, j)]
            hi, lo = max(a, b), min(a, b)
            results = [(a + b, f"{a}+{b}={a + b}"), (a * b, f"{a}*{b}={a * b}"), (hi - lo, f"{hi}-{lo}={hi - lo}")]
            if lo and hi % lo == 0:
                results.append((hi // lo, f"{hi}/{lo}={hi // lo}"))
            for value, op in results:
                if counter[0] >= budget:
                    return None, text + "Search budget exhausted\n"
                counter[0] += 1
                new = rest + [value]
                h = abs(new[0] - target) if len(new) == 1 else sum(abs(n - target) for n in new) / len(new)
                text += f"Exploring Operation: {op}, Resulting Numbers: {new}\n"
                kids.append((h, len(kids), new, op))
    kids.sort()
    for h, _, new, op in kids:
        if h > target:
            continue
        if len(new) == 1:
            if new[0] == target:
                return ops + [op], text + f"{new[0]},{target} equal: Goal Reached\n"
            text += f"{new[0]},{target} unequal: No Solution\n"
            continue
        found, text = naive_dfs(target, new, budget, ops + [op], text, counter)
        if found:
            return found, text
        if "Search budget exhausted" in text[-40:]:
            return None, text
        text += f"Moving back to {nums}\n"
    return None, text


def timed(fn, problems, seconds: float) -> tuple[float, int]:
    """Traces per second over repeated passes until ``seconds`` have elapsed (at least one pass)."""
    n, start = 0, time.perf_counter()
    while True:
        for p in problems:
            fn(p)
            n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed, n


def peak_memory(fn, problems) -> int:
    tracemalloc.start()
    kept = [fn(p) for p in problems]  # keep the outputs: memory of the generation, not of one trace
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return peak


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI size (a few seconds)")
    ap.add_argument("--problems", type=int, default=None)
    args = ap.parse_args(argv)
    n = args.problems or (40 if args.quick else 120)
    seconds = 0.2 if args.quick else 1.0
    cfg = CountdownConfig(n_problems=max(4 * n, 100), traces_per_strategy=n)
    problems, _, _ = build_problems(generate_candidates(cfg), cfg)
    rows = problems.filter(problems["split"] == "train").head(n).to_dicts()

    def baseline(p):
        return naive_dfs(p["target"], list(p["numbers"]), cfg.node_budget)

    disagreements = 0
    for p in rows:
        ours = run_one("dfs_sum", p, cfg)
        found, _ = baseline(p)
        if (found or []) != ours.solution:
            disagreements += 1

    base_rate, _ = timed(baseline, rows, seconds)
    base_mem = peak_memory(baseline, rows)
    print(f"countdown search benchmark: {len(rows)} problems, budget {cfg.node_budget} nodes, "
          f"baseline = recursive DFS with list copies + string concatenation")
    print(f"baseline: {base_rate:,.0f} traces/s, peak memory {base_mem / 1e6:.2f} MB "
          f"(dfs_sum and baseline disagree on {disagreements} of {len(rows)} problems)")
    print(f"{'strategy':<14}{'traces/s':>12}{'x baseline':>12}{'peak MB':>10}{'mem x base':>12}{'solved':>9}")
    for name in sorted(STRATEGIES):
        def ours(p, name=name):
            trace = run_one(name, p, cfg)
            return trace, linearize(trace)

        rate, _ = timed(ours, rows, seconds)
        mem = peak_memory(ours, rows)
        solved = sum(run_one(name, p, cfg).solved for p in rows) / len(rows)
        print(f"{name:<14}{rate:>12,.0f}{rate / base_rate:>12.2f}{mem / 1e6:>10.2f}{mem / base_mem:>12.2f}{solved:>9.1%}")
    return 0 if disagreements == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
