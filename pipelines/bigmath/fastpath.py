"""A vectorized fast path in front of math-verify for answers that are plain numbers.

Most answers are plain integers, decimals, fractions or percentages ("18", "0.625", "3/4",
"\\frac{1}{2}", "-\\dfrac{3}{4}", "\\$32,\\!348", "45^\\circ", "20\\%"). For those, math-verify's
verdict is predictable: it parses them, and two of them agree exactly when their values are
equal. This module decides such rows with Polars expressions over the whole column; every
other row goes to math-verify's worker pool (:func:`pipelines.bigmath.verify.verify_answers`).

The rule is: never guess. A row is decided here only when the answer (and, for the agreement
check, the solution's final answer) matches the grammar below and the comparison is clear-cut;
mixed forms whose outcome depends on math-verify's numeric subtleties (a percentage against a
plain number, a degree sign on one side only, values that differ only in the 6th decimal, a
decimal against an integer) are deferred. ``tests/pipelines/bigmath/test_fastpath.py`` checks
that every decision equals math-verify's on every answer of the sample sources and on
math-verify's own test pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import polars as pl

from pipelines.bigmath.verify import VerifyItem, VerifyOutcome, final_answer_of

# the number itself, after the cosmetic marks are gone: 18, -0.625, 3/4, \frac{1}{2}, -\dfrac{3}{4}
_NUMBER = (
    r"^(?P<neg>-?)(?:"
    r"(?P<int>\d{1,9})(?:\.(?P<dec>\d{1,6}))?"
    r"|\\[dt]?frac\{(?P<fn>\d{1,9})\}\{(?P<fd>\d{1,9})\}"
    r"|(?P<sn>\d{1,9})/(?P<sd>\d{1,9})"
    r")$"
)
_THOUSANDS = r"^(-?\d{1,3}(?:,\d{3})+)(\.\d+)?$"
_PERCENT = r"\s*\\?%$"
_DEGREE = r"\^\s*(?:\\circ|\{\s*\\circ\s*\})$"


def numbers(texts: pl.Series) -> pl.DataFrame:
    """Per text: ``ok`` (a plain number of the grammar), ``pct``, ``deg`` (its marks), ``kind``
    (int, dec, frac), and the exact value as ``num / den`` (Int64, small enough to multiply)."""
    t = (
        pl.col("t").str.strip_chars()
        # the same cosmetic marks verify._as_latex removes: currency sign, thin-space markers
        .str.replace_all(r"\$", "", literal=True).str.replace_all(",\\!", ",", literal=True)
        .str.replace_all(r"\!", "", literal=True)
    )
    pct = t.str.contains(_PERCENT)
    t = t.str.replace(_PERCENT, "")
    deg = t.str.contains(_DEGREE)
    t = t.str.replace(_DEGREE, "")
    t = pl.when(t.str.contains(_THOUSANDS)).then(t.str.replace_all(",", "", literal=True)).otherwise(t)
    g = t.str.extract_groups(_NUMBER)
    f = pl.DataFrame({"t": texts.cast(pl.Utf8)}).select(
        pct.alias("pct"), deg.alias("deg"), g.alias("g"), t.alias("core"),
    ).unnest("g")
    out = f.select(
        pl.col("pct"), pl.col("deg"), pl.col("core"),
        pl.when(pl.col("int").is_not_null() & pl.col("dec").is_not_null()).then(pl.lit("dec"))
        .when(pl.col("int").is_not_null()).then(pl.lit("int"))
        .when(pl.col("fn").is_not_null() | pl.col("sn").is_not_null()).then(pl.lit("frac"))
        .otherwise(None).alias("kind"),
        pl.coalesce(
            (pl.col("int") + pl.col("dec").fill_null("")).cast(pl.Int64, strict=False),
            pl.col("fn").cast(pl.Int64, strict=False), pl.col("sn").cast(pl.Int64, strict=False),
        ).alias("num"),
        pl.coalesce(
            pl.when(pl.col("int").is_not_null()).then(pl.lit(10, pl.Int64).pow(pl.col("dec").str.len_chars().fill_null(0)).cast(pl.Int64)),
            pl.col("fd").cast(pl.Int64, strict=False), pl.col("sd").cast(pl.Int64, strict=False),
        ).alias("den"),
        (pl.col("neg") == "-").alias("neg"),
    )
    out = out.with_columns(
        pl.when(pl.col("neg")).then(-pl.col("num")).otherwise(pl.col("num")).alias("num"),
    ).with_columns(
        # |num| and den below 1e9: the cross products of a comparison fit in Int64
        (pl.col("kind").is_not_null() & (pl.col("den") > 0) & (pl.col("num").abs() < 10**9))
        .fill_null(False).alias("ok"),
    )
    return out.drop("neg")


@dataclass(frozen=True)
class FastDecisions:
    decided: list[bool]                  # per item: the fast path decided it
    outcomes: list[VerifyOutcome | None]  # the decision (None where deferred)


def decide(items: Sequence[VerifyItem]) -> FastDecisions:
    """Decide what can be decided without math-verify; the rest is deferred (outcome None)."""
    n = len(items)
    answers = pl.Series("a", [it.answer for it in items], dtype=pl.Utf8)
    a = numbers(answers)
    a_ok = a.get_column("ok").to_list()
    # the solution's final answer: only for rows whose answer is a plain number and that have a solution
    stated: list[str | None] = [
        final_answer_of(it.solution) if ok and it.solution is not None else None for it, ok in zip(items, a_ok)
    ]
    s = numbers(pl.Series("s", stated, dtype=pl.Utf8))
    has_solution = pl.Series([it.solution is not None for it in items], dtype=pl.Boolean)
    stated_s = pl.Series(stated, dtype=pl.Utf8)
    frame = pl.DataFrame({
        "a_ok": a.get_column("ok"), "a_pct": a.get_column("pct"), "a_deg": a.get_column("deg"),
        "a_kind": a.get_column("kind"), "a_num": a.get_column("num"), "a_den": a.get_column("den"),
        "s_ok": s.get_column("ok"), "s_pct": s.get_column("pct"), "s_deg": s.get_column("deg"),
        "s_kind": s.get_column("kind"), "s_num": s.get_column("num"), "s_den": s.get_column("den"),
        "has_solution": has_solution, "stated": stated_s,
    })
    # exact equality of the two values: a_num / a_den == s_num / s_den (|num|, den < 1e9: no overflow)
    equal = (pl.col("a_num") * pl.col("s_den")) == (pl.col("s_num") * pl.col("a_den"))
    same_marks = (pl.col("a_pct") == pl.col("s_pct")) & (pl.col("a_deg") == pl.col("s_deg"))
    # same kind of number on both sides: sympy compares Integer/Rational exactly and Float by
    # rounding; an Integer against a Float goes through paths this module does not model
    exact_kinds = pl.col("a_kind").is_in(["int", "frac"]) & pl.col("s_kind").is_in(["int", "frac"])
    both_dec = (pl.col("a_kind") == "dec") & (pl.col("s_kind") == "dec")
    # two decimals with at most 6 places: equal values agree; different ones differ by >= 1e-6,
    # which math-verify's rounding to 6 places keeps apart only when they are far apart
    a_val = pl.col("a_num") / pl.col("a_den")
    s_val = pl.col("s_num") / pl.col("s_den")
    far = (a_val - s_val).abs() > 1e-3 * pl.max_horizontal(pl.lit(1.0), a_val.abs(), s_val.abs())
    verdict = frame.select(
        pl.when(~pl.col("a_ok")).then(pl.lit("defer"))
        .when(~pl.col("has_solution") | pl.col("stated").is_null()).then(pl.lit("parsed"))
        .when(~pl.col("s_ok") | ~same_marks).then(pl.lit("defer"))
        .when(exact_kinds & equal).then(pl.lit("agree"))
        .when(exact_kinds).then(pl.lit("mismatch"))
        .when(both_dec & equal).then(pl.lit("agree"))
        .when(both_dec & far).then(pl.lit("mismatch"))
        .otherwise(pl.lit("defer")).alias("v")
    ).get_column("v").to_list()
    outcomes: list[VerifyOutcome | None] = [None] * n
    for i, v in enumerate(verdict):
        if v == "parsed":
            outcomes[i] = VerifyOutcome(True, None)
        elif v == "agree":
            outcomes[i] = VerifyOutcome(True, True)
        elif v == "mismatch":
            outcomes[i] = VerifyOutcome(True, False, f"solution says {stated[i][:200]!r}")
    return FastDecisions([o is not None for o in outcomes], outcomes)


def verify_with_fast_path(items: Sequence[VerifyItem], **pool_kwargs) -> tuple[list[VerifyOutcome], int]:
    """Fast path first, math-verify's pool for the rest; returns (outcomes in input order,
    how many the fast path decided).

    The pool sees each distinct (answer, solution's final answer) once: ``check_item`` depends on
    nothing else, and real sources repeat answers ("2", "\\frac{1}{2}", "\\sqrt{2}") many times.
    """
    from pipelines.bigmath.verify import verify_answers

    fast = decide(items)
    out = list(fast.outcomes)
    first: dict[tuple[str | None, str | None], int] = {}  # key -> index into `unique`
    unique: list[VerifyItem] = []
    slot_of: dict[int, int] = {}
    for i, d in enumerate(fast.decided):
        if d:
            continue
        it = items[i]
        key = (it.answer, final_answer_of(it.solution))
        if key not in first:
            first[key] = len(unique)
            unique.append(it)
        slot_of[i] = first[key]
    slow = verify_answers(unique, **pool_kwargs) if unique else []
    for i, k in slot_of.items():
        out[i] = slow[k]
    return out, sum(fast.decided)  # type: ignore[return-value]
