"""Checks of the OpenWebMath behavior corpora, as plain functions returning a list of problems.

Each takes the built frames and the configuration; an empty list means the check passed. The
allowed values come from the configuration, never from the data checked.
"""

from __future__ import annotations

import polars as pl

from pipelines.behaviors.detector import BEHAVIORS

SCORE_COLUMNS = tuple(f"score_{b}" for b in BEHAVIORS)
COUNT_COLUMNS = tuple(f"count_{b}" for b in BEHAVIORS)


def check_budgets(enriched: pl.DataFrame, control: pl.DataFrame, budget: int, tolerance: float) -> list[str]:
    """Each set holds at most ``budget`` tokens and at least ``(1 - tolerance) * budget``; the two
    sets differ by at most ``tolerance * budget``."""
    problems = []
    floor = (1 - tolerance) * budget
    totals = {}
    for name, frame in (("enriched", enriched), ("control", control)):
        total = int(frame.get_column("n_tokens").sum() or 0) if frame.height else 0
        totals[name] = total
        if total > budget:
            problems.append(f"{name}: {total} tokens over the budget {budget}")
        if total < floor:
            problems.append(f"{name}: {total} tokens under the budget {budget} minus {tolerance:.0%} ({floor:.0f})")
    if abs(totals["enriched"] - totals["control"]) > tolerance * budget:
        problems.append(f"budgets not matched: enriched {totals['enriched']} vs control {totals['control']} tokens "
                        f"(allowed difference {tolerance * budget:.0f})")
    return problems


def check_budget_supply(budget_used: int, budget_configured: int, eligible: dict[str, int], tolerance: float) -> list[str]:
    """The matched budget may shrink to the smaller set's supply; more than ``tolerance`` short of
    the configured budget means the rule or the corpus cannot deliver what was asked (an empty set
    would otherwise pass every other check)."""
    if budget_used >= (1 - tolerance) * budget_configured:
        return []
    short = min(eligible, key=eligible.get) if eligible else "?"
    return [f"budget {budget_used} tokens is under the configured {budget_configured}: the {short} set has only "
            f"{eligible.get(short, 0)} eligible tokens; loosen the selection rule or add shards"]


def check_disjoint(enriched: pl.DataFrame, control: pl.DataFrame) -> list[str]:
    both = set(enriched.get_column("doc_id").to_list()) & set(control.get_column("doc_id").to_list())
    return [f"{len(both)} documents in both sets, e.g. {sorted(both)[:3]}"] if both else []


def check_max_tokens(frame: pl.DataFrame, max_tokens: int, name: str) -> list[str]:
    over = frame.filter(pl.col("n_tokens") > max_tokens)
    return [f"{name}: {over.height} documents over {max_tokens} tokens, e.g. {over.get_column('doc_id').head(3).to_list()}"] if over.height else []


def check_scored(frame: pl.DataFrame, name: str) -> list[str]:
    """Every kept document carries all four scores, counts and a scorer version."""
    missing_cols = [c for c in (*SCORE_COLUMNS, *COUNT_COLUMNS, "scorer_version", "tokenizer") if c not in frame.columns]
    if missing_cols:
        return [f"{name}: columns missing: {', '.join(missing_cols)}"]
    nulls = frame.filter(pl.any_horizontal([pl.col(c).is_null() for c in (*SCORE_COLUMNS, *COUNT_COLUMNS)])
                         | pl.col("scorer_version").is_null() | (pl.col("scorer_version") == ""))
    return [f"{name}: {nulls.height} documents without scores or scorer version, e.g. {nulls.get_column('doc_id').head(3).to_list()}"] if nulls.height else []


def check_accounting(rows_read: int, enriched: pl.DataFrame, control: pl.DataFrame, rejected: pl.DataFrame) -> list[str]:
    """kept + rejected = read: every row read ends in exactly one of the three."""
    total = enriched.height + control.height + rejected.height
    if total != rows_read:
        return [f"{rows_read} rows read but {enriched.height} enriched + {control.height} control + "
                f"{rejected.height} rejected = {total}"]
    if rejected.height and rejected.get_column("reason").null_count():
        return [f"{rejected.get_column('reason').null_count()} rejected rows without a reason"]
    return []


def check_accounting_on_disk(out_dir, rows_read: int) -> list[str]:
    """The row contract on the files ``write_build`` wrote: enriched + control + rejected rows = read
    (validators.common.conservation_on_disk; OWM has no funnel table yet, so none is compared)."""
    from pathlib import Path

    from validators.common import conservation_on_disk

    out = Path(out_dir)
    ok, meta = conservation_on_disk(rows_read, [out / "enriched.parquet", out / "control.parquet"],
                                    [out / "rejected.parquet"])
    return [] if ok else [meta["problems"]]


def check_test_split(frame: pl.DataFrame, fraction: float, name: str, slack: float = 0.05) -> list[str]:
    """The test split is near ``fraction`` (a hash split: exact only on average)."""
    if not frame.height:
        return []
    share = float((frame.get_column("split") == "test").mean())
    return [] if abs(share - fraction) <= slack else [f"{name}: test share {share:.3f}, expected {fraction} ± {slack}"]


def check_corpora(build, cfg) -> dict[str, list[str]]:
    """Every check on a :class:`pipelines.owm.pipeline.CorporaBuild`, by check name."""
    e, c = build.enriched, build.control
    return {
        "budgets": check_budgets(e, c, build.stats["budget"], cfg.budget_tolerance),
        "budget_supply": check_budget_supply(build.stats["budget"], cfg.token_budget, build.stats["eligible_tokens"],
                                             cfg.budget_tolerance),
        "disjoint": check_disjoint(e, c),
        "max_tokens": check_max_tokens(e, cfg.max_tokens, "enriched") + check_max_tokens(c, cfg.max_tokens, "control"),
        "scored": check_scored(e, "enriched") + check_scored(c, "control"),
        "accounting": check_accounting(build.rows_read, e, c, build.rejected),
    }
