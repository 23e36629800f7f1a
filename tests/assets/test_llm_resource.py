"""The `llm` resource configured the way the launchpad does it (run config, the key as an
environment reference) reaches the client an asset builds: the request goes to that endpoint, with
that model and that key; with nothing set, the resource says it is not configured."""

import pytest
from dagster import AssetExecutionContext, DagsterInstance, asset, materialize

from assets.llm_resource import LLMResource
from tests.pipelines.llm.server import Reply, ScriptedServer

SEEN: dict = {}


@asset
def llm_probe(context: AssetExecutionContext, llm: LLMResource) -> None:
    cfg = llm.config()
    SEEN["public"] = cfg.public()
    SEEN["key"] = cfg.api_key
    with llm.client(context.instance.storage_directory()) as client:
        SEEN["reply"] = client.complete_many([[{"role": "user", "content": "ping"}]], {"temperature": 0.0})[0].text


@pytest.fixture(autouse=True)
def no_llm_environment(monkeypatch):
    for name in ("FOUNDRY_LLM_BACKEND", "FOUNDRY_LLM_BASE_URL", "FOUNDRY_LLM_MODEL", "FOUNDRY_LLM_API_KEY",
                 "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    SEEN.clear()


def test_launchpad_run_config_reaches_the_client(tmp_path, monkeypatch):
    monkeypatch.setenv("FOUNDRY_LLM_TEST_KEY", "sk-launchpad-secret")
    with ScriptedServer(lambda body, n: Reply("pong")) as server:
        run_config = {"resources": {"llm": {"config": {
            "base_url": server.url, "model": "launchpad-model", "api_key": {"env": "FOUNDRY_LLM_TEST_KEY"},
            "cache_path": str(tmp_path / "cache.sqlite")}}}}
        with DagsterInstance.ephemeral(tempdir=str(tmp_path)) as instance:
            result = materialize([llm_probe], resources={"llm": LLMResource()}, run_config=run_config,
                                 instance=instance)
    assert result.success
    assert SEEN["reply"] == "pong"
    assert [r["model"] for r in server.requests] == ["launchpad-model"]
    assert SEEN["key"] == "sk-launchpad-secret"
    assert SEEN["public"]["base_url"] == server.url and SEEN["public"]["api_key_set"] is True
    assert "sk-launchpad-secret" not in str(SEEN["public"])  # the key never goes to metadata


def test_no_setting_means_not_configured():
    cfg = LLMResource().config()
    assert not cfg.configured and "FOUNDRY_LLM_BASE_URL" in cfg.why_not_configured()
