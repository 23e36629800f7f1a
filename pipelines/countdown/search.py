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
from array import array
from bisect import bisect_left
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


def _pairs(nums: tuple):
    """(i, j, a, b, the untouched numbers) for every pair, in successor order."""
    n = len(nums)
    for i in range(n):
        a = nums[i]
        for j in range(i + 1, n):
            yield i, j, a, nums[j], nums[:i] + nums[i + 1:j] + nums[j + 1:]


def successors(nums: tuple) -> list[tuple[tuple, str]]:
    """Every state one operation away: the untouched numbers, then the new one."""
    out = []
    add = out.append
    for _, _, a, b, rest in _pairs(nums):
        # combine() inlined: this is the innermost loop of every strategy and of the problem solver
        add((rest + (a + b,), f"{a}+{b}={a + b}"))
        add((rest + (a * b,), f"{a}*{b}={a * b}"))
        hi, lo = (a, b) if a >= b else (b, a)
        add((rest + (hi - lo,), f"{hi}-{lo}={hi - lo}"))
        if lo != 0 and hi % lo == 0:
            add((rest + (hi // lo,), f"{hi}/{lo}={hi // lo}"))
    return out


def sum_heuristic(nums: tuple, target: int) -> float:
    if len(nums) == 1:
        return float(abs(nums[0] - target))
    return sum(abs(n - target) for n in nums) / len(nums)


@lru_cache(maxsize=4096)
def factors(target: int) -> tuple[int, ...]:
    t = abs(target)
    return tuple(sorted({d for i in range(1, int(math.isqrt(t)) + 1) if t % i == 0 for d in (i, t // i)})) or (0,)


def _factor_distance(n: int, fs: tuple) -> int:
    """Distance of ``n`` to the nearest of the sorted factors ``fs``: only the two neighbours can be nearest."""
    i = bisect_left(fs, n)
    if i == 0:
        return abs(n - fs[0])
    if i == len(fs):
        return abs(n - fs[-1])
    return min(fs[i] - n, n - fs[i - 1])


def mult_heuristic(nums: tuple, target: int) -> float:
    fs = factors(target)
    return float(min(_factor_distance(n, fs) for n in nums))


HEURISTICS: dict[str, Heuristic] = {"sum": sum_heuristic, "mult": mult_heuristic}


def moves(nums: tuple) -> tuple[list[tuple], list[int]]:
    """:func:`successors` as (states, operation codes), code = i << 8 | j << 2 | operator (+ * - /) for
    the pair (i, j). The trace keeps the code and formats the operation's text only when it is read."""
    if len(nums) > 64:
        raise ValueError("operation codes hold pairs of at most 64 numbers")
    states: list[tuple] = []
    codes: list[int] = []
    for i, j, a, b, rest in _pairs(nums):
        hi, lo = (a, b) if a >= b else (b, a)
        base = i << 8 | j << 2
        if lo != 0 and hi % lo == 0:
            states += (rest + (a + b,), rest + (a * b,), rest + (hi - lo,), rest + (hi // lo,))
            codes += (base, base + 1, base + 2, base + 3)
        else:
            states += (rest + (a + b,), rest + (a * b,), rest + (hi - lo,))
            codes += (base, base + 1, base + 2)
    return states, codes


def op_text(nums: tuple, code: int, value: int) -> str:
    """The text of the operation ``code`` applied to ``nums`` with result ``value``, as :func:`successors` writes it."""
    a, b = nums[code >> 8], nums[code >> 2 & 63]
    operator = code & 3
    if operator == 0:
        return f"{a}+{b}={value}"
    if operator == 1:
        return f"{a}*{b}={value}"
    hi, lo = (a, b) if a >= b else (b, a)
    return f"{hi}-{lo}={value}" if operator == 2 else f"{hi}/{lo}={value}"


def scored_successors(nums: tuple, target: int, heuristic: str) -> tuple[list[tuple], list[int], list[float]]:
    """:func:`moves` with each state's heuristic, equal to ``HEURISTICS[heuristic](state, target)``:
    the untouched numbers' share comes from the parent's distances, not recomputed per state
    (integer sums keep ``sum`` exactly what :func:`sum_heuristic` returns)."""
    states, codes = moves(nums)
    if heuristic == "sum":
        d = [abs(v - target) for v in nums]
        total, m = sum(d), len(nums) - 1  # m numbers in every successor
        hs = [(total - d[c >> 8] - d[c >> 2 & 63] + abs(st[-1] - target)) / m for st, c in zip(states, codes)]
    elif heuristic == "mult":
        fs = factors(target)
        d = [_factor_distance(v, fs) for v in nums]
        rest_min = {i << 6 | j: min([x for k, x in enumerate(d) if k != i and k != j], default=math.inf)
                    for i, j, _, _, _ in _pairs(nums)}
        hs = [float(min(rest_min[c >> 2], _factor_distance(st[-1], fs))) for st, c in zip(states, codes)]
    else:
        h = HEURISTICS[heuristic]
        hs = [h(st, target) for st in states]
    return states, codes, hs


# event kinds, stored as one byte each
EVENT_KINDS = ("expand", "generate", "prune", "dead_end", "backtrack", "rollout", "goal", "budget")
EXPAND, GENERATE, PRUNE, DEAD_END, BACKTRACK, ROLLOUT, GOAL, BUDGET = range(len(EVENT_KINDS))


class Node:
    """One node of a trace, as read back through ``trace.nodes`` (the trace itself stores columns)."""
    __slots__ = ("id", "parent", "nums", "op", "depth", "h", "label")

    def __init__(self, id: int, parent: int, nums: tuple, op: str, depth: int, h: float, label: str):
        self.id, self.parent, self.nums, self.op, self.depth, self.h, self.label = id, parent, nums, op, depth, h, label


class _Nodes:
    """``trace.nodes``: a read-only sequence of :class:`Node` built on access."""
    __slots__ = ("_trace",)

    def __init__(self, trace: SearchTrace):
        self._trace = trace

    def __len__(self) -> int:
        return len(self._trace.nums)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        t = self._trace
        i = range(len(t.nums))[i]  # bounds check and negative indices
        return Node(i, t.parents[i], t.nums[i], t.op(i), t.depth(i), t.hs[i], t.label(i))

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class _Events:
    """``trace.events``: a read-only sequence of (kind, node id, None) built on access."""
    __slots__ = ("_trace",)

    def __init__(self, trace: SearchTrace):
        self._trace = trace

    def __len__(self) -> int:
        return len(self._trace.event_kinds)

    def __getitem__(self, i):
        t = self._trace
        if isinstance(i, slice):
            return [(EVENT_KINDS[k], n, None) for k, n in zip(t.event_kinds[i], t.event_nodes[i])]
        return EVENT_KINDS[t.event_kinds[i]], t.event_nodes[i], None

    def __iter__(self):
        return ((EVENT_KINDS[k], n, None) for k, n in zip(self._trace.event_kinds, self._trace.event_nodes))


class SearchTrace:
    """The tree as columns indexed by node id (parents, numbers, operations, heuristics, rank among
    the parent's children) and the events as two columns (kind code, node id): a few bytes per node
    and per event instead of a Python object each."""
    __slots__ = ("strategy", "numbers", "target", "solved", "goal", "nodes_expanded", "budget",
                 "parents", "ranks", "nums", "codes", "hs", "event_kinds", "event_nodes",
                 "_last_expanded", "_child_count")

    def __init__(self, strategy: str, numbers: tuple, target: int, budget: int = 0):
        self.strategy, self.numbers, self.target, self.budget = strategy, numbers, target, budget
        self.solved: bool = False
        self.goal: int | None = None
        self.nodes_expanded = 0
        self.parents = array("i")
        self.ranks = array("i")  # k for the k-th child of its parent: the last part of the node's label
        self.nums: list[tuple] = []
        self.codes = array("H")  # operation codes (see moves()); the root's is 0 and means no operation
        self.hs = array("d")
        self.event_kinds = bytearray()
        self.event_nodes = array("i")
        self._last_expanded = -1
        self._child_count: dict[int, int] = {}

    # building -------------------------------------------------------------------------------
    def add(self, parent: int, nums: tuple, code: int, h: float) -> int:
        """Add a node and return its id."""
        nid = len(self.nums)
        k = self._child_count.get(parent, 0)
        self._child_count[parent] = k + 1
        self.ranks.append(k)
        self.parents.append(parent)
        self.nums.append(nums)
        self.codes.append(code)
        self.hs.append(h)
        return nid

    def add_generated(self, parent: int, states: list, codes: list, hs: list) -> range:
        """Add children of ``parent`` in order, each with its generate event; return their ids.
        One extend per column instead of a call per child: the strategies' hottest path."""
        start, n = len(self.nums), len(states)
        k = self._child_count.get(parent, 0)
        self._child_count[parent] = k + n
        self.ranks.extend(range(k, k + n))
        self.parents.extend([parent] * n)
        self.nums += states
        self.codes.extend(codes)
        self.hs.extend(hs)
        ids = range(start, start + n)
        self.event_kinds += bytes((GENERATE,)) * n
        self.event_nodes.extend(ids)
        return ids

    def expand(self, nid: int) -> None:
        last = self._last_expanded
        if last >= 0 and nid != last:
            parent = self.parents[nid]
            if parent != last:
                self.event_kinds.append(BACKTRACK)
                self.event_nodes.append(parent if parent >= 0 else nid)
        self.event_kinds.append(EXPAND)
        self.event_nodes.append(nid)
        self._last_expanded = nid
        self.nodes_expanded += 1

    def event(self, kind: int, nid: int) -> None:
        """Record an event: ``kind`` is one of the codes EXPAND ... BUDGET."""
        self.event_kinds.append(kind)
        self.event_nodes.append(nid)

    # reading --------------------------------------------------------------------------------
    @property
    def nodes(self) -> _Nodes:
        return _Nodes(self)

    @property
    def events(self) -> _Events:
        return _Events(self)

    @property
    def nodes_generated(self) -> int:
        return len(self.nums) - 1

    @property
    def backtracks(self) -> int:
        return self.event_kinds.count(BACKTRACK)

    def depth(self, nid: int) -> int:
        return len(self.numbers) - len(self.nums[nid])  # every operation leaves one number fewer

    def label(self, nid: int) -> str:
        """``0`` for the root, then the rank among its parent's children at every level: ``0,2,1``."""
        parts = []
        while nid > 0:
            parts.append(str(self.ranks[nid]))
            nid = self.parents[nid]
        parts.append("0")
        return ",".join(reversed(parts))

    def op(self, nid: int) -> str:
        """The operation that made node ``nid`` from its parent ("" for the root)."""
        parent = self.parents[nid]
        if parent < 0:
            return ""
        return op_text(self.nums[parent], self.codes[nid], self.nums[nid][-1])

    def path(self, node_id: int | None) -> list[str]:
        ops: list[str] = []
        while node_id is not None and node_id > 0:
            ops.append(self.op(node_id))
            node_id = self.parents[node_id]
        return ops[::-1]

    @property
    def solution(self) -> list[str]:
        return self.path(self.goal) if self.solved else []

    def leaves(self) -> list[tuple[list[str], int, bool]]:
        """Every finished attempt in the order the search checked it: (ops, final value, reached target)."""
        out = []
        for kind, nid in zip(self.event_kinds, self.event_nodes):
            if kind == DEAD_END or kind == GOAL:
                out.append((self.path(nid), self.nums[nid][0], kind == GOAL))
        return out

    def rating(self) -> float:
        """Stream-of-Search-style rating: 1 - (nodes generated / budget) if solved, else 0."""
        if not self.solved or not self.budget:
            return 0.0
        return max(0.0, 1.0 - self.nodes_generated / self.budget)


def _leaf(trace: SearchTrace, nid: int) -> bool:
    """Check a one-number state; True when it is the goal."""
    if trace.nums[nid][0] == trace.target:
        trace.event(GOAL, nid)
        trace.solved, trace.goal = True, nid
        return True
    trace.event(DEAD_END, nid)
    return False


def dfs(numbers, target: int, heuristic: str = "sum", budget: int = 400, threshold: float | None = None,
        strategy: str | None = None) -> SearchTrace:
    """Depth-first search; children in heuristic order; children with h > ``threshold`` are pruned
    (Stream of Search uses the target as threshold; None = prune nothing)."""
    h = HEURISTICS[heuristic]
    trace = SearchTrace(strategy or f"dfs_{heuristic}", tuple(numbers), target, budget=budget)
    root = trace.add(-1, tuple(numbers), 0, h(tuple(numbers), target))
    nums, hs = trace.nums, trace.hs
    out_of_budget = False

    def visit(node: int) -> bool:
        nonlocal out_of_budget
        trace.expand(node)
        states, codes, kid_h = scored_successors(nums[node], target, heuristic)
        room = max(0, budget - (len(nums) - 1))  # nodes the budget still allows
        if len(states) > room:
            trace.add_generated(node, states[:room], codes[:room], kid_h[:room])
            trace.event(BUDGET, node)
            out_of_budget = True
            return False
        kids = list(trace.add_generated(node, states, codes, kid_h))
        kids.sort(key=hs.__getitem__)  # stable: ties keep generation order
        for kid in kids:
            if threshold is not None and hs[kid] > threshold:
                trace.event(PRUNE, kid)
                continue
            if len(nums[kid]) == 1:
                if _leaf(trace, kid):
                    return True
                continue
            if visit(kid):
                return True
            if out_of_budget:
                return False
        return False

    if len(nums[root]) == 1:
        _leaf(trace, root)
    else:
        visit(root)
    return trace


def bfs(numbers, target: int, heuristic: str = "sum", beam: int = 3, budget: int = 400,
        strategy: str | None = None) -> SearchTrace:
    """Breadth-first beam search: expand the whole frontier, keep the ``beam`` best children."""
    h = HEURISTICS[heuristic]
    trace = SearchTrace(strategy or f"bfs_{heuristic}_b{beam}", tuple(numbers), target, budget=budget)
    root = trace.add(-1, tuple(numbers), 0, h(tuple(numbers), target))
    nums, hs = trace.nums, trace.hs
    frontier = [root]
    if len(nums[root]) == 1:
        _leaf(trace, root)
        return trace
    while frontier:
        nxt: list[int] = []
        for node in frontier:
            trace.expand(node)
            states, codes, kid_h = scored_successors(nums[node], target, heuristic)
            room = max(0, budget - (len(nums) - 1))
            if len(states[0]) > 1:  # no leaves among the children: add them all at once
                nxt += trace.add_generated(node, states[:room], codes[:room], kid_h[:room])
                if len(states) > room:
                    trace.event(BUDGET, node)
                    return trace
                continue
            for state, code, kh in zip(states, codes, kid_h):
                if len(nums) > budget:
                    trace.event(BUDGET, node)
                    return trace
                kid = trace.add(node, state, code, kh)
                trace.event(GENERATE, kid)
                if _leaf(trace, kid):
                    return trace
        nxt.sort(key=hs.__getitem__)
        for kid in nxt[beam:]:
            trace.event(PRUNE, kid)
        frontier = nxt[:beam]
    return trace


def astar(numbers, target: int, heuristic: str = "sum", budget: int = 400, strategy: str | None = None) -> SearchTrace:
    """Best-first search on f = depth + heuristic (the heuristics are not admissible: a guide, not a proof)."""
    h = HEURISTICS[heuristic]
    trace = SearchTrace(strategy or f"astar_{heuristic}", tuple(numbers), target, budget=budget)
    root = trace.add(-1, tuple(numbers), 0, h(tuple(numbers), target))
    nums = trace.nums
    n0 = len(nums[root])
    heap: list = [(trace.hs[root], 0)]  # (f, node id): ids are unique, so ties go to the older node
    seen: set = set()
    while heap:
        _, nid = heapq.heappop(heap)
        state = nums[nid]
        if len(state) == 1:
            if _leaf(trace, nid):
                return trace
            continue
        key = tuple(sorted(state))
        if key in seen:  # the same multiset reached by another order of operations
            trace.event(PRUNE, nid)
            continue
        seen.add(key)
        trace.expand(nid)
        states, codes, kid_h = scored_successors(state, target, heuristic)
        room = max(0, budget - (len(nums) - 1))
        kids = trace.add_generated(nid, states[:room], codes[:room], kid_h[:room])
        for kid, kid_state, kh in zip(kids, states, kid_h):
            heapq.heappush(heap, (n0 - len(kid_state) + kh, kid))  # depth + h
        if len(states) > room:
            trace.event(BUDGET, nid)
            return trace
    return trace


def mcts(numbers, target: int, iterations: int = 300, exploration: float = 1.4, seed: int = 0,
         strategy: str = "mcts") -> SearchTrace:
    """UCT: select by UCB1, expand one untried child, roll out at random to one number, back up a
    reward of 1 for the target and ``1 / (1 + distance)`` otherwise. Deterministic for a seed."""
    rng = random.Random(seed)
    trace = SearchTrace(strategy, tuple(numbers), target, budget=iterations)
    root = trace.add(-1, tuple(numbers), 0, 0.0)
    nums, parents = trace.nums, trace.parents
    if len(nums[root]) == 1:
        _leaf(trace, root)
        return trace
    succ_cache: dict[tuple, list] = {}  # rollouts revisit the same states many times within one search

    def succ(state: tuple) -> list:
        """(state, operation code) for every successor, in :func:`successors` order."""
        out = succ_cache.get(state)
        if out is None:
            out = succ_cache[state] = list(zip(*moves(state)))
        return out

    visits = {root: 0}
    value = {root: 0.0}
    children: dict[int, list[int]] = {root: []}
    untried: dict[int, list] = {root: list(succ(nums[root]))}
    sqrt, inf = math.sqrt, math.inf
    for _ in range(iterations):
        node = root
        while not untried[node] and children[node]:
            parent_visits = math.log(max(1, visits[node]))
            # max() by UCB1 written out: the first child with the largest score, as max(key=...) picks
            best, best_score = -1, -inf
            for c in children[node]:
                vc = visits[c]
                score = value[c] / vc + exploration * sqrt(parent_visits / vc) if vc else inf
                if best < 0 or score > best_score:
                    best, best_score = c, score
            node = best
        if untried[node]:
            trace.expand(node)
            state, code = untried[node].pop(rng.randrange(len(untried[node])))
            kid = trace.add(node, state, code, 0.0)
            trace.event(GENERATE, kid)
            visits[kid], value[kid], children[kid] = 0, 0.0, []
            untried[kid] = list(succ(state)) if len(state) > 1 else []
            children[node].append(kid)
            node = kid
        # rollout (nodes added to the trace, not to the UCT statistics)
        tip = node
        while len(nums[tip]) > 1:
            state, code = rng.choice(succ(nums[tip]))
            tip = trace.add(tip, state, code, 0.0)
            trace.event(ROLLOUT, tip)
        if tip == node:
            trace.event(ROLLOUT, tip)
        if _leaf(trace, tip):
            return trace
        reward = 1.0 / (1.0 + abs(nums[tip][0] - target))
        walk = node
        while walk >= 0:
            visits[walk] += 1
            value[walk] += reward
            walk = parents[walk]
    trace.event(BUDGET, root)
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
