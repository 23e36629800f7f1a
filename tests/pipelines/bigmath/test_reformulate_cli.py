"""``foundry bigmath reformulate`` on users' files: option layouts, letters or values, --llm, kill + resume."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.bigmath.reformulate_cli import reformulate
from tests.pipelines.llm.server import ScriptedServer, cached_rows, conversation_key, first_user, loopback_only, valid  # noqa: F401

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _loopback(loopback_only):
    yield


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_options_in_text_in_a_string_or_a_list_and_answers_as_letter_or_value(tmp_path):
    f = _write(tmp_path / "mc.jsonl", [
        {"q": "What is 2 + 3? Answer Choices: (A) 4 (B) 5 (C) 6", "a": "B"},
        {"q": "how many legs do 3 cats have ?", "opts": "a ) 12 , b ) 16 , c ) 9", "a": "a"},
        {"q": "What is 10 / 4?", "opts": ["A) 2.5", "B) 3"], "a": "2.5"},
        {"q": "Which of the following is prime?", "opts": ["A) 4", "B) 7"], "a": "B"},
        "not json",
    ])
    out = tmp_path / "out"
    res = CliRunner().invoke(reformulate, [str(f), "--field", "problem=q", "--field", "answer=a",
                                           "--field", "options=opts", "--out", str(out), "--workers", "1"])
    assert res.exit_code == 0, res.output
    kept = pl.read_parquet(out / "reformulated.parquet")
    assert set(["problem", "answer", "original_problem", "method"]) <= set(kept.columns)
    assert kept.select("problem", "answer").rows() == [
        ("What is 2 + 3?", "5"), ("how many legs do 3 cats have ?", "12"), ("What is 10 / 4?", "2.5")]
    rejected = pl.read_parquet(out / "rejected.parquet")
    assert sorted(rejected["reason"].to_list()) == ["malformed", "stem_refers_to_options"]
    assert {"options", "answer_letter", "step", "detail"} <= set(rejected.columns)  # input columns kept
    assert json.loads((out / "report.json").read_text())["rows_in"] == 5


def test_llm_openai_without_endpoint_fails_fast(tmp_path):
    f = _write(tmp_path / "mc.jsonl", [{"q": "What is 2+2?", "a": "4"}])
    res = CliRunner().invoke(reformulate, [str(f), "--field", "problem=q", "--field", "answer=a", "--llm", "openai",
                                           "--out", str(tmp_path / "out")], env={"FOUNDRY_LLM_BASE_URL": ""})
    assert res.exit_code != 0 and "FOUNDRY_LLM_BASE_URL" in res.output
    assert not (tmp_path / "out" / "reformulated.parquet").exists()


def _responder(body, n):
    text = first_user(body)
    m = re.search(r"value of (\d+) \+ (\d+)", text)
    a, b = int(m.group(1)), int(m.group(2))
    if "Extract the key information" in text:
        return valid({"givens": [f"{a} and {b}"], "asked": "their sum"})
    if "Rewrite this multiple-choice" in text:
        return valid({"problem": f"What is the value of {a} + {b}?", "answer": str(a + b)})
    if "Judge the rewrite" in text:
        return valid({"verdict": "PASS", "reasons": []})
    return valid({"final_answer": str(a + b), "well_posed": True})


def test_llm_path_killed_mid_batch_resumes_without_repeated_calls(tmp_path):
    """Deterministic by design: the server answers exactly 3 calls (decided by count as each call
    arrives) and holds the rest; the test kills the run once the 3 answers are cached and a call is
    held at the gate (an exact state, polled for, not a delay guessed); the two runs use different
    base URLs, so a call of the killed run that reaches the server late is never counted as resumed."""
    rows = [{"q": f"Which of the following is the value of {i} + {i + 1}?", "opts": [f"A) {2 * i + 1}", "B) 0.5"],
             "a": "A"} for i in range(1, 7)]
    f = _write(tmp_path / "mc.jsonl", rows)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pipelines.bigmath.reformulate_cli", str(f), "--field", "problem=q",
           "--field", "answer=a", "--field", "options=opts", "--llm", "openai", "--workers", "1", "--out", str(out)]
    with ScriptedServer(_responder) as server:
        env = {**os.environ, "PYTHONPATH": str(REPO), "FOUNDRY_LLM_MODEL": "scripted-model",
               "FOUNDRY_LLM_CONCURRENCY": "2"}
        server.hold_after = 3
        proc = subprocess.Popen(cmd, cwd=REPO, env={**env, "FOUNDRY_LLM_BASE_URL": server.url_for("killed")},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (cached_rows(out / "llm_cache.sqlite") >= 3 and len(server.answered) >= 3 and server.held >= 1):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the first run never reached 3 cached answers and a held call"
            time.sleep(0.05)  # polling for the state above; no outcome depends on this delay
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert not (out / "reformulated.parquet").exists()  # killed before writing anything
        answered = set(server.answered)
        assert len(answered) == 3 and cached_rows(out / "llm_cache.sqlite") == 3

        server.hold_after = None
        server.gate.set()
        done = subprocess.run(cmd, cwd=REPO, env={**env, "FOUNDRY_LLM_BASE_URL": server.url_for("resumed")},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        resumed = server.requests_for("resumed")
        assert not answered & {conversation_key(b) for b in resumed}
        assert len(resumed) == 6 * 4 - 3  # 6 items x 4 stages, minus the 3 answered before the kill
    kept = pl.read_parquet(out / "reformulated.parquet")
    assert kept.height == 6 and set(kept["method"]) == {"llm"}
    assert kept["problem"][0] == "What is the value of 1 + 2?" and kept["answer"][0] == "3"
    assert '"calls": 21' in done.stdout and '"cache_hits": 3' in done.stdout
