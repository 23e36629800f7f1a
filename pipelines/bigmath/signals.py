"""Rule-based signals: plain ``str -> bool`` detectors, one question each.

They are written for the variety of real math corpora (AoPS/AMC LaTeX, textbook scans, web
forums, MathQA-style ``a ) 12 , b ) 16``), and are deliberately conservative where a false
positive would throw away a good problem: ``f(a)`` is not a sub-question marker and a point
named ``A.`` is not an option list.
"""

from __future__ import annotations

import re
import unicodedata

# ---------------------------------------------------------------- hyperlinks
_URL = re.compile(
    r"(?i)\b(?:https?|ftp)://\S+|\bwww\.[a-z0-9-]+\.[a-z]{2,}|\[[^\]\n]{1,200}\]\((?:https?://|/)[^)\s]+\)"
    r"|<a\s+[^>]*href=|\b[a-z0-9-]+\.(?:com|org|net|edu|io|gov)/\S*"
)


def has_hyperlink(text: str) -> bool:
    return bool(_URL.search(text))


# ---------------------------------------------------------------- multiple choice
_MC_PHRASES = re.compile(
    r"(?i)\bwhich\s+(?:one\s+)?of\s+the\s+following\b|\banswer\s+choices?\b|\b(?:select|choose|pick)\s+(?:the\s+)?"
    r"(?:correct|best|right)\s+(?:answer|option|choice)|^\s*options?\s*:|\bchoices?\s*:"
    , re.M)
# (A) ... (B) ... (C): parenthesised capitals in order, allowing \textbf{(A)}, $\mathrm{(B)}$
# (full-width brackets too: cn_k12-style "（A）")
# not an argument: P(A), P(B), P(C) of probability problems and f(A) are not options
_NOT_ARG = r"(?<![A-Za-z_\\])"
_MC_PAREN = re.compile(_NOT_ARG + r"[(（]\s*A\s*[)）][\s\S]{1,800}?" + _NOT_ARG + r"[(（]\s*B\s*[)）][\s\S]{1,800}?"
                       + _NOT_ARG + r"[(（]\s*C\s*[)）]")
# A) 12 B) 16 C) ... or A. 12 \n B. 16 (line starts)
_MC_INLINE = re.compile(r"(?:^|[\s$,;:])A\s?\)\s*\S[\s\S]{0,400}?[\s$,;]B\s?\)\s*\S[\s\S]{0,400}?[\s$,;]C\s?\)")
_MC_LINES = re.compile(r"(?m)^\s*\(?A[\.\):：．]\s*\S.*\n(?:.*\n){0,3}?\s*\(?B[\.\):：．]\s*\S")
# "A: $1$  B: $2$  C: $3$" on one line (NuminaMath / cn_k12); "ratio A:B:C" has no space before B
_MC_COLON = re.compile(r"(?:^|\s)A[:：．]\s*\S[\s\S]{0,400}?\sB[:：．]\s*\S[\s\S]{0,400}?\sC[:：．]\s*\S")
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
        _MC_PHRASES.search(text) or _MC_PAREN.search(text) or _MC_INLINE.search(text)
        or _MC_LINES.search(text) or _MC_LOWER.search(text) or _colon_options(text)
    )


def _colon_options(text: str) -> bool:
    m = _MC_COLON.search(text)
    if not m:
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
    r"(?:^|[.!?;:]\s+|\n\s*|\$\s+)(?:show|demonstrate|verify|establish)\s+(?:that|how|why)\b"
    # "If $x>0$, show $x+1/x\ge 2$.": show + a formula, as an instruction
    r"|(?:^|[.!?;:,]\s+|\n\s*)(?i:show)\s+(?:\$|\\\()"
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
def _items(first: str, second: str) -> re.Pattern:
    lead = r"(?:^|(?<=[\s.;:?!，。；：]))"
    return re.compile(r"(?i)" + lead + first + r"\s*[.)．、]\s+(?:\$[^$]*\$\s*,?\s*)?" + _ASK + r"[\s\S]*?"
                      + lead + second + r"\s*[.)．、]\s+(?:\$[^$]*\$\s*,?\s*)?" + _ASK, re.M)


_NUM_ITEMS = _items("1", "2")
_LETTER_ITEMS = _items("a", "b")  # "a) Find its speed. b) How far ..."
_PART_LINES = re.compile(r"(?m)^\s*(?:\(?a\)|a\.)\s+\S[\s\S]*^\s*(?:\(?b\)|b\.)\s+\S")
_PART_WORDS = re.compile(r"(?i)\bpart\s*\(?(?:a|i|1)\)?\s*[:.)][\s\S]*\bpart\s*\(?(?:b|ii|2)\)?\s*[:.)]")
_ANSWER_PARTS = re.compile(r"\(\s*(?:a|i)\s*\)[\s\S]*\(\s*(?:b|ii)\s*\)")


def is_multi_part(text: str, answer: str | None = None) -> bool:
    if _PART_A.search(text) and _PART_B.search(text):
        return True
    if (_PART_LINES.search(text) or _PART_WORDS.search(text) or _NUM_ITEMS.search(text)
            or _LETTER_ITEMS.search(text)):
        return True
    return bool(answer and _ANSWER_PARTS.search(answer))


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
_MATH_SPANS = re.compile(
    r"\$\$[\s\S]*?\$\$|\$[^$]*\$|\\\[[\s\S]*?\\\]|\\\([\s\S]*?\\\)|\[asy\][\s\S]*?\[/asy\]|\\[a-zA-Z]+|[{}^_]"
)
_NON_LETTERS = re.compile(r"[\W\d_]+", re.U)


def prose_of(text: str) -> str:
    """The text with math, LaTeX commands and digits removed: what a language model should see."""
    return _NON_LETTERS.sub(" ", _MATH_SPANS.sub(" ", text)).strip()


def non_latin_share(prose: str) -> float:
    letters = [c for c in prose if c.isalpha()]
    if not letters:
        return 0.0
    other = sum(1 for c in letters if not unicodedata.name(c, "").startswith("LATIN"))
    return other / len(letters)


class LanguageDetector:
    """English or not, from the prose only; too little prose is given the benefit of the doubt."""

    def __init__(self, min_letters: int = 20, min_confidence: float = 0.9, max_non_latin: float = 0.3):
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._id = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.max_non_latin = max_non_latin

    def classify(self, text: str) -> tuple[str, float]:
        prose = prose_of(text)
        letters = sum(c.isalpha() for c in prose)
        if letters < self.min_letters:
            return "und", 0.0
        if non_latin_share(prose) > self.max_non_latin:
            lang, prob = self._id.classify(prose)
            return (lang if lang != "en" else "und"), 1.0
        lang, prob = self._id.classify(prose)
        return lang, float(prob)

    def is_non_english(self, text: str) -> tuple[bool, str]:
        lang, prob = self.classify(text)
        if lang in ("en", "und"):
            return False, lang
        return prob >= self.min_confidence, f"{lang} ({prob:.2f})"
