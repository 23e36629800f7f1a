"""LLM calls as engine batches: the task journals (one writer per file, absorbed into the SQLite
cache), a task killed mid-batch, many writers at once, and the client on a Ray cluster giving the
in-process client's results."""

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines.engine.local import LocalEngine
from pipelines.llm import LLM_ERROR, LLMClient
from pipelines.llm.backends import FatalError
from pipelines.llm.cache import AnswerJournal, CachedResponse, ResponseCache, journal_dir
from pipelines.llm.distributed import complete_on_engine
from tests.pipelines.llm.server import (MALFORMED, Reply, ScriptedServer, cached_rows, conversation_key, first_user,
                                        valid)
from tests.pipelines.llm.test_client import PROMPT, Doubled, _n, config

REPO = Path(__file__).resolve().parents[3]


def _answer(i: int) -> CachedResponse:
    return CachedResponse(f"answer {i}", 3, 4)


def test_a_journal_is_absorbed_only_once_its_writer_lets_go(tmp_path):
    cache_path = tmp_path / "cache.sqlite"
    journal = AnswerJournal(journal_dir(cache_path))
    for i in range(3):
        journal.put(f"k{i}", "m", _answer(i))
    cache = ResponseCache(cache_path)
    assert cache.absorb_journals() == 0 and len(cache) == 0  # a live task's journal is left alone
    assert journal.path.exists()
    journal.close()
    assert cache.absorb_journals() == 3 and len(cache) == 3
    assert cache.get("k2") == _answer(2) and not journal.path.exists()
    assert cache.absorb_journals() == 0
    cache.close()


def test_a_torn_last_line_is_skipped_and_the_rest_kept(tmp_path):
    cache_path = tmp_path / "cache.sqlite"
    journal = AnswerJournal(journal_dir(cache_path))
    journal.put("k0", "m", _answer(0))
    journal.put("k1", "m", _answer(1))
    journal.close()
    with open(journal.path, "ab") as f:  # what a SIGKILL in the middle of a write leaves
        f.write(b'{"key":"k2","model":"m","te')
    with ResponseCache(cache_path) as cache:  # opening absorbs
        assert len(cache) == 2 and cache.get("k2") is None and cache.get("k1") == _answer(1)
    assert list(journal_dir(cache_path).glob("*.jsonl")) == []


def _write_journal(directory: str, worker: int, n: int) -> None:
    for start in range(0, n, 50):  # several journals per worker, as several tasks on one worker
        journal = AnswerJournal(directory)
        for i in range(start, min(n, start + 50)):
            journal.put(f"w{worker}-{i}", "m", _answer(i))
        journal.close()


def test_many_writers_and_an_absorber_at_once_lose_nothing(tmp_path):
    cache_path = tmp_path / "cache.sqlite"
    cache = ResponseCache(cache_path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write_journal, args=(str(journal_dir(cache_path)), w, 400)) for w in range(4)]
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs):  # absorbing while the writers write
        cache.absorb_journals()
        time.sleep(0.005)  # not for correctness: only not to spin a shared core
    for p in procs:
        p.join()
        assert p.exitcode == 0
    cache.absorb_journals()
    assert len(cache) == 1600
    assert all(cache.get(f"w{w}-{i}") == _answer(i) for w in range(4) for i in (0, 199, 399))
    assert list(journal_dir(cache_path).iterdir()) == []
    cache.close()


TASK = textwrap.dedent("""\
    import json, sys
    import polars as pl
    from pipelines.llm import LLMConfig
    from pipelines.llm.distributed import complete_batch
    url, journal = sys.argv[1], sys.argv[2]
    cfg = LLMConfig(backend="openai", base_url=url, model="test-model", max_concurrency=2, timeout_s=60,
                    progress=False)
    messages = [json.dumps(m) for m in json.loads(sys.stdin.read())]
    out = complete_batch(pl.DataFrame({"messages": messages}), cfg, {"temperature": 0, "max_tokens": 64}, journal)
    print(out.write_json())
""")


def _conversations(n: int) -> list[list[dict]]:
    return [PROMPT.render(n=i) for i in range(n)]


def test_a_task_killed_mid_batch_leaves_its_answers_for_the_next_run(tmp_path):
    cache_path = tmp_path / "cache.sqlite"
    conversations = _conversations(10)
    with ScriptedServer(lambda body, n: valid({"value": 2 * _n(body)})) as server:
        server.hold_after = 4  # answer 4 calls, then hold the task's two slots
        proc = subprocess.Popen([sys.executable, "-c", TASK, server.url_for("killed"), str(journal_dir(cache_path))],
                                cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdin.write(json.dumps(conversations))
        proc.stdin.close()
        deadline = time.monotonic() + 60
        while not (len(server.answered) >= 4 and server.held >= 2 and _journaled(cache_path) >= 4):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the task never reached 4 journaled answers and 2 held calls"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        answered_before = set(server.answered)
        server.hold_after = None
        server.gate.set()
        cfg = config(server, tmp_path, base_url=server.url_for("resumed"), cache_path=str(cache_path))
        with LLMClient(cfg) as llm:  # opening the cache absorbs the dead task's journal
            assert len(llm.cache) == 4
            out = llm.structured(PROMPT, [{"n": i} for i in range(10)], Doubled)
            assert [r.parsed.value for r in out] == [2 * i for i in range(10)]
            assert llm.stats.cache_hits == 4 and llm.stats.calls == 6
        resumed = server.requests_for("resumed")
        assert len(resumed) == 6 and not answered_before & {conversation_key(b) for b in resumed}


def _journaled(cache_path: Path) -> int:
    files = list(journal_dir(cache_path).glob("*.jsonl"))
    return sum(f.read_bytes().count(b"\n") for f in files)


def test_local_engine_keeps_the_calls_in_process(tmp_path):
    with ScriptedServer(lambda body, n: valid({"value": 2 * _n(body)})) as server:
        with LLMClient(config(server, tmp_path), engine=LocalEngine(num_workers=2)) as llm:
            assert llm.engine is None  # local: threads in this process, as without an engine
            out = llm.structured(PROMPT, [{"n": i} for i in range(4)], Doubled)
        assert [r.parsed.value for r in out] == [0, 2, 4, 6]
        assert not journal_dir(tmp_path / "cache.sqlite").exists()


# ------------------------------------------------------------------ on a Ray cluster (in-process)

def _respond(body, n):
    i = _n(body)
    if i % 5 == 3 and len(body["messages"]) == 2:
        return MALFORMED  # the first ask only (system + user): the repair turn gets a valid reply
    if i % 7 == 6:
        return Reply(status=422, content="scripted refusal")  # a permanent failure of one item
    return valid({"value": 2 * i})


def _structured(engine, server, tmp_path, name):
    cfg = config(server, tmp_path / name, base_url=server.url_for(name), cache_path=str(tmp_path / name / "c.sqlite"))
    with LLMClient(cfg, engine=engine) as llm:
        llm.batch_rows = 4
        out = llm.structured(PROMPT, [{"n": i} for i in range(14)], Doubled)
        stats = llm.stats.as_dict()
    return [(r.reason, r.error, r.text, r.turns, r.parsed.value if r.ok else None) for r in out], stats


@pytest.mark.slow
def test_structured_on_ray_equals_in_process(ray_inprocess, tmp_path):
    with ScriptedServer(_respond) as server:
        local, local_stats = _structured(None, server, tmp_path, "local")
        ray, ray_stats = _structured(ray_inprocess, server, tmp_path, "ray")
        assert ray == local
        assert {r[0] for r in local} == {None, LLM_ERROR} and any(r[3] == 2 for r in local)  # refused and repaired
        assert ray_stats == local_stats and ray_stats["calls"] == 15  # 13 first asks answered, 2 repairs
        assert len(server.requests_for("ray")) == len(server.requests_for("local"))
        assert cached_rows(tmp_path / "ray" / "c.sqlite") == cached_rows(tmp_path / "local" / "c.sqlite") == 15
        journals = tmp_path / "ray" / "c.sqlite.journal"
        assert journals.is_dir() and list(journals.glob("*")) == []  # the tasks journaled; all absorbed
        again, again_stats = _structured(ray_inprocess, server, tmp_path, "ray")
        assert again == ray and again_stats["calls"] == 0  # the re-run asked nothing: all from the cache


@pytest.mark.slow
def test_a_bad_key_stops_the_batch_on_ray_too(ray_inprocess, tmp_path):
    with ScriptedServer(lambda body, n: Reply(status=401)) as server:
        with LLMClient(config(server, tmp_path), engine=ray_inprocess) as llm:
            with pytest.raises(FatalError, match="FOUNDRY_LLM_API_KEY"):
                llm.structured(PROMPT, [{"n": i} for i in range(8)], Doubled)


@pytest.mark.slow
def test_complete_on_engine_same_frame_both_engines(ray_inprocess, tmp_path):
    with ScriptedServer(lambda body, n: Reply("echo: " + first_user(body))) as server:
        cfg = config(server, tmp_path, cache_path=None)
        conversations = [[{"role": "user", "content": f"question {i}"}] for i in range(9)]
        got = complete_on_engine(conversations, {"temperature": 0}, cfg, ray_inprocess, tmp_path / "ray", batch_rows=4)
        local = complete_on_engine(conversations, {"temperature": 0}, cfg, LocalEngine(), tmp_path / "local")
        assert got.equals(local) and got["text"].to_list() == [f"echo: question {i}" for i in range(9)]
