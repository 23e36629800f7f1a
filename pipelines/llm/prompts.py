"""Prompts as files: ``prompts/<family>/<name>.md`` = YAML front matter + a Jinja2 template.

Front matter keys: ``name``, ``version`` (bump it when the meaning changes), ``params`` (sampling
parameters passed to the model: temperature, max_tokens, top_p, seed, ...), optional ``system``
(the system message). The body is the user message, rendered with ``StrictUndefined`` so a
missing variable is an error at render time, not a silently empty prompt. ``hash`` is the
SHA-256 of the whole file (front matter + body): any edit changes it, and every output row
records name, version and hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


class PromptError(ValueError):
    """A prompt file is missing, has no front matter, or lacks a required key."""


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    template: str
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    hash: str = ""
    path: str = ""

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    def render(self, **variables) -> list[dict[str, str]]:
        """The chat messages for ``variables``."""
        messages = []
        if self.system:
            messages.append({"role": "system", "content": _ENV.from_string(self.system).render(**variables).strip()})
        messages.append({"role": "user", "content": _ENV.from_string(self.template).render(**variables).strip()})
        return messages

    def provenance(self) -> dict[str, str]:
        return {"prompt_name": self.name, "prompt_version": self.version, "prompt_hash": self.short_hash}


def parse_prompt(text: str, path: str = "<string>") -> Prompt:
    if not text.startswith("---"):
        raise PromptError(f"{path}: a prompt file starts with '---' front matter (name, version, params)")
    try:
        _, front, body = text.split("---", 2)
    except ValueError:
        raise PromptError(f"{path}: front matter is not closed by a second '---' line") from None
    try:
        meta = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: front matter is not valid YAML ({exc})") from exc
    for key in ("name", "version"):
        if key not in meta:
            raise PromptError(f"{path}: front matter lacks {key!r}")
    params = meta.get("params") or {}
    if not isinstance(params, dict):
        raise PromptError(f"{path}: 'params' must be a mapping (temperature: 0, max_tokens: 512, ...)")
    return Prompt(name=str(meta["name"]), version=str(meta["version"]), template=body.strip(),
                  system=meta.get("system"), params=dict(params),
                  hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), path=path)


def load_prompt(name: str, prompts_dir: str | Path | None = None) -> Prompt:
    """``load_prompt("bigmath/reformulate")`` reads ``prompts/bigmath/reformulate.md``."""
    base = Path(prompts_dir) if prompts_dir else PROMPTS_DIR
    path = base / name if name.endswith((".md", ".jinja")) else base / f"{name}.md"
    if not path.exists():
        raise PromptError(f"{path}: no such prompt file")
    return parse_prompt(path.read_text(encoding="utf-8"), str(path))
