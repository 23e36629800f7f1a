"""Retries (tenacity) against the scripted server, with the sleep injected: no real waiting, and the
waits themselves are asserted: Retry-After honored and capped, exponential backoff with jitter."""

from pydantic import BaseModel

from pipelines.llm import LLM_ERROR, LLMClient
from tests.pipelines.llm.server import SERVER_ERROR, Reply, ScriptedServer, valid
from tests.pipelines.llm.test_client import PROMPT, _n, config


class Doubled(BaseModel):
    value: int


def test_retry_after_is_honored_and_capped_then_success(tmp_path):
    script = {0: Reply(status=429, headers={"retry-after": "7"}), 1: Reply(status=503, headers={"retry-after": "120"})}
    sleeps: list[float] = []
    with ScriptedServer(lambda body, n: script.get(n, valid({"value": 2 * _n(body)}))) as server:
        with LLMClient(config(server, tmp_path, backoff_max_s=30.0), sleep=sleeps.append) as llm:
            [res] = llm.structured(PROMPT, [{"n": 4}], Doubled)
    assert res.ok and res.parsed.value == 8
    assert sleeps == [7.0, 30.0]  # the server's Retry-After, then the same capped at backoff_max_s
    assert llm.stats.retries == 2 and len(server.requests) == 3


def test_exponential_backoff_with_jitter_capped_and_attempts_from_config(tmp_path):
    sleeps: list[float] = []
    with ScriptedServer(lambda body, n: SERVER_ERROR) as server:
        cfg = config(server, tmp_path, max_retries=5, backoff_base_s=1.0, backoff_max_s=6.0)
        with LLMClient(cfg, sleep=sleeps.append) as llm:
            [res] = llm.structured(PROMPT, [{"n": 1}], Doubled)
    assert not res.ok and res.reason == LLM_ERROR and "gave up after 6 tries" in res.error
    assert len(server.requests) == 6 and llm.stats.retries == 5 and len(sleeps) == 5
    # retry k waits min(cap, base * 2**(k-1)) scaled by a jitter factor in [0.5, 1]
    for k, waited in enumerate(sleeps, start=1):
        full = min(6.0, 1.0 * 2 ** (k - 1))
        assert full / 2 <= waited <= full, (k, waited)
    assert max(sleeps) <= 6.0


def test_no_retries_when_max_retries_is_zero(tmp_path):
    sleeps: list[float] = []
    with ScriptedServer(lambda body, n: SERVER_ERROR) as server:
        with LLMClient(config(server, tmp_path, max_retries=0), sleep=sleeps.append) as llm:
            [res] = llm.structured(PROMPT, [{"n": 1}], Doubled)
    assert not res.ok and "gave up after 1 tries" in res.error
    assert sleeps == [] and len(server.requests) == 1
