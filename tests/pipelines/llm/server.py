"""A scripted OpenAI-compatible chat server for tests: a real socket on 127.0.0.1.

``ScriptedServer(responder)`` serves ``POST /v1/chat/completions``. ``responder(body, n)`` gets the
request JSON and how many times this exact conversation was asked before (0 on the first ask),
and returns a :class:`Reply`: a status, content, an optional delay. Helpers script the cases the
LLM layer must survive: valid JSON, malformed JSON, wrong schema, slow, 429, 500.

The server records every request (``requests``, and the URL path of each in ``paths``: a test can
tell two client runs apart by giving them different base URLs, see :meth:`ScriptedServer.url_for`),
how many were in flight at once (``max_in_flight``), and can hold requests at a gate
(``hold_after``) so a test can kill a client while some of its calls are unanswered. Which requests
are held is decided by count, under a lock, when each arrives -- never by how fast replies go out --
and ``held`` says how many wait at the gate now, so a test can wait for an exact state.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

import pytest

from tests.local_http import LocalHTTPServer, QuietHandler


@dataclass
class Reply:
    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict | None = None


def valid(obj: dict, delay: float = 0.0) -> Reply:
    return Reply(json.dumps(obj), delay=delay)


MALFORMED = Reply('{"problem": "unterminated')
RATE_LIMITED = Reply(status=429, headers={"retry-after": "0"})
SERVER_ERROR = Reply(status=500)


def conversation_key(body: dict) -> str:
    return hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest()[:16]


def last_user(body: dict) -> str:
    return next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")


def first_user(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


class ScriptedServer(LocalHTTPServer):
    def __init__(self, responder: Callable[[dict, int], Reply]):
        self.responder = responder
        self.requests: list[dict] = []
        self.answered: list[str] = []  # conversation keys whose 200 reply was sent in full
        self.in_flight = 0
        self.max_in_flight = 0
        self.hold_after: int | None = None  # answer this many 200s, then hold the rest at the gate
        self.gate = threading.Event()
        self.paths: list[str] = []  # the URL path of each request, in the order of ``requests``
        self.held = 0  # requests waiting at the gate now
        self._admitted = 0  # 200 replies promised: counted when decided, not when sent (no race)
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server._handle(self, body, self.path)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.origin}/v1"

    def url_for(self, tag: str) -> str:
        """A base URL whose requests are recorded with the path prefix ``/<tag>`` (same replies)."""
        return f"{self.origin}/{tag}/v1"

    def requests_for(self, tag: str) -> list[dict]:
        """The requests that came through :meth:`url_for` ``(tag)``."""
        with self._lock:
            return [b for b, p in zip(self.requests, self.paths) if p.startswith(f"/{tag}/")]

    def __exit__(self, *exc):
        self.gate.set()  # held requests answer before the server stops
        super().__exit__(*exc)

    def count_for(self, predicate: Callable[[dict], bool]) -> int:
        return sum(1 for b in list(self.requests) if predicate(b))

    def _handle(self, handler: QuietHandler, body: dict, path: str = "") -> None:
        key = conversation_key(body)
        with self._lock:
            self.requests.append(body)
            self.paths.append(path)
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply, held = None, False
            with self._lock:
                # Held or answered is decided here, by count, one request at a time: counting
                # ``answered`` instead (it grows only once a reply is sent) let two requests racing
                # past a reply in progress both be answered. With a gate set, the reply is chosen
                # under the lock too, so only 200s count.
                if self.hold_after is not None:
                    held = self._admitted >= self.hold_after
                    if held:
                        self.held += 1
                    else:
                        reply = self.responder(body, n)
                        self._admitted += reply.status == 200
            if held:
                try:
                    self.gate.wait(30)
                finally:
                    with self._lock:
                        self.held -= 1
                return  # the client is gone by now; no reply
            if reply is None:
                reply = self.responder(body, n)
                with self._lock:
                    self._admitted += reply.status == 200
            if reply.delay:
                time.sleep(reply.delay)
            self._send(handler, body, reply)
            if reply.status == 200:
                with self._lock:
                    self.answered.append(key)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self._lock:
                self.in_flight -= 1

    def _send(self, handler, body: dict, reply: Reply) -> None:
        if reply.status == 200:
            payload = {
                "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": reply.content}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        else:
            # an error reply's content, if given, is its message; "{authorization}" echoes the request's
            # Authorization header, as careless endpoints do
            message = (reply.content.replace("{authorization}", handler.headers.get("Authorization", ""))
                       if reply.content else f"scripted {reply.status}")
            payload = {"error": {"message": message, "type": "test", "code": reply.status}}
        data = json.dumps(payload).encode()
        handler.send_response(reply.status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        for k, v in (reply.headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()


# ---------------------------------------------------------------- network guard


@pytest.fixture
def loopback_only(monkeypatch):
    """LLM tests may only talk to 127.0.0.1: any other connection attempt fails the test."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                ok = ipaddress.ip_address(host).is_loopback
            except ValueError:
                ok = host == "localhost"
            if not ok:
                raise AssertionError(f"test tried to reach {address}; only 127.0.0.1 is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "FOUNDRY_LLM_BASE_URL", "FOUNDRY_LLM_MODEL",
                "FOUNDRY_LLM_API_KEY", "FOUNDRY_LLM_BACKEND", "FOUNDRY_LLM_CACHE"):
        monkeypatch.delenv(var, raising=False)


def cached_rows(path) -> int:
    """Rows in an LLM response cache file (0 when it does not exist yet or has no table)."""
    import sqlite3
    from pathlib import Path

    if not Path(path).exists():
        return 0
    con = sqlite3.connect(str(path), timeout=5)
    try:
        return con.execute("SELECT count(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()
