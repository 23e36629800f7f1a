"""The LLM layer against a scripted local server: the real ``openai`` client over a real socket."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from pipelines.llm import (
    LLM_ERROR,
    MALFORMED_OUTPUT,
    SCHEMA_MISMATCH,
    LLMClient,
    LLMConfig,
    LLMNotConfigured,
    parse_prompt,
)
from pipelines.llm.backends import FatalError
from tests.pipelines.llm.server import (MALFORMED, RATE_LIMITED, SERVER_ERROR, Reply, ScriptedServer, cached_rows,
                                        first_user, valid)

REPO = Path(__file__).resolve().parents[3]

PROMPT = parse_prompt(textwrap.dedent("""\
    ---
    name: test/double
    version: "1"
    params: {temperature: 0, max_tokens: 64}
    system: Reply with JSON only.
    ---
    Double {{ n }}. Reply as {"value": <int>}.
    """), "test/double.md")


class Doubled(BaseModel):
    value: int


def _n(body: dict) -> int:
    return int(first_user(body).split()[1].rstrip("."))


def config(server, tmp_path, **kw) -> LLMConfig:
    base = dict(backend="openai", base_url=server.url, model="test-model", api_key="sk-secret-123",
                cache_path=str(tmp_path / "cache.sqlite"), max_retries=3, timeout_s=5, backoff_base_s=0.01,
                progress=False)
    base.update(kw)
    return LLMConfig(**base)


def test_no_endpoint_fails_fast_naming_what_to_set(tmp_path):
    cfg = LLMConfig.from_env(env={})
    assert not cfg.configured
    with pytest.raises(LLMNotConfigured, match="FOUNDRY_LLM_BASE_URL"):
        LLMClient(cfg, cache_dir=tmp_path)
    assert not (tmp_path / "llm_cache.sqlite").exists()  # failed before touching anything


def test_key_is_never_in_repr_or_public_config():
    cfg = LLMConfig.from_env(env={"FOUNDRY_LLM_BASE_URL": "http://u:pw@127.0.0.1:9/v1?key=abc",
                                  "FOUNDRY_LLM_MODEL": "m", "FOUNDRY_LLM_API_KEY": "sk-secret-123"})
    assert cfg.backend == "openai" and cfg.configured
    text = repr(cfg) + json.dumps(cfg.public())
    assert "sk-secret-123" not in text and "pw" not in text and "key=abc" not in text
    assert cfg.public()["api_key_set"] is True


def test_valid_answers_and_rerun_costs_zero_calls(tmp_path):
    with ScriptedServer(lambda body, n: valid({"value": 2 * _n(body)})) as server:
        items = [{"n": i} for i in range(5)]
        with LLMClient(config(server, tmp_path)) as llm:
            out = llm.structured(PROMPT, items, Doubled)
            assert [r.parsed.value for r in out] == [0, 2, 4, 6, 8]
            assert llm.stats.calls == 5 and llm.stats.cache_hits == 0 and llm.stats.prompt_tokens == 50
        with LLMClient(config(server, tmp_path)) as llm:
            again = llm.structured(PROMPT, items, Doubled)
            assert [r.parsed.value for r in again] == [0, 2, 4, 6, 8]
            assert llm.stats.calls == 0 and llm.stats.cache_hits == 5
        assert len(server.requests) == 5
        # sampling params from the front matter reach the endpoint; the key goes only in the header
        assert server.requests[0]["temperature"] == 0 and server.requests[0]["max_tokens"] == 64
        assert "sk-secret-123" not in json.dumps(server.requests)


def test_429_and_500_are_retried_then_succeed(tmp_path):
    script = {0: RATE_LIMITED, 1: SERVER_ERROR}
    with ScriptedServer(lambda body, n: script.get(n, valid({"value": 42}))) as server:
        with LLMClient(config(server, tmp_path)) as llm:
            [res] = llm.structured(PROMPT, [{"n": 21}], Doubled)
        assert res.ok and res.parsed.value == 42
        assert llm.stats.retries == 2 and llm.stats.calls == 1
        assert len(server.requests) == 3


def test_timeout_is_retried(tmp_path):
    retried = threading.Event()

    def responder(body, n):
        if n == 0:  # the first ask gets no reply until the client has given up on it and asked again
            retried.wait(30)
        else:
            retried.set()
        return valid({"value": 4})

    with ScriptedServer(responder) as server:
        with LLMClient(config(server, tmp_path, timeout_s=1.0)) as llm:
            [res] = llm.structured(PROMPT, [{"n": 2}], Doubled)
        assert res.ok and res.parsed.value == 4
        assert llm.stats.retries >= 1


def test_persistent_5xx_becomes_a_failed_row_not_a_crash(tmp_path):
    def responder(body, n):
        return SERVER_ERROR if _n(body) == 1 else valid({"value": 2 * _n(body)})

    with ScriptedServer(responder) as server:
        with LLMClient(config(server, tmp_path, max_retries=2)) as llm:
            out = llm.structured(PROMPT, [{"n": 0}, {"n": 1}, {"n": 2}], Doubled)
        assert [r.ok for r in out] == [True, False, True]
        assert out[1].reason == LLM_ERROR and "500" in out[1].error
        assert server.count_for(lambda b: _n(b) == 1) == 3  # first try + 2 retries
        assert llm.stats.failures == {LLM_ERROR: 1}


def test_malformed_json_is_repaired_once_then_accepted(tmp_path):
    with ScriptedServer(lambda body, n: MALFORMED if len(body["messages"]) == 2 else valid({"value": 6})) as server:
        with LLMClient(config(server, tmp_path)) as llm:
            [res] = llm.structured(PROMPT, [{"n": 3}], Doubled)
        assert res.ok and res.parsed.value == 6 and res.turns == 2
        assert llm.stats.repairs == 1
        repair_turn = server.requests[-1]["messages"]
        assert repair_turn[-2]["role"] == "assistant" and "could not be used" in repair_turn[-1]["content"]


@pytest.mark.parametrize("reply, reason", [
    (MALFORMED, MALFORMED_OUTPUT),
    (valid({"wrong": "field"}), SCHEMA_MISMATCH),
    (Reply('["a", "list"]'), SCHEMA_MISMATCH),
])
def test_unusable_answers_become_rejections_with_a_reason(tmp_path, reply, reason):
    with ScriptedServer(lambda body, n: reply) as server:
        with LLMClient(config(server, tmp_path, repair_attempts=2)) as llm:
            [res] = llm.structured(PROMPT, [{"n": 1}], Doubled)
        assert not res.ok and res.reason == reason and res.error
        assert len(server.requests) == 3  # the first ask + 2 bounded repair turns, then give up
        assert llm.stats.failures == {reason: 1}


def test_concurrency_stays_within_the_limit(tmp_path):
    both = threading.Barrier(2)

    def responder(body, n):
        # the first two calls are answered only once both are in flight: a client that sent them one
        # at a time fails here (barrier timeout: one in flight), however fast or slow the machine
        if _n(body) < 2:
            try:
                both.wait(30)
            except threading.BrokenBarrierError:
                pass
        return valid({"value": 1}, delay=0.05)

    with ScriptedServer(responder) as server:
        with LLMClient(config(server, tmp_path, max_concurrency=3)) as llm:
            out = llm.structured(PROMPT, [{"n": i} for i in range(12)], Doubled)
        assert all(r.ok for r in out)
        assert server.max_in_flight <= 3
        assert server.max_in_flight >= 2  # the limit is used, not a serial loop


def test_bad_key_stops_the_batch(tmp_path):
    with ScriptedServer(lambda body, n: Reply(status=401)) as server:
        with LLMClient(config(server, tmp_path, max_concurrency=2)) as llm:
            with pytest.raises(FatalError, match="FOUNDRY_LLM_API_KEY"):
                llm.structured(PROMPT, [{"n": i} for i in range(20)], Doubled)
        assert len(server.requests) < 20  # stopped early, not 20 identical failures


RUNNER = textwrap.dedent("""\
    import json, sys
    from pydantic import BaseModel
    from pipelines.llm import LLMClient, LLMConfig, parse_prompt
    from tests.pipelines.llm.test_client import PROMPT, Doubled
    url, cache = sys.argv[1], sys.argv[2]
    cfg = LLMConfig(backend="openai", base_url=url, model="test-model", cache_path=cache,
                    max_concurrency=2, timeout_s=60, progress=False)
    with LLMClient(cfg) as llm:
        out = llm.structured(PROMPT, [{"n": i} for i in range(10)], Doubled)
        print(json.dumps({"values": [r.parsed.value for r in out], **llm.stats.as_dict()}))
""")


def _run_client(url: str, cache: Path, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", RUNNER, url, str(cache)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_killed_run_resumes_without_repeating_answered_calls(tmp_path):
    cache = tmp_path / "cache.sqlite"
    with ScriptedServer(lambda body, n: valid({"value": 2 * _n(body)})) as server:
        server.hold_after = 4  # answer 4 calls (counted as they arrive), then hold every further call
        proc = _run_client(server.url_for("killed"), cache)
        deadline = time.monotonic() + 60
        # an exact state, polled for: 4 answers sent and cached, both of the client's slots held
        while not (cached_rows(cache) >= 4 and len(server.answered) >= 4 and server.held >= 2):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the first run never reached 4 answers and 2 held calls"
            time.sleep(0.05)
        assert cached_rows(cache) == 4, "the first run should have stored exactly the answered calls"
        proc.send_signal(signal.SIGKILL)  # killed mid-batch, two calls in flight
        proc.wait(10)
        answered_before = set(server.answered)
        assert len(answered_before) == 4

        server.hold_after = None
        server.gate.set()
        done = _run_client(server.url_for("resumed"), cache)
        out, err = done.communicate(timeout=60)
        assert done.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        assert result["values"] == [2 * i for i in range(10)]
        assert result["cache_hits"] == 4 and result["calls"] == 6
        resumed = server.requests_for("resumed")  # not a late call of the killed run
        assert len(resumed) == 6
        # no conversation answered in the killed run was asked again
        from tests.pipelines.llm.server import conversation_key
        assert not answered_before & {conversation_key(b) for b in resumed}
        # and a third run is free
        third = _run_client(server.url_for("third"), cache)
        out, _ = third.communicate(timeout=60)
        assert json.loads(out.strip().splitlines()[-1])["calls"] == 0
        assert server.requests_for("third") == []
