"""A search trace as text, in the Stream-of-Search format (the whole exploration, dead ends and
backtracking included), and the optimal path as the short text of the solution alone.

Two layouts, chosen by the trace's ``text_mode``: ``foundry`` (our strategies: every event written,
prunes and backtracks included, lines joined by newlines) and the reference's own (``sos_dfs``,
``sos_bfs``: exactly the text Stream of Search's ``countdown_dfs.py`` / ``countdown_bfs.py`` write for
the same search -- every line ends with a newline, pruned children are not mentioned, the DFS says
nothing when it fails and the BFS ends on "No solution found.")."""

from __future__ import annotations

from pipelines.countdown.search import (BACKTRACK, BUDGET, DEAD_END, EXPAND, GENERATE, GOAL, PRUNE, RESUME,
                                        ROLLOUT, SearchTrace, op_text)


def linearize(trace: SearchTrace) -> str:
    if trace.text is not None:  # written by the search itself (the Stream-of-Search strategies)
        return trace.text
    if trace.text_mode != "foundry":
        return render_sos_events(trace)
    target = trace.target
    parents, ranks, all_nums, hs, codes = trace.parents, trace.ranks, trace.nums, trace.hs, trace.codes
    labels: dict[int, str] = {0: "0"}
    quoted: dict[int, str] = {0: ""}  # the node's operations as "'a', 'b'", built from its parent's

    def label(nid: int) -> str:
        text = labels.get(nid)
        if text is None:
            text = labels[nid] = f"{label(parents[nid])},{ranks[nid]}"
        return text

    def path_ops(nid: int) -> str:
        text = quoted.get(nid)
        if text is None:
            before = path_ops(parents[nid])
            text = quoted[nid] = f"{before}, '{trace.op(nid)}'" if before else f"'{trace.op(nid)}'"
        return text

    lines: list[str] = []
    add = lines.append
    for kind, nid in zip(trace.event_kinds, trace.event_nodes):
        if kind == GENERATE or kind == ROLLOUT:
            parent = parents[nid]
            if parent < 0:  # a rollout event on the root: no operation to show
                continue
            nums = all_nums[nid]
            op = op_text(all_nums[parent], codes[nid], nums[-1])
            numbers = ", ".join(map(str, nums))
            if kind == ROLLOUT:
                add(f"Rollout Operation: {op}, Resulting Numbers: [{numbers}]")
            elif len(nums) > 1:  # two lines in one string: the join puts the same newline between them
                labels[nid] = text = f"{label(parent)},{ranks[nid]}"
                add(f"Exploring Operation: {op}, Resulting Numbers: [{numbers}]\n"
                    f"Generated Node #{text}: {target}:[{numbers}] Operation: {op}")
            else:
                add(f"Exploring Operation: {op}, Resulting Numbers: [{numbers}]")
        elif kind == EXPAND:
            if parents[nid] >= 0:
                add(f"Moving to Node #{label(nid)}")
            add(f"Current State: {target}:[{', '.join(map(str, all_nums[nid]))}], Operations: [{path_ops(nid)}]")
        elif kind == PRUNE:
            add(f"Pruned Node #{label(nid)}: heuristic {hs[nid]:.2f}")
        elif kind == DEAD_END:
            add(f"{all_nums[nid][0]},{target} unequal: No Solution")
        elif kind == GOAL:
            add(f"{all_nums[nid][0]},{target} equal: Goal Reached")
        elif kind == BACKTRACK:
            add(f"Moving to Node #{label(nid)}")
        elif kind == BUDGET:
            add("Search budget exhausted: No Solution")
    if not trace.solved and (not lines or not lines[-1].startswith("Search budget")):
        lines.append("Search space exhausted: No Solution")
    return "\n".join(lines)


def render_sos_events(trace: SearchTrace) -> str:
    """The reference's text for a ``sos_dfs`` / ``sos_bfs`` trace rebuilt from its events alone:
    "Moving to Node" before every expansion but the root's and before every return to a node, the
    node's state after it. The strategies write the same text while they search (faster: no second
    pass); the tests hold the two equal, which shows the events are in the reference's order."""
    target = trace.target
    parents, ranks, all_nums, codes = trace.parents, trace.ranks, trace.nums, trace.codes
    labels: dict[int, str] = {0: "0"}
    states: dict[int, str] = {}  # "Current State: ..." per node: a DFS states a node again after each child

    def label(nid: int) -> str:
        text = labels.get(nid)
        if text is None:
            text = labels[nid] = f"{label(parents[nid])},{ranks[nid]}"
        return text

    ops: dict[int, str] = {0: ""}  # the node's operations as "'a', 'b'", built from its parent's

    def path_ops(nid: int) -> str:
        text = ops.get(nid)
        if text is None:
            parent = parents[nid]
            before = path_ops(parent)
            op = f"'{op_text(all_nums[parent], codes[nid], all_nums[nid][-1])}'"
            text = ops[nid] = f"{before}, {op}" if before else op
        return text

    def state(nid: int) -> str:
        text = states.get(nid)
        if text is None:
            text = states[nid] = (f"Current State: {target}:[{', '.join(map(str, all_nums[nid]))}], "
                                  f"Operations: [{path_ops(nid)}]\n")
        return text

    out: list[str] = []
    add = out.append
    for kind, nid in zip(trace.event_kinds, trace.event_nodes):
        if kind == GENERATE:
            parent = parents[nid]
            nums = all_nums[nid]
            op = op_text(all_nums[parent], codes[nid], nums[-1])
            numbers = ", ".join(map(str, nums))
            if len(nums) > 1:
                labels[nid] = text = f"{label(parent)},{ranks[nid]}"
                add(f"Exploring Operation: {op}, Resulting Numbers: [{numbers}]\n"
                    f"Generated Node #{text}: {target}:[{numbers}] Operation: {op}\n")
            else:
                add(f"Exploring Operation: {op}, Resulting Numbers: [{numbers}]\n")
        elif kind == EXPAND:
            if nid:
                add(f"Moving to Node #{label(nid)}\n")
            add(state(nid))
        elif kind == RESUME:
            add(f"Moving to Node #{label(nid)}\n")
            add(state(nid))
        elif kind == DEAD_END:
            add(f"{all_nums[nid][0]},{target} unequal: No Solution\n")
        elif kind == GOAL:
            add(f"{all_nums[nid][0]},{target} equal: Goal Reached\n")
        elif kind == BUDGET:  # only with a budget, which the reference does not have
            add("Search budget exhausted: No Solution\n")
        # PRUNE and BACKTRACK: the reference writes nothing for them
    if trace.text_mode == "sos_bfs" and not trace.solved and (not out or not out[-1].startswith("Search budget")):
        add("No solution found.")
    return "".join(out)


def linearize_path(numbers, target: int, ops: list[str]) -> str:
    """The optimal path: only the operations of the solution, each with the numbers it leaves."""
    from pipelines.countdown.search import successors

    nums = tuple(numbers)
    lines = [f"Current State: {target}:[{', '.join(str(n) for n in nums)}], Operations: []"]
    for op in ops:
        for nxt, o in successors(nums):
            if o == op:
                nums = nxt
                break
        else:
            raise ValueError(f"operation {op!r} is not available in state {nums}")
        lines.append(f"Exploring Operation: {op}, Resulting Numbers: [{', '.join(str(n) for n in nums)}]")
    final = nums[0] if len(nums) == 1 else None
    lines.append(f"{final},{target} {'equal: Goal Reached' if final == target else 'unequal: No Solution'}")
    return "\n".join(lines)
