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


from pipelines.core.hashing import hash64, normalize_text

_PUNCT = re.compile(r"[^\w\s]+", re.U)


def dedup_key(text: str) -> int:
    try:
        return hash64(normalize_text(text))
    except UnicodeEncodeError:  # a lone surrogate: hash its escaped form instead of failing the run
        return hash64(normalize_text(text.encode("utf-8", "backslashreplace").decode("utf-8")))


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
        return {t.encode("utf-8", "surrogatepass")}  # a lone surrogate (possible in a str) is not an error
    return {t[i : i + k].encode("utf-8", "surrogatepass") for i in range(len(t) - k + 1)}


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


def _words(text: str) -> list[str]:
    return normalize_text(_PUNCT.sub(" ", text)).split()


def word_ngrams(text: str, n: int) -> list[int]:
    words = _words(text)
    if len(words) < n:
        return [hash64(" ".join(words))] if words else []
    return [hash64(" ".join(words[i : i + n])) for i in range(len(words) - n + 1)]


@dataclass(frozen=True)
class DecontamConfig:
    ngram: int = 8
    # contaminated when this share of the row's n-grams, or of one evaluation item's n-grams,
    # is found in the other: catches copies with text added around them as well as trimmed ones
    min_overlap: float = 0.5
    min_short_words: int = 3  # evaluation items shorter than ``ngram`` words match as whole phrases
    max_items_per_gram: int = 64  # boilerplate n-grams shared by many items stop counting past this


class ContaminationIndex:
    """N-gram hashes of evaluation items; a row matches an item when enough n-grams overlap."""

    def __init__(self, config: DecontamConfig = DecontamConfig()):
        self.config = config
        self._items: dict[int, list[int]] = {}   # gram -> evaluation item numbers
        self._short: dict[int, set[int]] = {}    # word count -> hashes of whole short items
        self._short_item: dict[int, int] = {}    # short-item hash -> item number
        self._item_set: list[str] = []
        self._item_size: list[int] = []
        self.sizes: dict[str, int] = {}

    def add(self, name: str, texts: Iterable[str]) -> None:
        n = self.config.ngram
        count = 0
        for t in texts:
            if not t:
                continue
            words = _words(t)
            if not words:
                continue
            item = len(self._item_set)
            self._item_set.append(name)
            count += 1
            if len(words) < n:
                if len(words) >= self.config.min_short_words:
                    h = hash64(" ".join(words))
                    self._short.setdefault(len(words), set()).add(h)
                    self._short_item.setdefault(h, item)
                self._item_size.append(1)
                continue
            grams = set(word_ngrams(t, n))
            self._item_size.append(len(grams))
            for g in grams:
                owners = self._items.setdefault(g, [])
                if len(owners) < self.config.max_items_per_gram:
                    owners.append(item)
        self.sizes[name] = self.sizes.get(name, 0) + count

    def __len__(self) -> int:
        return len(self._item_set)

    def match(self, text: str) -> tuple[float, str | None]:
        """(overlap score, evaluation set of the best-matching item) for one row."""
        words = _words(text)
        for length, hashes in self._short.items():  # a short evaluation item inside the row
            for i in range(len(words) - length + 1):
                h = hash64(" ".join(words[i : i + length]))
                if h in hashes:
                    return 1.0, self._item_set[self._short_item[h]]
        grams = set(word_ngrams(text, self.config.ngram))
        if not grams or not self._items:
            return 0.0, None
        hits = 0
        per_item: dict[int, int] = {}
        for g in grams:
            owners = self._items.get(g)
            if owners:
                hits += 1
                for it in owners:
                    per_item[it] = per_item.get(it, 0) + 1
        if not hits:
            return 0.0, None
        best = max(per_item, key=lambda it: (per_item[it] / self._item_size[it], -it))
        score = max(hits / len(grams), per_item[best] / self._item_size[best])
        return score, self._item_set[best]

    def flags(self, texts: Sequence[str]) -> tuple[list[bool], list[str | None]]:
        flags, details = [], []
        for t in texts:
            score, name = self.match(t)
            hit = name is not None and score >= self.config.min_overlap
            flags.append(hit)
            details.append(f"{score:.0%} {self.config.ngram}-gram overlap with {name}" if hit else None)
        return flags, details
