import os
import time

from pipelines.bigmath.verify import VerifyItem, VerifyOutcome, check_item, verify_answers


def hang_or_crash(item: VerifyItem, timeout_s: int) -> VerifyOutcome:
    """Worker function for the tests: 'HANG' never returns, 'CRASH' kills its process."""
    if item.answer == "HANG":
        while True:
            time.sleep(1)
    if item.answer == "CRASH":
        os._exit(3)
    return check_item(item, timeout_s)


def test_verification_outcomes():
    out = verify_answers([
        VerifyItem("18", "so she makes \\boxed{18} dollars"),
        VerifyItem("\\frac12", "\\boxed{0.5}"),
        VerifyItem("3", "\\boxed{4}"),
        VerifyItem("\\text{Evelyn}", None),
        VerifyItem("\\$18.90", None),
        VerifyItem("", None),
    ], workers=2)
    assert [(o.parsed, o.agrees) for o in out] == [
        (True, True), (True, True), (True, False), (False, None), (True, None), (False, None)]


def test_a_pathological_item_costs_one_deadline_not_the_run():
    items = [VerifyItem("1", None), VerifyItem("HANG", None), VerifyItem("CRASH", None)] + \
            [VerifyItem(str(i), f"\\boxed{{{i}}}") for i in range(8)]
    start = time.monotonic()
    out = verify_answers(items, workers=2, deadline_s=3, check=hang_or_crash)
    assert time.monotonic() - start < 30
    assert "timeout" in out[1].detail and not out[1].parsed
    assert out[2].detail == "worker crashed"
    assert out[0].parsed and all(o.parsed and o.agrees for o in out[3:])


def test_real_world_answer_formats_through_the_worker_pool():
    out = verify_answers([
        VerifyItem("10\\,000", "so the total is \\boxed{10000}"),
        VerifyItem("€20", "\\boxed{20}"),
        VerifyItem("\\text{No solution}", None),
        VerifyItem("72", "48 + 24 = 72\nThe answer is: 73"),
    ], workers=2)
    assert [(o.parsed, o.agrees) for o in out] == [(True, True), (True, True), (False, None), (True, False)]
