"""The LLM as a Dagster resource: a thin wrapper over :mod:`pipelines.llm` (no FAMILY: not a family).

Fields left empty fall back to the environment (``FOUNDRY_LLM_BASE_URL``, ``FOUNDRY_LLM_MODEL``,
``FOUNDRY_LLM_API_KEY``, ...; see ``pipelines/llm/config.py``). The key is read from the
environment only, so it never appears in run config, the UI or metadata.
"""

from pathlib import Path

from dagster import ConfigurableResource

from pipelines.llm import LLMClient, LLMConfig


class LLMResource(ConfigurableResource):
    """An OpenAI-compatible endpoint or vLLM's offline engine, with cache, retries and limits."""

    backend: str = ""
    base_url: str = ""
    model: str = ""
    max_concurrency: int = 0
    cache_path: str = ""

    def config(self) -> LLMConfig:
        return LLMConfig.from_env(backend=self.backend or None, base_url=self.base_url or None,
                                  model=self.model or None, max_concurrency=self.max_concurrency or None,
                                  cache_path=self.cache_path or None, progress=False)

    def client(self, cache_dir: str | Path) -> LLMClient | None:
        """A client, or None when no LLM is configured (``config().why_not_configured()`` says why)."""
        cfg = self.config()
        return LLMClient(cfg, cache_dir=cache_dir) if cfg.configured else None
