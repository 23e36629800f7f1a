import os
import time

from pipelines.bigmath.verify import VerifyItem, VerifyOutcome, check_item, verify_answers


def hang_or_crash(item: VerifyItem, timeout_s) -> VerifyOutcome:
    """Worker function for the tests: 'HANG' never returns (sleeps: no CPU), 'SPIN' burns CPU
    forever, 'CRASH' kills its process."""
    if item.answer == "HANG":
        while True:
            time.sleep(1)
    if item.answer == "SPIN":
        while True:
            pass
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
    assert not any(o.timed_out for o in out)


def test_a_pathological_item_costs_its_deadline_not_the_run():
    items = [VerifyItem("1", None), VerifyItem("HANG", None), VerifyItem("CRASH", None), VerifyItem("SPIN", None)] + \
            [VerifyItem(str(i), f"\\boxed{{{i}}}") for i in range(8)]
    out = verify_answers(items, workers=2, item_timeout_s=0.5, deadline_s=3, retry_factor=2, check=hang_or_crash)
    # HANG uses no CPU: the wall-clock backstop stops it, on the first try and on the retry alone
    assert out[1].timed_out and not out[1].parsed and "wall clock" in out[1].detail
    assert out[2].detail == "worker crashed" and not out[2].timed_out
    # SPIN burns CPU: its CPU budget stops it, also on the retry with twice the budget
    assert out[3].timed_out and out[3].detail == "timeout: over 1s CPU"
    assert out[0].parsed and all(o.parsed and o.agrees and not o.timed_out for o in out[4:])


def test_the_deadline_starts_when_a_worker_starts_the_item_not_when_it_was_queued():
    # spawning a worker and importing math-verify takes longer than this wall deadline, even on a
    # quiet machine; with the deadline counted from the moment the chunk was sent every item of
    # the first chunks would have timed out
    items = [VerifyItem(str(i), None) for i in range(40)]
    out = verify_answers(items, workers=2, item_timeout_s=5, deadline_s=0.5, chunk_size=20,
                         check=_instant)
    assert all(o.parsed and not o.timed_out for o in out), [o for o in out if not o.parsed]


def _instant(item: VerifyItem, timeout_s) -> VerifyOutcome:
    return VerifyOutcome(True, None)


def test_real_world_answer_formats_through_the_worker_pool():
    out = verify_answers([
        VerifyItem("10\\,000", "so the total is \\boxed{10000}"),
        VerifyItem("€20", "\\boxed{20}"),
        VerifyItem("\\text{No solution}", None),
        VerifyItem("72", "48 + 24 = 72\nThe answer is: 73"),
    ], workers=2)
    assert [(o.parsed, o.agrees) for o in out] == [(True, True), (True, True), (False, None), (True, False)]


def _pid(item: VerifyItem, timeout_s) -> VerifyOutcome:
    if item.answer == "SPIN":
        while True:
            pass
    return VerifyOutcome(True, None, str(os.getpid()))


def test_a_pool_keeps_its_workers_across_calls_and_still_retries_alone():
    from pipelines.bigmath.verify import VerifyPool

    with VerifyPool(workers=2, item_timeout_s=0.5, check=_pid) as pool:
        first = verify_answers([VerifyItem(str(i), None) for i in range(20)], item_timeout_s=0.5, check=_pid)
        started = {s.proc.pid for s in pool.slots}
        second = verify_answers([VerifyItem(str(i), None) for i in range(20)] + [VerifyItem("SPIN", None)],
                                item_timeout_s=0.5, retry_factor=2, check=_pid)
    workers = {int(o.detail) for o in first}
    assert len(started) == 2 and workers <= started
    assert {int(o.detail) for o in second[:20]} <= started  # the second call ran on the same processes
    assert second[20].timed_out and second[20].detail == "timeout: over 1s CPU"  # retried alone, 2 x the budget
    assert pool.slots == []  # closed with the block
    # outside the block, calls start their own workers again
    assert not ({int(o.detail) for o in verify_answers([VerifyItem("1", None)], check=_pid)} & workers)


def test_the_worker_speed_ups_keep_math_verify_verdicts():
    # workers parse with ANTLR's two-stage SLL/LL prediction and a parse cache; this process
    # runs plain math-verify: every verdict must be the same on LaTeX answers of many shapes
    import json
    from pathlib import Path

    pairs = json.loads((Path(__file__).parent / "data" / "math_verify_pairs.json").read_text())["pairs"]
    items = [VerifyItem(g, p) for g, p, _ in pairs[:150]] + [VerifyItem(p, None) for _, p, _ in pairs[:150]] + [
        VerifyItem("\\frac{\\sqrt{3}}{2}", "\\boxed{\\dfrac{\\sqrt3}{2}}"), VerifyItem("(-\\infty, 3)", "\\boxed{x<3}"),
        VerifyItem("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\boxed{(1,2)}"), VerifyItem("x^2+", None)]
    assert verify_answers(items, workers=2) == [check_item(it, None) for it in items]
