"""The LLM layer every family uses: config from the environment, prompts as files, a persistent
response cache, bounded concurrency, retries with backoff, and pydantic-validated output.

    from pipelines.llm import LLMClient, LLMConfig, load_prompt
    config = LLMConfig.from_env()            # FOUNDRY_LLM_BASE_URL, FOUNDRY_LLM_MODEL, ...
    with LLMClient(config, cache_dir=data_root) as llm:
        results = llm.structured(load_prompt("bigmath/judge"), [{"problem": ...}], Judgement)

Never imports Dagster; the Dagster resource wrapping it lives in ``assets/llm_resource.py``.
"""

from pipelines.llm.client import (
    LLM_ERROR,
    MALFORMED_OUTPUT,
    SCHEMA_MISMATCH,
    LLMClient,
    LLMResult,
    LLMStats,
    parse_structured,
)
from pipelines.llm.config import ENV_HELP, LLMConfig, LLMNotConfigured, LLMSettingError
from pipelines.llm.prompts import Prompt, PromptError, load_prompt, parse_prompt

__all__ = [
    "ENV_HELP", "LLM_ERROR", "MALFORMED_OUTPUT", "SCHEMA_MISMATCH", "LLMClient", "LLMConfig", "LLMNotConfigured",
    "LLMResult", "LLMSettingError", "LLMStats", "Prompt", "PromptError", "load_prompt", "parse_prompt", "parse_structured",
]
