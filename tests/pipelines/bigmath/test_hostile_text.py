"""Big-Math parsers of user text on hostile input (issue 15): no exception escapes, results keep
their documented types, and 200 KB of a repeated fragment is read in linear time."""

import pytest
from hypothesis import example, given

from pipelines.bigmath import answers, reformulate, signals
from pipelines.bigmath.dedup import dedup_key, shingles, word_ngrams
from tests.pipelines.hostile_text import PROPERTY, SURROGATES, SCALE_LIMIT_S, hostile_text, scaled, timed

STR_OR_NONE = (str, type(None))

# (name, function of one text, allowed result types): every parser that sees user text
PARSERS = [
    ("last_boxed", answers.last_boxed, STR_OR_NONE),
    ("stated_answer", answers.stated_answer, STR_OR_NONE),
    ("clean_answer", answers.clean_answer, STR_OR_NONE),
    ("split_gsm8k", answers.split_gsm8k, tuple),
    ("parse_options", answers.parse_options, list),
    ("option_value", lambda t: answers.option_value(answers.parse_options(t), "B"), STR_OR_NONE),
    ("has_hyperlink", signals.has_hyperlink, bool),
    ("is_multiple_choice", signals.is_multiple_choice, bool),
    ("is_multiple_choice(answer)", lambda t: signals.is_multiple_choice("q", None, t), bool),
    ("is_proof", signals.is_proof, bool),
    ("is_yes_no", lambda t: signals.is_yes_no(t, t), bool),
    ("is_true_false", lambda t: signals.is_true_false(t, t), bool),
    ("is_multi_part", lambda t: signals.is_multi_part(t, t), bool),
    ("needs_figure", signals.needs_figure, bool),
    ("prose_of", signals.prose_of, str),
    ("split_inline_options", reformulate.split_inline_options, tuple),
    ("stem_problem", reformulate.stem_problem, (tuple, type(None))),
    ("option_math_value", lambda t: reformulate.option_math_value(t, t), reformulate.OptionValue),
    ("option_residue", reformulate.option_residue, STR_OR_NONE),
    ("numbers_of", reformulate.numbers_of, set),
    ("hint_added", lambda t: reformulate.hint_added(t, t, t), STR_OR_NONE),
    ("dedup_key", dedup_key, int),
    ("shingles", shingles, set),
    ("word_ngrams", lambda t: word_ngrams(t, 8), list),
]


@PROPERTY
@given(text=hostile_text)
@example(text=SURROGATES)
def test_no_parser_raises_on_hostile_text(text):
    for name, fn, kind in PARSERS:
        assert isinstance(fn(text), kind), name


# issue 15's reproductions and their neighbours: each fragment repeated to 200 KB
FRAGMENTS = ["(a)", "(A) (B) ", "A: 1 B: 2 ", ". the answer is x", "\\boxed{\\(", "<a ", "[t](/a", "\n \n", "part a: 1. find ", "a-"]


@pytest.mark.parametrize("fragment", FRAGMENTS)
def test_scaled_fragments_are_linear(fragment):
    text = scaled(fragment) + "\nq"
    for name, fn, kind in PARSERS:
        result, seconds = timed(fn, text)
        assert isinstance(result, kind), name
        assert seconds < SCALE_LIMIT_S, f"{name} took {seconds:.1f}s on 200 KB of {fragment!r}"
