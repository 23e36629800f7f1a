"""Issue 15: an endpoint's error never leaks the key, and a refused key is one sentence, not a traceback."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.llm.config import LLMConfig, LLMSettingError
from pipelines.llm.redact import REDACTED, redact
from tests.pipelines.llm.server import Reply, ScriptedServer

KEY = "sk-test-0123456789abcdefSECRET"


def _mc_file(tmp_path):
    rows = [{"q": f"Which of the following is the value of {i} + {i + 1}?", "opts": [f"A) {2 * i + 1}", "B) 0.5"],
             "a": "A"} for i in range(1, 4)]
    path = tmp_path / "mc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _reformulate(tmp_path, server, out):
    args = ["bigmath", "reformulate", str(_mc_file(tmp_path)), "--field", "problem=q", "--field", "answer=a",
            "--field", "options=opts", "--llm", "openai", "--workers", "1", "--out", str(out)]
    env = {"FOUNDRY_LLM_BASE_URL": server.url, "FOUNDRY_LLM_MODEL": "scripted-model", "FOUNDRY_LLM_API_KEY": KEY,
           "FOUNDRY_LLM_MAX_RETRIES": "0"}
    return CliRunner().invoke(main, args, env=env)


def test_an_error_body_echoing_the_authorization_header_is_stored_redacted(tmp_path):
    echo = Reply("invalid request; you sent Authorization: {authorization} (api_key=" + KEY + ")", status=400)
    out = tmp_path / "out"
    with ScriptedServer(lambda body, n: echo) as server:
        res = _reformulate(tmp_path, server, out)
        assert server.requests  # the endpoint really saw (and echoed) the key
    assert res.exit_code == 0, res.output
    rejected = pl.read_parquet(out / "rejected.parquet")
    details = " ".join(d for d in rejected["detail"].to_list() if d)
    assert "Authorization" in details and REDACTED in details  # the error is kept, the secret is not
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
            assert b"Bearer sk-" not in path.read_bytes(), path
    assert KEY not in res.output


def test_a_401_from_the_endpoint_is_one_sentence_and_exit_1(tmp_path):
    with ScriptedServer(lambda body, n: Reply(status=401)) as server:
        res = _reformulate(tmp_path, server, tmp_path / "out")
    assert res.exit_code == 1, res.output
    last = res.output.strip().splitlines()[-1]
    assert "Traceback" not in res.output and "401" in last and "FOUNDRY_LLM_API_KEY" in last
    assert not (tmp_path / "out" / "reformulated.parquet").exists()


def test_redact_covers_headers_prefixed_keys_pairs_and_the_configured_key():
    text = (f"Authorization: Bearer {KEY}; x-api-key: abcd1234efgh; "
            '{"api_key": "plainvalue99", "token": "hf_abcdefghijklmnop"} opaque-key-value')
    clean = redact(text, ("opaque-key-value",))
    for secret in (KEY, "abcd1234efgh", "plainvalue99", "hf_abcdefghijklmnop", "opaque-key-value"):
        assert secret not in clean
    assert redact("a plain error: model not found", ()) == "a plain error: model not found"


@pytest.mark.parametrize("var, value", [("FOUNDRY_LLM_CONCURRENCY", "4.5"), ("FOUNDRY_LLM_CONCURRENCY", "0"),
                                        ("FOUNDRY_LLM_MAX_RETRIES", "x"), ("FOUNDRY_LLM_TIMEOUT_S", "inf"),
                                        ("FOUNDRY_LLM_BACKEND", "magic")])
def test_bad_llm_settings_name_the_variable(var, value):
    with pytest.raises(LLMSettingError, match=var):
        LLMConfig.from_env({"FOUNDRY_LLM_BASE_URL": "http://127.0.0.1:9/v1", var: value})
