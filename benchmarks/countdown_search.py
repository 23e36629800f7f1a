"""Countdown search against Stream of Search's own semantics: same problems, same outcome, speed.

``ref_dfs`` and ``ref_bfs`` below re-implement the behaviour of the Stream-of-Search reference
(Gandhi et al. 2024, kanishkg/stream-of-search, ``src/countdown_dfs.py`` and ``src/countdown_bfs.py``),
written here from that behaviour and in its manner -- a node object per child holding lists of
numbers and operations, the heuristics computed from scratch per child (``mult`` lists the factors
of the target on every call), the trace text grown by string concatenation, the DFS recursing with
the text as an argument and checking it for "Goal Reached" after every child -- so that their speed
stands for the reference's:

- DFS: sum heuristic, children with h > target dropped, the rest in h order (ties in generation
  order), each explored then descended into, the node stated again after every child but the last;
  no budget.
- BFS: one global heap on h; each round pops ``beam`` nodes; each keeps its ``beam`` best children,
  shuffles them, writes them, pushes them back in h order; the heap is never cut.

On the same problems (4 numbers, targets 10-100: the first train problems of a generation with the
sample settings, 4 candidates per problem wanted) the benchmark
checks that our SoS-compatible strategies (``sos_*``) solve exactly the problems the reference
semantics solve and write exactly the same text, then prints traces per second (search + text) of
every strategy, the ratio of each SoS-compatible strategy to the reference's, solve rates, and peak
traced memory. Rates are per CPU second of this process (``time.process_time``: on a shared machine
wall time measures the neighbours too), medians of ``--repeats`` interleaved passes (ours and the
reference's alternate, so cache and frequency effects hit both alike). Exit status 1 when parity fails.

``--engine-workers W`` adds a second, separately labelled figure that is *not* per CPU second: wall
traces/s of ``build_traces_on_engine`` (the local engine, W worker processes, pool started before
timing) against the single-process reference's wall traces/s on the same problems. The engine
builds whole trace rows (tree, events, text, the optimal path) as the pipeline stores them, more
work than the reference's text alone; the figure says what parallelism gives a user, not how fast
one search is.

    python benchmarks/countdown_search.py [--quick] [--problems N] [--repeats R] [--seconds S] [--engine-workers W]
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.countdown.config import SOS_COMPATIBLE, STRATEGIES, CountdownConfig  # noqa: E402
from pipelines.countdown.linearize import linearize  # noqa: E402
from pipelines.countdown.problems import build_problems, generate_candidates  # noqa: E402
from pipelines.countdown.traces import problem_seed, run_one  # noqa: E402


# ------------------------------------------------------------------ the reference's semantics

def ref_operations(a: int, b: int) -> list[tuple[int, str]]:
    """a+b, a*b, the larger minus the smaller, the larger over the smaller when exact; operands of
    the last two written larger first (the first when equal)."""
    big, small = (b, a) if a <= b else (a, b)
    out = [(a + b, f"{a}+{b}={a + b}"), (a * b, f"{a}*{b}={a * b}"), (big - small, f"{big}-{small}={big - small}")]
    if small != 0 and big % small == 0:
        out.append((big // small, f"{big}/{small}={big // small}"))
    return out


def ref_sum(nums: list, target: int):
    if len(nums) == 1:
        return abs(nums[0] - target)
    return sum(abs(n - target) for n in nums) / len(nums)


def ref_mult(nums: list, target: int):
    factors = [f for f in range(2, target + 1) if target % f == 0]
    return sum(min(abs(n - f) for f in factors) for n in nums)


class RefNode:
    def __init__(self, nums: list, ops: list, h, parent=None, idx=None):
        self.nums, self.ops, self.h, self.parent, self.idx = nums, ops, h, parent, idx

    def __lt__(self, other):  # (h, node) pairs: equal h compare equal, as in the reference
        return self.h < other.h


def ref_children(node: RefNode, target: int, heuristic) -> list:
    """(h, child) for every pair i < j and every operation, in that order; the new number last."""
    out = []
    n = len(node.nums)
    for i in range(n):
        for j in range(i + 1, n):
            rest = [node.nums[k] for k in range(n) if k != i and k != j]
            for value, op in ref_operations(node.nums[i], node.nums[j]):
                nums = rest + [value]
                h = heuristic(nums, target)
                out.append((h, RefNode(nums, node.ops + [op], h, node)))
    return out


def _ref_state(target: int, node: RefNode) -> str:
    return f"Current State: {target}:{node.nums}, Operations: {node.ops}\n"


def _ref_dfs_node(target: int, node: RefNode, heuristic, threshold, text: str) -> str:
    text += _ref_state(target, node)
    kids = [kid for kid in ref_children(node, target, heuristic) if threshold is None or kid[0] <= threshold]
    kids.sort()
    for g, (_, kid) in enumerate(kids):
        kid.idx = f"{node.idx},{g}"
        text += f"Exploring Operation: {kid.ops[-1]}, Resulting Numbers: {kid.nums}\n"
        if len(kid.nums) == 1:
            if kid.nums[0] == target:
                return text + f"{kid.nums[0]},{target} equal: Goal Reached\n"
            text += f"{kid.nums[0]},{target} unequal: No Solution\n"
        else:
            text += f"Generated Node #{kid.idx}: {target}:{kid.nums} Operation: {kid.ops[-1]}\n"
            text += f"Moving to Node #{kid.idx}\n"
            text = _ref_dfs_node(target, kid, heuristic, threshold, text)
            if "Goal Reached" in text:
                return text
        if g < len(kids) - 1:
            text += f"Moving to Node #{node.idx}\n" + _ref_state(target, node)
    return text


def ref_dfs(target: int, nums, heuristic=ref_sum, threshold=None) -> str:
    """The reference DFS's text (solved when it contains "Goal Reached")."""
    nums = list(nums)
    return _ref_dfs_node(target, RefNode(nums, [], heuristic(nums, target), idx=0), heuristic, threshold, "")


def ref_bfs(target: int, nums, beam: int, heuristic=ref_mult, rng: random.Random | None = None) -> str:
    """The reference BFS's text; ``rng`` stands for the module-level ``random`` it shuffles with."""
    rng = rng or random.Random(0)
    nums = list(nums)
    root = RefNode(nums, [], heuristic(nums, target), idx=0)
    heap = [(root.h, root)]
    text = ""
    while heap:
        batch = [heapq.heappop(heap) for _ in range(min(beam, len(heap)))]
        for b, (_, node) in enumerate(batch):
            text += _ref_state(target, node)
            kids = ref_children(node, target, heuristic)
            kids.sort()
            kids = kids[:beam]
            rng.shuffle(kids)
            rank = 0
            for _, kid in kids:
                kid.idx = f"{node.idx},{rank}"
                text += f"Exploring Operation: {kid.ops[-1]}, Resulting Numbers: {kid.nums}\n"
                if len(kid.nums) == 1:
                    if kid.nums[0] == target:
                        return text + f"{kid.nums[0]},{target} equal: Goal Reached\n"
                    text += f"{kid.nums[0]},{target} unequal: No Solution\n"
                else:
                    text += f"Generated Node #{kid.idx}: {target}:{kid.nums} Operation: {kid.ops[-1]}\n"
                    rank += 1
            kids.sort()
            for item in kids:
                heapq.heappush(heap, item)
            if b < len(batch) - 1:
                text += f"Moving to Node #{batch[b + 1][1].idx}\n"
        if heap:
            text += f"Moving to Node #{heap[0][1].idx}\n"
    return text + "No solution found."


REF_HEURISTICS = {"sum": ref_sum, "sos_mult": ref_mult}


def reference_text(name: str, problem: dict, cfg: CountdownConfig) -> str:
    """The reference semantics' text for an SoS-compatible strategy on a problem (same seed as ours)."""
    algorithm, heuristic, beam = STRATEGIES[name]
    target, numbers = problem["target"], problem["numbers"]
    if algorithm == "sos_dfs":
        return ref_dfs(target, numbers, REF_HEURISTICS[heuristic], threshold=target)
    if algorithm == "sos_bfs":
        return ref_bfs(target, numbers, beam, REF_HEURISTICS[heuristic], random.Random(problem_seed(problem, cfg)))
    raise ValueError(f"{name} is not a Stream-of-Search strategy")


# ------------------------------------------------------------------ measuring

def sample_frame(n: int):
    """The problems frame of a generation of ``4 n`` candidates with the sample settings (4 numbers
    1-50, targets 10-100), and its config (``traces_per_strategy`` = ``n``)."""
    cfg = CountdownConfig(n_problems=max(4 * n, 100), traces_per_strategy=n)
    problems, _, _ = build_problems(generate_candidates(cfg), cfg)
    return problems, cfg


def sample_problems(n: int) -> tuple[list[dict], CountdownConfig]:
    """The first ``n`` train problems (by id) of :func:`sample_frame`."""
    problems, cfg = sample_frame(n)
    return problems.filter(problems["split"] == "train").sort("problem_id").head(n).to_dicts(), cfg


def parity(name: str, rows: list[dict], cfg: CountdownConfig) -> dict:
    """Problems where ours and the reference semantics differ in solved/unsolved, and in text."""
    solved_diff, text_diff, solved = [], [], 0
    for p in rows:
        ours = run_one(name, p, cfg)
        ref = reference_text(name, p, cfg)
        solved += ours.solved
        if ours.solved != ("Goal Reached" in ref):
            solved_diff.append(p["problem_id"])
        if linearize(ours) != ref:
            text_diff.append(p["problem_id"])
    return {"solved": solved, "solved_differ": solved_diff, "text_differs": text_diff}


def one_pass(fn, rows, seconds: float) -> float:
    """Traces per CPU second (this process's CPU time, so other work on a shared machine does not
    count) over whole passes until ``seconds`` of it have been spent (at least one pass)."""
    n, start = 0, time.process_time()
    while True:
        for p in rows:
            fn(p)
        n += len(rows)
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return n / elapsed


def peak_memory(fn, rows) -> int:
    tracemalloc.start()
    kept = [fn(p) for p in rows]  # keep the outputs: memory of the generation, not of one trace
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return peak


def engine_wall(name: str, frame, rows: list[dict], cfg: CountdownConfig, workers: int, repeats: int) -> tuple[float, float]:
    """(wall traces/s of ``build_traces_on_engine`` for strategy ``name`` with ``workers`` local worker
    processes, wall traces/s of the single-process reference on the same problems), medians of
    ``repeats`` alternating runs. Wall clock on purpose: this is what parallelism buys a user."""
    from pipelines.countdown.distributed import build_traces_on_engine
    from pipelines.engine.local import LocalEngine

    ours, ref = [], []
    with LocalEngine(num_workers=workers) as engine:
        build_traces_on_engine(frame, cfg, engine, strategies=(name,))  # start the pool, import in the workers
        for _ in range(repeats):
            start = time.perf_counter()
            out = build_traces_on_engine(frame, cfg, engine, strategies=(name,))
            ours.append(out.height / (time.perf_counter() - start))
            start = time.perf_counter()
            for p in rows:
                reference_text(name, p, cfg)
            ref.append(len(rows) / (time.perf_counter() - start))
    return statistics.median(ours), statistics.median(ref)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CI size (a few seconds)")
    ap.add_argument("--problems", type=int, default=None, help="problems (default 300; 20 with --quick)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved timing passes (default 3; 1 with --quick)")
    ap.add_argument("--seconds", type=float, default=None, help="minimum seconds per pass (default 1; 0.05 with --quick)")
    ap.add_argument("--engine-workers", type=int, default=0,
                    help="also report wall traces/s of build_traces_on_engine with this many local workers (default: off)")
    args = ap.parse_args(argv)
    n = args.problems or (20 if args.quick else 300)
    repeats = args.repeats or (1 if args.quick else 3)
    seconds = args.seconds if args.seconds is not None else (0.05 if args.quick else 1.0)
    rows, cfg = sample_problems(n)

    def ours_fn(name):
        def run(p):
            trace = run_one(name, p, cfg)
            return trace, linearize(trace)
        return run

    def ref_fn(name):
        return lambda p: reference_text(name, p, cfg)

    print(f"countdown search benchmark: {len(rows)} problems (4 numbers, targets {cfg.target_min}-{cfg.target_max}), "
          f"median of {repeats} interleaved passes; our budget {cfg.node_budget} nodes, sos_* unbounded as the reference")
    ok = True
    print(f"\n{'SoS-compatible':<17}{'solved':>8}{'ref solved':>12}{'solved differ':>15}{'text differs':>14}")
    for name in SOS_COMPATIBLE:
        res = parity(name, rows, cfg)
        ref_solved = sum("Goal Reached" in reference_text(name, p, cfg) for p in rows)
        ok &= not res["solved_differ"] and not res["text_differs"]
        print(f"{name:<17}{res['solved'] / len(rows):>8.1%}{ref_solved / len(rows):>12.1%}"
              f"{len(res['solved_differ']):>15}{len(res['text_differs']):>14}")

    rates: dict[str, list[float]] = {name: [] for name in STRATEGIES}
    ref_rates: dict[str, list[float]] = {name: [] for name in SOS_COMPATIBLE}
    ratios: dict[str, list[float]] = {name: [] for name in SOS_COMPATIBLE}
    for _ in range(repeats):
        for name in sorted(STRATEGIES):
            if name in ref_rates:
                ref_rate = one_pass(ref_fn(name), rows, seconds)
                rate = one_pass(ours_fn(name), rows, seconds)
                ref_rates[name].append(ref_rate)
                ratios[name].append(rate / ref_rate)
            else:
                rate = one_pass(ours_fn(name), rows, seconds)
            rates[name].append(rate)

    print(f"\n{'strategy':<19}{'traces/s':>10}{'ref traces/s':>14}{'x reference':>13}{'peak MB':>9}{'solved':>8}")
    for name in sorted(STRATEGIES):
        rate = statistics.median(rates[name])
        mem = peak_memory(ours_fn(name), rows)
        solved = sum(run_one(name, p, cfg).solved for p in rows) / len(rows)
        ref = f"{statistics.median(ref_rates[name]):>14,.0f}" if name in ref_rates else f"{'':>14}"
        ratio = f"{statistics.median(ratios[name]):>13.2f}" if name in ratios else f"{'':>13}"
        print(f"{name:<19}{rate:>10,.0f}{ref}{ratio}{mem / 1e6:>9.2f}{solved:>8.1%}")
    for name in SOS_COMPATIBLE:
        mem = peak_memory(ref_fn(name), rows)
        print(f"reference {STRATEGIES[name][0][4:]:<9}{'':>10}{statistics.median(ref_rates[name]):>14,.0f}"
              f"{'':>13}{mem / 1e6:>9.2f}")
    if args.engine_workers:
        frame, _ = sample_frame(n)
        print(f"\nWALL clock, not per CPU second: build_traces_on_engine, local engine, {args.engine_workers} worker "
              f"processes (whole trace rows: tree, events, text, optimal path) vs the reference in one process (text only)")
        print(f"{'strategy':<19}{'wall traces/s':>14}{'ref wall/s':>12}{'x reference (wall)':>20}")
        for name in SOS_COMPATIBLE:
            ours, ref = engine_wall(name, frame, rows, cfg, args.engine_workers, repeats)
            print(f"{name:<19}{ours:>14,.0f}{ref:>12,.0f}{ours / ref:>20.2f}")
    print("parity: " + ("the SoS-compatible strategies solve the same problems and write the same text as the reference"
                        if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
