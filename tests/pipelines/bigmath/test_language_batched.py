"""The language step's batched path (prose for many texts at once, the sparse scoring and its
"surely English" guard) gives py3langid's own decisions, text by text: on the sample, on many
languages, on close calls built to sit near the English/other boundary, and on generated text."""

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.bigmath import signals as S
from tests.pipelines.bigmath.test_signals import GSM8K, MATH500, MULTILINGUAL, AQUA, SAT, HARP

SAMPLE = ([r["question"] for r in GSM8K] + [r["problem"] for r in MATH500] + [r["question"] for r in AQUA]
          + [r["question"] for r in SAT] + [r["problem"] for r in HARP])

EN = "the number of apples that she has is twice the number he gave to his friend and then they".split()
OTHER = {
    "fr": "le nombre de pommes qu'elle a est le double de celui qu'il a donné à son ami et puis ils".split(),
    "es": "el número de manzanas que ella tiene es el doble del que él dio a su amigo y luego ellos".split(),
    "de": "die Anzahl der Äpfel die sie hat ist doppelt so groß wie die er seinem Freund gab und dann".split(),
    "it": "il numero di mele che lei ha è il doppio di quello che lui ha dato al suo amico e poi loro".split(),
    "nl": "het aantal appels dat zij heeft is het dubbele van wat hij aan zijn vriend gaf en dan zij".split(),
}


def close_calls() -> list[str]:
    """English words mixed with another language's, in every proportion: some mixtures sit right at
    the boundary where the two languages' scores are nearly equal."""
    out = []
    for words in OTHER.values():
        for k in range(len(words) + 1):
            out.append(" ".join(EN[: len(EN) - k] + words[:k]))
            out.append(" ".join(words[:k] + EN[k:]))
    return out


def per_text(det: S.LanguageDetector, texts):
    return [det.is_non_english(t) for t in texts]


def encoded_proses_one_by_one(det, texts):
    """What ``_encoded_proses`` must give: py3langid's encoding of each text's prose_of, for the
    texts with enough letters."""
    todo, encoded = [], []
    for i, t in enumerate(texts):
        prose = S.prose_of(t)
        if S.letter_count(prose) >= det.min_letters:
            enc = det._id._encode(prose)
            todo.append(i)
            encoded.append(enc if len(enc) <= S.BATCH_WALK_MAX_BYTES else b"")
    return todo, encoded


def check_encoded_proses(texts, min_letters=20):
    det = S.LanguageDetector(min_letters=min_letters)
    todo, proses, encoded = det._encoded_proses(texts)
    assert (todo, encoded) == encoded_proses_one_by_one(det, texts)
    for i, prose in zip(todo, proses):
        assert prose == (None if S._without_math(texts[i]).isascii() else S.prose_of(texts[i]))


def test_encoded_proses_is_encode_of_prose_of():
    texts = SAMPLE + MULTILINGUAL + close_calls() + [
        "", "$", "$$x", "\\[ a \\] b \\( c", "[asy] draw [/asy] Find x_1^2.", "\\frac{a}{b} ABC",
        "caf\u00e9 na\u00efve \\alpha", "x\ud800y words here", "  \t\n  ", "A_B C^D {E}",
        "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG 42 TIMES", "THE QUICK BROWN fOX JUMPS OVER THE LAZY DOG",
        "\x1c\x1dWORDS\x1fWITH\x0bODD\x0cSPACES and more words here to count"]
    for min_letters in (0, 1, 20):
        check_encoded_proses(texts, min_letters)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab ZQ$\\[](){}^_1-\n\t\x1c\u00e9\u4e00\u0416!?")) | st.characters(),
                        max_size=60), max_size=8))
def test_encoded_proses_on_generated_text(texts):
    check_encoded_proses(texts, 1)


def test_group_scores_are_within_their_bound_of_py3langids():
    """The error model behind the guard: on real texts, our float64-of-float32 sparse sums and
    py3langid's own float32 scores differ by less than twice the stated bound (each sum is within
    the bound of the exact one); and the bound is tight enough for the guard to be worth having."""
    ident = S.language_identifier()
    texts = [p for p in map(S.prose_of, SAMPLE + MULTILINGUAL + close_calls()) if S.letter_count(p) >= 20]
    encoded = sorted((ident._encode(p) for p in texts), key=len, reverse=True)
    encoded = [e for e in encoded if len(e) <= S.BATCH_WALK_MAX_BYTES]
    checked = 0
    worst = 0.0
    for lo in range(0, len(encoded), S.BATCH_WALK_TEXTS):
        group = encoded[lo : lo + S.BATCH_WALK_TEXTS]
        scores, bound, distinct = S._group_scores(group)
        for enc, row, b, k in zip(group, scores, bound, distinct):
            visits = Counter(S._walk_group_flat([enc])[1].tolist())
            assert k == len(visits)
            own = ident._sparse_score(visits, ident.nb_ptc).astype(np.float64)
            diff = float(np.abs(row - own).max())
            assert diff <= 2 * b, (enc[:60], diff, b)
            worst = max(worst, diff / b)
            checked += 1
    assert checked > 1000
    assert worst > 0  # the two sums do differ in their last bits: exact equality is not what is claimed


def test_surely_english_only_when_py3langid_says_english():
    det = S.LanguageDetector()
    ident = det._id
    texts = SAMPLE + MULTILINGUAL * 2 + close_calls()
    proses = [p for p in map(S.prose_of, texts) if S.letter_count(p) >= 20]
    encoded = [ident._encode(p) for p in proses]
    sure = S._surely_english(encoded)
    langs = [ident.classify(p)[0] for p in proses]
    assert all(lang == "en" for lang, s in zip(langs, sure) if s)
    english = sum(lang == "en" for lang in langs)
    assert sure.sum() >= 0.97 * english  # the guard lets almost all real English through ...


def random_mixtures(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    pool = EN + [w for ws in OTHER.values() for w in ws]
    return [" ".join(rng.choice(pool, size=int(rng.integers(4, 20)))) for _ in range(n)]


def test_close_calls_go_to_py3langid():
    """Random mixtures of English and five other languages' words put some texts within a few
    thousandths of the English/other boundary; every text the guard vouches for is English to
    py3langid, the error model is never contradicted (py3langid's English lead is never on the
    other side of ours by more than the slack), and the whole step agrees text by text."""
    ident = S.language_identifier()
    texts = random_mixtures(3000)
    proses = [S.prose_of(t) for t in texts]
    encoded = [ident._encode(p) for p in proses]
    lead, slack = S._english_lead(encoded)
    langs = [ident.classify(p)[0] for p in proses]
    near = np.abs(lead) < 20 * slack
    assert near.sum() >= 1  # close calls are in the set
    for lang, l, s in zip(langs, lead.tolist(), slack.tolist()):
        if l > 2 * s:
            assert lang == "en"
        if lang == "en" and np.isfinite(l):
            assert l > -2 * s
    det = S.LanguageDetector()
    assert det.non_english_many(texts) == per_text(det, texts)


def test_non_english_many_is_is_non_english_text_by_text():
    det = S.LanguageDetector(min_confidence=0.9)
    long_mix = " ".join(close_calls())  # over BATCH_WALK_MAX_BYTES: py3langid walks it itself
    texts = SAMPLE + MULTILINGUAL + close_calls() + [long_mix, "", "\ud800" * 30, "ABC DEF GHI JKL MNO PQR STU VWX"]
    assert det.non_english_many(texts) == per_text(det, texts)
    det_low = S.LanguageDetector(min_confidence=0.5, max_non_latin=0.0)
    assert det_low.non_english_many(texts) == per_text(det_low, texts)


WORDS = sorted({w for ws in OTHER.values() for w in ws} | set(EN) | {"$x^2$", "\\frac{1}{2}", "Найдите", "函数", "42"})


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=40).map(" ".join), min_size=1, max_size=12))
def test_non_english_many_on_generated_word_mixtures(texts):
    det = S.LanguageDetector()
    assert det.non_english_many(texts) == per_text(det, texts)
