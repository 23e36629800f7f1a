"""Secrets out of error details: what an endpoint echoes back must not reach rows, logs or the cache."""

from __future__ import annotations

import re
from typing import Iterable

REDACTED = "[REDACTED]"

# Shapes a credential takes in an echoed request: the Authorization header, provider key prefixes,
# and key=value / "key": "value" pairs. Lengths are bounded, so every pattern runs in linear time.
_PATTERNS = (
    # the scheme as servers echo it; lower-case "basic"/"token" are too common in ordinary errors
    re.compile(r"\b(Bearer|bearer|BEARER|Basic)\s{1,8}[A-Za-z0-9._~+/=\-]{8,4096}"),
    re.compile(r"\b(sk|pk|rk|hf|gsk|xai)[-_][A-Za-z0-9._\-]{6,4096}"),
    re.compile(r"(?i)(api[_-]?key|access[_-]?token|authorization|x-api-key|password|secret)"
               r"(['\"]?\s{0,8}[:=]\s{0,8}['\"]?)[^\s'\",;}&]{1,4096}"),
)


def redact(text: str | None, secrets: Iterable[str | None] = ()) -> str | None:
    """``text`` with every known secret value and every credential-shaped token replaced by [REDACTED]."""
    if not text:
        return text
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[1].sub(REDACTED, text)
    return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
