"""The LLM as a registered Dagster resource (key ``llm``): a thin wrapper over :mod:`pipelines.llm`.

Assets that call a model take ``llm: LLMResource`` as a parameter; none builds one inline. Every
field shows in the launchpad (Resources page, and run config ``resources: {llm: {config: ...}}``).
Empty fields fall back, at run time, to the environment (``FOUNDRY_LLM_BASE_URL``,
``FOUNDRY_LLM_MODEL``, ``FOUNDRY_LLM_API_KEY``, ...; see ``pipelines/llm/config.py``), so the
sample profile runs with no LLM and no setting at all. Give the key as an environment reference,
never as text: ``api_key: {env: FOUNDRY_LLM_API_KEY}`` in run config, or
``LLMResource(api_key=EnvVar("FOUNDRY_LLM_API_KEY"))`` in code; it never goes to metadata.
"""

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from pipelines.llm import LLMClient, LLMConfig


class LLMResource(ConfigurableResource):
    """An OpenAI-compatible endpoint or vLLM's offline engine, with cache, retries and limits."""

    backend: str = Field(default="", description="openai, vllm or none; empty = FOUNDRY_LLM_BACKEND, else openai "
                                                 "when a base URL is set")
    base_url: str = Field(default="", description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1; "
                                                  "empty = FOUNDRY_LLM_BASE_URL")
    model: str = Field(default="", description="the served model id, recorded on every row; empty = FOUNDRY_LLM_MODEL")
    api_key: str = Field(default="", description="secret: give it as {env: FOUNDRY_LLM_API_KEY}; "
                                                 "empty = FOUNDRY_LLM_API_KEY at run time")
    max_concurrency: int = Field(default=0, description="requests in flight; 0 = FOUNDRY_LLM_CONCURRENCY, else 4")
    cache_path: str = Field(default="", description="response cache file; empty = <data root>/llm_cache.sqlite")

    def config(self) -> LLMConfig:
        # a base URL set here implies the openai backend, as FOUNDRY_LLM_BASE_URL does in the environment
        backend = self.backend or ("openai" if self.base_url else None)
        return LLMConfig.from_env(backend=backend, base_url=self.base_url or None,
                                  model=self.model or None, api_key=self.api_key or None,
                                  max_concurrency=self.max_concurrency or None,
                                  cache_path=self.cache_path or None, progress=False)

    def client(self, cache_dir: str | Path, engine=None) -> LLMClient | None:
        """A client, or None when no LLM is configured (``config().why_not_configured()`` says why).
        ``engine``: the asset's open engine (``EngineResource.open()``); on ``ray`` the calls go out as
        engine batches, on ``local`` they run in this process."""
        cfg = self.config()
        return LLMClient(cfg, cache_dir=cache_dir, engine=engine) if cfg.configured else None
