"""The persistent response cache: one SQLite file, one row per (model, messages, params) key.

Every answer is committed as soon as it arrives, so a run killed halfway loses at most the calls
that were in flight; the re-run finds everything else here and costs zero calls for it. WAL mode
lets several processes read while one writes.

Engine tasks (Ray workers, possibly on other machines) never open the SQLite file: SQLite's WAL
needs every writer on one host, and a shared network disk breaks its locking. Each task appends
its answers to its own journal file instead (:class:`AnswerJournal`, one JSON line per answer,
flushed as it arrives, the file locked for as long as the task writes it) in
``<cache file>.journal/``; the process that owns the SQLite file folds every journal no task holds
any more into it (:meth:`ResponseCache.absorb_journals`: when it opens the cache and after every
engine batch) and deletes it. A task killed mid-batch leaves its answered calls in its journal, so
the next run asks none of them again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

JOURNAL_SUFFIX = ".journal"  # <cache file>.journal/: the engine tasks' answers, until absorbed


def cache_key(model: str, messages: list[dict], params: dict, response_format: dict | None = None) -> str:
    payload = {"model": model, "messages": messages, "params": params, "response_format": response_format}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedResponse:
    text: str
    prompt_tokens: int
    completion_tokens: int


class ResponseCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        with self._lock:
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=NORMAL")
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, text TEXT NOT NULL,"
                " prompt_tokens INTEGER, completion_tokens INTEGER, created REAL)"
            )
            self._con.commit()
        self.absorb_journals()  # answers of engine tasks a killed run left behind

    @property
    def journal_dir(self) -> Path:
        return journal_dir(self.path)

    def absorb_journals(self) -> int:
        """Fold every journal no live task holds into the SQLite file, then delete it; the answers taken."""
        directory = self.journal_dir
        if not directory.is_dir():
            return 0
        taken = 0
        for path in sorted(directory.glob("*.jsonl")):
            try:
                handle = open(path, "rb")
            except FileNotFoundError:  # another process absorbed it first
                continue
            with handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # a task still writes it: its turn comes after the task ends
                    continue
                if not path.exists():  # absorbed and deleted between our glob and our lock
                    continue
                entries = list(read_journal(handle.read()))
                with self._lock:
                    self._con.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)", entries)
                    self._con.commit()
                path.unlink()  # committed above: deleting now loses nothing, even if killed here
                taken += len(entries)
        return taken

    def get(self, key: str) -> CachedResponse | None:
        with self._lock:
            row = self._con.execute(
                "SELECT text, prompt_tokens, completion_tokens FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else CachedResponse(row[0], int(row[1] or 0), int(row[2] or 0))

    def put(self, key: str, model: str, response: CachedResponse) -> None:
        with self._lock:
            self._con.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, response.text, response.prompt_tokens, response.completion_tokens, time.time()),
            )
            self._con.commit()

    def put_many(self, entries: list[tuple[str, str, CachedResponse]]) -> None:
        """(key, model, response) rows in one transaction: an engine batch's answers at once."""
        now = time.time()
        with self._lock:
            self._con.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                                  [(k, m, r.text, r.prompt_tokens, r.completion_tokens, now) for k, m, r in entries])
            self._con.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def journal_dir(cache_path: str | Path) -> Path:
    return Path(str(cache_path) + JOURNAL_SUFFIX)


def read_journal(blob: bytes):
    """(key, model, text, prompt_tokens, completion_tokens, created) per complete line; a torn last
    line (the task was killed while writing it) is skipped: its call is simply asked again."""
    for line in blob.split(b"\n"):
        if not line:
            continue
        try:
            e = json.loads(line)
            yield (str(e["key"]), e.get("model"), str(e["text"]), int(e.get("prompt_tokens") or 0),
                   int(e.get("completion_tokens") or 0), float(e.get("created") or 0.0))
        except (ValueError, KeyError, TypeError):
            continue


class AnswerJournal:
    """One engine task's answers: an append-only file only this task writes, locked while it does.

    The cache interface of :class:`ResponseCache` (``get``/``put``/``close``); ``get`` finds nothing,
    as the driver looked every key up before it sent the batch. The file is created under a hidden
    name and renamed once locked, so an absorber never sees a journal its writer does not hold yet.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        hidden = self.directory / f".{name}.part"
        self._file = open(hidden, "ab")
        fcntl.flock(self._file, fcntl.LOCK_EX)
        self.path = self.directory / f"{name}.jsonl"
        os.replace(hidden, self.path)  # the lock belongs to the open file, so it survives the rename
        self._lock = threading.Lock()
        self._written = 0

    def get(self, key: str) -> CachedResponse | None:
        return None

    def put(self, key: str, model: str, response: CachedResponse) -> None:
        line = json.dumps({"key": key, "model": model, "text": response.text, "prompt_tokens": response.prompt_tokens,
                           "completion_tokens": response.completion_tokens, "created": time.time()},
                          ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            # one write of a whole line, flushed to the OS at once: a SIGKILL after it loses nothing
            self._file.write(line.encode("utf-8") + b"\n")
            self._file.flush()
            self._written += 1

    def close(self) -> None:
        with self._lock:
            if self._file.closed:
                return
            if not self._written:
                self.path.unlink(missing_ok=True)
            self._file.close()  # releases the lock: the journal is ready to be absorbed
