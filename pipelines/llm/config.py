"""Where the LLM lives: backend, endpoint, model and limits, from the environment.

Environment variables (all optional; with none set the LLM layer is *not configured* and every
LLM stage either is skipped with a reason or fails fast naming what to set):

- ``FOUNDRY_LLM_BACKEND``      ``openai`` (any OpenAI-compatible endpoint), ``vllm`` (offline engine)
                               or ``none``; default ``openai`` when a base URL is set, else ``none``
- ``FOUNDRY_LLM_BASE_URL``     e.g. ``http://127.0.0.1:8000/v1`` (``vllm serve``) or a provider URL;
                               ``OPENAI_BASE_URL`` is read when this is unset
- ``FOUNDRY_LLM_MODEL``        the model id the endpoint serves (recorded on every output row)
- ``FOUNDRY_LLM_API_KEY``      the key (``OPENAI_API_KEY`` is read when unset); never logged,
                               never written to metadata or rows
- ``FOUNDRY_LLM_CONCURRENCY``  requests in flight at once (default 4)
- ``FOUNDRY_LLM_MAX_RETRIES``  retries on 429/5xx/timeouts/connection errors (default 4)
- ``FOUNDRY_LLM_TIMEOUT_S``    per-request timeout (default 120)
- ``FOUNDRY_LLM_CACHE``        the response cache file (default ``<data root>/llm_cache.sqlite``)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

BACKENDS = ("openai", "vllm", "none")

ENV_HELP = (
    "set FOUNDRY_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1 for `vllm serve MODEL`, or a hosted "
    "OpenAI-compatible URL), FOUNDRY_LLM_MODEL (the served model id) and, if the endpoint needs one, "
    "FOUNDRY_LLM_API_KEY; or FOUNDRY_LLM_BACKEND=vllm with FOUNDRY_LLM_MODEL for the in-process engine"
)


class LLMNotConfigured(RuntimeError):
    """An LLM stage was asked to run but no endpoint/model is configured."""


class LLMSettingError(ValueError):
    """A FOUNDRY_LLM_* variable holds a value that cannot be used; the message names it."""


def _env_number(env: Mapping[str, str], name: str, default: str, kind: type, *, minimum: float):
    text = env.get(name, default).strip() or default
    try:
        value = kind(text)
    except ValueError:
        raise LLMSettingError(f"{name}={text[:40]!r} is not {'an integer' if kind is int else 'a number'}; "
                              f"set it to e.g. {default} or unset it") from None
    if not (value >= minimum) or value == float("inf"):  # also refuses nan
        raise LLMSettingError(f"{name}={text[:40]!r} must be at least {minimum}; set it to e.g. {default}")
    return value


@dataclass(frozen=True)
class LLMConfig:
    backend: str = "none"
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)  # repr=False: never shows in logs or tracebacks
    max_concurrency: int = 4
    max_retries: int = 4
    timeout_s: float = 120.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    repair_attempts: int = 2
    cache_path: str | None = None
    progress: bool = True

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise LLMSettingError(f"LLM backend {self.backend!r} unknown; FOUNDRY_LLM_BACKEND must be one of {BACKENDS}")
        if self.max_concurrency < 1:
            raise LLMSettingError("FOUNDRY_LLM_CONCURRENCY must be at least 1")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "LLMConfig":
        env = os.environ if env is None else env
        base_url = env.get("FOUNDRY_LLM_BASE_URL") or env.get("OPENAI_BASE_URL") or None
        backend = env.get("FOUNDRY_LLM_BACKEND") or ("openai" if base_url else "none")
        values = dict(
            backend=backend,
            base_url=base_url,
            model=env.get("FOUNDRY_LLM_MODEL") or None,
            api_key=env.get("FOUNDRY_LLM_API_KEY") or env.get("OPENAI_API_KEY") or None,
            max_concurrency=_env_number(env, "FOUNDRY_LLM_CONCURRENCY", "4", int, minimum=1),
            max_retries=_env_number(env, "FOUNDRY_LLM_MAX_RETRIES", "4", int, minimum=0),
            timeout_s=_env_number(env, "FOUNDRY_LLM_TIMEOUT_S", "120", float, minimum=0.001),
            cache_path=env.get("FOUNDRY_LLM_CACHE") or None,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __repr__(self) -> str:  # the URL may carry credentials too; show only the public view
        return f"LLMConfig({self.public()})"

    def with_(self, **changes) -> "LLMConfig":
        return replace(self, **changes)

    @property
    def configured(self) -> bool:
        return self.why_not_configured() is None

    def why_not_configured(self) -> str | None:
        """None when a stage can run; else the reason, naming what to set."""
        if self.backend == "none":
            return f"no LLM configured (FOUNDRY_LLM_BACKEND is none or unset and no base URL); {ENV_HELP}"
        if self.backend == "openai" and not self.base_url:
            return f"backend openai needs an endpoint; {ENV_HELP}"
        if not self.model:
            return f"no model named; set FOUNDRY_LLM_MODEL ({ENV_HELP})"
        return None

    def require(self) -> "LLMConfig":
        """Fail fast, before any work, when the LLM cannot be reached."""
        why = self.why_not_configured()
        if why:
            raise LLMNotConfigured(why)
        return self

    def public(self) -> dict:
        """What may go into logs and metadata: everything but the key."""
        return {"backend": self.backend, "base_url": _redact_url(self.base_url), "model": self.model,
                "max_concurrency": self.max_concurrency, "max_retries": self.max_retries,
                "timeout_s": self.timeout_s, "repair_attempts": self.repair_attempts,
                "api_key_set": bool(self.api_key)}

    def resolved_cache_path(self, default_dir: str | Path) -> Path:
        return Path(self.cache_path) if self.cache_path else Path(default_dir) / "llm_cache.sqlite"


def _redact_url(url: str | None) -> str | None:
    """Drop user:password@ and query strings (some providers put keys there)."""
    if not url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
