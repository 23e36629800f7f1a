"""Search over Countdown states, each run recorded as a tree and linearized as text.

A state is the tuple of numbers still available; an operation combines two of them as Stream of
Search does (``a+b``, ``a*b``, the larger minus the smaller, exact division only). Strategies:
depth-first (children ordered by a heuristic, pruned above a threshold), breadth-first beam search
(any width), A* (f = depth + heuristic) and Monte-Carlo tree search (UCT with random rollouts).
The two heuristics are those of Stream of Search: ``sum`` (mean distance of the numbers to the
target) and ``mult`` (smallest distance of any number to a factor of the target).

Every run returns a :class:`SearchTrace`: the nodes (id, parent, numbers, operation, depth,
heuristic), the ordered events (expand, generate, prune, dead_end, backtrack, rollout, goal,
budget), whether it solved the problem, nodes expanded/generated, and the solution path. A
*backtrack* is recorded whenever the search leaves the line it was on: the next node it expands
is not a child of the node it expanded last.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

Heuristic = Callable[[tuple, int], float]


def combine(a: int, b: int) -> list[tuple[int, str]]:
    """Results of combining ``a`` and ``b`` under Stream-of-Search rules, with the operation text."""
    out = [(a + b, f"{a}+{b}={a + b}"), (a * b, f"{a}*{b}={a * b}")]
    hi, lo = (a, b) if a >= b else (b, a)
    out.append((hi - lo, f"{hi}-{lo}={hi - lo}"))
    if lo != 0 and hi % lo == 0:
        out.append((hi // lo, f"{hi}/{lo}={hi // lo}"))
    return out


def successors(nums: tuple) -> list[tuple[tuple, str]]:
    """Every state one operation away: the untouched numbers, then the new one."""
    out = []
    n = len(nums)
    for i in range(n):
        for j in range(i + 1, n):
            rest = nums[:i] + nums[i + 1:j] + nums[j + 1:]
            for value, op in combine(nums[i], nums[j]):
                out.append((rest + (value,), op))
    return out


def sum_heuristic(nums: tuple, target: int) -> float:
    if len(nums) == 1:
        return float(abs(nums[0] - target))
    return sum(abs(n - target) for n in nums) / len(nums)


@lru_cache(maxsize=4096)
def factors(target: int) -> tuple[int, ...]:
    t = abs(target)
    return tuple(sorted({d for i in range(1, int(math.isqrt(t)) + 1) if t % i == 0 for d in (i, t // i)})) or (0,)


def mult_heuristic(nums: tuple, target: int) -> float:
    fs = factors(target)
    return float(min(abs(n - f) for n in nums for f in fs))


HEURISTICS: dict[str, Heuristic] = {"sum": sum_heuristic, "mult": mult_heuristic}


class Node:
    __slots__ = ("id", "parent", "nums", "op", "depth", "h", "label")

    def __init__(self, id: int, parent: int, nums: tuple, op: str, depth: int, h: float, label: str):
        self.id, self.parent, self.nums, self.op, self.depth, self.h, self.label = id, parent, nums, op, depth, h, label


@dataclass
class SearchTrace:
    strategy: str
    numbers: tuple
    target: int
    nodes: list = field(default_factory=list)
    events: list = field(default_factory=list)  # (kind, node id, text or None)
    solved: bool = False
    goal: int | None = None
    nodes_expanded: int = 0
    budget: int = 0
    _last_expanded: int | None = None
    _child_count: dict = field(default_factory=dict)

    # building -------------------------------------------------------------------------------
    def add(self, parent: int, nums: tuple, op: str, h: float) -> Node:
        pid = parent
        if pid < 0:
            label = "0"
            depth = 0
        else:
            p = self.nodes[pid]
            k = self._child_count.get(pid, 0)
            self._child_count[pid] = k + 1
            label = f"{p.label},{k}"
            depth = p.depth + 1
        node = Node(len(self.nodes), pid, nums, op, depth, h, label)
        self.nodes.append(node)
        return node

    def expand(self, node: Node) -> None:
        if self._last_expanded is not None and node.parent != self._last_expanded and node.id != self._last_expanded:
            self.events.append(("backtrack", node.parent if node.parent >= 0 else node.id, None))
        self.events.append(("expand", node.id, None))
        self._last_expanded = node.id
        self.nodes_expanded += 1

    def event(self, kind: str, node: Node, text: str | None = None) -> None:
        self.events.append((kind, node.id, text))

    # reading --------------------------------------------------------------------------------
    @property
    def nodes_generated(self) -> int:
        return len(self.nodes) - 1

    @property
    def backtracks(self) -> int:
        return sum(1 for e in self.events if e[0] == "backtrack")

    def path(self, node_id: int | None) -> list[str]:
        ops: list[str] = []
        while node_id is not None and node_id > 0:
            node = self.nodes[node_id]
            ops.append(node.op)
            node_id = node.parent
        return ops[::-1]

    @property
    def solution(self) -> list[str]:
        return self.path(self.goal) if self.solved else []

    def leaves(self) -> list[tuple[list[str], int, bool]]:
        """Every finished attempt in the order the search checked it: (ops, final value, reached target)."""
        out = []
        for kind, nid, _ in self.events:
            if kind in ("dead_end", "goal"):
                out.append((self.path(nid), self.nodes[nid].nums[0], kind == "goal"))
        return out

    def rating(self) -> float:
        """Stream-of-Search-style rating: 1 - (nodes generated / budget) if solved, else 0."""
        if not self.solved or not self.budget:
            return 0.0
        return max(0.0, 1.0 - self.nodes_generated / self.budget)


def _leaf(trace: SearchTrace, node: Node) -> bool:
    """Check a one-number state; True when it is the goal."""
    if node.nums[0] == trace.target:
        trace.event("goal", node)
        trace.solved, trace.goal = True, node.id
        return True
    trace.event("dead_end", node)
    return False


def dfs(numbers, target: int, heuristic: str = "sum", budget: int = 400, threshold: float | None = None,
        strategy: str | None = None) -> SearchTrace:
    """Depth-first search; children in heuristic order; children with h > ``threshold`` are pruned
    (Stream of Search uses the target as threshold; None = prune nothing)."""
    h = HEURISTICS[heuristic]
    trace = SearchTrace(strategy or f"dfs_{heuristic}", tuple(numbers), target, budget=budget)
    root = trace.add(-1, tuple(numbers), "", h(tuple(numbers), target))

    def visit(node: Node) -> bool:
        trace.expand(node)
        kids = []
        for nums, op in successors(node.nums):
            if trace.nodes_generated >= budget:
                trace.event("budget", node)
                return False
            kid = trace.add(node.id, nums, op, h(nums, target))
            trace.event("generate", kid)
            kids.append(kid)
        kids.sort(key=lambda k: k.h)  # stable: ties keep generation order
        for kid in kids:
            if threshold is not None and kid.h > threshold:
                trace.event("prune", kid)
                continue
            if len(kid.nums) == 1:
                if _leaf(trace, kid):
                    return True
                continue
            if visit(kid):
                return True
            if trace.events and trace.events[-1][0] == "budget":
                return False
        return False

    if len(root.nums) == 1:
        _leaf(trace, root)
    else:
        visit(root)
    return trace


def bfs(numbers, target: int, heuristic: str = "sum", beam: int = 3, budget: int = 400,
        strategy: str | None = None) -> SearchTrace:
    """Breadth-first beam search: expand the whole frontier, keep the ``beam`` best children."""
    h = HEURISTICS[heuristic]
    trace = SearchTrace(strategy or f"bfs_{heuristic}_b{beam}", tuple(numbers), target, budget=budget)
    root = trace.add(-1, tuple(numbers), "", h(tuple(numbers), target))
    frontier = [root]
    if len(root.nums) == 1:
        _leaf(trace, root)
        return trace
    while frontier:
        nxt: list[Node] = []
        for node in frontier:
            trace.expand(node)
            for nums, op in successors(node.nums):
                if trace.nodes_generated >= budget:
                    trace.event("budget", node)
                    return trace
                kid = trace.add(node.id, nums, op, h(nums, target))
                trace.event("generate", kid)
                if len(nums) == 1:
                    if _leaf(trace, kid):
                        return trace
                else:
                    nxt.append(kid)
        nxt.sort(key=lambda k: k.h)
        for kid in nxt[beam:]:
            trace.event("prune", kid)
        frontier = nxt[:beam]
    return trace


def astar(numbers, target: int, heuristic: str = "sum", budget: int = 400, strategy: str | None = None) -> SearchTrace:
    """Best-first search on f = depth + heuristic (the heuristics are not admissible: a guide, not a proof)."""
    h = HEURISTICS[heuristic]
    trace = SearchTrace(strategy or f"astar_{heuristic}", tuple(numbers), target, budget=budget)
    root = trace.add(-1, tuple(numbers), "", h(tuple(numbers), target))
    heap: list = [(root.h, 0, root.id)]
    seen: set = set()
    while heap:
        _, _, nid = heapq.heappop(heap)
        node = trace.nodes[nid]
        if len(node.nums) == 1:
            if _leaf(trace, node):
                return trace
            continue
        key = tuple(sorted(node.nums))
        if key in seen:  # the same multiset reached by another order of operations
            trace.event("prune", node)
            continue
        seen.add(key)
        trace.expand(node)
        for nums, op in successors(node.nums):
            if trace.nodes_generated >= budget:
                trace.event("budget", node)
                return trace
            kid = trace.add(node.id, nums, op, h(nums, target))
            trace.event("generate", kid)
            heapq.heappush(heap, (kid.depth + kid.h, kid.id, kid.id))
    return trace


def mcts(numbers, target: int, iterations: int = 300, exploration: float = 1.4, seed: int = 0,
         strategy: str = "mcts") -> SearchTrace:
    """UCT: select by UCB1, expand one untried child, roll out at random to one number, back up a
    reward of 1 for the target and ``1 / (1 + distance)`` otherwise. Deterministic for a seed."""
    rng = random.Random(seed)
    trace = SearchTrace(strategy, tuple(numbers), target, budget=iterations)
    root = trace.add(-1, tuple(numbers), "", 0.0)
    if len(root.nums) == 1:
        _leaf(trace, root)
        return trace
    visits = {root.id: 0}
    value = {root.id: 0.0}
    children: dict[int, list[int]] = {root.id: []}
    untried: dict[int, list] = {root.id: successors(root.nums)}
    for _ in range(iterations):
        node = root
        while not untried[node.id] and children[node.id]:
            parent_visits = math.log(max(1, visits[node.id]))
            node = trace.nodes[max(children[node.id], key=lambda c: (
                value[c] / visits[c] + exploration * math.sqrt(parent_visits / visits[c]) if visits[c] else math.inf))]
        if untried[node.id]:
            trace.expand(node)
            nums, op = untried[node.id].pop(rng.randrange(len(untried[node.id])))
            kid = trace.add(node.id, nums, op, 0.0)
            trace.event("generate", kid)
            visits[kid.id], value[kid.id], children[kid.id] = 0, 0.0, []
            untried[kid.id] = successors(nums) if len(nums) > 1 else []
            children[node.id].append(kid.id)
            node = kid
        # rollout (nodes added to the trace, not to the UCT statistics)
        tip = node
        while len(tip.nums) > 1:
            nums, op = rng.choice(successors(tip.nums))
            tip = trace.add(tip.id, nums, op, 0.0)
            trace.event("rollout", tip)
        if tip is node:
            trace.event("rollout", tip)
        if _leaf(trace, tip):
            return trace
        reward = 1.0 / (1.0 + abs(tip.nums[0] - target))
        walk = node.id
        while walk >= 0:
            visits[walk] += 1
            value[walk] += reward
            walk = trace.nodes[walk].parent
    trace.event("budget", root)
    return trace


def run_strategy(name: str, numbers, target: int, *, algorithm: str, heuristic: str | None, beam: int,
                 budget: int, mcts_iterations: int, mcts_exploration: float, seed: int) -> SearchTrace:
    if algorithm == "dfs":
        return dfs(numbers, target, heuristic or "sum", budget=budget, threshold=target, strategy=name)
    if algorithm == "bfs":
        return bfs(numbers, target, heuristic or "sum", beam=beam, budget=budget, strategy=name)
    if algorithm == "astar":
        return astar(numbers, target, heuristic or "sum", budget=budget, strategy=name)
    if algorithm == "mcts":
        return mcts(numbers, target, iterations=mcts_iterations, exploration=mcts_exploration, seed=seed, strategy=name)
    raise ValueError(f"unknown search algorithm {algorithm!r}")


def ops_to_expression(numbers, ops: list[str]) -> str:
    """Replay operations like ``"10+4=14"`` into one infix expression over the original numbers."""
    pool: list[tuple[int, str]] = [(int(n), str(n)) for n in numbers]
    for op in ops:
        lhs, res = op.split("=")
        for sym in "+-*/":
            if sym in lhs[1:]:
                a_text, b_text = lhs.split(sym, 1)
                break
        else:
            raise ValueError(f"operation {op!r} has no operator")
        a, b, r = int(a_text), int(b_text), int(res)
        ia = next(i for i, (v, _) in enumerate(pool) if v == a)
        ea = pool.pop(ia)[1]
        ib = next(i for i, (v, _) in enumerate(pool) if v == b)
        eb = pool.pop(ib)[1]
        pool.append((r, f"({ea} {sym} {eb})"))
    if len(pool) != 1:
        raise ValueError(f"operations {ops} leave {len(pool)} numbers, not one")
    expr = pool[0][1]
    return expr[1:-1] if expr.startswith("(") and expr.endswith(")") and len(ops) else expr
