"""A search trace as text, in the Stream-of-Search format (the whole exploration, dead ends and
backtracking included), and the optimal path as the short text of the solution alone."""

from __future__ import annotations

from pipelines.countdown.search import SearchTrace


def _state(trace: SearchTrace, nums: tuple) -> str:
    return f"{trace.target}:[{', '.join(str(n) for n in nums)}]"


def linearize(trace: SearchTrace) -> str:
    nodes = trace.nodes
    lines: list[str] = []
    for kind, nid, _ in trace.events:
        node = nodes[nid]
        if kind == "expand":
            if node.parent >= 0:
                lines.append(f"Moving to Node #{node.label}")
            ops = ", ".join(f"'{o}'" for o in trace.path(nid))
            lines.append(f"Current State: {_state(trace, node.nums)}, Operations: [{ops}]")
        elif kind in ("generate", "rollout"):
            nums = "[" + ", ".join(str(n) for n in node.nums) + "]"
            prefix = "Rollout Operation" if kind == "rollout" else "Exploring Operation"
            if kind == "rollout" and not node.op:
                continue
            lines.append(f"{prefix}: {node.op}, Resulting Numbers: {nums}")
            if len(node.nums) > 1 and kind == "generate":
                lines.append(f"Generated Node #{node.label}: {_state(trace, node.nums)} Operation: {node.op}")
        elif kind == "prune":
            lines.append(f"Pruned Node #{node.label}: heuristic {node.h:.2f}")
        elif kind == "dead_end":
            lines.append(f"{node.nums[0]},{trace.target} unequal: No Solution")
        elif kind == "goal":
            lines.append(f"{node.nums[0]},{trace.target} equal: Goal Reached")
        elif kind == "backtrack":
            lines.append(f"Moving to Node #{node.label}")
        elif kind == "budget":
            lines.append("Search budget exhausted: No Solution")
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
