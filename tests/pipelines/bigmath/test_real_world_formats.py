"""Rows written the way the real corpora write them (NuminaMath-CoT's cn_k12 / olympiads /
synthetic_amc / amc_aime / aops_forum / orca_math, Omni-MATH, MATH, MetaMathQA,
OpenMathInstruct-2, AoPS forum text), positives and negatives for every rule signal and for
answer extraction and normalization. The rows are written from those formats, not copied."""

import pytest

from pipelines.bigmath import signals as S
from pipelines.bigmath.answers import clean_answer, last_boxed, stated_answer
from pipelines.bigmath.normalize import NormalizeConfig, normalize_record
from pipelines.bigmath.sources import SourceRows, SourceSpec
from pipelines.bigmath.verify import VerifyItem, _as_latex, check_item, final_answer_of

# ------------------------------------------------------------------ multiple choice

MC_POSITIVE = [
    # cn_k12: blank "(　　)" then one option per line "A: ..."
    "Among the following functions, the one that is both odd and increasing on $(0,+\\infty)$ is (　　)\n"
    "A: $y=x^3$\nB: $y=\\sin x$\nC: $y=\\ln x$\nD: $y=e^x$",
    # cn_k12 flattened onto one line
    "The condition \"$x>1$\" is the (　　) of \"$x^2>1$\". A: Sufficient but not necessary condition "
    "B: Necessary but not sufficient condition C: Necessary and sufficient condition D: Neither",
    # "Which of the following statements is correct?"
    "Which of the following statements is correct?\nA: $\\sqrt{4}=\\pm 2$\nB: $\\sqrt{(-2)^2}=-2$\n"
    "C: $\\sqrt[3]{-8}=-2$\nD: $\\sqrt{9}=3^2$",
    # full-width dot options "A．"
    "已知集合A={1,2}，B={2,3}，则A∩B=（　　）\nA．{1}\nB．{2}\nC．{3}\nD．{1,2,3}",
    # amc_aime / synthetic_amc: \textbf{(A)} options joined by \qquad
    "What is the value of $2^0+2^1+2^2$?\n$\\textbf{(A)}\\ 5 \\qquad\\textbf{(B)}\\ 6 \\qquad\\textbf{(C)}\\ 7"
    " \\qquad\\textbf{(D)}\\ 8 \\qquad\\textbf{(E)}\\ 9$",
    # older AMC: \mathrm{(A) \ }
    "How many primes are less than 10? $\\mathrm{(A) \\ } 3 \\qquad \\mathrm{(B) \\ } 4 \\qquad "
    "\\mathrm{(C) \\ } 5 \\qquad \\mathrm{(D) \\ } 6 \\qquad \\mathrm{(E) \\ } 7$",
    # parenthesised options on their own lines
    "Find $x$ if $2x+1=9$.\n(A) 2\n(B) 3\n(C) 4\n(D) 5",
    # orca_math-style "Answer Choices:"
    "A train covers 60 km in 45 minutes. Its speed in km/h is: Answer Choices: (A) 70 (B) 80 (C) 90",
    # numbered statements ①② with an option line
    "Given the propositions: ① $a>b \\Rightarrow a^2>b^2$; ② $a>b \\Rightarrow a^3>b^3$. "
    "The correct ones are (　　)\nA: ①\nB: ②\nC: ①②\nD: None",
]


@pytest.mark.parametrize("text", MC_POSITIVE)
def test_multiple_choice_real_formats(text):
    assert S.is_multiple_choice(text)


MC_NEGATIVE = [
    # probability notation: P(A), P(B), P(C) are not options
    "Events $A$, $B$, $C$ are independent with $P(A)=\\frac12$, $P(B)=\\frac13$, $P(C)=\\frac14$. "
    "Find the probability that at least one of them occurs.",
    "Let $f(x)=x^2$. Compute $f(A)+f(B)+f(C)$ where $A=1$, $B=2$ and $C=3$.",
    "In triangle $ABC$, $\\sin(A):\\sin(B):\\sin(C)=3:5:7$. Find the largest angle in degrees.",
    # orca_math: things named A, B, C with colons
    "Box A: 3 red balls. Box B: 5 red balls. Box C: 4 red balls. How many red balls are there in total?",
    "Team A: 12 points, Team B: 15 points, Team C: 9 points. What is the average score?",
    # a ratio and coordinates
    "The angles of a triangle are in the ratio A:B:C = 2:3:4. Find angle C in degrees.",
    "Triangle $ABC$ has $A=(0,0)$, $B=(4,0)$ and $C=(0,3)$. Find its perimeter.",
    # the word "choices" / "options" in a counting problem
    "A restaurant offers 3 choices of appetizer and 4 choices of main course. How many different meals are possible?",
]


@pytest.mark.parametrize("text", MC_NEGATIVE)
def test_not_multiple_choice_real_formats(text):
    assert not S.is_multiple_choice(text)


@pytest.mark.parametrize("answer", ["\\text{C}", "\\boxed{B}", "$\\boxed{\\text{(D)}}$", "\\textbf{(C)}\\ 15",
                                    "(E) 24", "\\mathrm{(A)}"])
def test_option_letter_answers_mean_multiple_choice(answer):
    assert S.is_multiple_choice("Find the value.", None, answer)


@pytest.mark.parametrize("answer", ["(1, 2)", "C_6^2", "(-\\infty, 2]", "\\text{Alice}", "15", "(A \\cup B)"])
def test_answers_that_are_not_option_letters(answer):
    assert not S.is_multiple_choice("Find the value.", None, answer)


# ------------------------------------------------------------------ proofs

@pytest.mark.parametrize("text", [
    "Prove: for every positive integer $n$, $n^3-n$ is divisible by $6$.",
    "Given $a,b>0$ and $a+b=1$. Prove that $\\frac1a+\\frac1b\\ge4$.",
    "Let $ABC$ be a triangle with inradius $r$ and incenter $I$. Show that $AI+BI+CI\\ge 6r$.",
    "If $x>0$, show $x+\\frac1x\\ge 2$.",
    "Prove or disprove: every odd number greater than 1 is prime.",
    "Is it true that $2^{n}>n^2$ for all $n\\ge5$? Justify your answer.",
    "求证：$\\sqrt2$是无理数。",  # 证 without 明
    "Démontrer que pour tout entier $n$, $n^2+n$ est pair.",
    "Beweisen Sie, dass $\\sqrt{2}$ irrational ist.",
    "Докажите, что число $n^3-n$ делится на $6$ при любом целом $n$.",
])
def test_proof_real_formats(text):
    assert S.is_proof(text)


@pytest.mark.parametrize("text", [
    "A proof-reader checks 12 pages per hour. How many pages does she check in 7 hours?",
    "Lisa spent 3 hours proofreading an essay and 2 hours proof-reading a report. How many hours in all?",
    "Tickets to the show that night cost $12 each. How much did 5 tickets cost?",
    "Tom needs to show that he has at least $50 in savings. He has $32. How much more does he need?",
    "An 80-proof whiskey is 40% alcohol. How many millilitres of alcohol are in a 750 ml bottle?",
    "A waterproof watch costs $40. How much do 3 such watches cost?",
])
def test_not_proof_real_formats(text):
    assert not S.is_proof(text)


# ------------------------------------------------------------------ yes/no, true/false

@pytest.mark.parametrize("answer", ["\\text{No}", "$\\boxed{\\text{Yes}}$", "\\textbf{No}", "Yes, it can.",
                                    "\\text{It is not possible}", "\\text{Impossible}", "Possible"])
def test_yes_no_answers(answer):
    assert S.is_yes_no("Can the board be tiled by dominoes?", answer)


@pytest.mark.parametrize("answer", ["0", "\\text{Noether}", "\\text{Nonagon}", "\\{1, 2\\}",
                                    "possible values are 1 and 2", "\\text{Yesenia}"])
def test_not_yes_no_answers(answer):
    assert not S.is_yes_no("Find it.", answer)


@pytest.mark.parametrize("text,answer", [
    ("Every square is a rectangle.", "$\\boxed{\\text{True}}$"),
    ("The product of two negative numbers is negative. (　　)", "×"),
    ("The product of two negative numbers is positive. (　　)", "\\checkmark"),
    ("Judge true or false: $0$ is a natural number.", None),
    ("Is it true or false that $2^{10}>1000$?", None),
    ("Determine whether the following proposition is true: if $a>b$ then $a^2>b^2$.", None),
])
def test_true_false_real_formats(text, answer):
    assert S.is_true_false(text, answer)


@pytest.mark.parametrize("text,answer", [
    ("A quiz has 20 true or false questions worth 2 points each. Sam answers 9 correctly. What is his score?", "18"),
    ("Among the statements ①②③④, how many are true?", "2"),
    ("For which values of $x$ is the inequality $x^2>4$ true?", "(-\\infty,-2)\\cup(2,+\\infty)"),
])
def test_not_true_false_real_formats(text, answer):
    assert not S.is_true_false(text, answer)


# ------------------------------------------------------------------ multi-part

@pytest.mark.parametrize("text", [
    "Given $f(x)=x^2-2x$.\n(1) Find $f(3)$;\n(2) Find the minimum value of $f(x)$.",
    "已知函数$f(x)=\\ln x$。（1）求$f(e)$；（2）求$f(x)$在$x=1$处的切线方程。",
    "Let $\\{a_n\\}$ be arithmetic with $a_1=1$, $d=2$. (Ⅰ) Find $a_n$; (Ⅱ) Find $S_{10}$.",
    "Given $f(x)=x^2$. ⑴ Find $f(2)$; ⑵ find the minimum of $f$.",
    "Given $f(x)=2x+1$. **(1)** Find $f(2)$. **(2)** Solve $f(x)=7$.",
    "Given $f(x)=2x+1$, $(1)$ find $f(2)$; $(2)$ solve $f(x)=7$.",
    "A box has 3 red and 2 blue balls.\n1. Find the probability of drawing a red ball.\n"
    "2. What is the probability of drawing two blue balls without replacement?",
    "A car travels 60 km in 1.5 hours. a) Find its speed.\nb) How far does it go in 4 hours?",
    "Part (a): Find the mean of 2, 4, 6. Part (b): Find the variance.",
])
def test_multi_part_real_formats(text):
    assert S.is_multi_part(text)


@pytest.mark.parametrize("text", [
    "Find the point $(a, b)$ where $y=2x$ meets $y=x+1$.",
    "Let $f(1)=2$ and $f(2)=5$. If $f$ is linear, find $f(3)$.",
    "Let $g(a)=a+1$ and $g(b)=3$. Find $b$.",
    "The points $(1, 2)$ and $(2, 3)$ lie on a line. Find its slope.",
    # a numbered list of rules is not a list of questions
    "A game has two rules:\n1. Each player draws a card.\n2. The higher card wins.\nThere are 52 cards. "
    "What is the probability that the first player wins with an ace?",
    # statements ① ② ③ of a "how many are correct" item are not sub-questions
    "Consider the statements: ① $1>0$; ② $2<1$; ③ $0=0$. How many of them are correct?",
    "Simplify $\\frac{(x+1)(x+2)}{(x+2)}$ for $x\\neq -2$.",
])
def test_not_multi_part_real_formats(text):
    assert not S.is_multi_part(text)


# ------------------------------------------------------------------ figures

@pytest.mark.parametrize("text", [
    "As shown in the figure, in $\\triangle ABC$, $AB=AC$ and $\\angle A=40^\\circ$. Find $\\angle B$.",
    "[asy]\nsize(100);\ndraw((0,0)--(4,0)--(4,3)--cycle);\n[/asy]\nFind the hypotenuse.",
    "如图，在矩形ABCD中，AB=3，BC=4，求AC的长。",
    "The figure shows a square of side 4 with a quarter circle inside. Find the shaded area.",
    "The accompanying diagram shows a regular hexagon. Find its perimeter.",
    "In the adjoining figure, $AB$ is a diameter of the circle. Find $\\angle ACB$.",
    "Refer to the diagram: the two lines are parallel. Find $x$.",
    "Use the graph below to find the slope of the line.",
    "In Figure 2, the triangle is equilateral. Find its height.",
])
def test_figure_real_formats(text):
    assert S.needs_figure(text)


@pytest.mark.parametrize("text", [
    "Anna goes figure skating 3 times a week. How many times does she go in 4 weeks?",
    "A figure skater scored 87.5 and 91.25 points. What is her total score?",
    "Figure out how many apples Tom has left if he had 10 and ate 3.",
    "A geometric figure has 6 sides. What is the sum of its interior angles?",
    "The graph of $y=x^2$ is shifted 3 units to the right. Find the vertex of the new graph.",
    "Find the image of the point $(1,2)$ under reflection in the line $y=x$.",
])
def test_not_figure_real_formats(text):
    assert not S.needs_figure(text)


# ------------------------------------------------------------------ hyperlinks

@pytest.mark.parametrize("text", [
    "Find $x$. [url=http://www.artofproblemsolving.com/Forum/viewtopic.php?t=1234]Source[/url]",
    "See https://artofproblemsolving.com/community/c6h1234 for the original thread. Find $n$.",
    "From artofproblemsolving.com/wiki/index.php/2010_AMC_10A_Problems: compute $2^{10}$.",
    "Problem [hide=link]www.mathlinks.ro[/hide]: find the least $n$.",
])
def test_hyperlink_real_formats(text):
    assert S.has_hyperlink(text)


@pytest.mark.parametrize("text", [
    "Mr. Smith earns $5.50 per hour. How much does he earn in 8 hours?",
    "Evaluate $3.14\\cdot 2$, i.e. twice $\\pi$ rounded.",
    "Let $a.b$ denote the dot product. Find $(1,2).(3,4)$.",
])
def test_not_hyperlink_real_formats(text):
    assert not S.has_hyperlink(text)


# ------------------------------------------------------------------ language

@pytest.fixture(scope="module")
def detector():
    return S.LanguageDetector()


@pytest.mark.parametrize("text", [
    "已知等差数列$\\{a_n\\}$的前$n$项和为$S_n$，若$a_3=5$，$S_5=25$，求数列的通项公式。",
    "Soit $f$ la fonction définie sur $\\mathbb{R}$ par $f(x)=x^2-3x$. Déterminer les variations de la fonction $f$.",
    "Ein Zug fährt mit einer Geschwindigkeit von 80 km/h. Wie lange braucht er für eine Strecke von 200 km?",
    "Найдите наибольшее значение функции $y=x^3-3x$ на отрезке $[0;2]$ и укажите точку максимума.",
])
def test_non_english_real_formats(detector, text):
    assert detector.is_non_english(text)[0]


@pytest.mark.parametrize("text", [
    "$\\int_0^{\\pi} \\sin^2 x \\, dx = ?$",
    "$$\\sum_{k=1}^{100} k^2$$",
    "Compute $\\lim_{x\\to 0} \\frac{\\sin 3x}{x}$.",
    "Let $a$, $b$, $c$ be positive reals with $a+b+c=3$. Find the minimum of $a^2+b^2+c^2$.",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?",
])
def test_english_or_latex_only_is_kept(detector, text):
    assert not detector.is_non_english(text)[0]


# ------------------------------------------------------------------ answer extraction

@pytest.mark.parametrize("solution,expected", [
    ("Thus $f(2)=\\boxed{\\frac{\\sqrt{3}}{2}}$.", "\\frac{\\sqrt{3}}{2}"),
    ("So the answer is $\\boxed{\\dfrac{1}{2}}$.", "\\dfrac{1}{2}"),
    ("The set is $\\boxed{\\{x \\mid x > \\frac{1}{2}\\}}$", "\\{x \\mid x > \\frac{1}{2}\\}"),
    ("Hence the answer is $\\boxed{\\text{C}}$.", "\\text{C}"),
    ("$\\boxed{\\textbf{(C)}\\ 15}$", "\\textbf{(C)}\\ 15"),
    ("So $m=\\boxed 5$.", "5"),
    ("First \\boxed{2}, and then \\boxed{x=3}.", "x=3"),
    ("The interval is \\boxed{\\left(-\\infty, \\frac{1}{2}\\right]}", "\\left(-\\infty, \\frac{1}{2}\\right]"),
    ("\\fbox{42}", "42"),
])
def test_last_boxed_real_formats(solution, expected):
    assert last_boxed(solution) == expected


def test_stated_answer_and_whole_box_answers():
    assert stated_answer("She has 48 + 24 = 72 clips.\nThe answer is: 72") == "72"
    assert stated_answer("So x=2. The answer is $\\frac{1}{2}$.") == "\\frac{1}{2}"
    assert stated_answer("The answer is simple once you see it, but find x first") is not None  # a line, not a value
    assert stated_answer("We get 72 clips.") is None
    assert clean_answer("$\\boxed{7}$") == "7"
    assert clean_answer("\\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert clean_answer("\\boxed{1} and \\boxed{2}") == "\\boxed{1} and \\boxed{2}"
    assert clean_answer("\\boxed{x}+1") == "\\boxed{x}+1"


def _spec(**kw):
    return SourceSpec("t", files=("x.jsonl",), **kw)


def test_normalize_metamath_and_boxed_answer_columns():
    meta = SourceRows(_spec(fields={"problem": "query", "solution": "response"}, answer_from="boxed"), [], "r")
    row = normalize_record({"query": "What is 3*4?", "response": "3*4=12.\nThe answer is: 12"}, meta, NormalizeConfig())
    assert row["answer"] == "12"
    col = SourceRows(_spec(fields={"problem": "p", "answer": "a"}, answer_from="column"), [], "r")
    assert normalize_record({"p": "Is 91 prime?", "a": "$\\boxed{\\text{No}}$"}, col, NormalizeConfig())["answer"] \
        == "\\text{No}"


# ------------------------------------------------------------------ answer normalization and verification

@pytest.mark.parametrize("answer,solution", [
    ("10\\,000", "\\boxed{10000}"),
    ("1\\,000\\,000", "so \\boxed{1000000}"),
    ("10 000", "\\boxed{10000}"),
    ("1,234,567", "\\boxed{1234567}"),
    ("\\$1,\\!000", "\\boxed{1000}"),
    ("€20", "\\boxed{20}"),
    ("£5", "\\boxed{5}"),
    ("\\text{Rs. } 500", "\\boxed{500}"),
    ("5 dollars", "\\boxed{5}"),
    ("12 \\text{ euros}", "\\boxed{12}"),
    ("90^\\circ", "\\boxed{90}"),
    ("45^{\\circ}", "\\boxed{45}"),
    ("25\\%", "\\boxed{25}"),
    ("5 \\text{ cm}", "\\boxed{5}"),
    ("4 \\, \\text{m}", "\\boxed{4}"),
    ("\\dfrac{1}{2}", "\\boxed{0.5}"),
    ("(-\\infty, 2]", "\\boxed{(-\\infty,2]}"),
    ("(1,2)", "\\boxed{\\left(1, 2\\right)}"),
    ("x=3", "\\boxed{3}"),
    ("72", "She has 72 clips.\nThe answer is: 72"),
])
def test_answers_in_real_formats_parse_and_agree(answer, solution):
    out = check_item(VerifyItem(answer, solution))
    assert out.parsed and out.agrees is True, (answer, out)


@pytest.mark.parametrize("answer,solution", [
    ("10\\,000", "\\boxed{1000}"),
    ("€20", "\\boxed{21}"),
    ("5 dollars", "\\boxed{6}"),
    ("(1,2)", "\\boxed{(2,1)}"),
    ("72", "The answer is: 73"),
])
def test_real_format_answers_still_catch_mismatches(answer, solution):
    out = check_item(VerifyItem(answer, solution))
    assert out.parsed and out.agrees is False, (answer, out)


@pytest.mark.parametrize("answer", ["\\text{Evelyn}", "\\text{No solution}", "\\text{odd}", "\\text{red}",
                                    "\\text{Sunday}"])
def test_word_answers_are_unparseable(answer):
    assert not check_item(VerifyItem(answer, None)).parsed


@pytest.mark.parametrize("answer", ["x", "\\text{II}", "AB", "2\\pi", "\\emptyset"])
def test_short_symbolic_answers_still_parse(answer):
    assert check_item(VerifyItem(answer, None)).parsed


def test_as_latex_keeps_lists_and_decimals():
    assert _as_latex("2, 345") == "$2, 345$"   # a list, not a thousands separator
    assert _as_latex("3.5") == "$3.5$"
    assert _as_latex("1 000") == "$1000$"
    assert final_answer_of("We get 5.\nThe answer is: 5") == "5"
