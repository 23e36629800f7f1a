"""Vectorized necessary conditions in front of the rule detectors of :mod:`pipelines.bigmath.signals`.

Each function returns a Polars boolean expression that is True for every row its detector could
accept (a superset: "candidates"); the funnel calls the Python detector on the candidates only and
decides every other row False without it. The decisions are the detector's by construction, as long
as each prefilter is a true necessary condition; ``tests/pipelines/bigmath/test_prefilter.py``
checks that on the sample, the real-world-format rows and hypothesis-generated text.

Every condition is a literal search (Aho-Corasick) or a Rust regex without look-around: both
linear time in the text (issue 15), whatever the input. Two places where Python's ``re`` and these
searches could disagree are closed by construction:

- case: Python's ``re.IGNORECASE`` also equates ``İ ı ſ K`` with ASCII letters, and ``str.lower()``
  maps a few more characters (ß, ligatures) to ASCII letters, which an ASCII-case-insensitive
  literal search does not see: a row holding any of them is always a candidate (:data:`SPECIAL`);
- whitespace: Python's ``\\s`` (``str.isspace``) includes ``\\x1c``-``\\x1f``, Rust's does not:
  the regexes here spell Python's set out (:data:`WS`).
"""

from __future__ import annotations

import polars as pl

# non-ASCII characters that Python's re.IGNORECASE matches to an ASCII letter (İ ı ſ K), or whose
# lower()/upper() holds an ASCII letter (ß, ŉ, ǰ, ẖ-ẚ, ligatures); test_prefilter recomputes the set
SPECIAL = ("\u00df", "\u0130", "\u0131", "\u0149", "\u017f", "\u01f0", "\u1e96", "\u1e97", "\u1e98", "\u1e99",
           "\u1e9a", "\u212a", "\ufb00", "\ufb01", "\ufb02", "\ufb03", "\ufb04", "\ufb05", "\ufb06")
# Python's \s for str, as a Rust character class (test_prefilter recomputes it)
_WS_CHARS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"
WS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in _WS_CHARS) + "]"


def _special(col: pl.Expr) -> pl.Expr:
    return col.str.contains_any(list(SPECIAL))


def _any_ci(col: pl.Expr, literals: list[str]) -> pl.Expr:
    """Any literal, ASCII case ignored, or a character whose case folds outside ASCII (see above)."""
    return col.str.contains_any(literals, ascii_case_insensitive=True) | _special(col)


def _text(col: str = "problem") -> pl.Expr:
    return pl.col(col)


def _done(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null(True)  # a null text is left to the detector, as before


# ------------------------------------------------------------------ hyperlink
# _URL needs "://", "www.", "](" or ".com/"-style; _html_link needs "href="
_HYPERLINK = ["://", "www.", "](", ".com/", ".org/", ".net/", ".edu/", ".io/", ".gov/", "href="]


def hyperlink() -> pl.Expr:
    return _done(_any_ci(_text(), _HYPERLINK))


# ------------------------------------------------------------------ multiple choice
# _MC_PHRASES: every alternative holds one of these words
_MC_WORDS = ["following", "answer", "option", "choice"]
# _MC_PAREN "(A)", _MC_INLINE / _MC_LINES "A)", _MC_LINES / _MC_COLON "A." "A:", _MC_LOWER "a )"
_MC_MARKERS = rf"[(（]{WS}*A{WS}*[)）]|[Aa]{WS}?\)|A[.:：．]"


def multiple_choice() -> pl.Expr:
    text = _text()
    by_text = (text.str.contains("[asy]", literal=True)  # removed before matching: the rest may join up
               | _any_ci(text, _MC_WORDS) | text.str.contains(_MC_MARKERS))
    by_options = pl.col("options").list.len().fill_null(0) >= 2
    by_answer = pl.col("answer").str.contains("[A-E]").fill_null(False)  # an option letter as the answer
    return _done(by_text) | by_options | by_answer


# ------------------------------------------------------------------ proof
_PROOF = ["prov", "proof", "justify", "show", "demonstrat", "verify", "establish", "montr", "beweis", "zeigen",
          "demostrar", "demuestre", "证", "д", "Д", "\u1c81"]  # д: every Russian word starts "док" (any case)


def proof(proof_sources: set[str] | frozenset[str] = frozenset()) -> pl.Expr:
    return _done(_any_ci(_text(), _PROOF)) | pl.col("source").is_in(list(proof_sources)).fill_null(False)


# ------------------------------------------------------------------ true/false
_TF_TEXT = ["true", "correct"]  # every _TRUE_FALSE_QUESTION alternative holds one
_TF_ANSWER = ["true", "false", "correct", "√", "✓", "✔", "✗", "✘", "×", "\\checkmark", "\\times", "对", "错", "正确"]


def true_false() -> pl.Expr:
    answer = pl.col("answer")
    # a backslash: \text{...} wrappers are removed before the comparison, so the word may be split
    by_answer = (_any_ci(answer, _TF_ANSWER) | answer.str.contains("\\", literal=True)).fill_null(False)
    return _done(_any_ci(_text(), _TF_TEXT)) | by_answer


# ------------------------------------------------------------------ multi-part
# the second marker of each pair: _PART_B "(b)" "(ii)" "(2)" "⑵", _PART_LINES / _LETTER_ITEMS "b) " "B. ",
# _NUM_ITEMS "2. "; _PART_WORDS needs "part"; the answer's "(b)" / "(ii)"
_PART_MARKERS = rf"[(（]{WS}*(?:b|ii|2|II|Ⅱ){WS}*[)）]|⑵|[2bB]{WS}*[.)．、]{WS}"
_ANSWER_PART = rf"\({WS}*(?:b|ii){WS}*\)"


def multi_part() -> pl.Expr:
    text = _text()
    by_answer = pl.col("answer").str.contains(_ANSWER_PART).fill_null(False)
    return _done(text.str.contains(_PART_MARKERS) | _any_ci(text, ["part"])) | by_answer


# ------------------------------------------------------------------ figure
_FIGURE = ["[asy]", "\\begin{", "\\includegraphics", "<img", "![", "图", "fig", "diagram", "picture", "graph", "image",
           "drawing", "sketch", "shown", "illustrated", "depicted"]


def figure() -> pl.Expr:
    return _done(_any_ci(_text(), _FIGURE))


def candidates(frame: pl.DataFrame, expr: pl.Expr) -> pl.Series:
    """The rows of ``frame`` the detector behind ``expr`` must see (True), as a Series."""
    return frame.select(expr.alias("candidate")).to_series()
