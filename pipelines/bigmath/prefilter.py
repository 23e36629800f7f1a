"""Vectorized necessary conditions in front of the rule detectors of :mod:`pipelines.bigmath.signals`.

Each function returns a Polars boolean expression (or a tuple of them: stages, see :data:`Prefilter`)
that is True for every row its detector could accept (a superset: "candidates"); the funnel calls
the Python detector on the candidates only and decides every other row False without it. The
decisions are the detector's by construction, as long as each prefilter (each stage) is a true
necessary condition; ``tests/pipelines/bigmath/test_prefilter.py`` checks that on the sample, the
real-world-format rows and hypothesis-generated text.

Every condition is a literal search (Aho-Corasick) or a Rust regex without look-around: both
linear time in the text (issue 15), whatever the input. Two places where Python's ``re`` and these
searches could disagree are closed by construction:

- case: Python's ``re.IGNORECASE`` also equates ``İ ı ſ K`` with ASCII letters, and ``str.lower()``
  maps a few more characters (ß, ligatures) to ASCII letters, which an ASCII-case-insensitive
  literal search does not see: a row whose problem holds any of them (:data:`SPECIAL`) is always a
  candidate (:func:`candidate_rows` adds it, looking among the non-ASCII rows only, which a length
  comparison finds without a scan, so the searches themselves stay few-literal and fast); the
  answer-side conditions check the answer's SPECIAL characters themselves;
- whitespace: Python's ``\\s`` (``str.isspace``) includes ``\\x1c``-``\\x1f``, Rust's does not:
  the regexes here spell Python's set out (:data:`WS`).
"""

from __future__ import annotations

import numpy as np
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


def _words_ci(col: pl.Expr, literals: list[str]) -> pl.Expr:
    """Any literal, case ignored, as one Rust regex: faster than Aho-Corasick where the literals are
    few (the regex searches their case variants with SIMD); Unicode case folding is a superset of
    ASCII's."""
    return _rx_ci(col, "|".join(map(_escape_all, literals)))


def _groups_ci(col: pl.Expr, *groups: list[str], exact: str = "") -> pl.Expr:
    """:func:`_words_ci` of each group (or ``exact``, case kept), OR-ed: one regex per group, because
    one regex over every literal leaves the SIMD search (too many case variants) and scans ~4x slower
    than a few small ones (measured on the scaled sample)."""
    return _or([_words_ci(col, g) for g in groups] + ([col.str.contains(exact)] if exact else []))


def _or(exprs: list[pl.Expr]) -> pl.Expr:
    out = exprs[0]
    for e in exprs[1:]:
        out = out | e
    return out


def _and(exprs: list[pl.Expr]) -> pl.Expr:
    out = exprs[0]
    for e in exprs[1:]:
        out = out & e
    return out


def _any_rx(col: pl.Expr, patterns) -> pl.Expr:
    """Any of ``patterns``, one search each (small regexes keep the fast literal search)."""
    return _or([col.str.contains(p) for p in patterns])


def _all_rx(col: pl.Expr, patterns) -> pl.Expr:
    return _and([col.str.contains(p) for p in patterns])


def _escape_all(literal: str) -> str:
    return "".join(map(_escape, literal))


def _rx_ci(col: pl.Expr, pattern: str, exact: str = "") -> pl.Expr:
    """The Rust regex ``pattern`` with case ignored (Unicode folding: a superset of Python's for ASCII
    letters), or ``exact`` (case kept)."""
    return col.str.contains("|".join(filter(None, [f"(?i:{pattern})", exact])))


def _text(col: str = "problem") -> pl.Expr:
    return pl.col(col)


def _done(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null(True)  # a null text is left to the detector, as before


def _subsequence(*words: str) -> str:
    """A Rust regex true where the characters of one of ``words`` occur in order (ASCII case
    ignored, with the flags of the caller): what an answer with ``\\text{}`` wrappers removed
    (a deletion of characters) needs to hold the word."""
    return "|".join(".*".join(_escape(ch) for ch in w) for w in words)


def _escape(ch: str) -> str:
    return "\\" + ch if ch in r"\.+*?()|[]{}^$#&-~" else ch


# Detectors whose prefilter is a tuple run it in stages: each stage is a necessary condition on its
# own and runs on the rows the previous stages kept, so a cheap literal search first leaves a precise
# regex few rows to look at (pipelines/bigmath/funnel.py, test_prefilter checks every stage).
Prefilter = pl.Expr | tuple[pl.Expr, ...]


# ------------------------------------------------------------------ hyperlink
# _URL needs "://", "www.", "](" or ".com/"-style; _html_link needs "href=" (shortened to "ww.", ".com", "ef=":
# fewer case variants keep the regex on its SIMD search, ~4x faster, measured)
_HYPERLINK = ["://", "ww.", "](", ".com", ".org", ".net", ".edu", ".io", ".gov", "ef="]


def hyperlink() -> Prefilter:
    return _done(_words_ci(_text(), _HYPERLINK))


# ------------------------------------------------------------------ multiple choice
# _MC_PHRASES: every alternative holds one of these words
_MC_WORDS = ["following", "answer", "option", "choice"]
# each _MC_PHRASES alternative without its \b / ^ anchors, one regex each (small ones stay fast)
_MC_PHRASES = (rf"which{WS}+(?:one{WS}+)?of{WS}+the{WS}+following", rf"answer{WS}+choice",
               rf"(?:select|choose|pick){WS}+(?:the{WS}+)?(?:correct|best|right){WS}+(?:answer|option|choice)",
               rf"options?{WS}*:|choices?{WS}*:")
_ASY = r"\[asy\](?s:.)*?(?:\[/asy\]|$)"  # signals._ASY (lazy: the first "[/asy]" or the end)
_WS_NOT_NL = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in _WS_CHARS if c != "\n") + "]"  # Python's [^\S\n]
# every marker kind needs a "B" marker: _MC_PAREN "(B)", _MC_INLINE / _MC_LINES / _MC_COLON "B)" "B." "B:",
# _MC_LOWER "b )" (the first stage's condition, the "(" left out: a faster search)
_MC_B = rf"B{WS}*[)）.:：．]|b{WS}?\)"
# _MC_PAREN, _MC_INLINE and _MC_COLON need an A, a B and a C marker, each of one of these forms (the
# look-behinds dropped); _MC_LINES an "A." at a line start and a "B." after a newline; _MC_LOWER as it is
_MC_ABC = tuple(rf"[(（]{WS}*{k}{WS}*[)）]|{k}{WS}?\)|{k}[:：．]" for k in "ABC")  # (B's, C's contexts dropped: faster)
_MC_LINES = (rf"(?m:^){_WS_NOT_NL}*\(?A[.):：．]", rf"\n{WS}*\(?B[.):：．]")
_MC_LOWER = (rf"(?:^|[{WS[1:-1]},;:])a{WS}?\){WS}*[^,;]{{1,80}}[,;]{WS}*b{WS}?\){WS}*[^,;]{{1,80}}[,;]{WS}*c{WS}?\)")


# is_multiple_choice's answer check: _unwrap(answer) starts "(", spaces, a letter A-E; _unwrap deletes
# whitespace, "$" and "." at the ends and \text{...}-style wrappers ("\name", spaces, "{", "}"; rounds of
# deletion can join a name from pieces): so the raw answer is such characters, maybe "(", such characters,
# then the letter
_WRAP_NAMES = ("text", "textbf", "textit", "mathrm", "mathbf", "textrm", "mbox", "boxed", "fbox")  # signals._TEXT_WRAP
_DELETED = "[" + WS[1:-1] + r"$.{}\\" + "".join(sorted(set("".join(_WRAP_NAMES)))) + "]"
_LETTER_START = rf"^{_DELETED}*\(?{_DELETED}*[A-E]"


def multiple_choice() -> Prefilter:
    text = _text()
    by_options = pl.col("options").list.len().fill_null(0) >= 2
    by_answer = pl.col("answer").str.contains("[A-E]").fill_null(False)  # an option letter as the answer
    # "[asy]": removed before matching, the rest may join up
    words = _done(_groups_ci(text, _MC_WORDS) | text.str.contains("[asy]", literal=True) | text.str.contains(_MC_B))
    # the text as is_multiple_choice sees it: Asymptote blocks replaced by a space (Python's "$" also
    # stops before a final "\n", kept there; no marker or phrase ends in whitespace, so that "\n" never
    # decides a match)
    seen = text.str.replace_all(_ASY, " ")
    phrases = _any_rx(seen, [f"(?i:{p})" for p in _MC_PHRASES])
    markers = (_all_rx(seen, _MC_ABC) | _all_rx(seen, _MC_LINES) | seen.str.contains(_MC_LOWER))
    letter = pl.col("answer").str.contains(_LETTER_START).fill_null(False)
    return words | by_options | by_answer, _done(phrases | markers) | by_options | letter


# ------------------------------------------------------------------ proof
_PROOF = ["prov", "proof", "show", "justify", "demonstrat", "verify", "establish", "montr", "beweis", "zeigen",
          "demostrar", "demuestre", "证", "д", "Д", "\u1c81"]  # д: every Russian word starts "док" (any case)


# each signals._PROOF alternative without its \b / sentence-start anchors; the Russian words as their "д"
# (any case), as in the first stage
_PROOF_CI = (rf"prove|proving|give{WS}+a{WS}+proof|with{WS}+proof|justify{WS}+(?:your|the){WS}+answer"
             rf"|(?:show|demonstrate|verify|establish){WS}+(?:that|how|why)|show{WS}+(?:\$|\\\()"
             rf"|d[ée]montr(?:er|ez)|montr(?:er|ez){WS}+que|beweise|zeigen{WS}+sie|demostrar|demuestre")
_PROOF_EXACT = "证明|求证|试证|д|Д|\u1c81"


def proof(proof_sources: set[str] | frozenset[str] = frozenset()) -> Prefilter:
    text = _text()
    by_source = pl.col("source").is_in(list(proof_sources)).fill_null(False)
    by_text = _groups_ci(text, _PROOF[:3], _PROOF[3:12], exact="|".join(_PROOF[12:]))
    return _done(by_text) | by_source, _done(_rx_ci(text, _PROOF_CI, exact=_PROOF_EXACT)) | by_source


# ------------------------------------------------------------------ yes/no
# every accepted plain answer holds one: the _YES_NO_ANSWERS and "yes,"/"no " starts, and every
# _YES_NO_PHRASES alternative ("possible", "impossible", "there is no(ne)", "does not exist", "not possible")
_YN_ANSWER = ["yes", "no", "possible", "是", "否"]


def yes_no() -> Prefilter:
    answer = pl.col("answer")
    # without a backslash _unwrap only strips the ends: the word is in the raw answer as it is;
    # with one, \text{...} wrappers are removed first, so only its letters in order are needed
    # (the subsequence search in a second stage, on the few rows left)
    direct = _words_ci(answer, _YN_ANSWER) | _special(answer)
    wrapped = answer.str.contains("\\", literal=True)
    precise = wrapped & answer.str.contains(f"(?is){_subsequence(*_YN_ANSWER)}")
    return (direct | wrapped).fill_null(False), (direct | precise).fill_null(False)  # no answer: never yes/no


# ------------------------------------------------------------------ true/false
_TF_TEXT = ["true", "correct"]  # every _TRUE_FALSE_QUESTION alternative holds one
# each _TRUE_FALSE_QUESTION alternative without its \b anchors, leading words and trailing context
_TF_QUESTION = (rf"true{WS}+or{WS}+false|\({WS}*true{WS}*/{WS}*false"
                rf"|(?:statement|claim|proposition)s?{WS}+(?:is|are){WS}+(?:true|correct)")
_TF_ANSWER = ["true", "false", "correct", "√", "✓", "✔", "✗", "✘", "×", "\\checkmark", "\\times", "对", "错", "正确"]


def true_false() -> Prefilter:
    answer = pl.col("answer")
    # a backslash: \text{...} wrappers are removed before the comparison, so the word may be split
    # (its characters still in order)
    direct = _words_ci(answer, _TF_ANSWER) | _special(answer)
    wrapped = answer.str.contains("\\", literal=True)
    precise = wrapped & answer.str.contains(f"(?is){_subsequence(*_TF_ANSWER)}")
    text = _text()
    return (_done(_words_ci(text, _TF_TEXT)) | (direct | wrapped).fill_null(False),
            _done(_rx_ci(text, _TF_QUESTION)) | (direct | precise).fill_null(False))


# ------------------------------------------------------------------ multi-part
# is_multi_part needs a first and a second marker of one kind: _PART_A and _PART_B "(a)".."(b)" "(i)".."(ii)"
# "⑴".."⑵", _PART_LINES / _LETTER_ITEMS "a) ".."b) " "A. ".."B. ", _NUM_ITEMS "1. ".."2. ", _PART_WORDS
# "part (b):" (case ignored), or the answer's "(a)".."(b)"
_PART_FIRST = rf"[(（]{WS}*(?:a|i|1|I|Ⅰ){WS}*[)）]|⑴|[1aA]{WS}*[.)．、]{WS}"
_PART_SECOND = (rf"[(（]{WS}*(?:b|ii|2|II|Ⅱ){WS}*[)）]|⑵", rf"[2bB]{WS}*[.)．、]{WS}")  # (two searches: faster)
_PART_WORD = rf"part{WS}*\(?(?:b|ii|2)\)?{WS}*[:.)]"
_ANSWER_PART = (rf"\({WS}*(?:a|i){WS}*\)", rf"\({WS}*(?:b|ii){WS}*\)")


def multi_part() -> Prefilter:
    text = _text()
    answer = pl.col("answer")
    by_answer = (answer.str.contains(_ANSWER_PART[0]) & answer.str.contains(_ANSWER_PART[1])).fill_null(False)
    second = _done(_any_rx(text, _PART_SECOND) | _words_ci(text, ["part"])) | by_answer
    # both markers of a pair, or "part (b):"
    both = _done(text.str.contains(_PART_FIRST) & _any_rx(text, _PART_SECOND) | _rx_ci(text, _PART_WORD)) | by_answer
    return second, both


# ------------------------------------------------------------------ figure
# (the first six: outside _FIGURE's (?i:...), so case kept)
_FIGURE = ["[asy]", "\\begin{", "\\includegraphics", "<img", "![", "图", "fig", "graph", "image", "diagram", "picture",
           "drawing", "sketch", "shown", "illustrated", "depicted"]
# each _FIGURE alternative without its \b anchors and its optional or trailing words
_FIGURE_EXACT = r"\[asy\]|\\begin\{(?:tikzpicture|figure|picture)\}|\\includegraphics|<img|!\[|如图|见图|下图|右图"
_FIGURE_CI = (
    rf"(?:shown|pictured|depicted|illustrated|drawn|given|sketched){WS}+(?:in|on|at|by){WS}"
    rf"|(?:see|in|from){WS}+(?:the{WS}+)?(?:following{WS}+|given{WS}+|adjacent{WS}+|accompanying{WS}+)?"
    rf"(?:figure|fig\.|diagram)"
    rf"|figure{WS}|(?:figure|diagram|picture|graph|image){WS}+(?:below|above|shown|to{WS})"
    rf"|as{WS}+(?:shown|illustrated|depicted|pictured)|shown{WS}+(?:below|above|here)"
    rf"|(?:figure|diagram|picture){WS}+(?:shows|depicts|illustrates|represents)|refer{WS}+to{WS}+the{WS}"
    rf"|(?:adjoining|attached|accompanying){WS}+(?:figure|diagram|picture|graph|image)"
)


def figure() -> Prefilter:
    text = _text()
    words = _groups_ci(text, _FIGURE[6:9], _FIGURE[9:], exact="|".join(map(_escape_all, _FIGURE[:6])))
    return _done(words), _done(_rx_ci(text, _FIGURE_CI, exact=_FIGURE_EXACT))


def stages(prefilter: Prefilter) -> tuple[pl.Expr, ...]:
    return prefilter if isinstance(prefilter, tuple) else (prefilter,)


def candidate_rows(frame: pl.DataFrame, prefilter: Prefilter) -> np.ndarray:
    """The row positions of ``frame`` the detector behind ``prefilter`` must see, ascending: the rows
    every stage keeps (each stage runs on the rows the previous one kept; only the columns the stages
    read are gathered), and every row whose problem holds a SPECIAL character."""
    idx = np.arange(frame.height)
    exprs = stages(prefilter)
    cols = sorted({c for e in exprs for c in e.meta.root_names()})
    sub = frame.select(cols)
    for i, expr in enumerate(exprs):
        # (lazy: the query optimizer computes a subexpression used twice, e.g. the text without Asymptote, once)
        keep = sub.lazy().select(expr.alias("candidate")).collect().to_series().arg_true().to_numpy()
        idx = idx[keep]
        if i + 1 < len(exprs) and len(keep) < sub.height:
            sub = sub[keep]
    # (an answer-only prefilter: the problem's characters do not matter)
    return np.union1d(idx, special_rows(frame)) if "problem" in cols else idx


def special_rows(frame: pl.DataFrame) -> np.ndarray:
    """The rows whose problem holds a SPECIAL character: looked for among the non-ASCII rows only
    (more bytes than characters), so the usual all-ASCII frame costs no scan (eager Series calls:
    no query plan to build)."""
    text = frame.get_column("problem")
    rows = (text.str.len_bytes() != text.str.len_chars()).fill_null(False).arg_true().to_numpy()
    if len(rows):
        rows = rows[text.gather(rows).str.contains_any(list(SPECIAL)).fill_null(False).to_numpy()]
    return rows


def candidates(frame: pl.DataFrame, prefilter: Prefilter) -> pl.Series:
    """The rows of ``frame`` the detector behind ``prefilter`` must see (True), as a Series."""
    flags = np.zeros(frame.height, dtype=bool)
    flags[candidate_rows(frame, prefilter)] = True
    return pl.Series("candidate", flags, dtype=pl.Boolean)
