"""Exact and near-duplicate removal, and decontamination against evaluation sets.

Exact dedup keeps one 64-bit hash per distinct normalized text, never the rows. Near dedup is
MinHash-LSH (datasketch) over character shingles; the first row of a cluster (input order, which
follows the profile's source order) is kept. Decontamination indexes word n-grams of the
evaluation sets and rejects a row when enough of its own n-grams occur there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import polars as pl

from pipelines.core.hashing import hash64, normalize_text

_PUNCT = re.compile(r"[^\w\s]+", re.U)


def dedup_key(text: str) -> int:
    return hash64(normalize_text(text))


def exact_duplicates(texts: Iterable[str], seen: set[int] | None = None) -> tuple[list[bool], list[int]]:
    """Flags (True = duplicate of an earlier text) and each text's key."""
    seen = set() if seen is None else seen
    flags, keys = [], []
    for t in texts:
        k = dedup_key(t)
        keys.append(k)
        flags.append(k in seen)
        seen.add(k)
    return flags, keys


def shingles(text: str, k: int = 5) -> set[bytes]:
    t = normalize_text(_PUNCT.sub(" ", text))
    t = re.sub(r"\s+", " ", t)
    if len(t) <= k:
        return {t.encode("utf-8")}
    return {t[i : i + k].encode("utf-8") for i in range(len(t) - k + 1)}


@dataclass(frozen=True)
class NearDedupConfig:
    threshold: float = 0.85
    num_perm: int = 128
    shingle_size: int = 5
    seed: int = 1


def near_duplicates(texts: Sequence[str], config: NearDedupConfig = NearDedupConfig()) -> list[str | None]:
    """For each text, the index (as str) of the earlier kept text it nearly duplicates, or None."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    sigs = MinHash.bulk([shingles(t, config.shingle_size) for t in texts], num_perm=config.num_perm, seed=config.seed)
    out: list[str | None] = []
    for i, sig in enumerate(sigs):
        match = None
        for cand in sorted(lsh.query(sig), key=int):  # sorted: the same match on every run
            other = sigs[int(cand)]
            if sig.jaccard(other) >= config.threshold:
                match = cand
                break
        out.append(match)
        if match is None:
            lsh.insert(str(i), sig)
    return out


def word_ngrams(text: str, n: int) -> list[int]:
    words = normalize_text(_PUNCT.sub(" ", text)).split()
    if len(words) < n:
        return [hash64(" ".join(words))] if words else []
    return [hash64(" ".join(words[i : i + n])) for i in range(len(words) - n + 1)]


@dataclass(frozen=True)
class DecontamConfig:
    ngram: int = 8
    min_overlap: float = 0.5  # share of a row's n-grams found in an evaluation set


class ContaminationIndex:
    """N-gram hashes of evaluation sets, each hash mapped to the set it came from."""

    def __init__(self, config: DecontamConfig = DecontamConfig()):
        self.config = config
        self._owner: dict[int, str] = {}
        self.sizes: dict[str, int] = {}

    def add(self, name: str, texts: Iterable[str]) -> None:
        count = 0
        for t in texts:
            if not t:
                continue
            count += 1
            for g in word_ngrams(t, self.config.ngram):
                self._owner.setdefault(g, name)
        self.sizes[name] = self.sizes.get(name, 0) + count

    def __len__(self) -> int:
        return len(self._owner)

    def match(self, text: str) -> tuple[float, str | None]:
        grams = word_ngrams(text, self.config.ngram)
        if not grams or not self._owner:
            return 0.0, None
        hits = [self._owner[g] for g in grams if g in self._owner]
        share = len(hits) / len(grams)
        if not hits:
            return 0.0, None
        names, counts = np.unique(hits, return_counts=True)
        return share, str(names[int(np.argmax(counts))])

    def flags(self, texts: Sequence[str]) -> tuple[list[bool], list[str | None]]:
        flags, details = [], []
        for t in texts:
            share, name = self.match(t)
            hit = name is not None and share >= self.config.min_overlap
            flags.append(hit)
            details.append(f"{share:.0%} of {self.config.ngram}-grams in {name}" if hit else None)
        return flags, details
