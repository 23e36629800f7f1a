"""Backends: how one chat request becomes text. The client adds caching, retries and limits.

- :class:`OpenAIBackend`: the ``openai`` client against any OpenAI-compatible endpoint (``vllm
  serve``, SGLang, a hosted provider). The client's own retries are off (``max_retries=0``):
  retries happen in :mod:`pipelines.llm.client`, where they are counted.
- :class:`VLLMBackend`: vLLM's in-process offline engine on a GPU machine. vLLM is *not* a
  dependency of the foundry (it pulls CUDA torch); install it on the GPU machine and set
  ``FOUNDRY_LLM_BACKEND=vllm``. Batches go to the engine in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pipelines.llm.config import LLMConfig
from pipelines.llm.redact import redact


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RetryableError(Exception):
    """429, 5xx, timeouts, dropped connections: worth another try after a pause."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """The request itself is wrong (400, 422, a refused prompt): this item fails, others go on."""


class FatalError(Exception):
    """Every request will fail the same way (401 bad key, 404 unknown model): stop the batch."""


# Sampling parameters the chat endpoint takes directly; anything else goes in extra_body
# (vLLM's top_k, repetition_penalty, guided decoding...).
_OPENAI_PARAMS = {"temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop", "n",
                  "presence_penalty", "frequency_penalty", "response_format", "logit_bias"}


class OpenAIBackend:
    name = "openai"

    def __init__(self, config: LLMConfig):
        import openai

        config.require()
        self._openai = openai
        self.model = config.model
        self._api_key = config.api_key  # only to redact it from error details
        # A local server needs no key, but the client insists on one: a placeholder is sent.
        self._client = openai.OpenAI(base_url=config.base_url, api_key=config.api_key or "not-needed",
                                     max_retries=0, timeout=config.timeout_s)

    def complete(self, messages: list[dict], params: dict) -> Completion:
        o = self._openai
        direct = {k: v for k, v in params.items() if k in _OPENAI_PARAMS}
        extra = {k: v for k, v in params.items() if k not in _OPENAI_PARAMS}
        try:
            resp = self._client.chat.completions.create(model=self.model, messages=messages, **direct,
                                                        **({"extra_body": extra} if extra else {}))
        except o.RateLimitError as exc:
            raise RetryableError(f"429 rate limited: {_short(exc, self._api_key)}", _retry_after(exc)) from None
        except o.APITimeoutError:
            raise RetryableError("request timed out") from None
        except o.APIConnectionError as exc:
            raise RetryableError(f"connection error: {_short(exc, self._api_key)}") from None
        except (o.AuthenticationError, o.PermissionDeniedError) as exc:
            raise FatalError(f"{exc.status_code} the endpoint refused the key; check FOUNDRY_LLM_API_KEY") from None
        except o.NotFoundError as exc:
            raise FatalError(f"404 from the endpoint: is FOUNDRY_LLM_MODEL={self.model!r} served there, and does "
                             f"FOUNDRY_LLM_BASE_URL end in /v1? ({_short(exc, self._api_key)})") from None
        except o.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code in (408, 409):
                raise RetryableError(f"{exc.status_code} server error: {_short(exc, self._api_key)}", _retry_after(exc)) from None
            raise PermanentError(f"{exc.status_code}: {_short(exc, self._api_key)}") from None
        except o.APIResponseValidationError as exc:
            raise RetryableError(f"unreadable response: {_short(exc, self._api_key)}") from None
        if not resp.choices:
            raise RetryableError("response without choices")
        text = resp.choices[0].message.content
        if text is None:
            raise PermanentError(f"empty message (finish_reason={resp.choices[0].finish_reason})")
        usage = resp.usage
        return Completion(text, int(getattr(usage, "prompt_tokens", 0) or 0),
                          int(getattr(usage, "completion_tokens", 0) or 0))


def _short(exc: Exception, api_key: str | None = None) -> str:
    """One line of an endpoint's error, secrets redacted (some endpoints echo the request's headers)."""
    return redact(str(exc).replace("\n", " "), (api_key,))[:300]


def _retry_after(exc) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


class VLLMBackend:
    """vLLM's offline engine, loaded once per process. Import guarded: vLLM is optional."""

    name = "vllm"

    def __init__(self, config: LLMConfig, **engine_args):
        if not config.model:
            raise FatalError("FOUNDRY_LLM_MODEL must name the model (a Hub id or local path) for the vllm backend")
        try:
            from vllm import LLM, SamplingParams  # noqa: F401
        except ImportError as exc:
            raise FatalError(
                "FOUNDRY_LLM_BACKEND=vllm but vLLM is not installed. On a GPU machine: `pip install vllm` "
                "(it brings its own CUDA torch; do not install it into the CPU environment), or run "
                "`vllm serve MODEL` and use FOUNDRY_LLM_BACKEND=openai with FOUNDRY_LLM_BASE_URL."
            ) from exc
        self._sampling = SamplingParams
        self.model = config.model
        self._llm = LLM(model=config.model, **engine_args)

    def complete_many(self, conversations: Sequence[list[dict]], params: dict) -> list[Completion]:
        allowed = {"temperature", "top_p", "top_k", "max_tokens", "seed", "stop", "n", "presence_penalty",
                   "frequency_penalty", "repetition_penalty"}
        sampling = self._sampling(**{k: v for k, v in params.items() if k in allowed})
        outputs = self._llm.chat(list(conversations), sampling, use_tqdm=False)
        return [Completion(o.outputs[0].text, len(o.prompt_token_ids or []), len(o.outputs[0].token_ids or []))
                for o in outputs]

    def complete(self, messages: list[dict], params: dict) -> Completion:
        return self.complete_many([messages], params)[0]


def make_backend(config: LLMConfig):
    config.require()
    if config.backend == "openai":
        return OpenAIBackend(config)
    if config.backend == "vllm":
        return VLLMBackend(config)
    raise FatalError(f"backend {config.backend!r} cannot make calls")
