"""Rules about Countdown data, as plain functions returning (passed, metadata), and GX suites."""

from __future__ import annotations

import polars as pl

from pipelines.behaviors import BEHAVIORS
from pipelines.countdown import reasons
from pipelines.countdown.config import STRATEGIES
from pipelines.countdown.priming import CORRECT_SETS, PRIMING_SETS, SET_BEHAVIORS
from pipelines.countdown.reward import score_completion

PROBLEMS_SUITE = "countdown_problems_suite"
TRACES_SUITE = "countdown_traces_suite"
PRIMING_SUITE = "countdown_priming_suite"
SPLITS = ("train", "val", "test_heldout")
MIN_DETECTOR_AGREEMENT = 0.95


def _answer(expr: str | None) -> str:
    return f"<answer>{expr}</answer>" if expr is not None else ""


def _examples(items: list, k: int = 5) -> str:
    return "; ".join(str(i) for i in items[:k]) or "none"


def solutions_verify(problems: pl.DataFrame) -> tuple[bool, dict]:
    """Every problem's stored solution scores 1.0 with the reward function."""
    bad = [pid for pid, nums, target, expr in problems.select("problem_id", "numbers", "target", "solution_expression").iter_rows()
           if score_completion(_answer(expr), nums, target).score != 1.0]
    return not bad, {"checked": problems.height, "failing": len(bad), "examples": _examples(bad)}


def heldout_targets_disjoint(problems: pl.DataFrame) -> tuple[bool, dict]:
    """No target of the held-out test split appears in train or val."""
    held = set(problems.filter(pl.col("split") == "test_heldout")["target"].to_list())
    seen = set(problems.filter(pl.col("split") != "test_heldout")["target"].to_list())
    shared = sorted(held & seen)
    counts = {s: int((problems["split"] == s).sum()) for s in SPLITS}
    return not shared and counts["test_heldout"] > 0, {"shared_targets": _examples(shared, 20),
                                                         "heldout_targets": len(held), **{f"rows_{k}": v for k, v in counts.items()}}


def trace_solutions_verify(traces: pl.DataFrame) -> tuple[bool, dict]:
    """Every solved trace's claimed solution and every optimal path scores 1.0 with the reward."""
    bad = []
    cols = ("trace_id", "numbers", "target", "solved", "solution_expression", "optimal_expression", "search_text")
    for tid, nums, target, solved, sol, opt, text in traces.select(cols).iter_rows():
        if solved and score_completion(_answer(sol), nums, target).score != 1.0:
            bad.append(f"{tid}: solution")
        if solved != ("Goal Reached" in (text or "")):
            bad.append(f"{tid}: text and solved flag disagree")
        if score_completion(_answer(opt), nums, target).score != 1.0:
            bad.append(f"{tid}: optimal path")
    solved = int(traces["solved"].sum()) if traces.height else 0
    return not bad, {"traces": traces.height, "solved": solved, "failing": len(bad), "examples": _examples(bad)}


def every_strategy_present(traces: pl.DataFrame, strategies) -> tuple[bool, dict]:
    have = set(traces["strategy"].unique().to_list()) if traces.height else set()
    missing = sorted(set(strategies) - have)
    return not missing, {"strategies": len(have), "missing": ", ".join(missing) or "none"}


def priming_counts_match_definitions(rows: pl.DataFrame, sets: tuple[str, ...] = PRIMING_SETS) -> tuple[bool, dict]:
    """In each set, the behaviors it is defined by appear (count >= 1) and no other behavior does;
    every set of ``sets`` (all of them, or the one a partition builds) is present."""
    problems = []
    for set_name, allowed in SET_BEHAVIORS.items():
        part = rows.filter(pl.col("set_name") == set_name)
        for b in BEHAVIORS:
            col = part[f"n_{b}"]
            if b in allowed and part.height and int(col.min()) < 1:
                problems.append(f"{set_name}: {int((col < 1).sum())} rows without {b}")
            if b not in allowed and part.height and int(col.max()) > 0:
                problems.append(f"{set_name}: {int((col > 0).sum())} rows with {b}")
    present = set(rows["set_name"].unique().to_list()) if rows.height else set()
    missing = sorted(set(sets) - present)
    if missing:
        problems.append(f"missing sets: {', '.join(missing)}")
    return not problems, {"problems": "\n".join(problems) or "none", "sets": len(present)}


def priming_answers(rows: pl.DataFrame) -> tuple[bool, dict]:
    """Re-score every completion: correct sets score 1.0; every ``wrong_answer`` row verifiably fails."""
    bad_correct, bad_wrong = [], []
    for rid, set_name, nums, target, completion in rows.select("row_id", "set_name", "numbers", "target", "completion").iter_rows():
        score = score_completion(completion, nums, target)
        if set_name in CORRECT_SETS and score.score != 1.0:
            bad_correct.append(rid)
        if set_name == "wrong_answer" and (score.correct or not score.format_ok):
            bad_wrong.append(rid)
    return not (bad_correct or bad_wrong), {"correct_rows_failing": len(bad_correct), "wrong_rows_passing": len(bad_wrong),
                                            "examples": _examples(bad_correct + bad_wrong)}


def no_verbatim_repeats(rows: pl.DataFrame) -> tuple[bool, dict]:
    dupes = rows.height - rows.select("set_name", "query", "completion").unique().height if rows.height else 0
    thinking_dupes = 0
    if rows.height:
        thinking = rows.with_columns(pl.col("completion").str.split("\n</think>").list.first().alias("_t"))
        texts = thinking.filter((pl.col("thinking_chars") > 0) & ~pl.col("set_name").is_in(["length_matched_dots"]))
        thinking_dupes = texts.height - texts.select("set_name", "_t").unique().height
    return dupes == 0 and thinking_dupes == 0, {"duplicate_rows": dupes, "duplicate_thinking": thinking_dupes}


def detector_agreement(rows: pl.DataFrame, minimum: float = MIN_DETECTOR_AGREEMENT) -> tuple[bool, dict]:
    share = float(rows["detector_agrees"].mean()) if rows.height else 0.0
    per_behavior = {b: round(float((rows[f"n_{b}"] == rows[f"detected_{b}"]).mean()), 4) if rows.height else 0.0
                    for b in BEHAVIORS}
    return share >= minimum, {"agreement": round(share, 4), "minimum": minimum, **{f"agreement_{k}": v for k, v in per_behavior.items()}}


def problems_expectations(cfg) -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToNotBeNull(column="problem_id"),
        E.ExpectColumnValuesToBeUnique(column="problem_id"),
        E.ExpectColumnValuesToMatchRegex(column="problem_id", regex=r"^[0-9a-f]{16}$"),
        E.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        E.ExpectColumnValuesToBeBetween(column="target", min_value=cfg.target_min, max_value=cfg.target_max),
        E.ExpectColumnValuesToNotBeNull(column="solution_expression"),
        E.ExpectColumnValuesToMatchRegex(column="query", regex=r"<think>$"),
        E.ExpectColumnValuesToMatchRegex(column="query", regex=r"<answer>"),
    ]


def traces_expectations() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToBeUnique(column="trace_id"),
        E.ExpectColumnValuesToBeInSet(column="strategy", value_set=list(STRATEGIES)),
        E.ExpectColumnValuesToBeBetween(column="nodes_expanded", min_value=1),
        E.ExpectColumnValuesToBeBetween(column="rating", min_value=0, max_value=1),
        E.ExpectColumnValuesToMatchRegex(column="search_text", regex=r"^Current State: "),
        E.ExpectColumnValuesToNotBeNull(column="optimal_expression"),
    ]


def priming_expectations() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToBeUnique(column="row_id"),
        E.ExpectColumnValuesToBeInSet(column="set_name", value_set=list(PRIMING_SETS)),
        E.ExpectColumnValuesToMatchRegex(column="completion", regex=r"</think>\n<answer>[^<]+</answer>$"),
        *[E.ExpectColumnValuesToBeBetween(column=f"n_{b}", min_value=0) for b in BEHAVIORS],
        E.ExpectColumnValuesToNotBeNull(column="answer_expression"),
    ]


def rejected_expectations() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [E.ExpectColumnValuesToNotBeNull(column="reason"),
            E.ExpectColumnValuesToBeInSet(column="reason", value_set=list(reasons.ALL))]
