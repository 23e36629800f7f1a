"""Answer checks with math-verify, in worker processes, with deadlines that do not depend on load.

A timeout is a fact about the machine, not about the row, so no verdict may depend on how busy
the machine is:

- math-verify's own timeouts (SIGALRM, wall clock) are switched off: on a busy machine they
  fire on ordinary answers and math-verify then silently answers "no expression", which the
  funnel used to report as ``unparseable_answer``.
- Instead each worker gives each item a CPU-time budget (``setitimer(ITIMER_PROF)``, armed in
  the worker's main thread when it STARTS the item; CPU time does not grow when other processes
  compete for the cores, wall time does). Spawning a worker and importing math-verify never
  counts against an item.
- The parent keeps a generous wall-clock backstop per item, counted from the moment the worker
  reported starting that item (for code stuck where no signal is delivered); such a worker is
  killed and replaced, the rest of its chunk goes to other workers.
- An item that ran out of time is retried alone, in a fresh worker, with ``retry_factor`` times
  the budget. One that still runs out is reported with ``timed_out=True`` (reason
  ``verify_timeout`` in the funnel, never ``unparseable_answer``).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import re
import resource
import signal
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
    timed_out: bool = False  # ran out of time even on the retry: a fact about the machine, not the row


WORKER_CPU_SECONDS = 0.0  # CPU seconds of the workers closed so far in this process (benchmarks)
_PARSE_CACHE: dict[str, object] | None = None  # in a worker: math-verify's parse result per LaTeX string
_PARSE_CACHE_SIZE = 4096


class ItemTimeout(BaseException):
    """Raised in a worker when an item used up its CPU budget. A BaseException on purpose:
    math-verify catches ``Exception`` (and its own TimeoutException) and would turn it into
    "no expression"."""


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


def check_item(item: VerifyItem, timeout_s: int | None = 5) -> VerifyOutcome:
    """Parse the answer, compare with the solution's final answer.

    ``timeout_s`` is math-verify's own (SIGALRM, main thread only) timeout; the worker pool
    passes None and enforces a CPU budget itself (see the module docstring).
    """
    from math_verify import verify

    if not item.answer:
        return VerifyOutcome(False, None, "no answer")
    if _is_words(item.answer):
        return VerifyOutcome(False, None, "answer is words, not a mathematical value")
    gold_latex = _as_latex(item.answer)
    try:
        gold = _parse(gold_latex, timeout_s)
    except Exception as exc:  # math-verify raises on some malformed LaTeX even with raise_on_error=False
        return VerifyOutcome(False, None, f"parse error: {type(exc).__name__}")
    if not gold:
        return VerifyOutcome(False, None, "math-verify found no expression")
    stated = final_answer_of(item.solution)
    if stated is None:
        return VerifyOutcome(True, None)
    try:
        # most solutions box the very string the answer column holds: parse is a pure function of
        # its text, so the same text is parsed once (about a third of the work of such an item)
        pred_latex = _as_latex(stated)
        pred = gold if pred_latex == gold_latex else _parse(pred_latex, timeout_s)
        if not pred:
            return VerifyOutcome(True, None, "solution's final answer not parseable")
        same = verify(gold, pred, timeout_seconds=timeout_s)
    except Exception as exc:
        return VerifyOutcome(True, None, f"compare error: {type(exc).__name__}")
    return VerifyOutcome(True, bool(same), None if same else f"solution says {stated[:200]!r}")


def _parse(latex: str, timeout_s: int | None):
    """math-verify's ``parse``; in a worker, each distinct string parsed once (gold answers and
    solutions' final answers repeat: "\\frac{1}{2}", "\\sqrt{2}"). ``parse`` is a pure function of the
    string and its results (sympy expressions, strings) are immutable. Only successes are kept."""
    from math_verify import parse

    cache = _PARSE_CACHE
    if cache is None:
        return parse(latex, parsing_timeout=timeout_s)
    hit = cache.get(latex)
    if hit is None:
        hit = parse(latex, parsing_timeout=timeout_s)
        if len(cache) >= _PARSE_CACHE_SIZE:  # bounded: a long-lived worker sees millions of strings
            cache.clear()
        cache[latex] = hit
    return hit


class _TwoStageParser:
    """ANTLR's two-stage parse for latex2sympy's grammar: SLL prediction first, full LL only when
    SLL reports a syntax error. ANTLR documents SLL as giving either the very tree LL gives or a
    syntax error, so the tree (and every verdict) is LL's; SLL skips the full-context predictions
    that cost a large share of a parse (``PredictionMode`` in the ANTLR runtime). latex2sympy's error
    listener raises at the first syntax error, so a failed SLL attempt ends there."""

    def __init__(self, make):
        self._make = make

    def math(self):
        from antlr4.atn.PredictionMode import PredictionMode

        parser = self._make()
        parser._interp.predictionMode = PredictionMode.SLL
        try:
            return parser.math()
        except Exception:  # a syntax error under SLL: LL decides, from a fresh parser (ItemTimeout passes through)
            pass
        return self._make().math()


def _speed_up_worker() -> None:
    """Make a worker cheaper than plain math-verify in one process, with the same verdicts:
    the two-stage parse, the parse cache, and a garbage collector that no longer walks the
    modules inherited from the fork server (``gc.freeze``) and runs less often (ANTLR allocates
    millions of short-lived objects per few hundred answers)."""
    global _PARSE_CACHE
    from latex2sympy2_extended import latex2sympy2 as l2s

    cls = l2s._Latex2Sympy
    if not getattr(cls.create_parser, "_two_stage", False):
        plain = cls.create_parser

        def create_parser(self, latex_str):
            return _TwoStageParser(lambda: plain(self, latex_str))

        create_parser._two_stage = True  # type: ignore[attr-defined]
        cls.create_parser = create_parser
    _PARSE_CACHE = {}
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _quiet_math_verify() -> None:
    """Import math-verify once per worker and silence its "timeout is disabled" warning:
    the worker enforces the budget itself."""
    import math_verify.grader
    import math_verify.parser

    math_verify.parser.TIMEOUT_WARNING_SHOWN = True
    math_verify.grader.TIMEOUT_WARNING_SHOWN = True


def _on_budget(signum, frame):  # SIGPROF handler in the worker
    raise ItemTimeout()


def _worker(conn: Connection, cpu_budget_s: float, check=check_item) -> None:
    """Take chunks of (index, item); say when each item starts, answer it as soon as it is checked."""
    _quiet_math_verify()
    _speed_up_worker()
    signal.signal(signal.SIGPROF, _on_budget)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:  # shutting down: report the CPU this worker used (it is no child of the parent)
            use = resource.getrusage(resource.RUSAGE_SELF)
            conn.send(("cpu", use.ru_utime + use.ru_stime))
            return
        for index, item in msg:
            conn.send(("start", index))
            try:
                signal.setitimer(signal.ITIMER_PROF, cpu_budget_s)
                try:
                    outcome = check(item, None)
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
            except ItemTimeout:
                outcome = VerifyOutcome(False, None, f"timeout: over {cpu_budget_s:g}s CPU", timed_out=True)
            except BaseException as exc:  # a worker must answer every item it takes
                outcome = VerifyOutcome(False, None, f"error: {type(exc).__name__}: {str(exc)[:200]}")
            conn.send(("done", index, outcome))


class _Slot:
    """One worker process and the items it holds, in the order it will answer them."""

    def __init__(self, ctx, cpu_budget_s: float, check):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, cpu_budget_s, check), daemon=True)
        self.proc.start()
        child.close()
        self.pending: deque[int] = deque()
        self.started: float | None = None  # when the worker said it started pending[0]

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def close(self) -> None:
        global WORKER_CPU_SECONDS
        try:
            self.conn.send(None)
            if self.conn.poll(5):
                msg = self.conn.recv()
                if msg[0] == "cpu":
                    WORKER_CPU_SECONDS += msg[1]
        except (OSError, EOFError):
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)


def _run_pool(items: Sequence[VerifyItem], todo: deque[int], results: list, *, ctx, workers: int,
              cpu_budget_s: float, wall_s: float, check, chunk_size: int, fresh_per_item: bool,
              kept: list[_Slot] | None = None) -> None:
    """Check the items whose indices are in ``todo``; fill ``results``. ``fresh_per_item``: a new
    worker for every item (the retry round). ``kept``: the workers of a :class:`VerifyPool`,
    used and left running (replaced ones are put back in the list)."""
    n = len(todo)
    if n == 0:
        return
    if kept is not None:
        while len(kept) < workers:
            kept.append(_Slot(ctx, cpu_budget_s, check))
        slots = kept
    else:
        slots = [_Slot(ctx, cpu_budget_s, check) for _ in range(max(1, min(workers, n)))]
    done = 0

    def feed(slot: _Slot) -> None:
        # guided chunks: large while much is left (few round trips), down to single items at the
        # end, so a run of slow items (one source's LaTeX) does not leave the other workers idle
        size = max(1, min(chunk_size, len(todo) // (2 * workers)))
        chunk = [todo.popleft() for _ in range(min(size, len(todo)))]
        if chunk:
            slot.pending.extend(chunk)
            slot.started = None
            slot.conn.send([(i, items[i]) for i in chunk])

    def finish(slot: _Slot, outcome: VerifyOutcome) -> None:
        nonlocal done
        results[slot.pending.popleft()] = outcome
        slot.started = None
        done += 1

    def replace(slot: _Slot, outcome: VerifyOutcome) -> _Slot:
        finish(slot, outcome)
        todo.extendleft(reversed(slot.pending))  # the rest of its chunk is checked elsewhere
        slot.pending.clear()
        slot.kill()
        fresh = _Slot(ctx, cpu_budget_s, check)
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
                            msg = s.conn.recv()
                            if msg[0] == "start":
                                s.started = time.monotonic()
                            else:
                                assert msg[1] == s.pending[0], "a worker answers its items in order"
                                finish(s, msg[2])
                    except (EOFError, OSError):  # the worker died (segfault, OOM kill)
                        s = replace(s, VerifyOutcome(False, None, "worker crashed"))
                        continue
                # the clock of an item starts when its worker starts it, never when it was queued
                if s.pending and s.started is not None and time.monotonic() - s.started > wall_s:
                    s = replace(s, VerifyOutcome(False, None, f"timeout: over {wall_s:g}s wall clock", timed_out=True))
            for i, s in enumerate(slots):
                if not s.pending and todo:
                    if fresh_per_item:
                        s.close()
                        s = slots[i] = _Slot(ctx, cpu_budget_s, check)
                    feed(s)
    except BaseException:
        for s in slots:  # workers may still hold items of this call: none of them is reused
            s.kill() if s.pending else s.close()
        slots.clear()
        raise
    if kept is None:
        for s in slots:
            s.close()


_ACTIVE: list["VerifyPool"] = []  # pools opened with ``with VerifyPool(...)`` in this process, innermost last


class VerifyPool:
    """Verification workers kept for many calls: ``with VerifyPool(workers=2): ...`` makes every
    :func:`verify_answers` call inside the block (with the same budget and check function) use
    these workers instead of starting its own. A streaming funnel verifies batch after batch: the
    workers start once, and what they built (parse cache, ANTLR prediction tables) serves every
    batch. Deadlines, retries and verdicts are those of :func:`verify_answers` (the retry round
    still runs each timed-out item alone in a fresh worker)."""

    def __init__(self, workers: int | None = None, item_timeout_s: float = 5, check=check_item):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.item_timeout_s = item_timeout_s
        self.check = check
        self.slots: list[_Slot] = []

    def serves(self, item_timeout_s: float, check) -> bool:
        return item_timeout_s == self.item_timeout_s and check is self.check

    def __enter__(self) -> "VerifyPool":
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.remove(self)
        self.close()

    def close(self) -> None:
        for s in self.slots:
            s.close()
        self.slots.clear()


def _context():
    """Workers come from a fork server that imported math-verify once: each worker then starts in
    milliseconds with sympy already loaded (a spawned worker spends ~1 CPU second importing it).
    Never plain fork: parents here may run threads (Dagster, servers); the fork server is a
    fresh single-threaded process."""
    if "forkserver" not in mp.get_all_start_methods():  # pragma: no cover - not POSIX
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["pipelines.bigmath.verify", "math_verify", "math_verify.grader", "math_verify.parser"])
    return ctx


def verify_answers(
    items: Sequence[VerifyItem],
    *,
    workers: int | None = None,
    item_timeout_s: float = 5,
    deadline_s: float | None = None,
    retry_factor: float = 4,
    check=check_item,
    chunk_size: int | None = None,
) -> list[VerifyOutcome]:
    """Check every item; results are in input order.

    ``item_timeout_s`` is the CPU budget of one item (parse, parse, compare); ``deadline_s`` the
    wall-clock backstop per item from the moment a worker starts it (default: 12 x the budget,
    so that a machine 12 times oversubscribed still gives every item its full CPU budget).
    Items that run out are retried alone in fresh workers with ``retry_factor`` x both limits;
    those that run out again come back with ``timed_out=True``. ``check`` is the per-item
    function run in the workers (importable at module level).
    """
    n = len(items)
    if n == 0:
        return []
    deadline_s = deadline_s if deadline_s is not None else 12 * item_timeout_s
    pool = _ACTIVE[-1] if _ACTIVE and _ACTIVE[-1].serves(item_timeout_s, check) else None
    workers = pool.workers if pool is not None else max(1, min(workers or os.cpu_count() or 1, n))
    chunk_size = chunk_size or max(1, min(64, n // (workers * 4)))
    ctx = _context()
    results: list[VerifyOutcome | None] = [None] * n
    # equal and alike answers next to each other: a chunk goes to one worker, whose parse cache
    # and ANTLR prediction tables then serve the rest of the chunk (results stay in input order)
    order = deque(sorted(range(n), key=lambda i: items[i].answer or ""))
    _run_pool(items, order, results, ctx=ctx, workers=workers, cpu_budget_s=item_timeout_s,
              wall_s=deadline_s, check=check, chunk_size=chunk_size, fresh_per_item=False,
              kept=pool.slots if pool is not None else None)
    again = deque(i for i, o in enumerate(results) if o is not None and o.timed_out)
    if again:
        _run_pool(items, again, results, ctx=ctx, workers=workers, cpu_budget_s=item_timeout_s * retry_factor,
                  wall_s=deadline_s * retry_factor, check=check, chunk_size=1, fresh_per_item=True)
    return results  # type: ignore[return-value]
