"""Answer checks with math-verify, in worker processes with a per-item deadline.

math-verify's own timeouts use SIGALRM, which only works in a process's main thread: each
worker runs items in its main thread (so the library's timeout works), and the parent enforces
its own wall-clock deadline on top. A worker that overruns is killed and replaced; its item is
reported as timed out, every other item still gets its answer. One pathological item costs one
deadline, never the run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Sequence

from pipelines.bigmath.answers import last_boxed, split_gsm8k, stated_answer


@dataclass(frozen=True)
class VerifyItem:
    answer: str | None
    solution: str | None  # only for the agreement check; None skips it


@dataclass(frozen=True)
class VerifyOutcome:
    parsed: bool          # math-verify parsed the answer
    agrees: bool | None   # the solution's final answer equals the answer (None: nothing to compare)
    detail: str | None = None


# "\\text{Evelyn}", "ellipse", "blue and red": math-verify reads words as products of symbols
_WORD_ANSWER = re.compile(r"^\s*\$?\s*(?:\\(?:text|textbf|mathrm|textrm|mbox)\s*\{)?\s*[A-Za-z][a-z]{3,}(?:[\s,]+[A-Za-z]+)*\s*\}?\s*\$?\s*\.?$")


# "\\text{No solution}", "\\text{odd}", "\\text{red}": short words too, when a \\text{} wrapper says they are words
_TEXT_WORDS = re.compile(r"^\s*\$?\s*\\(?:text|textbf|textrm|mbox)\s*\{\s*([A-Za-z]+(?:[\s,]+[A-Za-z]+)*)\s*\}\s*\$?\s*\.?$")


def _is_words(answer: str) -> bool:
    if _WORD_ANSWER.match(answer):
        return True
    m = _TEXT_WORDS.match(answer)
    return bool(m) and any(len(w) >= 3 and not w.isupper() for w in re.split(r"[\s,]+", m.group(1)))


_THOUSANDS = re.compile(r"^(-?\d{1,3}(?:,\d{3})+)(\.\d+)?$")
# digit groups split by a thin space: "10\,000", "1\ 000\ 000", "10 000" (French/Russian style)
_SPACED_GROUPS = re.compile(r"(?<=\d)(?:\\,|\\;|\\ |~|\u2009|\u202f|\u00a0| )(?=\d{3}(?!\d))")
# currency signs before a number: "€20", "£5", "¥100", "₹500", "Rs. 500", "\text{Rs. } 500"
_CURRENCY_PREFIX = re.compile(r"^(?:€|£|¥|₹|\\pounds|\\euro|\\yen|(?:\\text\{\s*)?(?:Rs|INR|USD|US\$)\.?\s*\}?)\s*(?=[-\d.])")
# a number followed by a currency word math-verify does not know: "5 dollars", "12 \text{ euros}"
_CURRENCY_WORD = re.compile(
    r"^(-?[\d.,]+)\s*(?:\\[,;: ]\s*)*(?:\\(?:text|mbox|mathrm)\s*\{\s*)?"
    r"(?:dollars?|cents?|euros?|pounds?|rupees?|yuan|yen|rs\.?)\s*\}?\s*\.?$", re.I)


def _as_latex(text: str) -> str:
    # currency and spacing marks that are not part of the value: "\$32,\!348", "\$18.90", "5\%"
    text = text.strip().replace("\\$", "").replace(",\\!", ",").replace("\\!", "").replace("\\%", "%")
    text = _CURRENCY_PREFIX.sub("", text)
    m = _CURRENCY_WORD.match(text)
    if m:
        text = m.group(1)
    if re.fullmatch(r"-?\d{1,3}(?:(?:\\,|\\;|\\ |~|\u2009|\u202f|\u00a0| )\d{3})+(?:\.\d+)?", text):
        text = _SPACED_GROUPS.sub("", text)
    m = _THOUSANDS.match(text)
    if m:
        text = m.group(1).replace(",", "") + (m.group(2) or "")
    return text if "$" in text or "\\boxed" in text else f"${text}$"


def final_answer_of(solution: str | None) -> str | None:
    """The final answer a solution states: its last box, its ``####`` line, or "The answer is: X"."""
    if not solution:
        return None
    boxed = last_boxed(solution)
    if boxed:
        return boxed
    if "####" in solution:
        return split_gsm8k(solution)[1]
    return stated_answer(solution)


def check_item(item: VerifyItem, timeout_s: int = 5) -> VerifyOutcome:
    """Run in a worker's main thread: parse the answer, compare with the solution's final answer."""
    from math_verify import parse, verify

    if not item.answer:
        return VerifyOutcome(False, None, "no answer")
    if _is_words(item.answer):
        return VerifyOutcome(False, None, "answer is words, not a mathematical value")
    try:
        gold = parse(_as_latex(item.answer), parsing_timeout=timeout_s)
    except Exception as exc:  # math-verify raises on some malformed LaTeX even with raise_on_error=False
        return VerifyOutcome(False, None, f"parse error: {type(exc).__name__}")
    if not gold:
        return VerifyOutcome(False, None, "math-verify found no expression")
    stated = final_answer_of(item.solution)
    if stated is None:
        return VerifyOutcome(True, None)
    try:
        pred = parse(_as_latex(stated), parsing_timeout=timeout_s)
        if not pred:
            return VerifyOutcome(True, None, "solution's final answer not parseable")
        same = verify(gold, pred, timeout_seconds=timeout_s)
    except Exception as exc:
        return VerifyOutcome(True, None, f"compare error: {type(exc).__name__}")
    return VerifyOutcome(True, bool(same), None if same else f"solution says {stated[:200]!r}")


def _worker(conn: Connection, timeout_s: int, check=check_item) -> None:
    """Take chunks of (index, item); answer each item as soon as it is checked."""
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        for index, item in msg:
            try:
                outcome = check(item, timeout_s)
            except BaseException as exc:  # a worker must answer every item it takes
                outcome = VerifyOutcome(False, None, f"error: {type(exc).__name__}: {str(exc)[:200]}")
            conn.send((index, outcome))


class _Slot:
    """One worker process and the items it holds, in the order it will answer them."""

    def __init__(self, ctx, timeout_s: int, check):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, timeout_s, check), daemon=True)
        self.proc.start()
        child.close()
        self.pending: deque[int] = deque()
        self.progress = 0.0  # when it last answered (or got work)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def verify_answers(
    items: Sequence[VerifyItem],
    *,
    workers: int | None = None,
    item_timeout_s: int = 5,
    deadline_s: float | None = None,
    check=check_item,
    chunk_size: int | None = None,
) -> list[VerifyOutcome]:
    """Check every item; results are in input order.

    ``deadline_s`` is the hard per-item wall clock (default: 3 x the library timeout + 2 s, since
    an item runs up to two parses and a verify). Items travel to workers in chunks (fewer
    round trips); a worker that misses the deadline is killed, the item it was on is reported as
    timed out, and the rest of its chunk goes back to the queue. ``check`` is the per-item
    function run in the workers (importable at module level).
    """
    n = len(items)
    if n == 0:
        return []
    deadline_s = deadline_s if deadline_s is not None else 3 * item_timeout_s + 2
    workers = max(1, min(workers or os.cpu_count() or 1, n))
    chunk_size = chunk_size or max(1, min(64, n // (workers * 4)))
    ctx = mp.get_context("spawn")  # no fork: parents here may run threads (Dagster, servers)
    slots = [_Slot(ctx, item_timeout_s, check) for _ in range(workers)]
    results: list[VerifyOutcome | None] = [None] * n
    todo: deque[int] = deque(range(n))
    done = 0

    def feed(slot: _Slot) -> None:
        chunk = [todo.popleft() for _ in range(min(chunk_size, len(todo)))]
        if chunk:
            slot.pending.extend(chunk)
            slot.progress = time.monotonic()
            slot.conn.send([(i, items[i]) for i in chunk])

    def fail_and_replace(slot: _Slot, why: str) -> _Slot:
        nonlocal done
        stuck = slot.pending.popleft()
        results[stuck] = VerifyOutcome(False, None, why)
        done += 1
        todo.extendleft(reversed(slot.pending))  # the rest of its chunk is retried elsewhere
        slot.kill()
        fresh = _Slot(ctx, item_timeout_s, check)
        slots[slots.index(slot)] = fresh
        return fresh

    try:
        for s in slots:
            feed(s)
        while done < n:
            busy = [s for s in slots if s.pending]
            ready = wait([s.conn for s in busy], timeout=0.2)
            for s in busy:
                if s.conn in ready:
                    try:
                        while s.pending and s.conn.poll():
                            index, outcome = s.conn.recv()
                            s.pending.remove(index)
                            results[index] = outcome
                            done += 1
                            s.progress = time.monotonic()
                    except (EOFError, OSError):  # the worker died (segfault, OOM kill)
                        s = fail_and_replace(s, "worker crashed")
                elif time.monotonic() - s.progress > deadline_s:
                    s = fail_and_replace(s, f"timeout after {deadline_s:.0f}s")
            for s in slots:
                if not s.pending:
                    feed(s)
    finally:
        for s in slots:
            try:
                s.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for s in slots:
            s.proc.join(2)
            if s.proc.is_alive():
                s.proc.kill()
    return results  # type: ignore[return-value]
