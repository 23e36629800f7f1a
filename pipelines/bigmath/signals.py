"""Rule-based signals: plain ``str -> bool`` detectors, one question each.

They are written for the variety of real math corpora (AoPS/AMC LaTeX, textbook scans, web
forums, MathQA-style ``a ) 12 , b ) 16``), and are deliberately conservative where a false
positive would throw away a good problem: ``f(a)`` is not a sub-question marker and a point
named ``A.`` is not an option list.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from typing import Sequence

import numpy as np

from pipelines.bigmath.limits import LINK_TARGET_CHARS

# Linear time by design (issue 15): no pattern here runs ``A[\s\S]*B`` or nested lazy windows over
# user text. "A somewhere before B" is two searches (:func:`_then`); "A, then B within w, then C
# within w" is a scan over marker positions (:func:`_chain`); a whitespace run is never scanned from
# each of its positions (``^\s*`` with MULTILINE is ``^[^\S\n]*``: the match from the last line start
# of a blank run exists exactly when one from an earlier line start does).


def _then(first: re.Pattern, second: re.Pattern, text: str) -> bool:
    """True when ``second`` matches somewhere after the end of the earliest ``first`` match."""
    m = first.search(text)
    return bool(m and second.search(text, m.end()))


def _starts(pattern: str) -> re.Pattern:
    """Every (overlapping) match of ``pattern``: a lookahead at each position, one bounded attempt each."""
    return re.compile(r"(?=(" + pattern + r"))")


def _chain(text: str, a: re.Pattern, b: re.Pattern, c: re.Pattern, lo: int, hi: int, needs: str = "ABC") -> bool:
    r"""Markers a, b, c in order, each gap (end of one marker to start of the next) within [lo, hi].

    The same answer as ``a[\s\S]{lo,hi}?b[\s\S]{lo,hi}?c`` without its O(n * hi^2) backtracking:
    one pass per marker kind plus a binary search per b marker. ``needs``: characters every match
    must contain (the marker letters), checked first.
    """
    if any(ch not in text for ch in needs):  # each marker holds its letter: most text skips the scans
        return False
    a_ends = sorted(m.start() + len(m.group(1)) for m in a.finditer(text))
    if not a_ends:
        return False
    c_starts = sorted(m.start() for m in c.finditer(text))
    if not c_starts:
        return False
    for m in b.finditer(text):
        bs, be = m.start(), m.start() + len(m.group(1))
        i = bisect_left(a_ends, bs - hi)
        if i == len(a_ends) or a_ends[i] > bs - lo:
            continue
        j = bisect_left(c_starts, be + lo)
        if j < len(c_starts) and c_starts[j] <= be + hi:
            return True
    return False

# ---------------------------------------------------------------- hyperlinks
_URL = re.compile(
    r"(?i)\b(?:https?|ftp)://\S+|\bwww\.[a-z0-9-]+\.[a-z]{2,}|\[[^\]\n]{1,200}\]\((?:https?://|/)[^)\s]{1,%d}\)"
    r"|(?<![a-z0-9-])[a-z0-9-]+\.(?:com|org|net|edu|io|gov)/\S*" % LINK_TARGET_CHARS
)  # the link target is bounded and a host name starts only where its run starts: one attempt per run
# an HTML link "<a ... href=" (found by _html_link: one scan per tag, not "<a\s+[^>]*href=")
_A_TAG = re.compile(r"(?i)<a\s")
_HREF = re.compile(r"(?i)href=")


def has_hyperlink(text: str) -> bool:
    return bool(_URL.search(text)) or _html_link(text)


def _html_link(text: str) -> bool:
    """``<a\\s+[^>]*href=`` in linear time: tags up to the same ``>`` share one failed search."""
    skip_until = -1
    for m in _A_TAG.finditer(text):
        if m.start() < skip_until:
            continue
        gt = text.find(">", m.end())
        end = gt if gt >= 0 else len(text)
        if _HREF.search(text, m.end(), end):
            return True
        skip_until = end
    return False


# ---------------------------------------------------------------- multiple choice
_MC_PHRASES = re.compile(
    r"(?i)\bwhich\s+(?:one\s+)?of\s+the\s+following\b|\banswer\s+choices?\b|\b(?:select|choose|pick)\s+(?:the\s+)?"
    r"(?:correct|best|right)\s+(?:answer|option|choice)|^[^\S\n]*options?\s*:|\bchoices?\s*:"
    , re.M)
# (A) ... (B) ... (C): parenthesised capitals in order, allowing \textbf{(A)}, $\mathrm{(B)}$
# (full-width brackets too: cn_k12-style "（A）")
# not an argument: P(A), P(B), P(C) of probability problems and f(A) are not options
_NOT_ARG = r"(?<![A-Za-z_\\])"
# (markers 1-800 characters apart, checked by _chain)
_MC_PAREN = tuple(_starts(_NOT_ARG + r"[(（]\s*" + k + r"\s*[)）]") for k in "ABC")
# A) 12 B) 16 C) ... or A. 12 \n B. 16 (line starts); inline markers 0-400 characters apart
_MC_INLINE = (_starts(r"(?:^|(?<=[\s$,;:]))A\s?\)\s*\S"), _starts(r"[\s$,;]B\s?\)\s*\S"), _starts(r"[\s$,;]C\s?\)"))
_MC_LINES = re.compile(r"(?m)^[^\S\n]*\(?A[\.\):：．]\s*\S.*\n(?:.*\n){0,3}?\s*\(?B[\.\):：．]\s*\S")
# "A: $1$  B: $2$  C: $3$" on one line (NuminaMath / cn_k12); "ratio A:B:C" has no space before B
_MC_COLON = (_starts(r"(?:^|(?<=\s))A[:：．]\s*\S"), _starts(r"\sB[:：．]\s*\S"), _starts(r"\sC[:：．]\s*\S"))
# "Team A: 3 wins. Team B: 5 wins. Team C: ..." names things A, B, C; it does not offer options
_NAMED_LABEL = re.compile(r"(?i)\b([a-z]{2,})\s+([ABC])[:：．]")
_OPTION_WORDS = {"option", "choice", "answer", "and", "or", "is", "be", "are", "the"}
# the answer itself is an option letter: "C", "(C)", "\text{(C)}", "\textbf{(B) }"
_LETTER_ANSWER = re.compile(r"^\(?\s*[A-E]\s*\)?$")
# AMC-style "\textbf{(C)}\ 15" (NuminaMath amc_aime/synthetic_amc boxes): the letter, then its value
_LETTER_PREFIX = re.compile(r"^\(\s*[A-E]\s*\)")
# MathQA style: "a ) 12 , b ) 16 , c ) 20"
_MC_LOWER = re.compile(r"(?:^|[\s,;:])a\s?\)\s*[^,;]{1,80}[,;]\s*b\s?\)\s*[^,;]{1,80}[,;]\s*c\s?\)")


_ASY = re.compile(r"\[asy\][\s\S]*?(?:\[/asy\]|$)")


def is_multiple_choice(text: str, options: list[str] | None = None, answer: str | None = None) -> bool:
    if options and len(options) >= 2:
        return True
    if answer is not None:
        plain = _unwrap(answer)
        if _LETTER_ANSWER.match(plain) or _LETTER_PREFIX.match(plain):
            return True
    text = _ASY.sub(" ", text)  # Asymptote code is full of "A)" and "label(...)"
    return bool(
        _MC_PHRASES.search(text) or _chain(text, *_MC_PAREN, 1, 800) or _chain(text, *_MC_INLINE, 0, 400)
        or _MC_LINES.search(text) or _MC_LOWER.search(text) or _colon_options(text)
    )


def _colon_options(text: str) -> bool:
    if not _chain(text, *_MC_COLON, 0, 400):
        return False
    # the same word before every letter ("Box A: ... Box B: ... Box C:") names things, unless the
    # word is "Option"/"Choice"
    named = {}
    for w in _NAMED_LABEL.finditer(text):
        named.setdefault(w.group(2), set()).add(w.group(1).lower())
    shared = set.intersection(*(named.get(k, set()) for k in "ABC")) - _OPTION_WORDS
    return not shared


# ---------------------------------------------------------------- proofs
_PROOF = re.compile(
    r"(?i)\b(?:prove|proving|disprove|give\s+a\s+proof|with\s+proof|justify\s+(?:your|the)\s+answer)\b|证明|求证|试证|"
    # "show that" only as an instruction (sentence start), not "needs to show that he received 80"
    r"(?:^|[.!?;:]\s+|\n[^\S\n]*|\$\s+)(?:show|demonstrate|verify|establish)\s+(?:that|how|why)\b"
    # "If $x>0$, show $x+1/x\ge 2$.": show + a formula, as an instruction
    r"|(?:^|[.!?;:,]\s+|\n[^\S\n]*)(?i:show)\s+(?:\$|\\\()"
    # French, German, Russian, Spanish (these rows usually leave at the language step too)
    r"|(?i:\bd[ée]montr(?:er|ez)\b|\bmontr(?:er|ez)\s+que\b|\bbeweisen\b|\bbeweise\b|\bzeigen\s+sie\b"
    r"|\bdemostrar\b|\bdemuestre\b)|(?i:доказать|докажите|докажем)"
)


def is_proof(text: str) -> bool:
    return bool(_PROOF.search(text))


# ---------------------------------------------------------------- yes/no and true/false
_YES_NO_ANSWERS = {"yes", "no", "yes!", "no!", "是", "否"}
_TRUE_FALSE_ANSWERS = {"true", "false", "correct", "incorrect", "√", "✓", "✔", "✗", "✘", "×", "\\checkmark",
                       "\\times", "对", "错", "正确", "错误"}
_TEXT_WRAP = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|textrm|mbox|boxed|fbox)\s*\{([^{}]*)\}")
_YES_NO_PHRASES = re.compile(
    r"^(?:it\s+is\s+(?:not\s+)?possible|(?:it\s+is\s+)?impossible|there\s+(?:is|are|exists?)\s+(?:no|none)|"
    r"(?:such\s+\w+\s+)?(?:does|do)\s+not\s+exist|not\s+possible)\b|^possible\s*[.!]?$"
)
_TRUE_FALSE_QUESTION = re.compile(
    r"(?i)\btrue\s+or\s+false(?:\s*[?.:(（]|\s+that\b)|\(\s*true\s*/\s*false\s*\)"
    r"|\b(?:state|determine|decide|judge|check)\s+(?:whether|if)\s+"
    r"(?:the\s+following\s+|each\s+|this\s+|the\s+)?(?:statements?|claims?|propositions?)\s+(?:is|are)\s+(?:true|correct)"
    r"|\bjudge\s+(?:whether\s+(?:it\s+is\s+)?)?true\s+or\s+false"
)


def _unwrap(answer: str) -> str:
    """The answer without ``$`` and ``\\text{}``-style wrappers, case kept."""
    a = answer.strip().strip("$").strip()
    for _ in range(3):
        a = _TEXT_WRAP.sub(r"\1", a)
    return a.strip().strip(".").strip()


def _plain_answer(answer: str | None) -> str:
    return _unwrap(answer).lower() if answer else ""


def is_yes_no(text: str, answer: str | None) -> bool:
    plain = _plain_answer(answer)
    if plain in _YES_NO_ANSWERS or plain.startswith(("yes,", "no,", "yes ", "no ")):
        return True
    return bool(_YES_NO_PHRASES.match(plain))


def is_true_false(text: str, answer: str | None) -> bool:
    plain = _plain_answer(answer)
    return plain in _TRUE_FALSE_ANSWERS or bool(_TRUE_FALSE_QUESTION.search(text))


# ---------------------------------------------------------------- multi-part
# "(a) ... (b)" / "(i) ... (ii)" as sub-question markers: preceded by start, space or punctuation
# (so f(a) and g(b) do not count) and followed by a space or capital.
# full-width brackets and Roman numerals (Ⅰ, Ⅱ) are how cn_k12-style problems number their parts
_PART_A = re.compile(r"(?:^|[\s.;:?!，。；：*])[(（]\s*(?:a|i|1|I|Ⅰ)\s*[)）](?=\s|[A-Z*]|[^\x00-\x7f])|⑴|\$\(\s*1\s*\)\$")
_PART_B = re.compile(r"(?:^|[\s.;:?!，。；：*])[(（]\s*(?:b|ii|2|II|Ⅱ)\s*[)）](?=\s|[A-Z*]|[^\x00-\x7f])|⑵|\$\(\s*2\s*\)\$")
# "1. Find ...\n2. Find ..." / "1) Find ... 2) Find ...": numbered items, each an instruction or question
# (a numbered list of facts or equations is not several questions)
_ASK = (r"(?:find|calculate|compute|determine|solve|prove|show|what|how|which|write|evaluate|simplify|express|"
        r"explain|sketch|求|证明|判断|计算|解)\b")
def _item(label: str) -> re.Pattern:
    lead = r"(?:^|(?<=[\s.;:?!，。；：]))"
    return re.compile(r"(?i)" + lead + label + r"\s*[.)．、]\s+(?:\$[^$]*\$\s*,?\s*)?" + _ASK, re.M)


def _items(first: str, second: str) -> tuple[re.Pattern, re.Pattern]:
    """An item ``first`` and, later, an item ``second`` (checked with :func:`_then`)."""
    return _item(first), _item(second)


_NUM_ITEMS = _items("1", "2")
_LETTER_ITEMS = _items("a", "b")  # "a) Find its speed. b) How far ..."
_PART_LINES = (re.compile(r"(?m)^[^\S\n]*(?:\(?a\)|a\.)\s+\S"), re.compile(r"(?m)^[^\S\n]*(?:\(?b\)|b\.)\s+\S"))
_PART_WORDS = (re.compile(r"(?i)\bpart\s*\(?(?:a|i|1)\)?\s*[:.)]"), re.compile(r"(?i)\bpart\s*\(?(?:b|ii|2)\)?\s*[:.)]"))
_ANSWER_PARTS = (re.compile(r"\(\s*(?:a|i)\s*\)"), re.compile(r"\(\s*(?:b|ii)\s*\)"))


def is_multi_part(text: str, answer: str | None = None) -> bool:
    if _PART_A.search(text) and _PART_B.search(text):
        return True
    if (_then(*_PART_LINES, text) or _then(*_PART_WORDS, text) or _then(*_NUM_ITEMS, text)
            or _then(*_LETTER_ITEMS, text)):
        return True
    return bool(answer and _then(*_ANSWER_PARTS, answer))


# ---------------------------------------------------------------- figures
_FIGURE = re.compile(
    r"\[asy\]|\\begin\{(?:tikzpicture|figure|picture)\}|\\includegraphics|<img\b|!\[[^\]]*\]\(|"
    r"(?i:\b(?:shown|pictured|depicted|illustrated|drawn|given|sketched)\s+(?:in|on|at|by)\s+(?:the\s+)?"
    r"(?:accompanying\s+|adjacent\s+|following\s+)?(?:figure|diagram|picture|graph|image|drawing|sketch)\b"
    r"|\b(?:see|in|from)\s+(?:the\s+)?(?:following\s+|given\s+|adjacent\s+|accompanying\s+)?(?:figure|fig\.|diagram)\b"
    r"|\bfigure\s+\d|"
    r"\b(?:the\s+)?(?:figure|diagram|picture|graph|image)\s+(?:below|above|shown|to\s+the\s+(?:right|left))\b|"
    r"\bas\s+(?:shown|illustrated|depicted|pictured)\b|\bshown\s+(?:below|above|here)\b"
    # "The figure shows ...", "The accompanying diagram shows", "refer to the diagram", "the adjoining figure"
    r"|\bthe\s+(?:accompanying\s+|adjoining\s+|adjacent\s+|attached\s+|following\s+|given\s+)?"
    r"(?:figure|diagram|picture)\s+(?:shows|depicts|illustrates|represents)\b"
    r"|\brefer\s+to\s+the\s+(?:\w+\s+)?(?:figure|diagram|picture|graph)\b"
    r"|\b(?:adjoining|attached|accompanying)\s+(?:figure|diagram|picture|graph|image))|如图|见图|下图|右图"
)


def needs_figure(text: str) -> bool:
    return bool(_FIGURE.search(text))


# ---------------------------------------------------------------- language
_NON_LETTERS = re.compile(r"[\W\d_]+", re.U)
# math spans: (opener, closer); "$$" before "$"; an opener with no closer is plain text
_SPANS = (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)"), ("[asy]", "[/asy]"))
_MATH_START = re.compile(r"[$\\\[{}^_]")


def _without_math(text: str) -> str:
    r"""Math spans, LaTeX commands and ``{}^_`` replaced by spaces, in one pass.

    The same result as ``re.sub(r"\$\$[\s\S]*?\$\$|\$[^$]*\$|\\\[[\s\S]*?\\\]|…", " ")`` without its
    quadratic case (an unclosed opener repeated: the lazy scan reran to the end for each): the next
    closer of each kind is found once and reused until the scan passes it.
    """
    out: list[str] = []
    nxt: dict[str, int] = {}
    i, n, plain = 0, len(text), 0

    def closer_at(closer: str, start: int) -> int:
        c = nxt.get(closer)
        if c is None or (c != -1 and c < start):
            c = text.find(closer, start)
            nxt[closer] = c
        return c

    while True:
        m = _MATH_START.search(text, i)  # the next character that can start a span (C speed between them)
        if m is None:
            break
        i = m.start()
        ch = text[i]
        end = -1
        for opener, closer in _SPANS:
            if text.startswith(opener, i):
                c = closer_at(closer, i + len(opener))
                if c >= 0:
                    end = c + len(closer)
                    break
        if end < 0 and ch == "\\" and i + 1 < n and text[i + 1].isascii() and text[i + 1].isalpha():
            end = i + 2
            while end < n and text[end].isascii() and text[end].isalpha():
                end += 1
        if end < 0 and ch in "{}^_":
            end = i + 1
        if end >= 0:
            out.append(text[plain:i])
            out.append(" ")
            i = plain = end
            continue
        i += 1
    out.append(text[plain:])
    return "".join(out)


def prose_of(text: str) -> str:
    """The text with math, LaTeX commands and digits removed: what a language model should see."""
    return _NON_LETTERS.sub(" ", _without_math(text)).strip()


# ASCII letters stay, every other byte becomes a space: on ASCII, what _NON_LETTERS keeps
_LETTER_BYTES = bytes(c if 65 <= c <= 90 or 97 <= c <= 122 else 32 for c in range(256))


def letter_count(prose: str) -> int:
    """Letters in a :func:`prose_of` string. ASCII prose holds only letters and spaces (prose_of
    replaced everything else by spaces), so no per-character test is needed there."""
    if prose.isascii():
        return len(prose) - prose.count(" ")
    return sum(c.isalpha() for c in prose)


def non_latin_share(prose: str) -> float:
    if prose.isascii():  # every ASCII letter is a LATIN letter: no per-letter Unicode name lookup
        return 0.0
    letters = [c for c in prose if c.isalpha()]
    if not letters:
        return 0.0
    other = sum(1 for c in letters if not unicodedata.name(c, "").startswith("LATIN"))
    return other / len(letters)


@functools.lru_cache(maxsize=None)
def language_identifier():
    """py3langid's model (normalized probabilities), loaded once per process: the streaming and
    sharded paths build their steps per batch, and loading costs about half a second.

    Its score table is kept as float32 instead of float16: py3langid multiplies ``log1p(counts)``
    (float32) by the gathered table rows, which numpy first converts to float32 anyway (exactly:
    every float16 is a float32), so the scores are the same bits and the per-text conversion is
    gone (the scoring takes half the time; +57 MB once per process).
    ``tests/pipelines/bigmath/test_signals.py`` compares with py3langid's own identifier."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    class _GivenVisits(LanguageIdentifier):
        """py3langid's identifier, with a text's feature counts given from outside (the batched
        walk, :func:`_batched_visits`); a text without them is walked by py3langid itself."""

        __slots__ = ("given", "score_bounds")

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.given: dict[bytes, dict[int, int]] = {}

        def _raw_score(self, text):
            visits = self.given.pop(text, None)
            if visits:  # what py3langid's _raw_score does with non-empty counts
                return self._sparse_score(visits, self.nb_ptc)
            return super()._raw_score(text)

    ident = _GivenVisits.from_model_file(MODEL_FILE, norm_probs=True)
    ident.nb_ptc = np.asarray(ident.nb_ptc, dtype=np.float32)
    # the scale of the batched scoring's error bound (_group_scores): largest |table entry| and
    # |class prior|, computed with the model (a pass over its 57 MB)
    ident.score_bounds = (float(np.abs(ident.nb_ptc).max()), float(np.abs(np.asarray(ident.nb_pc, dtype=np.float64)).max()))
    return ident


@functools.lru_cache(maxsize=None)
def _walk_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """py3langid's byte automaton as int32 arrays: next state, row offset of a state, feature of a state."""
    ident = language_identifier()
    return (np.asarray(ident.tk_nextmove, dtype=np.int32), np.asarray(ident._rowbase, dtype=np.int32),
            np.asarray(ident.tk_output, dtype=np.int32))


# texts longer than this (UTF-8 bytes) are walked by py3langid itself: the batched walk takes one
# numpy step per byte position of its longest text
BATCH_WALK_MAX_BYTES = 4096
BATCH_WALK_TEXTS = 1024  # texts walked together (of similar lengths: sorted first)


def _batched_visits(encoded: Sequence[bytes]) -> list[Counter | None]:
    """py3langid's ``visit_counts`` (its {feature: count} Counter, same order) for every text: the
    texts, sorted by length, are walked in groups of :data:`BATCH_WALK_TEXTS`; in a group the
    automaton advances all texts one byte position per numpy step (longest first, so the ones still
    running are a prefix); then each text's features, in walk order, are counted by ``Counter``
    as py3langid counts them."""
    n = len(encoded)
    out: list[Counter | None] = [None] * n
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    order = np.argsort(-lengths, kind="stable").tolist()
    for lo in range(0, n, BATCH_WALK_TEXTS):
        group = order[lo : lo + BATCH_WALK_TEXTS]
        for i, counts in zip(group, _walk_group([encoded[i] for i in group])):
            out[i] = counts
    return out


def _walk_grid(encoded: list[bytes]) -> np.ndarray:
    """py3langid's walk of texts sorted longest first, all at once: ``feats[t, j]`` is the feature
    the automaton emits at byte t of text j (-1: none, or past the text's end)."""
    nextmove, rowbase, output = _walk_tables()
    n = len(encoded)
    lens = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    width = int(lens[0]) if n else 0
    # row t: byte t of every text (zero past a text's end, never read): one contiguous row per step
    padded = np.frombuffer(b"".join([e.ljust(width, b"\0") for e in encoded]), dtype=np.uint8)
    grid = np.ascontiguousarray(padded.reshape(n, width).T)
    feats = np.full((width, n), -1, dtype=np.int32)
    base = np.full(n, rowbase[0], dtype=np.int64)  # every walk starts in state 0
    active = n
    for t in range(width):
        while active and lens[active - 1] <= t:
            active -= 1
        state = nextmove[base[:active] + grid[t, :active]]
        feats[t, :active] = output[state]
        base[:active] = rowbase[state]
    return feats


def _walk_group_flat(encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_walk_grid` as (text number in the group, feature) of every feature emitted, text by
    text, each text's in walk order."""
    by_text = np.ascontiguousarray(_walk_grid(encoded).T).ravel()
    keep = by_text >= 0
    col = np.repeat(np.arange(len(encoded)), by_text.size // max(len(encoded), 1))
    return col[keep], by_text[keep]


def _walk_group(encoded: list[bytes]) -> list[Counter | None]:
    """:func:`_batched_visits` of texts sorted longest first."""
    col, walked = _walk_group_flat(encoded)
    ends = np.cumsum(np.bincount(col, minlength=len(encoded)))  # (an empty text has none)
    found = walked.tolist()
    out: list[Counter | None] = []
    start = 0
    for end in ends.tolist():
        out.append(Counter(found[start:end]) if end > start else None)
        start = end
    return out


_U32 = 2.0 ** -24  # float32 unit roundoff


def _group_scores(encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For texts sorted longest first (non-empty, walked here together): every class's raw score
    ``sum_k log1p(n_k) table[k] + prior`` (float64; computed as float32 products summed by a
    sparse matrix product), a bound on how far it and py3langid's own float32 score can each be
    from the exact sum, and the number of distinct features of each text."""
    import scipy.sparse as sp

    ident = language_identifier()
    table = ident.nb_ptc
    n, n_features = len(encoded), table.shape[0]
    feats = _walk_grid(encoded)  # (byte position, text): the pairs' order does not matter here
    emitted = feats >= 0
    col = np.broadcast_to(np.arange(n, dtype=np.int32), feats.shape)[emitted]
    walked = feats[emitted]
    # distinct (text, feature) pairs and their counts: one sort of small integers (uint32 while
    # they fit: half the bytes to sort)
    key_type = np.uint32 if n * n_features < 2**32 else np.int64
    keys = np.sort(col.astype(key_type) * key_type(n_features) + walked.astype(key_type))
    first = np.ones(len(keys), dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(keys)))
    distinct = keys[starts]
    rows = (distinct // n_features).astype(np.int64)
    weights = np.log1p(counts.astype(np.float64))
    distinct_per_row = np.bincount(rows, minlength=n)
    indptr = np.concatenate(([0], np.cumsum(distinct_per_row)))
    x = sp.csr_matrix((weights.astype(np.float32), (distinct % n_features).astype(np.int32), indptr),
                      shape=(n, n_features))
    scores = np.asarray(x @ table, dtype=np.float64) + np.asarray(ident.nb_pc, dtype=np.float64)
    tmax, pmax = ident.score_bounds
    weight_sum = np.bincount(rows, weights=weights, minlength=n)
    # a float32 sum of K products, in any order, is within gamma_K * sum|terms| of the exact sum
    # (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., 3.1 and 4.2); a few
    # roundings more for log1p in float32 and the prior
    bound = (distinct_per_row + 6) * _U32 * 1.01 * (weight_sum * tmax + pmax)
    return scores, bound, distinct_per_row


def _english_lead(encoded: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """For each text (py3langid-encoded, at most :data:`BATCH_WALK_MAX_BYTES` bytes): how far
    English's (scaled, alias-folded) score leads the best other class's, and the slack — how far
    py3langid's own float32 lead can be from this one. A text without features gets (-inf, 0)."""
    ident = language_identifier()
    n = len(encoded)
    lead = np.full(n, -np.inf)
    slack = np.zeros(n)
    en = ident.nb_classes.index("en")
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    for lo in range(0, len(order), BATCH_WALK_TEXTS):
        group = order[lo : lo + BATCH_WALK_TEXTS]
        scores, bound, distinct = _group_scores([encoded[i] for i in group.tolist()])
        inv_sqrt = 1.0 / np.sqrt(lengths[group].astype(np.float64))  # py3langid's temperature
        scaled = scores * inv_sqrt[:, None]
        for i, j in ident._alias_pairs:  # py3langid adds class j's probability into class i's
            scaled[:, i] = np.logaddexp(scaled[:, i], scaled[:, j])
            scaled[:, j] = -np.inf
        english = scaled[:, en].copy()
        scaled[:, en] = -np.inf
        runner_up = scaled.max(axis=1)
        magnitude = np.maximum(np.abs(english), np.abs(runner_up))
        # both sums' error (ours and py3langid's, each within bound of the exact one), scaled; then
        # py3langid's float32 scaling, max-subtraction, exp, division and folding (relative errors)
        lead[group] = np.where(distinct > 0, english - runner_up, -np.inf)
        slack[group] = 2 * bound * inv_sqrt + 16 * _U32 * magnitude + 64 * _U32
    return lead, slack


def _surely_english(encoded: Sequence[bytes]) -> np.ndarray:
    """For each text (py3langid-encoded, at most :data:`BATCH_WALK_MAX_BYTES` bytes), True when
    py3langid's own ``classify`` is certain to answer ``"en"``, decided without it.

    The texts are walked together and scored as one sparse matrix per group
    (:func:`_group_scores`). Those scores are not py3langid's bits: py3langid sums the same
    float32 terms in BLAS's order, this sum runs in another, and each is within a known bound of
    the exact sum; the scaling, softmax and alias folding that follow add a few roundings more
    (:func:`_english_lead`'s slack). A text is "surely English" only when English leads every
    other (folded) class by more than twice that slack; any other text (a close call, another
    language, no feature) is False here and is classified by py3langid itself. So the decisions
    are py3langid's, and most rows skip its per-text call."""
    ident = language_identifier()
    if not len(encoded) or ident.min_confidence is not None or "en" not in ident.nb_classes:
        return np.zeros(len(encoded), dtype=bool)
    lead, slack = _english_lead(encoded)
    return lead > 2 * slack + 1e-6


class LanguageDetector:
    """English or not, from the prose only; too little prose is given the benefit of the doubt."""

    def __init__(self, min_letters: int = 20, min_confidence: float = 0.9, max_non_latin: float = 0.3):
        self._id = language_identifier()
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.max_non_latin = max_non_latin

    def classify(self, text: str) -> tuple[str, float]:
        prose = prose_of(text)
        letters = letter_count(prose)
        if letters < self.min_letters:
            return "und", 0.0
        if non_latin_share(prose) > self.max_non_latin:
            lang, prob = self._id.classify(prose)
            return (lang if lang != "en" else "und"), 1.0
        lang, prob = self._id.classify(prose)
        return lang, float(prob)

    def is_non_english(self, text: str) -> tuple[bool, str]:
        return self._verdict(*self.classify(text))

    def _verdict(self, lang: str, prob: float) -> tuple[bool, str]:
        if lang in ("en", "und"):
            return False, lang
        return prob >= self.min_confidence, f"{lang} ({prob:.2f})"

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """:meth:`classify` of every text, with py3langid's byte automaton walked for all texts at
        once (:func:`_batched_visits`); the scores and decisions are py3langid's own, per text."""
        out: list[tuple[str, float]] = [("und", 0.0)] * len(texts)
        todo, proses, encoded = self._encoded_proses(texts)
        visits = _batched_visits(encoded)
        ident = self._id
        for i, prose, enc, seen in zip(todo, proses, encoded, visits):
            if prose is None:  # ASCII prose: classify takes the text itself
                prose = prose_of(texts[i])
            if seen:  # (a long text, or one without features: py3langid walks it itself)
                ident.given[enc] = seen
            lang, prob = ident.classify(prose)
            ident.given.clear()
            out[i] = ((lang if lang != "en" else "und"), 1.0) if non_latin_share(prose) > self.max_non_latin \
                else (lang, float(prob))
        return out

    def _encoded_proses(self, texts: Sequence[str]) -> tuple[list[int], list[str | None], list[bytes]]:
        """The texts with at least ``min_letters`` letters of prose: (their numbers, their prose —
        None for ASCII prose, not built —, the prose as py3langid encodes it, or b"" past
        :data:`BATCH_WALK_MAX_BYTES`). ASCII texts take a bytes path: non-letters to spaces by one
        ``translate``, runs collapsed by ``split``/``join`` (on ASCII, :func:`prose_of`'s
        ``[\\W\\d_]+`` -> " " and ``strip``), upper-case prose lowered as py3langid does (NFC
        changes no ASCII text); ``test_language_batched`` checks it against ``_encode(prose_of(t))``."""
        todo, proses, encoded = [], [], []
        encode, min_letters = self._id._encode, self.min_letters
        for i, text in enumerate(texts):
            plain = _without_math(text)
            if plain.isascii():
                letters = b" ".join(plain.encode("ascii").translate(_LETTER_BYTES).split())
                if len(letters) - letters.count(b" ") < min_letters:
                    continue
                prose, enc = None, (letters.lower() if letters.isupper() else letters)
            else:
                prose = _NON_LETTERS.sub(" ", plain).strip()
                if letter_count(prose) < min_letters:
                    continue
                enc = encode(prose)
            todo.append(i)
            proses.append(prose)
            encoded.append(enc if len(enc) <= BATCH_WALK_MAX_BYTES else b"")
        return todo, proses, encoded

    def non_english_many(self, texts: Sequence[str]) -> list[tuple[bool, str]]:
        """:meth:`is_non_english` of every text: the texts py3langid surely calls English
        (:func:`_surely_english`, most of them) are decided without its per-text call, the rest
        go through :meth:`classify_many`."""
        out: list[tuple[bool, str]] = [(False, "und")] * len(texts)
        todo, proses, encoded = self._encoded_proses(texts)
        sure = _surely_english(encoded).tolist()
        rest = []
        for i, prose, english in zip(todo, proses, sure):
            if english:  # classify's answer: ("en", p), or ("und", 1.0) for mostly non-Latin prose
                # (ASCII prose, given as None, is all Latin)
                share = non_latin_share(prose) if prose is not None else 0.0
                out[i] = (False, "und" if share > self.max_non_latin else "en")
            else:
                rest.append(i)
        for i, (lang, prob) in zip(rest, self.classify_many([texts[i] for i in rest])):
            out[i] = self._verdict(lang, prob)
        return out
