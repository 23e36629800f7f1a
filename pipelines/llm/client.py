"""The LLM client every stage uses: cache, bounded concurrency, retries, structured output.

``LLMClient.structured(prompt, variables, Schema)`` renders the prompt for every item, answers
each from the cache or the backend, parses the reply as JSON and validates it with the pydantic
``Schema``. A reply that is not JSON, or JSON of the wrong shape, gets up to ``repair_attempts``
follow-up turns that quote the error; after that the item fails with a stable reason. A failure
never raises out of a batch (except :class:`FatalError`: a bad key or unknown model fails every
item alike, so the batch stops at once).

Counters (:class:`LLMStats`) go into asset metadata: calls made, cache hits, tokens, retries,
repairs, failures per reason.

With an ``engine`` that is a cluster (``ray``), the calls the cache cannot answer go out as engine
batches (:mod:`pipelines.llm.distributed`): each task runs this same client (retries, limits) on
its rows and journals its answers beside the cache; the replies come back in input order and are
stored here, so every stage gets the same results as in-process. On ``local`` (or with no engine)
the calls run in this process, on threads, as they always did.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import (RetryCallState, RetryError, Retrying, retry_if_exception_type, stop_after_attempt,
                      wait_exponential, wait_random_exponential)

from pipelines.llm.backends import Completion, FatalError, PermanentError, RetryableError, make_backend
from pipelines.llm.cache import CachedResponse, ResponseCache, cache_key
from pipelines.llm.config import LLMConfig
from pipelines.llm.prompts import Prompt
from pipelines.llm.redact import redact

# Stable failure codes (rows rejected by an LLM stage carry one of these as ``reason``).
LLM_ERROR = "llm_error"                      # the call failed after every retry (or was refused)
MALFORMED_OUTPUT = "llm_malformed_output"    # the reply was not JSON, even after repair turns
SCHEMA_MISMATCH = "llm_schema_mismatch"      # JSON, but not the fields/types the stage needs

T = TypeVar("T", bound=BaseModel)


@dataclass
class LLMStats:
    calls: int = 0            # requests answered by the backend (cache misses that succeeded)
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    repairs: int = 0          # follow-up turns after an unusable reply
    failures: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts) -> None:
        with self._lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def fail(self, reason: str) -> None:
        with self._lock:
            self.failures[reason] = self.failures.get(reason, 0) + 1

    def as_dict(self) -> dict:
        return {"calls": self.calls, "cache_hits": self.cache_hits, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "retries": self.retries, "repairs": self.repairs,
                "failures": dict(sorted(self.failures.items()))}


@dataclass(frozen=True)
class LLMResult:
    """One item's outcome: ``parsed`` (a Schema instance) or ``reason`` + ``error``."""

    parsed: Any = None
    text: str | None = None
    reason: str | None = None
    error: str | None = None
    turns: int = 1

    @property
    def ok(self) -> bool:
        return self.reason is None


class OutputError(ValueError):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?(.*?)\n?```\s*$", re.S)


def parse_json_object(text: str) -> dict:
    """The JSON object in a reply; tolerates a ```json fence and prose around one object."""
    m = _FENCE.match(text)
    body = m.group(1) if m else text.strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        if start < 0 or end <= start:
            raise OutputError(MALFORMED_OUTPUT, f"no JSON object in the reply: {text[:120]!r}") from None
        try:
            value = json.loads(body[start : end + 1])
        except json.JSONDecodeError as exc:
            raise OutputError(MALFORMED_OUTPUT, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise OutputError(SCHEMA_MISMATCH, f"expected a JSON object, got {type(value).__name__}")
    return value


def parse_structured(text: str, schema: type[T]) -> T:
    value = parse_json_object(text)
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:5])
        raise OutputError(SCHEMA_MISMATCH, f"wrong fields: {problems}") from None


def _repair_message(error: OutputError, schema: type[BaseModel]) -> str:
    fields = json.dumps(schema.model_json_schema().get("properties", {}), sort_keys=True)
    return (f"Your reply could not be used: {error}. Reply again with exactly one JSON object and nothing "
            f"else. Its fields: {fields}")


class LLMClient:
    """Use one per stage run; ``close()`` (or ``with``) releases the cache file."""

    def __init__(self, config: LLMConfig, *, cache_dir: str | Path | None = None, backend=None,
                 sleep=time.sleep, engine=None, cache=None):
        """``engine``: a :class:`pipelines.engine.Engine`; a ``ray`` one gets the cache misses (see the
        module docstring). ``cache``: what stores answers instead of the SQLite file (an engine task's
        :class:`pipelines.llm.cache.AnswerJournal`)."""
        self.config = config.require()
        self.backend = backend if backend is not None else make_backend(config)
        self.model = config.model
        self.cache = cache if cache is not None else ResponseCache(config.resolved_cache_path(cache_dir or "."))
        # only an endpoint goes to the engine: an injected backend lives in this process, and the
        # in-process vLLM engine loads a model per process (on a cluster, `vllm serve` on the GPU nodes)
        self.engine = engine if (engine is not None and getattr(engine, "kind", "local") != "local"
                                 and backend is None and config.backend == "openai") else None
        self.batch_rows = 0  # conversations per engine task; 0: the engine's batch_rows, else 32
        self.stats = LLMStats()
        self._sleep = sleep
        self._stop = threading.Event()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.cache.close()

    # ------------------------------------------------------------------ raw completions

    def complete_many(self, conversations: Sequence[list[dict]], params: dict, desc: str = "llm") -> list[Completion | Exception]:
        """One completion (or the exception that ended its tries) per conversation, in order."""
        out = self.complete_all(conversations, params, desc)
        fatal = next((r for r in out if isinstance(r, FatalError)), None)
        if fatal is not None:
            raise fatal
        return out

    def complete_all(self, conversations: Sequence[list[dict]], params: dict, desc: str = "llm") -> list[Completion | Exception]:
        """:meth:`complete_many`, but a :class:`FatalError` is returned in place like any failure (an
        engine task hands it back to the caller, which raises it)."""
        n = len(conversations)
        out: list[Completion | Exception | None] = [None] * n
        keys = [cache_key(self.model, conv, params) for conv in conversations]
        misses = []
        for i, key in enumerate(keys):
            hit = self.cache.get(key)
            if hit is None:
                misses.append(i)
            else:
                out[i] = Completion(hit.text, hit.prompt_tokens, hit.completion_tokens)
        self.stats.add(cache_hits=n - len(misses))
        if not misses:
            return out  # type: ignore[return-value]
        if self.engine is not None:
            self._on_engine(conversations, params, keys, misses, out)
            return out  # type: ignore[return-value]
        bar = _progress(len(misses), desc, self.config.progress)
        try:
            if hasattr(self.backend, "complete_many"):  # an engine that batches itself (vLLM)
                self._batched(conversations, params, keys, misses, out, bar)
            else:
                self._threaded(conversations, params, keys, misses, out, bar)
        finally:
            bar.close()
        return out  # type: ignore[return-value]

    def _on_engine(self, conversations, params, keys, misses, out) -> None:
        from pipelines.llm.distributed import ask_on_engine

        answers = ask_on_engine([conversations[i] for i in misses], params, self.config, self.engine,
                                journal=self.cache.journal_dir, batch_rows=self.batch_rows)
        for i, answer in zip(misses, answers):
            out[i] = answer
        # the tasks journaled these already; storing them here as well keeps the cache whole even
        # when the journal directory is not shared with the workers
        self.cache.put_many([(keys[i], self.model, CachedResponse(a.text, a.prompt_tokens, a.completion_tokens))
                             for i, a in zip(misses, answers) if isinstance(a, Completion)])
        self.cache.absorb_journals()
        self.stats.add(**answers.stats)

    def _threaded(self, conversations, params, keys, misses, out, bar) -> None:
        def one(i: int) -> None:
            try:
                out[i] = self._call_with_retries(conversations[i], params, keys[i])
            except FatalError as exc:
                self._stop.set()
                out[i] = exc
            except Exception as exc:  # noqa: BLE001 - one item's failure must not end the batch
                out[i] = exc
            bar.update(1)

        # max_concurrency threads = at most that many requests in flight, whatever the batch size
        with ThreadPoolExecutor(max_workers=self.config.max_concurrency, thread_name_prefix="llm") as pool:
            list(pool.map(one, misses))

    def _batched(self, conversations, params, keys, misses, out, bar) -> None:
        chunk = max(1, self.config.max_concurrency * 16)
        for start in range(0, len(misses), chunk):
            idx = misses[start : start + chunk]
            results = self.backend.complete_many([conversations[i] for i in idx], params)
            for i, comp in zip(idx, results):
                self._store(keys[i], comp)
                out[i] = comp
            bar.update(len(idx))

    def _call_with_retries(self, messages: list[dict], params: dict, key: str) -> Completion:
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),  # FatalError/PermanentError go straight out
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=self._backoff(),
            sleep=self._sleep,
            before_sleep=lambda state: self.stats.add(retries=1),
        )
        try:
            comp = retrying(self._attempt, messages, params)
        except RetryError as exc:
            last = exc.last_attempt
            raise PermanentError(f"gave up after {last.attempt_number} tries: {last.exception()}") from None
        self._store(key, comp)
        return comp

    def _attempt(self, messages: list[dict], params: dict) -> Completion:
        if self._stop.is_set():
            raise FatalError("batch stopped after a fatal error on another item")
        return self.backend.complete(messages, params)

    def _store(self, key: str, comp: Completion) -> None:
        # committed before the result is used: a kill after this line never repeats the call
        self.cache.put(key, self.model, CachedResponse(comp.text, comp.prompt_tokens, comp.completion_tokens))
        self.stats.add(calls=1, prompt_tokens=comp.prompt_tokens, completion_tokens=comp.completion_tokens)

    def _backoff(self):
        """tenacity wait: the server's ``Retry-After`` when it sent one, else exponential backoff with
        equal jitter (half fixed, half random), both capped at ``backoff_max_s``."""
        cfg = self.config
        half_base, half_cap = cfg.backoff_base_s / 2, cfg.backoff_max_s / 2
        exponential = (wait_exponential(multiplier=half_base, max=half_cap)
                       + wait_random_exponential(multiplier=half_base, max=half_cap))

        def wait(state: RetryCallState) -> float:
            retry_after = getattr(state.outcome.exception(), "retry_after", None)
            if retry_after is not None:
                return min(cfg.backoff_max_s, max(0.0, retry_after))
            return exponential(state)

        return wait

    # ------------------------------------------------------------------ structured output

    def structured(self, prompt: Prompt, variables: Sequence[dict], schema: type[T]) -> list[LLMResult]:
        """Render ``prompt`` per item, ask, parse into ``schema``; one :class:`LLMResult` per item."""
        conversations = [prompt.render(**v) for v in variables]
        results: list[LLMResult | None] = [None] * len(conversations)
        pending = list(range(len(conversations)))
        params = dict(prompt.params)
        for turn in range(self.config.repair_attempts + 1):
            if not pending:
                break
            replies = self.complete_many([conversations[i] for i in pending], params,
                                         desc=f"{prompt.name}" + (f" (repair {turn})" if turn else ""))
            retry = []
            for i, reply in zip(pending, replies):
                if isinstance(reply, Exception):
                    results[i] = LLMResult(reason=LLM_ERROR, error=redact(str(reply), (self.config.api_key,))[:500], turns=turn + 1)
                    self.stats.fail(LLM_ERROR)
                    continue
                try:
                    results[i] = LLMResult(parsed=parse_structured(reply.text, schema), text=reply.text, turns=turn + 1)
                except OutputError as exc:
                    if turn < self.config.repair_attempts:
                        conversations[i] = conversations[i] + [
                            {"role": "assistant", "content": reply.text},
                            {"role": "user", "content": _repair_message(exc, schema)},
                        ]
                        retry.append(i)
                    else:
                        results[i] = LLMResult(text=reply.text, reason=exc.reason, error=redact(str(exc), (self.config.api_key,))[:500], turns=turn + 1)
                        self.stats.fail(exc.reason)
            self.stats.add(repairs=len(retry))
            pending = retry
        return results  # type: ignore[return-value]


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    # disable=None: a bar on a terminal, silence in Dagster's captured logs and CI
    return tqdm(total=total, desc=desc, unit="call", file=sys.stderr, disable=None if enabled else True,
                mininterval=1.0, leave=False)
