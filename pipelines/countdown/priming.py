"""Behavior-controlled priming sets written from symbolic search, not by an LLM.

A depth-first search (``sum`` heuristic, no pruning) of each problem yields its attempts in the
order it checked them: dead ends, then the solution. A priming trace replays a sample of those
attempts in natural language and inserts the chosen behaviors:

- backtracking: one sentence per dead end shown (the search really abandoned that path);
- verification: a check of a dead end's value (sometimes) and of the final expression (always);
- subgoal setting: an intermediate goal before an attempt (always before the final one);
- backward chaining: the target decomposed into what it requires (always before the final one).

Every row carries the exact number of sentences of each behavior it contains, and the detector's
counts beside them. Sets (cognitive-behaviors paper): ``all_strategies``, ``only_backtracking``,
``backtracking_verification``, ``backtracking_backward``, ``backtracking_subgoal``,
``negative_control`` (the solution alone, no behavior), and the controls ``empty_thinking``,
``length_matched_dots`` (the ``all_strategies`` thinking replaced by as many dots) and
``wrong_answer`` (all four behaviors, but the final answer is a dead end).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import polars as pl

from pipelines.behaviors import BEHAVIORS, detect_behaviors
from pipelines.core.hashing import content_id
from pipelines.core.steps import REASON_COLUMNS, Funnel
from pipelines.countdown import reasons, templates as T
from pipelines.countdown.config import CountdownConfig
from pipelines.countdown.reward import score_completion
from pipelines.countdown.search import SearchTrace, dfs, ops_to_expression

V, B, S, W = BEHAVIORS  # verification, backtracking, subgoal_setting, backward_chaining

SET_BEHAVIORS: dict[str, frozenset] = {
    "all_strategies": frozenset({V, B, S, W}),
    "only_backtracking": frozenset({B}),
    "backtracking_verification": frozenset({B, V}),
    "backtracking_backward": frozenset({B, W}),
    "backtracking_subgoal": frozenset({B, S}),
    "negative_control": frozenset(),
    "empty_thinking": frozenset(),
    "length_matched_dots": frozenset(),
    "wrong_answer": frozenset({V, B, S, W}),
}
PRIMING_SETS = tuple(SET_BEHAVIORS)
CORRECT_SETS = frozenset(PRIMING_SETS) - {"wrong_answer"}
COUNT_COLUMNS = tuple(f"n_{b}" for b in BEHAVIORS)
DETECTED_COLUMNS = tuple(f"detected_{b}" for b in BEHAVIORS)
SOURCE_STRATEGY = "dfs_eager_sum_unpruned"

SCHEMA = {
    "row_id": pl.Utf8, "set_name": pl.Utf8, "problem_id": pl.Utf8, "numbers": pl.List(pl.Int64),
    "target": pl.Int64, "query": pl.Utf8, "completion": pl.Utf8, "answer_expression": pl.Utf8,
    "answer_correct": pl.Boolean, "thinking_chars": pl.Int64, "source_strategy": pl.Utf8,
    **{c: pl.Int64 for c in COUNT_COLUMNS}, **{c: pl.Int64 for c in DETECTED_COLUMNS},
    "detector_agrees": pl.Boolean,
}


@dataclass
class Rendered:
    thinking: str
    expression: str
    counts: dict


def _fmt_nums(nums) -> str:
    return "[" + ", ".join(str(n) for n in nums) + "]"


def _split_op(op: str) -> tuple[int, str, int, int]:
    lhs, res = op.split("=")
    for sym in "+-*/":
        if sym in lhs[1:]:
            a, b = lhs.split(sym, 1)
            return int(a), sym, int(b), int(res)
    raise ValueError(op)


def _plan(rng: random.Random, numbers, target: int) -> dict:
    """A decomposition of the target around one given number (for plans, true or not)."""
    options = []
    for n in sorted(set(numbers)):
        if n and target % n == 0 and n not in (1, target):
            options.append({"n": n, "need": target // n, "verb": "multiply by",
                            "decomposition": f"{n} * {target // n}"})
        if n < target:
            options.append({"n": n, "need": target - n, "verb": "add", "decomposition": f"{n} + {target - n}"})
        options.append({"n": n, "need": target + n, "verb": "reduce by", "decomposition": f"{target + n} - {n}"})
    return dict(rng.choice(options))


def render(numbers, target: int, attempts: list[tuple[list[str], int, bool]], behaviors: frozenset,
           rng: random.Random, *, final_wrong: bool = False) -> Rendered:
    """Thinking text for ``attempts`` (each: ops, final value, reached target); the last attempt is
    the answer. Returns the text, the answer expression and the exact behavior counts."""
    counts = dict.fromkeys(BEHAVIORS, 0)
    nums_text = _fmt_nums(numbers)
    out = [rng.choice(T.INTRO).format(target=target, numbers=nums_text)]
    for k, (ops, value, _reached) in enumerate(attempts):
        last = k == len(attempts) - 1
        expr = ops_to_expression(numbers, ops)
        true_last = last and not final_wrong
        if S in behaviors and (last or rng.random() < 0.5):
            if true_last:
                a, sym, b, _ = _split_op(ops[-1])
                out.append(rng.choice(T.SUBGOAL_LAST).format(a=a, b=b, op=sym, target=target))
            else:
                out.append(rng.choice(T.SUBGOAL_PLAN).format(**_plan(rng, numbers, target)))
            counts[S] += 1
        if W in behaviors and (last or rng.random() < 0.5):
            if true_last:
                a, sym, b, _ = _split_op(ops[-1])
                out.append(rng.choice(T.BACKWARD_LAST).format(a=a, b=b, op=sym, target=target))
            else:
                out.append(rng.choice(T.BACKWARD_PLAN).format(target=target, **_plan(rng, numbers, target)))
            counts[W] += 1
        remaining = list(numbers)
        for op in ops:
            a, sym, b, c = _split_op(op)
            remaining.remove(a)
            remaining.remove(b)
            remaining.append(c)
            out.append(rng.choice(T.STEP).format(a=a, b=b, op=sym, c=c, rest=_fmt_nums(remaining)))
        if not last:
            if V in behaviors and rng.random() < 0.5:
                out.append(rng.choice(T.FAILED_CHECK).format(expr=expr, value=value, target=target))
                counts[V] += 1
            out.append(rng.choice(T.BACKTRACK).format(value=value, target=target))
            counts[B] += 1
        else:
            if V in behaviors:
                tmpl = T.WRONG_CHECK if final_wrong else T.SUCCESS_CHECK
                out.append(rng.choice(tmpl).format(expr=expr, value=value, target=target, numbers=nums_text))
                counts[V] += 1
            elif not final_wrong:
                out.append(rng.choice(T.REACHED).format(target=target, value=value))
            out.append(rng.choice(T.FINAL).format(expr=expr))
    return Rendered(" ".join(out), ops_to_expression(numbers, attempts[-1][0]), counts)


def completion_text(thinking: str, expression: str) -> str:
    """What follows the query's ``<think>``: the thinking, the closing tag and the answer."""
    return f"{thinking}\n</think>\n<answer>{expression}</answer>" if thinking else f"</think>\n<answer>{expression}</answer>"


def priming_trace(numbers, target: int, budget: int) -> SearchTrace:
    return dfs(numbers, target, "sum", budget=budget, threshold=None, strategy=SOURCE_STRATEGY)


def _select(rng: random.Random, failed: list, k: int) -> list:
    idx = sorted(rng.sample(range(len(failed)), k))
    return [failed[i] for i in idx]


def build_row(set_name: str, problem: dict, trace: SearchTrace, cfg: CountdownConfig,
              dots_like: str | None = None) -> tuple[dict | None, str | None]:
    """One priming row of ``set_name`` for a problem, or (None, why) when its search cannot give one."""
    numbers, target, pid = problem["numbers"], problem["target"], problem["problem_id"]
    rng = random.Random(f"{cfg.seed}|{set_name}|{pid}")
    leaves = trace.leaves()
    success = [leaf for leaf in leaves if leaf[2]]
    failed = [leaf for leaf in leaves if not leaf[2]]
    behaviors = SET_BEHAVIORS[set_name]
    if not success:
        return None, "the search found no solution within its budget"
    final_wrong = set_name == "wrong_answer"
    if final_wrong and len(failed) < 2:
        return None, "fewer than two dead ends: cannot show backtracking and end on a wrong answer"
    if B in behaviors and not failed:
        return None, "the search met no dead end, so there is nothing to backtrack from"
    if set_name in ("empty_thinking", "length_matched_dots"):
        expression = ops_to_expression(numbers, success[0][0])
        thinking = "" if set_name == "empty_thinking" else "." * len(dots_like or "")
        if set_name == "length_matched_dots" and not dots_like:
            return None, "no all_strategies row to match the length of"
        rendered = Rendered(thinking, expression, dict.fromkeys(BEHAVIORS, 0))
    else:
        if final_wrong:
            n_back = min(len(failed) - 1, rng.randint(1, cfg.max_backtracks))
            shown = _select(rng, failed[:-1], n_back)
            attempts = shown + [failed[-1]]
        elif B in behaviors:
            n_back = min(len(failed), rng.randint(1, cfg.max_backtracks))
            attempts = _select(rng, failed, n_back) + [success[0]]
        else:
            attempts = [success[0]]
        rendered = render(numbers, target, attempts, behaviors, rng, final_wrong=final_wrong)
    completion = completion_text(rendered.thinking, rendered.expression)
    score = score_completion(completion, numbers, target)
    detected = detect_behaviors(rendered.thinking).as_dict()
    row = {
        "row_id": content_id("countdown-priming", set_name, pid),
        "set_name": set_name, "problem_id": pid, "numbers": list(numbers), "target": target,
        "query": problem["query"], "completion": completion, "answer_expression": rendered.expression,
        "answer_correct": score.correct, "thinking_chars": len(rendered.thinking), "source_strategy": SOURCE_STRATEGY,
        **{f"n_{b}": rendered.counts[b] for b in BEHAVIORS},
        **{f"detected_{b}": detected[b] for b in BEHAVIORS},
        "detector_agrees": all(detected[b] == rendered.counts[b] for b in BEHAVIORS),
    }
    return row, None


STEP_TRACE = "usable_trace"        # the problem's search gives a trace fit for the set
STEP_REPEAT = "no_verbatim_repeat"  # the row does not repeat an earlier row of its set


def build_priming_sets(problems: pl.DataFrame, cfg: CountdownConfig,
                       sets: tuple[str, ...] = PRIMING_SETS) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows, rejected) of :func:`build_priming`, without the funnel."""
    rows, rejected, _ = build_priming(problems, cfg, sets)
    return rows, rejected


def build_priming(problems: pl.DataFrame, cfg: CountdownConfig, sets: tuple[str, ...] = PRIMING_SETS,
                  count_sets: tuple[str, ...] | None = None) -> tuple[pl.DataFrame, pl.DataFrame, Funnel]:
    """(rows, rejected, funnel): ``cfg.priming_rows`` rows per set from the train split, in problem-id order.

    The input rows are the (set, problem) pairs tried; each is kept, or rejected by step
    ``usable_trace`` (``no_usable_trace``) or ``no_verbatim_repeat`` (``duplicate_row``). A rejected
    row carries its input columns (``set_name`` and the problem's columns) plus ``reason``,
    ``step``, ``detail``; the funnel counts both steps over the sets of ``count_sets`` (default: all
    built; a partition that builds a set beside its own, as length_matched_dots needs all_strategies,
    counts its own only)."""
    counted = set(sets if count_sets is None else count_sets)
    pool = problems.filter(pl.col("split") == "train").sort("problem_id")
    rows: list[dict] = []
    rejected: list[dict] = []
    traces: dict[str, SearchTrace] = {}
    all_thinking: dict[str, str] = {}
    tried = no_trace = repeats = 0
    order = [s for s in sets if s != "length_matched_dots"] + (["length_matched_dots"] if "length_matched_dots" in sets else [])
    for set_name in order:
        seen: set = set()
        n = 0
        for problem in pool.iter_rows(named=True):
            if n >= cfg.priming_rows:
                break
            tried += set_name in counted
            pid = problem["problem_id"]
            if pid not in traces:
                traces[pid] = priming_trace(problem["numbers"], problem["target"], cfg.node_budget)
            row, why = build_row(set_name, problem, traces[pid], cfg, dots_like=all_thinking.get(pid))
            if row is None:
                no_trace += set_name in counted
                rejected.append({"set_name": set_name, **problem, "reason": reasons.NO_TRACE,
                                 "step": STEP_TRACE, "detail": why})
                continue
            key = (row["query"], row["completion"])
            if key in seen:
                repeats += set_name in counted
                rejected.append({"set_name": set_name, **problem, "reason": reasons.DUPLICATE_ROW,
                                 "step": STEP_REPEAT, "detail": "same query and completion as an earlier row"})
                continue
            seen.add(key)
            if set_name == "all_strategies":
                all_thinking[pid] = row["completion"].split("\n</think>")[0]
            rows.append(row)
            n += 1
    funnel = Funnel()
    funnel.record_counts(STEP_TRACE, tried, tried - no_trace, {reasons.NO_TRACE: no_trace})
    funnel.record_counts(STEP_REPEAT, tried - no_trace, sum(r["set_name"] in counted for r in rows),
                         {reasons.DUPLICATE_ROW: repeats})
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(schema=SCHEMA)
    rej_schema = {"set_name": pl.Utf8, **{k: v for k, v in problems.schema.items() if k != "set_name"},
                  **{c: pl.Utf8 for c in REASON_COLUMNS}}
    rej = pl.DataFrame(rejected, schema=rej_schema, orient="row") if rejected else pl.DataFrame(schema=rej_schema)
    return frame.sort("set_name", "problem_id"), rej.sort("set_name", "problem_id"), funnel


def detector_agreement(rows: pl.DataFrame) -> dict:
    """Per set and behavior: share of rows where the detector's count equals the generator's."""
    out: dict = {}
    for set_name in sorted(rows["set_name"].unique().to_list()):
        part = rows.filter(pl.col("set_name") == set_name)
        out[set_name] = {b: round(float((part[f"n_{b}"] == part[f"detected_{b}"]).mean()), 4) for b in BEHAVIORS}
        out[set_name]["all"] = round(float(part["detector_agrees"].mean()), 4)
    if rows.height:
        out["overall"] = round(float(rows["detector_agrees"].mean()), 4)
    return out
