"""Each rule signal on real rows from the sample sources (positives and negatives) and on the
variety real corpora show (AMC LaTeX, MathQA options, Chinese/French text, f(a) notation)."""

import json

import pytest

from pipelines.bigmath import signals as S
from tests.conftest import SAMPLE_MATH


def rows(name):
    return [json.loads(line) for line in (SAMPLE_MATH / name).read_text().splitlines() if line.strip()]


GSM8K = rows("gsm8k_test.jsonl")
MATH500 = rows("math500_test.jsonl")
AQUA = rows("aqua_test.jsonl")
SAT = rows("sat_math_test.jsonl")
HARP = rows("harp_proofs.jsonl")


def test_gsm8k_word_problems_trip_no_signal():
    for r in GSM8K:
        q = r["question"]
        assert not S.is_multiple_choice(q), q
        assert not S.has_hyperlink(q), q
        assert not S.needs_figure(q), q
        assert not S.is_multi_part(q), q
        assert not S.is_proof(q), q  # includes "needs to show that he received 80"


def test_real_multiple_choice_items_are_flagged():
    assert all(S.is_multiple_choice(r["question"], r["options"]) for r in AQUA)
    from pipelines.bigmath.answers import parse_options

    assert all(S.is_multiple_choice(r["question"], parse_options(r["options"])) for r in SAT)
    amc = [r["problem"] for r in MATH500 if "\\textbf{(A)}" in r["problem"] or "Enter the letter" in r["problem"]]
    assert amc and all(S.is_multiple_choice(p) for p in amc)


@pytest.mark.parametrize("text", [
    "What is 2+3? a ) 4 , b ) 5 , c ) 6 , d ) 7",
    "Which of the following is prime?",
    "Solve for x.\nA. 1\nB. 2\nC. 3\nD. 4",
    "Compute $x$. $\\textbf{(A) } 1 \\qquad \\textbf{(B) } 2 \\qquad \\textbf{(C) } 3$",
    "Find y. Answer Choices: (A) 5 (B) 6 (C) 7",
    "Given $x^2=4$, then $x=$ (　　)\nA: $2$\nB: $-2$\nC: $\\pm 2$\nD: $4$",
    "The value of $\\sin 30^\\circ$ is (　　) A: $\\frac{1}{2}$ B: $\\frac{\\sqrt{3}}{2}$ C: $1$ D: $0$",
    "下列函数中是奇函数的是（　　）（A）y=x^2（B）y=x^3（C）y=|x|（D）y=1",
])
def test_multiple_choice_variety(text):
    assert S.is_multiple_choice(text)


@pytest.mark.parametrize("text", [
    "Let $f(a) = a^2$ and $g(b) = b + 1$. Find $f(g(2))$.",
    "Point A. lies on the circle. Find the radius if the area is $9\\pi$.",
    "[asy]\ndot((0,0));label(\"A\",(0,0));dot(A);dot(B);dot(C);\n[/asy] Find the area.",
])
def test_not_multiple_choice(text):
    assert not S.is_multiple_choice(text)


def test_an_option_letter_as_the_answer_means_multiple_choice():
    assert S.is_multiple_choice("Which function is odd?", None, "\\text{(C)}")
    assert S.is_multiple_choice("Pick the odd function.", None, "B")
    assert not S.is_multiple_choice("Find the number of subsets.", None, "8")
    assert not S.is_multiple_choice("In triangle ABC, the ratio A:B:C is 1:2:3. Find angle C in degrees.", None, "90")


def test_harp_proofs_mostly_say_prove_and_gsm8k_never():
    share = sum(S.is_proof(r["problem"]) for r in HARP) / len(HARP)
    assert share > 0.5
    assert S.is_proof("Prove that there are infinitely many primes.")
    assert S.is_proof("Let n be odd. Show that n^2 - 1 is divisible by 8.")
    assert S.is_proof("证明：对任意正整数n，n^3-n能被6整除。")
    assert not S.is_proof("How many ways can the proofreader arrange 5 books?")


def test_yes_no_and_true_false_from_answers_and_wording():
    assert S.is_yes_no("Is 91 prime?", "No")
    assert S.is_yes_no("Can the board be tiled?", "\\text{Yes}")
    assert S.is_yes_no("Does such a function exist?", "It is impossible")
    assert not S.is_yes_no("Is it true that x^2 - 5x - 4 <= 10? Give the interval.", "x \\in [-2,7]")
    assert S.is_true_false("True or false: every square is a rectangle.", None)
    assert S.is_true_false("Every square is a rectangle.", "True")
    assert not S.is_true_false("There are 20 true/false questions worth 1 point each. How many points?", "20")


def test_multi_part_markers():
    assert S.is_multi_part("(a) Find the mean. (b) Find the median.")
    assert S.is_multi_part("Part 1: compute x. Part 2: compute y.")
    assert S.is_multi_part("a) Solve for x\nb) Solve for y")
    assert S.is_multi_part("Find both roots.", "(a) 2 (b) 3")
    assert not S.is_multi_part("Let $f(a)=2a$ and $f(b)=3$. Find $b$.")
    assert not S.is_multi_part("Find the point (a, b) where the lines meet.")
    assert S.is_multi_part("Given f(x)=x^2+1. (1) Find f(2); (2) Solve f(x)=5.")
    assert S.is_multi_part("已知函数f(x)=x^2.（Ⅰ）求f(1)；（Ⅱ）求f(x)的最小值。")
    assert S.is_multi_part("Let a_n = 2n. (I) Find a_3. (II) Find the sum of the first 10 terms.")


def test_figures():
    figs = [r["problem"] for r in MATH500 if "[asy]" in r["problem"]]
    assert figs and all(S.needs_figure(p) for p in figs)
    assert S.needs_figure("In the figure below, ABCD is a square. Find its area.")
    assert S.needs_figure("As shown in the diagram, the circle has radius 3.")
    assert S.needs_figure("Find x. ![triangle](img/tri.png)")
    assert S.needs_figure("In the following figure, the shaded region is a semicircle. Find its area.")
    assert S.needs_figure("As illustrated, two circles touch at P. Find the distance between the centers.")
    assert not S.needs_figure("A figure skater spins 3 times per second. How many spins in a minute?")


def test_hyperlinks():
    assert S.has_hyperlink("See https://example.com/problem for details. Find x.")
    assert S.has_hyperlink("Source: www.artofproblemsolving.com")
    assert S.has_hyperlink("Use [this table](https://x.org/t) to find y.")
    assert not S.has_hyperlink("Evaluate 3.14 * 2. e.g. 6.28")


def test_language():
    det = S.LanguageDetector()
    assert det.is_non_english("Combien de pommes Marie a-t-elle mangées si elle en avait douze et en a donné cinq ?")[0]
    assert det.is_non_english("已知函数f(x)=x^2+2x，求f(3)的值。请写出详细的解题过程。")[0]
    assert det.is_non_english("Найдите все значения параметра a, при которых уравнение имеет два корня.")[0]
    assert not any(det.is_non_english(r["question"])[0] for r in GSM8K[:300])
    assert not any(det.is_non_english(r["problem"])[0] for r in MATH500[:200])
    # almost all math, too little prose to judge: kept
    assert not det.is_non_english("$\\int_0^1 x^2\\,dx = ?$")[0]


MULTILINGUAL = [
    "Combien de pommes Marie a-t-elle mangées si elle en avait douze et en a donné cinq ?",
    "已知函数f(x)=x^2+2x，求f(3)的值。请写出详细的解题过程。",
    "Найдите все значения параметра a, при которых уравнение имеет два корня.",
    "Berechnen Sie die Fläche des Dreiecks mit den Seiten 3, 4 und 5 Zentimeter.",
    "Calcula el área de un círculo cuyo radio mide cinco centímetros y explica tu razonamiento.",
    "三角形ABCにおいて、辺ABの長さを求めよ。ただし角Cは直角とする。",
    "삼각형의 넓이를 구하시오. 밑변은 6이고 높이는 4이다. 풀이 과정을 쓰시오.",
    "Sia $f(x)=x^2$. Determinare il valore minimo della funzione sull'intervallo dato.",
    "ΑΒΓ τρίγωνο με πλευρές 3, 4 και 5. Να βρείτε το εμβαδόν του τριγώνου.",
    "",
    "$$x$$",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG AND COUNTS TO TWELVE",
]


def test_language_scores_are_py3langids_own():
    """The cached identifier (float32 score table) gives py3langid's own (language, confidence),
    bit for bit, on the sample and on multilingual text: the same decisions and details."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    own = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ours = S.language_identifier()
    assert ours is S.language_identifier()  # loaded once per process
    assert ours.nb_ptc.dtype != own.nb_ptc.dtype
    texts = [r["question"] for r in GSM8K] + [r["problem"] for r in MATH500] + MULTILINGUAL
    proses = [S.prose_of(t) for t in texts] + texts
    for p in proses:
        assert ours.classify(p) == own.classify(p), p



def test_ascii_shortcuts_equal_the_per_character_counts():
    """letter_count / non_latin_share skip the per-character work on ASCII prose: same numbers."""
    import unicodedata

    texts = [r["problem"] for r in MATH500] + [r["question"] for r in GSM8K[:300]] + [
        "Montrer que la suite converge", "已知函数的定义域", "", "$x^2$ and \\frac{1}{2} of 3_4 ² things", "a\tb\nc  d"]
    for t in texts:
        prose = S.prose_of(t)
        assert S.letter_count(prose) == sum(c.isalpha() for c in prose), t
        letters = [c for c in prose if c.isalpha()]
        share = (sum(not unicodedata.name(c, "").startswith("LATIN") for c in letters) / len(letters)) if letters else 0.0
        assert S.non_latin_share(prose) == share, t


def test_batched_language_equals_per_text():
    """classify_many (the automaton walked for many texts at once, in groups) gives classify's
    answer for every text: empty, featureless, too-long (walked by py3langid) and duplicate texts too."""
    det = S.LanguageDetector()
    long_fr = " ".join([MULTILINGUAL[0]] * 80)  # over BATCH_WALK_MAX_BYTES
    texts = ([r["question"] for r in GSM8K] + [r["problem"] for r in MATH500] + MULTILINGUAL * 2
             + [long_fr, "", "   ", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "a" * 25, "\ud800" * 30])
    assert len(S.prose_of(long_fr).encode()) > S.BATCH_WALK_MAX_BYTES
    want = [det.classify(t) for t in texts]
    assert det.classify_many(texts) == want
    assert [d for d, _ in det.non_english_many(texts)] == [det.is_non_english(t)[0] for t in texts]
    assert sum(lang not in ("en", "und") for lang, _ in want) >= 8
