"""Count parsers: strict (the anchor's) and lenient side by side; unparsed is never 0."""

import time

import pytest

from pipelines.owm.parse import (MAX_REPLY_CHARS, OK, UNPARSED, parse_count_lenient, parse_count_strict,
                                 parse_yes_no, tagged)


@pytest.mark.parametrize("reply, strict, lenient", [
    ("Verification: yes\n<count>2</count>", 2, 2),
    ("Verification: no\n<count>0</count>", 0, 0),            # a real zero, not unparsed
    ("Verification: yes\n<count> 2 </count>", None, 2),       # spaces, as the anchor's prompts show
    ("<COUNT>3</COUNT>", None, 3),
    ("< count >4", None, 4),                                   # no closing tag
    ("<count>: 5</count>", None, 5),
    ("Examples say <count>1</count>. My answer: <count> 7 </count>", 1, 7),  # lenient takes the last
    ("I think there are two.", None, None),
    ("<count>two</count>", None, None),
    ("<count></count>", None, None),
    ("", None, None),
    (None, None, None),
    ("<count>1234567890123</count>", 1234567890123, None),    # lenient refuses > 9 digits (not a count)
])
def test_strict_and_lenient(reply, strict, lenient):
    assert parse_count_strict(reply).count == strict
    assert parse_count_lenient(reply).count == lenient


def test_unparsed_is_kept_apart_from_zero():
    assert parse_count_lenient("no idea").status == UNPARSED
    assert parse_count_lenient("<count>0</count>").status == OK
    assert parse_count_lenient("<count>0</count>").count == 0


def test_lenient_reads_everything_strict_reads():
    for n in (0, 1, 9, 42, 123456789):
        reply = f"Backtracking: yes\n<count>{n}</count>"
        assert parse_count_lenient(reply).count == parse_count_strict(reply).count == n


def test_replies_are_capped_and_parsing_is_linear():
    # 4 MB of near-misses: a backtracking pattern would take minutes; linear takes milliseconds
    evil = ("<count " * 300_000) + "<count>3"
    near = ("< count >" + " " * 50) * 50_000
    start = time.perf_counter()
    assert parse_count_lenient(evil).count == 3
    assert parse_count_lenient(near).count is None
    assert parse_count_strict(evil).count is None
    assert tagged("<think>" + "<" * 2_000_000, "think") is None
    assert time.perf_counter() - start < 20  # generous: a quadratic scan of these inputs takes far longer
    # only the tail is read: an answer buried before MAX_REPLY_CHARS of filler is not seen
    assert parse_count_lenient("<count>1</count>" + "x" * MAX_REPLY_CHARS).count is None


def test_yes_no_and_tags():
    assert parse_yes_no(" Yes ") is True and parse_yes_no("no.") is False and parse_yes_no("maybe") is None
    assert tagged("<Problem> yes </Problem>", "problem") == "yes"
    assert tagged("<problem>yes", "problem") is None
