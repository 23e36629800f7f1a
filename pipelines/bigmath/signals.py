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
_MC_PAREN = re.compile(r"[(（]\s*A\s*[)）][\s\S]{1,800}?[(（]\s*B\s*[)）][\s\S]{1,800}?[(（]\s*C\s*[)）]")
# A) 12 B) 16 C) ... or A. 12 \n B. 16 (line starts)
_MC_INLINE = re.compile(r"(?:^|[\s$,;:])A\s?\)\s*\S[\s\S]{0,400}?[\s$,;]B\s?\)\s*\S[\s\S]{0,400}?[\s$,;]C\s?\)")
_MC_LINES = re.compile(r"(?m)^\s*\(?A[\.\):：．]\s*\S.*\n(?:.*\n){0,3}?\s*\(?B[\.\):：．]\s*\S")
# "A: $1$  B: $2$  C: $3$" on one line (NuminaMath / cn_k12); "ratio A:B:C" has no space before B
_MC_COLON = re.compile(r"(?:^|\s)A[:：．]\s*\S[\s\S]{0,400}?\sB[:：．]\s*\S[\s\S]{0,400}?\sC[:：．]\s*\S")
# the answer itself is an option letter: "C", "(C)", "\text{(C)}", "\textbf{(B) }"
_LETTER_ANSWER = re.compile(r"^\(?\s*[A-E]\s*\)?$")
# MathQA style: "a ) 12 , b ) 16 , c ) 20"
_MC_LOWER = re.compile(r"(?:^|[\s,;:])a\s?\)\s*[^,;]{1,80}[,;]\s*b\s?\)\s*[^,;]{1,80}[,;]\s*c\s?\)")


_ASY = re.compile(r"\[asy\][\s\S]*?(?:\[/asy\]|$)")


def is_multiple_choice(text: str, options: list[str] | None = None, answer: str | None = None) -> bool:
    if options and len(options) >= 2:
        return True
    if answer is not None and _LETTER_ANSWER.match(_unwrap(answer)):
        return True
    text = _ASY.sub(" ", text)  # Asymptote code is full of "A)" and "label(...)"
    return bool(
        _MC_PHRASES.search(text) or _MC_PAREN.search(text) or _MC_INLINE.search(text)
        or _MC_LINES.search(text) or _MC_LOWER.search(text) or _MC_COLON.search(text)
    )


# ---------------------------------------------------------------- proofs
_PROOF = re.compile(
    r"(?i)\b(?:prove|proving|disprove|give\s+a\s+proof|with\s+proof|justify\s+(?:your|the)\s+answer)\b|证明|"
    # "show that" only as an instruction (sentence start), not "needs to show that he received 80"
    r"(?:^|[.!?;:]\s+|\n\s*|\$\s+)(?:show|demonstrate|verify|establish)\s+(?:that|how|why)\b"
)


def is_proof(text: str) -> bool:
    return bool(_PROOF.search(text))


# ---------------------------------------------------------------- yes/no and true/false
_YES_NO_ANSWERS = {"yes", "no", "yes!", "no!", "是", "否"}
_TRUE_FALSE_ANSWERS = {"true", "false", "correct", "incorrect"}
_TEXT_WRAP = re.compile(r"\\(?:text|textbf|mathrm|textrm|mbox)\s*\{([^{}]*)\}")
_YES_NO_PHRASES = re.compile(
    r"^(?:it\s+is\s+(?:not\s+)?possible|(?:it\s+is\s+)?impossible|there\s+(?:is|are|exists?)\s+(?:no|none)|"
    r"(?:such\s+\w+\s+)?(?:does|do)\s+not\s+exist|not\s+possible|possible)\b"
)
_TRUE_FALSE_QUESTION = re.compile(
    r"(?i)\btrue\s+or\s+false\s*[?.:]|\(\s*true\s*/\s*false\s*\)|\b(?:state|determine|decide)\s+whether\s+"
    r"(?:the\s+following\s+|each\s+|this\s+)?(?:statements?|claims?)\s+(?:is|are)\s+true"
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
_PART_A = re.compile(r"(?:^|[\s.;:?!，。；：])[(（]\s*(?:a|i|1|I|Ⅰ)\s*[)）](?=\s|[A-Z]|[^\x00-\x7f])")
_PART_B = re.compile(r"(?:^|[\s.;:?!，。；：])[(（]\s*(?:b|ii|2|II|Ⅱ)\s*[)）](?=\s|[A-Z]|[^\x00-\x7f])")
_PART_LINES = re.compile(r"(?m)^\s*(?:\(?a\)|a\.)\s+\S[\s\S]*^\s*(?:\(?b\)|b\.)\s+\S")
_PART_WORDS = re.compile(r"(?i)\bpart\s*\(?(?:a|i|1)\)?\s*[:.)][\s\S]*\bpart\s*\(?(?:b|ii|2)\)?\s*[:.)]")
_ANSWER_PARTS = re.compile(r"\(\s*(?:a|i)\s*\)[\s\S]*\(\s*(?:b|ii)\s*\)")


def is_multi_part(text: str, answer: str | None = None) -> bool:
    if _PART_A.search(text) and _PART_B.search(text):
        return True
    if _PART_LINES.search(text) or _PART_WORDS.search(text):
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
    r"\bas\s+(?:shown|illustrated|depicted|pictured)\b|\bshown\s+(?:below|above|here)\b)|如图"
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
