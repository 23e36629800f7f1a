"""The vectorized prefilters never exclude a row their detector accepts (so the funnel's decisions
are the detectors' own), on the sample, on every string written in the Big-Math signal tests, and
on hypothesis-generated text built from the markers the detectors look for."""

import ast
import re
import time
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.bigmath import prefilter as P
from pipelines.bigmath import signals as S

HERE = Path(__file__).parent
PROOF_SOURCES = {"harp_proofs"}

DETECTORS = {
    "hyperlink": (P.hyperlink(), lambda r: S.has_hyperlink(r["problem"])),
    "multiple_choice": (P.multiple_choice(), lambda r: S.is_multiple_choice(r["problem"], r["options"], r["answer"])),
    "proof": (P.proof(PROOF_SOURCES), lambda r: r["source"] in PROOF_SOURCES or S.is_proof(r["problem"])),
    "yes_no": (P.yes_no(), lambda r: S.is_yes_no(r["problem"], r["answer"])),
    "true_false": (P.true_false(), lambda r: S.is_true_false(r["problem"], r["answer"])),
    "multi_part": (P.multi_part(), lambda r: S.is_multi_part(r["problem"], r["answer"])),
    "figure": (P.figure(), lambda r: S.needs_figure(r["problem"])),
}
SCHEMA = {"problem": pl.Utf8, "answer": pl.Utf8, "options": pl.List(pl.Utf8), "source": pl.Utf8}


def frame_of(problems, answers=None):
    answers = answers if answers is not None else [None] * len(problems)
    return pl.DataFrame({"problem": problems, "answer": answers, "options": [None] * len(problems),
                         "source": ["x"] * len(problems)}, schema=SCHEMA)


def missed(frame: pl.DataFrame, staged: bool = True) -> dict[str, list]:
    """Per detector and per stage of a staged prefilter (each on every row: each must be a necessary
    condition on its own, the problem's SPECIAL rows added as candidate_rows adds them), the rows it
    accepts that the prefilter excluded (must be empty); ``staged``: also the prefilter as the funnel
    runs it (stages on the survivors of the previous ones)."""
    rows = list(frame.iter_rows(named=True))
    special = set(P.special_rows(frame).tolist())
    exprs = {f"{name}[{i}]": e for name, (prefilter, _) in DETECTORS.items() for i, e in enumerate(P.stages(prefilter))}
    flags = frame.select(**exprs)  # every stage of every detector in one select: the hypothesis test runs it often
    out = {}
    for name, (prefilter, detect) in DETECTORS.items():
        accepted = [detect(r) for r in rows]
        checks = {k: [c or ("problem" in exprs[k].meta.root_names() and i in special)
                      for i, c in enumerate(flags.get_column(k).to_list())] for k in exprs if k.startswith(name + "[")}
        if staged:
            checks[name] = P.candidates(frame, prefilter).to_list()
        for label, cand in checks.items():
            bad = [r for r, c, a in zip(rows, cand, accepted) if not c and a]
            if bad:
                out[label] = bad
    return out


def written_strings() -> list[str]:
    """Every string literal of the Big-Math signal tests (positives, negatives, answers)."""
    out = set()
    for name in ("test_real_world_formats.py", "test_signals.py", "test_hostile_text.py", "test_funnel.py"):
        for node in ast.walk(ast.parse((HERE / name).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
                try:
                    node.value.encode("utf-8")  # (a lone surrogate cannot be in a Polars frame: no funnel row has one)
                except UnicodeEncodeError:
                    continue
                out.add(node.value)
    return sorted(out)


def test_sample_rows_lose_no_accepted_row():
    from pipelines.bigmath.funnel import read_all
    from pipelines.config import get_profile

    rows, _, _ = read_all(get_profile("sample").bigmath)
    rows = rows.with_columns(pl.when(pl.int_range(pl.len()) % 7 == 0).then(pl.lit("harp_proofs"))
                             .otherwise(pl.col("source")).alias("source"))
    assert rows.height > 1000
    assert missed(rows) == {}
    # and the prefilters do cut work: most rows are decided without the Python detector
    for name in ("hyperlink", "proof", "figure", "true_false"):
        assert P.candidates(rows, DETECTORS[name][0]).mean() < 0.5, name
    # the later stages and the answer-only prefilters cut most of the rest
    for name in ("yes_no", "true_false", "multi_part", "multiple_choice"):
        assert P.candidates(rows, DETECTORS[name][0]).mean() < 0.2, name


def test_written_strings_lose_no_accepted_row():
    texts = written_strings()
    assert len(texts) > 100
    assert missed(frame_of(texts)) == {}  # as problems
    assert missed(frame_of([""] * len(texts), texts)) == {}  # as answers


def test_case_folds_outside_ascii_lose_no_accepted_row():
    # Python's re.IGNORECASE reads "ſhow that" as "show that" and "justİfy" as "justify"; the literal
    # searches do not: the SPECIAL rows must reach the detector whatever the searches say
    texts = [t for t in written_strings() if t.isascii()]
    folded = sorted({t.replace(a, b) for t in texts for a, b in (("s", "ſ"), ("i", "İ"), ("i", "ı"), ("k", "K"), ("I", "ı"))
                     if a in t} - set(texts))
    assert len(folded) > 100
    assert missed(frame_of(folded)) == {}
    assert missed(frame_of([""] * len(folded), folded)) == {}


# fragments the detectors look for, with the characters where Python's re and the Rust/literal
# searches could disagree (case folds İ ı ſ K, ß and ligatures, \x1c-\x1f whitespace, full-width forms)
FRAGMENTS = [
    "(A)", "(B)", "(C)", "A)", "B)", "C)", "a)", "b)", "c)", "A.", "B.", "C.", "A:", "B:", "C:", "A．", "（A）", "（B）",
    "a ) 1 ,", "b ) 2 ,", "c )", "(a)", "(b)", "(i)", "(ii)", "(1)", "(2)", "(I)", "(II)", "Ⅰ", "Ⅱ", "⑴", "⑵", "$(1)$", "$(2)$",
    "1.", "2.", "1)", "2)", "2、", "b．", "Part", "part (b):", "find", "Find", "what", "how", "Which of the following",
    "answer choices", "Options:", "choice:", "choose the correct answer", "prove", "Prove", "show that", "Show", "show $",
    "demonstrate", "verify why", "établir", "démontrer", "montrez que", "Beweisen", "zeigen Sie", "demostrar", "Докажите",
    "доказать", "证明", "求证", "true or false", "True or False?", "(true/false)", "Determine whether the statement is true",
    "judge true or false", "correct", "http://", "https://x.y", "ftp://", "www.example.com", "[link](/a)", "[t](http://x)",
    "site.com/", "x.org/p", "<a href=", "<A HREF=", "<a\n", "href=", "[asy]", "[/asy]", "\\begin{figure}", "\\includegraphics",
    "<img", "![x](y)", "如图", "shown in the figure", "as shown", "shown below", "see the diagram", "figure 1",
    "the graph below", "refer to the picture", "accompanying drawing", "given on the drawing", "drawn in sketch",
    "Check if the proposition is correct", "decide whether each claim is correct", "İ", "ı", "ſ", "K", "ß", "ﬁ", "ﬀ", "\x1c", "\x1d",
    "\x1e", "\x1f", "\x85", "\u3000", "\u2009", "\n", " ", "  ", "\t", "$", "\\(", "\\text{", "}", "{", ".", ",", ";", ":",
    "?", "!", "x", "1", "12", "f(a)", "P(A)", "Team", "Box", "yes", "no", "√", "×", "\\checkmark", "对", "错",
    # the words around the markers of the staged (second, precise) prefilters
    "the statement is", "claims are", "propositions", " is ", " are ", "true", "TRUE", "or", "false", "(true", "/false)",
    "or false", "State whether", "option", "Options", "choices :", "answer choice", "select the best answer", "right option",
    "of the following", "which one of the", "a.", "b.", "a) ", "b) ", "B. ", "1. ", "2) ", "2、", "(Ⅰ)", "（Ⅱ）", "part", "PART",
    "Part (ii).", "part2)", "a.\n", "b.\u2003", "figure", "Figure 2", "fig.", "see", "in the", "from the following",
    "adjacent diagram", "given in", "sketched by", "pictured at", "the graph to the right", "image above", "depicts",
    "the figure shows", "illustrates", "refer to the", "attached image", "adjoining", "as pictured", "shown here",
    "\\begin{tikzpicture}", "\\begin{picture}", "见图", "下图", "右图",
    # each alternative of the precise second stages, alone
    "which one of the following", "answer choices", "select the correct option", "pick best choice", "Option:",
    "(A) 1 (B) 2 (C) 3", "A) 1 B) 2 C) 3", "A: 1 B: 2 C: 3", "A. 1\nB. 2", "A. 1\n   B. 2", "A) x\n\n (B) y", "a ) 1 , b ) 2 , c ) 3", "A．1 B．2 C．3",
    "（A）1（B）2（C）3", "prove that", "proving", "disprove", "give a proof", "with proof", "justify your answer",
    "Justify the answer", "establish that", "demonstrate why", "verify how", "show that", "show $x$", "show \\(x\\)",
    "Démontrer", "demontrez", "montrer que", "beweise", "zeigen Sie", "demuestre", "试证", "求证", "докажем",
    "True or false?", "true or false that", "( true / false )", "the statements are correct", "this claim is true",
    "decide if the proposition is true", "judge whether it is true or false", "pictured at the image",
    "depicted by the sketch", "sketched in the accompanying figure", "illustrated on the adjacent diagram",
    "drawn in the following picture", "see fig.", "in the given diagram", "from the adjacent figure",
    "figure 3", "image above", "picture to the left", "as illustrated", "shown above", "diagram represents",
    "refer to the graph", "the attached picture", "![alt](x.png)", "<img src=x>", "(i) x (ii) y", "⑴ x ⑵ y",
    "$(1)$ x $(2)$ y", "a. Find x\nb. Find y", "1. Find x 2. Find y", "a) what is x b) how many", "Part (a): x Part (b): y",
    "(Ⅰ) x (Ⅱ) y", "part ii.", "Part 2)",
]
ANSWERS = ["", "1", "C", "(B)", "\\text{(C)}", "\\textbf{(B) }15", "True", "false", "tr\\text{}ue", "√", "\\times",
           "(a) 3, (b) 4", "( ii ) 5", "Correct", "ıncorrect", "TRUE", "正确", "错误", "\\text{F}alse", "Yes", "NO",
           "\\text{No}", "y\\text{e}s", "n\\textbf {o}, because", "Impossible", "it is not possible", "There are none",
           "does not exist", "\\text{ Not possible }.", "是", "否", "\\mbox{yes}!", "\\tex\\text{}t{true}",
           "\\te\\text{}xt{B}", "$\\mbox {( D )}$.", "\\boxed{\\text{E}}", ". (\\textbf{ A}) 12", "\\frac{1}{C}", "(\\text{C})"]

def test_each_fragment_alone_loses_no_accepted_row():
    # one marker per row, so a stage that misses one alternative of its detector cannot hide behind
    # another marker of the same row (the generated rows below hold many)
    texts = sorted({w.format(f) for f in FRAGMENTS + ANSWERS for w in ("{}", " {} ", "Q. {} 1.", "x\n{}\ny", "$1$, {}: 2")})
    assert missed(frame_of(texts)) == {}
    assert missed(frame_of([""] * len(texts), texts)) == {}


text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=24).map("".join)


@settings(derandomize=True, max_examples=600, deadline=None)
@given(st.lists(st.tuples(text, st.sampled_from(ANSWERS) | st.text(max_size=6)), min_size=1, max_size=20))
def test_generated_text_loses_no_accepted_row(pairs):
    problems = [p for p, _ in pairs]
    answers = [a for _, a in pairs]
    assert missed(frame_of(problems, answers), staged=False) == {}  # (the staged run: on the sample and strings above)


def test_wrapper_names_are_the_detectors():
    # the multiple-choice answer condition lists the characters _unwrap may delete
    assert S._TEXT_WRAP.pattern.startswith("\\\\(?:" + "|".join(P._WRAP_NAMES) + ")")


def test_case_and_whitespace_sets_are_pythons():
    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    folds = {c for c in re.findall("(?i)[a-z]", every) if not c.isascii()}
    lower_upper = {c for c in every if not c.isascii()
                   and any(x.isascii() and x.isalpha() for x in c.lower() + c.upper())}
    assert folds | lower_upper == set(P.SPECIAL)
    assert set(re.findall(r"\s", every)) == set(P._WS_CHARS)
    # the non-ASCII characters the yes/no and true/false answers are compared with (after lower()):
    # no other character lowers to one of them, so a literal search for them misses no row
    targets = set("".join(P._YN_ANSWER + P._TF_ANSWER)) - set(map(chr, range(128)))
    assert {c for c in every if c not in targets and targets & set(c.lower())} == set()


def test_prefilters_are_linear_on_hostile_text():
    # 2 MB of near-misses for every marker: a backtracking search would take minutes
    hostile = ["(" + " " * 1_000_000 + "A", "A" * 1_000_000 + " ", "[" * 500_000 + "](" * 1, "(a" * 500_000]
    frame = frame_of(hostile, hostile)
    start = time.process_time()
    for expr, _ in DETECTORS.values():
        P.candidates(frame, expr)
    assert time.process_time() - start < 10
