"""Stable identifiers: the same content gives the same id on every machine and run."""

from __future__ import annotations

import hashlib
import re
import unicodedata

import xxhash

_WS = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Unicode NFKC, lower case, whitespace collapsed: the form ids and exact dedup compare."""
    text = unicodedata.normalize("NFKC", text)
    return _WS.sub(" ", text).strip().lower()


def content_id(*parts: str, prefix: str = "") -> str:
    """A 16-hex-digit id from the normalized ``parts`` (SHA-256, truncated)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(normalize_text(part or "").encode("utf-8"))
        h.update(b"\x1f")
    return prefix + h.hexdigest()[:16]


def hash64(token: str) -> int:
    """A stable unsigned 64-bit hash (xxh3) for shingles and n-grams; Python's hash() is salted."""
    return xxhash.xxh3_64_intdigest(token.encode("utf-8"))


def file_sha256(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
