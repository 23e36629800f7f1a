"""Search over Countdown states, each run recorded as a tree and linearized as text.

A state is the tuple of numbers still available; an operation combines two of them as Stream of
Search does (``a+b``, ``a*b``, the larger minus the smaller, exact division only). Strategies:
Stream of Search's own DFS and BFS, event for event and with its text (:func:`sos_dfs`,
:func:`sos_bfs`: global heap, beam applied per expansion); ours: depth-first listing every child
before descending (:func:`dfs`: children ordered by a heuristic, pruned above a threshold, a node
budget), a level-wise beam search (:func:`bfs`, any width), A* (f = depth + heuristic) and
Monte-Carlo tree search (UCT with random rollouts). Heuristics: ``sum`` (mean distance of the
numbers to the target, as Stream of Search), ``sos_mult`` (Stream of Search's ``mult``: distances to
the nearest factor 2 ... target, summed) and ``mult`` (ours: the smallest distance of any number to
a divisor of the target).

Every run returns a :class:`SearchTrace`: the nodes (id, parent, numbers, operation, depth,
heuristic), the ordered events (expand, generate, prune, dead_end, backtrack, rollout, goal,
budget), whether it solved the problem, nodes expanded/generated, and the solution path. A
*backtrack* is recorded whenever the search leaves the line it was on: the next node it expands
is not a child of the node it expanded last.
"""

from __future__ import annotations

import heapq
import math
import operator
import random
from array import array
from bisect import bisect_left, bisect_right
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


@lru_cache(maxsize=4096)
def sos_factors(target: int) -> tuple[int, ...]:
    """The factors Stream of Search's ``mult`` heuristic measures against: 2 ... target (1 left out).
    A target below 2 has none there (the reference fails on it); its own value stands in."""
    return tuple(d for d in factors(target) if d >= 2) or (abs(target),)


def sos_mult_heuristic(nums: tuple, target: int) -> float:
    """Stream of Search's ``mult``: the distances of every number to its nearest factor of the target
    (2 ... target), summed. Ours (:func:`mult_heuristic`) takes the smallest distance and counts 1."""
    fs = sos_factors(target)
    return float(sum(_factor_distance(n, fs) for n in nums))


HEURISTICS: dict[str, Heuristic] = {"sum": sum_heuristic, "mult": mult_heuristic, "sos_mult": sos_mult_heuristic}


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
    elif heuristic == "sos_mult":
        fs = sos_factors(target)
        d = [_factor_distance(v, fs) for v in nums]
        total = sum(d)
        hs = [float(total - d[c >> 8] - d[c >> 2 & 63] + _factor_distance(st[-1], fs)) for st, c in zip(states, codes)]
    else:
        h = HEURISTICS[heuristic]
        hs = [h(st, target) for st in states]
    return states, codes, hs


# event kinds, stored as one byte each. ``resume``: the Stream-of-Search DFS returns to a node it
# expanded before and states it again before its next child (the reference writes that out).
EVENT_KINDS = ("expand", "generate", "prune", "dead_end", "backtrack", "rollout", "goal", "budget", "resume")
EXPAND, GENERATE, PRUNE, DEAD_END, BACKTRACK, ROLLOUT, GOAL, BUDGET, RESUME = range(len(EVENT_KINDS))

# how a trace is written as text (linearize.py): our layout, or the reference's DFS / BFS layout
TEXT_MODES = ("foundry", "sos_dfs", "sos_bfs")


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
    __slots__ = ("strategy", "numbers", "target", "solved", "goal", "nodes_expanded", "budget", "text_mode", "text",
                 "parents", "ranks", "nums", "codes", "hs", "event_kinds", "event_nodes",
                 "_last_expanded", "_child_count")

    def __init__(self, strategy: str, numbers: tuple, target: int, budget: int = 0, text_mode: str = "foundry"):
        if text_mode not in TEXT_MODES:
            raise ValueError(f"unknown text mode {text_mode!r}; known: {TEXT_MODES}")
        self.strategy, self.numbers, self.target, self.budget = strategy, numbers, target, budget
        self.text_mode = text_mode
        self.text: str | None = None  # the trace's text when the search writes it itself (sos_* strategies)
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

    def add_children(self, parent: int, states: list, codes: list, hs: list, ranks) -> int:
        """Add all the children of ``parent`` at once, with the given label ranks and no event;
        return the first one's id (the Stream-of-Search strategies number children as the
        reference does and write their events one by one)."""
        start, n = len(self.nums), len(states)
        self._child_count[parent] = n
        self.ranks.extend(ranks)
        self.parents.extend([parent] * n)
        self.nums += states
        self.codes.extend(codes)
        self.hs.extend(hs)
        return start

    def set_columns(self, parents: list, ranks: list, nums: list, codes: list, hs: list, event_kinds: bytearray,
                    event_nodes: list, nodes_expanded: int) -> None:
        """Store a whole tree and its events at once (built as lists by a strategy). The heuristics and
        the events' node ids become arrays (a float or a large int is an object of its own in a list:
        a held Stream-of-Search DFS trace is a third larger with them as lists); the other columns are
        kept as the lists they are (they read like arrays; converting all of them cost 5% of a DFS)."""
        self.parents, self.ranks, self.codes, self.nums, self.hs = parents, ranks, codes, nums, array("d", hs)
        self.event_kinds, self.event_nodes = event_kinds, array("i", event_nodes)
        self.nodes_expanded = nodes_expanded
        self._child_count = {}

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
        """0 when unsolved. Stream-of-Search strategies: the reference's own rating, 1 - (operations
        explored + 1) / the naive size of the whole tree (1,152 for 4 numbers). The others:
        1 - (nodes generated / budget)."""
        if not self.solved:
            return 0.0
        if self.text_mode != "foundry":
            explored = self.event_kinds.count(GENERATE)
            return max(0.0, 1.0 - (explored + 1) / sos_tree_size(len(self.numbers)))
        if not self.budget:
            return 0.0
        return max(0.0, 1.0 - self.nodes_generated / self.budget)


def sos_tree_size(n: int) -> int:
    """Stream of Search's naive count of the tree below ``n`` numbers: C(k, 2) pairs x 4 operations at
    every level k = n ... 2 (4, 48, 1152, 46080 for 2 ... 5 numbers)."""
    size = 1
    for k in range(2, n + 1):
        size *= k * (k - 1) // 2 * 4
    return size


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


# event runs of the Stream-of-Search strategies, appended in one go. _DEAD_RUNS[k]: k one-number
# children checked in turn, with a return to their parent between two.
_GEN_DEAD, _GEN_DEAD_RESUME, _GEN_GOAL = bytes((GENERATE, DEAD_END)), bytes((GENERATE, DEAD_END, RESUME)), bytes((GENERATE, GOAL))
_DEAD_RUNS = [b""] + [_GEN_DEAD_RESUME * (k - 1) + _GEN_DEAD for k in range(1, 5)]


@lru_cache(maxsize=1024)
def _distances_below(heuristic: str, target: int) -> tuple:
    """A number's share of the heuristic for every value 0 ... target: ``sum``: its distance to the
    target; ``sos_mult``: its distance to the nearest factor 2 ... target. Above the target both are
    value - target (the target is the largest factor), so one table and one subtraction serve both."""
    if heuristic == "sum":
        return tuple(target - v for v in range(target + 1))
    fs = sos_factors(target)
    return tuple(_factor_distance(v, fs) for v in range(target + 1))


def sos_successors(nums: tuple, target: int, heuristic: str, threshold: float | None = None):
    """(states, codes, heuristics) of the children of ``nums`` whose heuristic is at most
    ``threshold`` (all when None), in :func:`moves` order, for the Stream-of-Search heuristics
    (``sum``: mean distance to the target; ``sos_mult``: summed distance to the nearest factor).
    Equal to filtering :func:`scored_successors`; one pass, and no state built for a dropped child."""
    if target < 0 or heuristic not in ("sum", "sos_mult"):
        states, codes, hs = scored_successors(nums, target, heuristic)
        keep = [k for k, h in enumerate(hs) if threshold is None or h <= threshold]
        return [states[k] for k in keep], [codes[k] for k in keep], [hs[k] for k in keep]
    table = _distances_below(heuristic, target)
    n = len(nums)
    div = n - 1 if heuristic == "sum" else 1  # sum: the mean over the n - 1 numbers of a child
    limit = math.inf if threshold is None else threshold
    d = [v - target if v >= target else table[v] for v in nums]
    total = sum(d)
    states: list[tuple] = []
    codes: list[int] = []
    hs: list[float] = []
    for i in range(n - 1):
        a, head, others = nums[i], nums[:i], total - d[i]
        for j in range(i + 1, n):
            b = nums[j]
            rest = head + nums[i + 1:j] + nums[j + 1:]
            base = others - d[j]
            code = i << 8 | j << 2
            hi, lo = (a, b) if a >= b else (b, a)
            values = (a + b, a * b, hi - lo, hi // lo) if lo and hi % lo == 0 else (a + b, a * b, hi - lo)
            for op, v in enumerate(values):
                h = (base + (v - target if v >= target else table[v])) / div
                if h <= limit:
                    states.append(rest + (v,))
                    codes.append(code | op)
                    hs.append(h)
    return states, codes, hs


def sorted_successors(nums: tuple, target: int, heuristic: str, threshold: float | None = None,
                      limit: int | None = None, arrange: Callable[[list], None] | None = None
                      ) -> tuple[list[tuple], list[int], list[float]]:
    """:func:`sos_successors` in heuristic order, ties in generation order (the order both
    Stream-of-Search searches take children in), the first ``limit`` only when given. One sort of
    integer keys (the heuristic's numerator, then the generation index) instead of a sort by key
    function, and no state built for a child that is dropped or cut. ``arrange``, when given, reorders
    the children kept in place (a list of keys, in heuristic order) before their states are built:
    the BFS's shuffle, applied once instead of to three lists. Without ``limit`` and ``arrange`` the
    states and codes come as tuples."""
    if target < 0 or heuristic not in ("sum", "sos_mult"):
        states, codes, hs = sos_successors(nums, target, heuristic, threshold)
        order = sorted(range(len(hs)), key=hs.__getitem__)[:limit]
        if arrange is not None:
            arrange(order)
        return [states[i] for i in order], [codes[i] for i in order], [hs[i] for i in order]
    table = _distances_below(heuristic, target)
    n = len(nums)
    div = n - 1 if heuristic == "sum" else 1  # sum: the mean over the n - 1 numbers of a child
    if threshold is None:
        top = math.inf
    elif isinstance(threshold, int):
        top = threshold * div  # numerator / div <= threshold, exactly, in integers
    else:
        top = None  # a fractional threshold: compared as sos_successors does, after the division
    shift = (2 * n * (n - 1)).bit_length()  # room for every child's generation index
    d = [v - target if v >= target else table[v] for v in nums]
    total = sum(d)
    keys: list[int] = []
    found: list[tuple] = []  # (state, code) per child kept, in generation order
    eager = limit is None and arrange is None  # every child kept is written in this order: build its state now
    for i in range(n - 1):
        a, head, others = nums[i], nums[:i], total - d[i]
        for j in range(i + 1, n):
            b = nums[j]
            rest = head + nums[i + 1:j] + nums[j + 1:]
            base = others - d[j]
            code = i << 8 | j << 2
            hi, lo = (a, b) if a >= b else (b, a)
            values = (a + b, a * b, hi - lo, hi // lo) if lo and hi % lo == 0 else (a + b, a * b, hi - lo)
            for op, v in enumerate(values):
                num = base + (v - target if v >= target else table[v])
                if num <= top if top is not None else num / div <= threshold:
                    keys.append(num << shift | len(found))
                    found.append((rest + (v,), code | op) if eager else (rest, v, code | op))
    if not keys:
        return [], [], []
    keys.sort()
    mask = (1 << shift) - 1
    if eager:
        states, codes = zip(*[found[k & mask] for k in keys])
        return states, codes, [(k >> shift) / div for k in keys]
    if limit is not None:
        del keys[limit:]
    if arrange is not None:
        arrange(keys)
    picked = [found[k & mask] for k in keys]
    return [rest + (v,) for rest, v, _ in picked], [code for _, _, code in picked], [(k >> shift) / div for k in keys]



# the two positions a pair (i, j) of four numbers leaves untouched, by i << 2 | j
_REST4 = {i << 2 | j: tuple(k for k in range(4) if k != i and k != j) for i in range(4) for j in range(i + 1, 4)}


@lru_cache(maxsize=64)
def _pair_codes(n: int) -> tuple[tuple[int, int, int], ...]:
    """(i, j, i << 8 | j << 2) for every pair of ``n`` numbers, in generation order: one loop, not two."""
    return tuple((i, j, i << 8 | j << 2) for i in range(n - 1) for j in range(i + 1, n))


def _sos_children(nums: tuple, target: int, table: tuple, div: int, top: int | None, limit: int | None = None,
                  arrange: Callable[[list], None] | None = None) -> tuple[list, list, list, list, list]:
    """:func:`sorted_successors` for the Stream-of-Search strategies' fast path (``table``: the
    :func:`_distances_below` of the target; ``div``: 1, or n - 1 for ``sum``; ``top``: the
    threshold times ``div``, an integer, or None for no threshold), with each kept child's
    operation text and numbers text as well: (states, codes, heuristics, operations, numbers as
    text). A key is the heuristic's numerator << 16 | the operation code, and a code grows with the
    generation order, so one sort of the keys orders children by h, ties in generation order, with
    no list of candidates beside it; the states and texts are made for the children kept only."""
    n = len(nums)
    d = [v - target if v >= target else table[v] for v in nums]
    total = sum(d)
    keys: list[int] = []
    for i, j, code in _pair_codes(n):
        a, b = nums[i], nums[j]
        base = total - d[i] - d[j]
        v0, v1 = a + b, a * b
        hi, lo = (a, b) if a >= b else (b, a)
        v2 = hi - lo
        keys += ((base + (v0 - target if v0 >= target else table[v0])) << 16 | code,
                 (base + (v1 - target if v1 >= target else table[v1])) << 16 | code | 1,
                 (base + (v2 - target if v2 >= target else table[v2])) << 16 | code | 2)
        if lo and hi % lo == 0:
            v3 = hi // lo
            keys.append((base + (v3 - target if v3 >= target else table[v3])) << 16 | code | 3)
    if not keys:  # a single number: nothing to combine
        return [], [], [], [], []
    keys.sort()
    if top is not None and keys[-1] >> 16 > top:  # numerator <= top: every key below (top + 1) << 16
        del keys[bisect_left(keys, (top + 1) << 16):]
    if limit is not None:
        del keys[limit:]
    if arrange is not None:
        arrange(keys)
    states: list[tuple] = []
    ops: list[str] = []
    texts: list[str] = []
    for k in keys:
        i, j, o = k >> 8 & 255, k >> 2 & 63, k & 3
        a, b = nums[i], nums[j]
        if o == 0:
            v = a + b
            ops.append(f"{a}+{b}={v}")
        elif o == 1:
            v = a * b
            ops.append(f"{a}*{b}={v}")
        else:
            hi, lo = (a, b) if a >= b else (b, a)
            if o == 2:
                v = hi - lo
                ops.append(f"{hi}-{lo}={v}")
            else:
                v = hi // lo
                ops.append(f"{hi}/{lo}={v}")
        # the untouched numbers: for three and four numbers written out (no slices, no join)
        if n == 3:
            x = nums[3 - i - j]
            states.append((x, v))
            texts.append(f"{x}, {v}")
        elif n == 4:
            p, q = _REST4[i << 2 | j]
            x, y = nums[p], nums[q]
            states.append((x, y, v))
            texts.append(f"{x}, {y}, {v}")
        else:
            st = nums[:i] + nums[i + 1:j] + nums[j + 1:] + (v,)
            states.append(st)
            texts.append(", ".join(map(str, st)))
    return states, [k & 0xFFFF for k in keys], [(k >> 16) / div for k in keys], ops, texts


def _last_pair(nums: tuple, target: int, heuristic: str, threshold: float | None = None, limit: int | None = None,
               arrange: Callable[[list], None] | None = None):
    """:func:`sos_successors` of a two-number state, already in heuristic order (ties in generation
    order): a child is one number, so its heuristic is that number's distance alone (an integer).
    ``limit`` and ``arrange`` as in :func:`sorted_successors`."""
    if target < 0 or heuristic not in ("sum", "sos_mult"):
        states, codes, hs = sos_successors(nums, target, heuristic, threshold)
        order = sorted(range(len(hs)), key=hs.__getitem__)[:limit]
        if arrange is not None:
            arrange(order)
        return [states[i] for i in order], [codes[i] for i in order], [hs[i] for i in order]
    table = _distances_below(heuristic, target)
    a, b = nums
    hi, lo = (a, b) if a >= b else (b, a)
    v0, v1, v2 = a + b, a * b, hi - lo
    # distance << 3 | code (4 | operator): one integer sorts by distance, then generation order; pair (0, 1) = 4
    keys = [(v0 - target if v0 >= target else table[v0]) << 3 | 4, (v1 - target if v1 >= target else table[v1]) << 3 | 5,
            (v2 - target if v2 >= target else table[v2]) << 3 | 6]
    values = [v0, v1, v2]
    if lo and hi % lo == 0:
        v3 = hi // lo
        keys.append((v3 - target if v3 >= target else table[v3]) << 3 | 7)
        values.append(v3)
    keys.sort()
    if threshold is not None and keys[-1] >> 3 > threshold:
        keys = [k for k in keys if k >> 3 <= threshold]
    if limit is not None:
        del keys[limit:]
    if arrange is not None:
        arrange(keys)
    return [(values[k & 3],) for k in keys], [k & 7 for k in keys], [float(k >> 3) for k in keys]


def _op_prefixes(nums: tuple, code: int) -> tuple[str, str, str, str]:
    """The text of the four operations on the pair of ``code`` up to the "=": index by ``code & 3``."""
    a, b = nums[code >> 8], nums[code >> 2 & 63]
    hi, lo = (a, b) if a >= b else (b, a)
    return f"{a}+{b}=", f"{a}*{b}=", f"{hi}-{lo}=", f"{hi}/{lo}="


# event runs of a two-number child in the Stream-of-Search DFS loop: generated, then expanded (after
# a backtrack to its parent, for every child but the first)
_GEN_EXPAND, _GEN_BACK_EXPAND = bytes((GENERATE, EXPAND)), bytes((GENERATE, BACKTRACK, EXPAND))
_BACK_EXPAND = bytes((BACKTRACK, EXPAND))  # the BFS leaving its line for a node off it


@lru_cache(maxsize=128)
def _check_tails(target: int) -> tuple[str, ...]:
    """The text that follows "Exploring Operation: a+b=" for a one-number child ``v`` other than the
    target, for every ``v`` in 0 ... 2 target (the children the DFS keeps: h = |v - target| at most
    the target): one table per target instead of five numbers formatted per child."""
    return tuple(f"{v}, Resulting Numbers: [{v}]\n{v},{target} unequal: No Solution\n" for v in range(2 * target + 1))


_NO_EXPANSION = (0, (), (), (), (), (), b"", 0, -1)  # a two-number state with no child kept


def _pair_expansion(pair: tuple, target: int, heuristic: str, threshold: float | None, table: tuple | None,
                    tails: tuple) -> tuple:
    """What expanding the two-number state ``pair`` adds in the Stream-of-Search DFS: (children kept,
    their states, codes, heuristics and ranks, the text of each check -- up to the goal when one is
    reached --, the event kinds, how many events, the goal's index among the children or -1). The
    same for every node with these numbers in one search, so :func:`sos_dfs` computes it once.
    :func:`_last_pair` written out for the Stream-of-Search heuristics: one sort of integer keys,
    and the text from the operation's prefix and the per-target table of checks (``table``: the
    :func:`_distances_below` of the target, None for another heuristic; ``tails``: its
    :func:`_check_tails`, or empty), both looked up once per search by the caller."""
    if table is not None:
        return _pair_expansion_fast(pair, target, threshold, table, tails)
    # another heuristic (or a target beyond the tables): _last_pair, and the text formatted per check
    states, kid_codes, kid_hs = _last_pair(pair, target, heuristic, threshold)
    keys = kid_codes  # in heuristic order already; below, a key is read for its operator (& 3) alone
    values = [st[0] for st in states]
    tails = ()
    kept = len(keys)
    if not kept:
        return _NO_EXPANSION
    a, b = pair
    hi, lo = (a, b) if a >= b else (b, a)
    pre = (f"Exploring Operation: {a}+{b}=", f"Exploring Operation: {a}*{b}=", f"Exploring Operation: {hi}-{lo}=",
           f"Exploring Operation: {hi}/{lo}=")
    top = len(tails)
    if target in values:
        g = values.index(target)
        lines = [pre[k & 3] + tails[v] if v < top else f"{pre[k & 3]}{v}, Resulting Numbers: [{v}]\n{v},{target} unequal: No Solution\n"
                 for k, v in zip(keys[:g], values)]
        lines.append(f"{pre[keys[g] & 3]}{target}, Resulting Numbers: [{target}]\n{target},{target} equal: Goal Reached\n")
        return kept, states, kid_codes, kid_hs, range(kept), lines, _DEAD_RUNS[g + 1][:-2] + _GEN_GOAL, 3 * g + 2, g
    lines = [pre[k & 3] + tails[v] if v < top else f"{pre[k & 3]}{v}, Resulting Numbers: [{v}]\n{v},{target} unequal: No Solution\n"
             for k, v in zip(keys, values)]
    return kept, states, kid_codes, kid_hs, range(kept), lines, _DEAD_RUNS[kept], 3 * kept - 1, -1



def _pair_expansion_fast(pair: tuple, target: int, threshold: float | None, table: tuple, tails: tuple) -> tuple:
    """:func:`_pair_expansion` with the per-target tables: the kept children's columns and check
    lines made in one loop over the sorted keys (one to four of them), each operation's text only
    for a child kept."""
    a, b = pair
    hi, lo = (a, b) if a >= b else (b, a)
    v0, v1, v2 = a + b, a * b, hi - lo
    # distance << 3 | code (4 | operator): one integer sorts by distance, then generation order
    k0 = (v0 - target if v0 >= target else table[v0]) << 3 | 4
    k1 = (v1 - target if v1 >= target else table[v1]) << 3 | 5
    k2 = (v2 - target if v2 >= target else table[v2]) << 3 | 6
    if lo and hi % lo == 0:
        v3 = hi // lo
        keys = [k0, k1, k2, (v3 - target if v3 >= target else table[v3]) << 3 | 7]
        by_op = (v0, v1, v2, v3)
    else:
        keys = [k0, k1, k2]
        by_op = (v0, v1, v2)
    keys.sort()
    if threshold is not None and keys[-1] >> 3 > threshold:  # cut the keys above the threshold's
        del keys[bisect_right(keys, math.floor(threshold) << 3 | 7):]
    kept = len(keys)
    if not kept:
        return _NO_EXPANSION
    top = len(tails)
    states: list[tuple] = []
    kid_hs: list[float] = []
    kid_codes: list[int] = []
    lines: list[str] = []
    goal = -1
    for k in keys:
        op = k & 3
        v = by_op[op]
        states.append((v,))
        kid_hs.append(float(k >> 3))
        kid_codes.append(k & 7)
        if goal >= 0:  # children after the goal are in the tree, not in the text
            continue
        if op == 0:
            pre = f"Exploring Operation: {a}+{b}="
        elif op == 1:
            pre = f"Exploring Operation: {a}*{b}="
        elif op == 2:
            pre = f"Exploring Operation: {hi}-{lo}="
        else:
            pre = f"Exploring Operation: {hi}/{lo}="
        if v == target:
            goal = len(lines)
            lines.append(f"{pre}{target}, Resulting Numbers: [{target}]\n{target},{target} equal: Goal Reached\n")
        else:
            lines.append(pre + tails[v] if v < top else
                         f"{pre}{v}, Resulting Numbers: [{v}]\n{v},{target} unequal: No Solution\n")
    if goal >= 0:
        return kept, states, kid_codes, kid_hs, range(kept), lines, _DEAD_RUNS[goal + 1][:-2] + _GEN_GOAL, 3 * goal + 2, goal
    return kept, states, kid_codes, kid_hs, range(kept), lines, _DEAD_RUNS[kept], 3 * kept - 1, -1


def sos_dfs(numbers, target: int, heuristic: str = "sum", threshold: float | None = None,
            budget: int | None = None, strategy: str | None = None) -> SearchTrace:
    """Stream of Search's depth-first search, event for event: state the node; drop its children
    with h > ``threshold`` (without a word, as the reference: they are not in the trace either);
    then, for each other child in heuristic order (ties in generation order), explore it, check it
    when it is one number, else generate it and descend; after every child but the last, go back to
    the node and state it again (a ``resume`` event). Children are numbered by that order. No budget
    by default, as the reference; ``budget`` caps the nodes generated.

    The text is written while searching (``trace.text``), line for line what the reference writes;
    :func:`pipelines.countdown.linearize.render_sos_events` rebuilds it from the events alone, and
    the tests hold the two equal. The tree and the events grow as plain lists (cheaper to append to
    than arrays) and become the trace's columns at the end."""
    nums0 = tuple(numbers)
    trace = SearchTrace(strategy or f"sos_dfs_{heuristic}", nums0, target, budget=budget or 0, text_mode="sos_dfs")
    parents, ranks, nodes, codes, hs = [-1], [0], [nums0], [0], [HEURISTICS[heuristic](nums0, target)]
    kinds, enodes = bytearray(), []
    out: list[str] = []
    add = out.append
    last = -1  # the node expanded last: expanding a node that is not its child is a backtrack
    expanded = 0
    stopped = False
    pair_memo: dict[tuple, tuple] = {}  # a two-number state's expansion, the same wherever it occurs in this trace
    fast = 0 <= target <= 512 and heuristic in ("sum", "sos_mult")  # the per-target tables (bounded in size)
    table = _distances_below(heuristic, target) if fast else None
    tails = _check_tails(target) if fast else ()
    # children of a state of three or more numbers by _sos_children: the threshold compared in integers
    exact = fast and (threshold is None or isinstance(threshold, int))

    def admit(node: int, states, kid_codes, kid_hs, kid_ranks) -> int:
        """Add the children of ``node``: the first one's number, or -1 when they would pass the
        budget (the budget event written and the search stopped instead)."""
        nonlocal stopped
        first = len(nodes)
        if budget is not None and first - 1 + len(states) > budget:
            kinds.append(BUDGET)
            enodes.append(node)
            add("Search budget exhausted: No Solution\n")
            stopped = True
            return -1
        nodes.extend(states)
        codes.extend(kid_codes)
        hs.extend(kid_hs)
        ranks.extend(kid_ranks)
        parents.extend([node] * len(states))
        return first

    def expand_pair(node: int, back: str) -> bool:
        """Expand the two-number state ``node`` (expand event and state line written already): every
        child is one number, checked in turn; ``back`` (back to the node, its state) between two."""
        pair = nodes[node]
        entry = pair_memo.get(pair)
        if entry is None:
            entry = pair_memo[pair] = _pair_expansion(pair, target, heuristic, threshold, table, tails)
        kept, states, kid_codes, kid_hs, kid_ranks, lines, run, n_events, goal = entry
        if not kept:
            return False
        first = admit(node, states, kid_codes, kid_hs, kid_ranks)
        if first < 0:
            return False
        kinds.extend(run)
        # (child, child, node) per checked child, the node standing for the return to it between two
        enodes.extend((first, first, node, first + 1, first + 1, node, first + 2, first + 2, node,
                       first + 3, first + 3)[:n_events])
        add(back.join(lines))
        if goal < 0:
            return False
        trace.solved, trace.goal = True, first + goal
        return True

    def visit(node: int, label: str, ops: str, state: str) -> bool:
        """Expand ``node`` (its state line is written already); True at the goal."""
        nonlocal last, expanded
        parent = parents[node]
        if last >= 0 and parent != last and node != last:  # as SearchTrace.expand
            kinds.append(BACKTRACK)
            enodes.append(parent if parent >= 0 else node)
        kinds.append(EXPAND)
        enodes.append(node)
        last = node
        expanded += 1
        parent_nums = nodes[node]
        n = len(parent_nums)
        if n == 2:  # only a root reaches here: two-number children are expanded in their parent's loop
            return expand_pair(node, f"Moving to Node #{label}\n{state}")
        if exact:
            div = n - 1 if heuristic == "sum" else 1
            states, kid_codes, kid_hs, kid_ops, kid_texts = _sos_children(
                parent_nums, target, table, div, None if threshold is None else threshold * div)
        else:
            states, kid_codes, kid_hs = sorted_successors(parent_nums, target, heuristic, threshold)
            kid_ops = [op_text(parent_nums, code, st[-1]) for st, code in zip(states, kid_codes)]
            kid_texts = [", ".join(map(str, st)) for st in states]
        kept = len(states)
        if not kept:
            return False
        first = admit(node, states, kid_codes, kid_hs, range(kept))
        if first < 0:
            return False
        back = f"Moving to Node #{label}\n{state}"
        last_kid = first + kept - 1
        if n == 3:
            # every child is two numbers: its expansion written here (a call less per child, and its
            # events known: the first child follows its parent's expansion, each later one is a backtrack)
            ops_before = f"{ops}, '" if ops else "'"
            for g, op, numbers in zip(range(kept), kid_ops, kid_texts):
                kid = first + g
                kid_label = f"{label},{g}"
                move = f"Moving to Node #{kid_label}\nCurrent State: {target}:[{numbers}], Operations: [{ops_before}{op}']\n"
                add(f"Exploring Operation: {op}, Resulting Numbers: [{numbers}]\n"
                    f"Generated Node #{kid_label}: {target}:[{numbers}] Operation: {op}\n{move}")
                if g:
                    kinds.extend(_GEN_BACK_EXPAND)
                    enodes.extend((kid, node, kid))
                else:
                    kinds.extend(_GEN_EXPAND)
                    enodes.extend((kid, kid))
                expanded += 1
                if expand_pair(kid, move):
                    last = kid
                    return True
                if stopped:
                    last = kid
                    return False
                if kid < last_kid:
                    kinds.append(RESUME)
                    enodes.append(node)
                    add(back)
            last = last_kid
            return False
        for g, op, text in zip(range(kept), kid_ops, kid_texts):
            kid = first + g
            kid_label = f"{label},{g}"
            kid_ops = f"{ops}, '{op}'" if ops else f"'{op}'"
            kid_state = f"Current State: {target}:[{text}], Operations: [{kid_ops}]\n"
            add(f"Exploring Operation: {op}, Resulting Numbers: [{text}]\n"
                f"Generated Node #{kid_label}: {target}:[{text}] Operation: {op}\nMoving to Node #{kid_label}\n{kid_state}")
            kinds.append(GENERATE)
            enodes.append(kid)
            if visit(kid, kid_label, kid_ops, kid_state):
                return True
            if stopped:
                return False
            if kid < last_kid:
                kinds.append(RESUME)
                enodes.append(node)
                add(back)
        return False

    root_state = f"Current State: {target}:[{', '.join(map(str, nums0))}], Operations: []\n"
    add(root_state)
    visit(0, "0", "", root_state)
    # visit refers to itself through its closure: a reference cycle that would keep this search's
    # memo and lists alive until the cycle collector runs; cleared, they go when the call returns
    visit = expand_pair = None
    trace.set_columns(parents, ranks, nodes, codes, hs, kinds, enodes, expanded)
    trace.text = "".join(out)
    return trace


# A heap entry of the Stream-of-Search BFS is (h, a NaN of its own, node, label, operations, numbers as
# text, or a single number as the int).
# Two distinct NaN objects are neither equal nor less than each other (a tuple compares items by
# identity first, so each entry gets a new float: -_NAN), so entries with equal h compare equal,
# exactly as the reference's (h, node) entries do (its nodes compare by h alone), and heapq breaks
# ties as it does there, with no Python-level comparison. A plain node id in second place would
# break ties by id and change the order. (A frozenset({node}) does the same at seven times the cost.)
_NAN = math.nan
def sos_bfs(numbers, target: int, heuristic: str = "sos_mult", beam: int = 5, seed: int = 0,
            budget: int | None = None, strategy: str | None = None) -> SearchTrace:
    """Stream of Search's beam search, event for event: one global heap on h. Each round pops the
    ``beam`` best nodes and expands them in turn: keep the node's ``beam`` best children (ties in
    generation order; the others are dropped without a word, as the reference, and are not in the
    trace), shuffle them (``random.Random(seed)``, as the reference shuffles with ``random``),
    explore each (a one-number child is checked), then push them on the heap in h order. The heap
    itself is never cut: the search ends at the goal or when the heap is empty, so the shuffle
    changes the text and the order of ties, never which problems are solved. The reference numbers
    a node's kept children in shuffled order, but counts only those it generates: one-number
    children all carry the parent's label + ",0".

    The text is written while searching (``trace.text``), as :func:`sos_dfs` does."""
    getrandbits = random.Random(seed).getrandbits

    def shuffle(items: list) -> None:
        """random.shuffle written out (Fisher-Yates over getrandbits, as the standard library does
        it: the same draws, so the same order as the reference's shuffle; the parity tests compare
        with random.shuffle itself)."""
        for i, bits in _shuffle_steps(len(items)):
            j = getrandbits(bits)
            while j > i:
                j = getrandbits(bits)
            items[i], items[j] = items[j], items[i]

    nums0 = tuple(numbers)
    trace = SearchTrace(strategy or f"sos_bfs_{heuristic}_b{beam}", nums0, target, budget=budget or 0,
                        text_mode="sos_bfs")
    # the tree and the events grow as plain lists and become the trace's columns at the end, as in sos_dfs
    parents, ranks, nodes, codes, hs = [-1], [0], [nums0], [0], [HEURISTICS[heuristic](nums0, target)]
    kinds, enodes = bytearray(), []
    last = -1  # the node expanded last: expanding a node that is not its child is a backtrack
    expanded = 0
    fast = 0 <= target <= 512 and heuristic in ("sum", "sos_mult")  # the per-target tables (bounded in size)
    table = _distances_below(heuristic, target) if fast else None
    tails = _check_tails(target) if 0 <= target <= 512 else ()
    top = len(tails)
    out: list[str] = []
    add = out.append
    # heap entries also carry the node's numbers as text, written once when the node is generated
    heap: list = [(hs[0], -_NAN, 0, "0", "", ", ".join(map(str, nums0)))]
    pop, push = heapq.heappop, heapq.heappush
    done = False
    while heap and not done:
        batch = [pop(heap) for _ in range(min(beam, len(heap)))]
        for _, _, node, label, ops, numbers_text in batch:
            parent = parents[node]
            if last >= 0 and parent != last and node != last:  # as SearchTrace.expand
                kinds.extend(_BACK_EXPAND)
                enodes.extend((parent if parent >= 0 else node, node))
            else:
                kinds.append(EXPAND)
                enodes.append(node)
            last = node
            expanded += 1
            parent_nums = nodes[node]
            n = len(parent_nums)
            if node:
                add(f"Moving to Node #{label}\nCurrent State: {target}:[{numbers_text}], Operations: [{ops}]\n")
            else:
                add(f"Current State: {target}:[{numbers_text}], Operations: [{ops}]\n")
            # the beam best (ties in generation order), shuffled; a budget stop after the shuffle
            # changes nothing written
            if n == 2 and fast:
                # _last_pair written out: the keys (distance << 3 | code) cut to the beam and shuffled,
                # then each kept child's columns and operation text (up to "=") in one loop
                a, b = parent_nums
                hi, lo = (a, b) if a >= b else (b, a)
                v0, v1, v2 = a + b, a * b, hi - lo
                keys = [(v0 - target if v0 >= target else table[v0]) << 3 | 4, (v1 - target if v1 >= target else table[v1]) << 3 | 5,
                        (v2 - target if v2 >= target else table[v2]) << 3 | 6]
                if lo and hi % lo == 0:
                    v3 = hi // lo
                    keys.append((v3 - target if v3 >= target else table[v3]) << 3 | 7)
                    by_op = (v0, v1, v2, v3)
                else:
                    by_op = (v0, v1, v2)
                keys.sort()
                del keys[beam:]
                shuffle(keys)
                states, kid_codes, kid_hs, pres = [], [], [], []
                for key in keys:
                    o = key & 3
                    states.append((by_op[o],))
                    kid_codes.append(key & 7)
                    kid_hs.append(float(key >> 3))
                    pres.append(f"{a}+{b}=" if o == 0 else f"{a}*{b}=" if o == 1 else f"{hi}-{lo}=" if o == 2 else f"{hi}/{lo}=")
            elif n == 2:
                states, kid_codes, kid_hs = _last_pair(parent_nums, target, heuristic, limit=beam, arrange=shuffle)
                pre = _op_prefixes(parent_nums, 4)
                pres = [pre[c & 3] for c in kid_codes]
            elif n < 2:  # a single number: nothing to combine
                continue
            else:
                if fast:
                    states, kid_codes, kid_hs, kid_ops, kid_texts = _sos_children(
                        parent_nums, target, table, n - 1 if heuristic == "sum" else 1, None, beam, shuffle)
                else:
                    states, kid_codes, kid_hs = sorted_successors(parent_nums, target, heuristic, limit=beam, arrange=shuffle)
                    kid_ops = [op_text(parent_nums, code, st[-1]) for st, code in zip(states, kid_codes)]
                    kid_texts = [", ".join(map(str, st)) for st in states]
                if not states:
                    continue
            k = len(states)
            first = len(nodes)
            if budget is not None and first - 1 + k > budget:
                kinds.append(BUDGET)
                enodes.append(node)
                add("Search budget exhausted: No Solution\n")
                done = True
                break
            nodes.extend(states)
            codes.extend(kid_codes)
            hs.extend(kid_hs)
            parents.extend([node] * k)
            entries = []
            ops_before = f"{ops}, '" if ops else "'"  # a child's operations: these, then its own, quoted
            if n == 2:  # single numbers to check, all labelled <node>,0
                ranks.extend([0] * k)
                kid_label = f"{label},0"
                for g, op in enumerate(pres):
                    kid, v = first + g, states[g][0]
                    if v == target:
                        kinds.extend(_GEN_GOAL)
                        enodes.extend((kid, kid))
                        trace.solved, trace.goal = True, kid
                        add(f"Exploring Operation: {op}{v}, Resulting Numbers: [{v}]\n{v},{target} equal: Goal Reached\n")
                        done = True
                        break
                    kinds.extend(_GEN_DEAD)
                    enodes.extend((kid, kid))
                    add(f"Exploring Operation: {op}{tails[v]}" if v < top else
                        f"Exploring Operation: {op}{v}, Resulting Numbers: [{v}]\n{v},{target} unequal: No Solution\n")
                    # the numbers as the int itself: formatted when the entry is popped, as a text would be
                    entries.append((kid_hs[g], -_NAN, kid, kid_label, f"{ops_before}{op}{v}'", v))
                if done:
                    break
            else:
                ranks.extend(range(k))
                kinds.extend(bytes((GENERATE,)) * k)
                enodes.extend(range(first, first + k))
                for g, op, text in zip(range(k), kid_ops, kid_texts):
                    kid_label = f"{label},{g}"
                    add(f"Exploring Operation: {op}, Resulting Numbers: [{text}]\n"
                        f"Generated Node #{kid_label}: {target}:[{text}] Operation: {op}\n")
                    entries.append((kid_hs[g], -_NAN, first + g, kid_label, f"{ops_before}{op}'", text))
            entries.sort(key=_ENTRY_H)  # stable: ties keep the shuffled order
            for entry in entries:
                push(heap, entry)
    if not done:
        add("No solution found.")
    trace.set_columns(parents, ranks, nodes, codes, hs, kinds, enodes, expanded)
    trace.text = "".join(out)
    return trace


_ENTRY_H = operator.itemgetter(0)  # a heap entry's h


@lru_cache(maxsize=64)
def _shuffle_steps(n: int) -> tuple[tuple[int, int], ...]:
    """(i, bits to draw) for every swap of a Fisher-Yates shuffle of ``n`` items, as random.shuffle
    takes them: i from n - 1 down to 1, a draw of (i + 1).bit_length() bits (redrawn while above i)."""
    return tuple((i, (i + 1).bit_length()) for i in range(n - 1, 0, -1))


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
                 budget: int, mcts_iterations: int, mcts_exploration: float, seed: int,
                 sos_budget: int | None = None) -> SearchTrace:
    """Run one configured strategy. ``budget`` caps our strategies; the Stream-of-Search ones run
    unbounded as the reference does unless ``sos_budget`` is set."""
    if algorithm == "sos_dfs":  # the reference prunes children above the target
        return sos_dfs(numbers, target, heuristic or "sum", threshold=target, budget=sos_budget, strategy=name)
    if algorithm == "sos_bfs":
        return sos_bfs(numbers, target, heuristic or "sos_mult", beam=beam, seed=seed, budget=sos_budget, strategy=name)
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
