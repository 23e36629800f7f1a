"""A search trace as text, in the Stream-of-Search format (the whole exploration, dead ends and
backtracking included), and the optimal path as the short text of the solution alone."""

from __future__ import annotations

from pipelines.countdown.search import (BACKTRACK, BUDGET, DEAD_END, EXPAND, GENERATE, GOAL, PRUNE, ROLLOUT,
                                        SearchTrace, op_text)


def linearize(trace: SearchTrace) -> str:
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
