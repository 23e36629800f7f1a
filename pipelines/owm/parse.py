"""Reading the labeller's answers: the ``<count>`` of a behavior, yes/no flags, tagged sections.

Two count parsers side by side, because the anchor's parser is strict (``<count>(\\d+)</count>``)
while its own prompts show spaces inside the tags, so a well-meant ``<count> 2 </count>`` silently
read as "no count". The lenient parser accepts spaces, any case, a missing closing tag and
``<count>: 2``; both return ``None`` (``unparsed``) when no count is found — never 0, which would
mix "the model said zero" with "the model said something we could not read".

Every pattern is a single pass with no nested quantifiers (linear time), and replies are cut to
:data:`MAX_REPLY_CHARS` first so a runaway reply cannot cost more than that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_REPLY_CHARS = 20_000  # a count answer is a few hundred characters; the tail is where it ends

OK = "ok"
UNPARSED = "unparsed"

STRICT_COUNT = re.compile(r"<count>(\d+)</count>")
# "<count> 3 </count>", "< COUNT >3", "<count>: 3", "<count>3" (no closing tag); at most 9 digits
LENIENT_COUNT = re.compile(r"<\s*count\s*>[\s:=]{0,8}(\d{1,9})(?!\d)", re.IGNORECASE)
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedCount:
    count: int | None

    @property
    def status(self) -> str:
        return OK if self.count is not None else UNPARSED


def _cap(reply: str | None) -> str:
    if not reply:
        return ""
    return reply[-MAX_REPLY_CHARS:] if len(reply) > MAX_REPLY_CHARS else reply


def parse_count_strict(reply: str | None) -> ParsedCount:
    """The anchor's rule: the first ``<count>N</count>`` exactly as written, else unparsed."""
    m = STRICT_COUNT.search(_cap(reply))
    return ParsedCount(int(m.group(1)) if m else None)


def parse_count_lenient(reply: str | None) -> ParsedCount:
    """The last count tag, tolerating spaces, case, a colon and a missing closing tag.

    The last one, because a reply that restates the prompt's examples ends with its own answer.
    """
    last = None
    for m in LENIENT_COUNT.finditer(_cap(reply)):
        last = m
    return ParsedCount(int(last.group(1)) if last else None)


def tagged(reply: str | None, tag: str) -> str | None:
    """The text inside ``<tag>…</tag>`` (first occurrence, case-insensitive), stripped; else None.

    str.find rather than a regex over the whole reply: linear even on replies full of '<'.
    """
    text = reply or ""
    low = text.lower()
    open_tag, close_tag = f"<{tag.lower()}>", f"</{tag.lower()}>"
    start = low.find(open_tag)
    if start < 0:
        return None
    start += len(open_tag)
    end = low.find(close_tag, start)
    if end < 0:
        return None
    return text[start:end].strip()


def parse_yes_no(value: str | None) -> bool | None:
    """``yes``/``no`` (first word that is either) -> True/False; anything else -> None."""
    if not value:
        return None
    m = _YES_NO.search(value[:MAX_REPLY_CHARS])
    return None if m is None else m.group(1).lower() == "yes"
