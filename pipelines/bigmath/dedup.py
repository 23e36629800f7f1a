"""Exact and near-duplicate removal, and decontamination against evaluation sets.

Exact dedup keeps one 64-bit hash per distinct normalized text, never the rows. Near dedup is
MinHash-LSH (datasketch) over character shingles; the first row of a cluster (input order, which
follows the profile's source order) is kept. Decontamination indexes word n-grams of the
evaluation sets and rejects a row when enough of its own n-grams occur there.
"""

from __future__ import annotations

import hashlib
import re
from itertools import chain
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Sequence

import numpy as np
import polars as pl
import xxhash

from pipelines.core.hashing import hash64, normalize_text

_PUNCT = re.compile(r"[^\w\s]+", re.U)


def dedup_key(text: str) -> int:
    try:
        return hash64(normalize_text(text))
    except UnicodeEncodeError:  # a lone surrogate: hash its escaped form instead of failing the run
        return hash64(normalize_text(text.encode("utf-8", "backslashreplace").decode("utf-8")))


def dedup_keys(texts: Iterable[str]) -> list[int]:
    r""":func:`dedup_key` of every text. ASCII texts (most) skip the regular expression: on ASCII,
    NFKC changes nothing and ``\s+`` collapsed + ``strip`` is ``" ".join(str.split())`` (the
    same whitespace characters, \x1c-\x1f included), so the hashed string is the same (and
    ``xxh3_64_intdigest`` of its bytes is :func:`hash64`)."""
    h = xxhash.xxh3_64_intdigest
    return [h(" ".join(t.split()).lower().encode("ascii")) if t.isascii() else dedup_key(t) for t in texts]


def exact_duplicates(texts: Iterable[str], seen: set[int] | None = None) -> tuple[list[bool], list[int]]:
    """Flags (True = duplicate of an earlier text) and each text's key."""
    seen = set() if seen is None else seen
    keys = dedup_keys(texts)
    flags = []
    for k in keys:
        flags.append(k in seen)
        seen.add(k)
    return flags, keys


def shingles(text: str, k: int = 5) -> set[bytes]:
    # a lone surrogate (possible in a str) is not an error
    return {s.encode("utf-8", "surrogatepass") for s in shingle_strs(text, k)}


_SPACES = re.compile(r"\s+")


# on ASCII, _PUNCT's class [^\w\s] is exactly these bytes (re's str classes restricted to ASCII)
_ASCII_PUNCT_TO_SPACE = bytes(32 if re.match(r"[^\w\s]", chr(i)) else i for i in range(128)) + bytes(range(128, 256))


def normalized_many(texts: Sequence[str]) -> list[str]:
    r"""``normalize_text(_PUNCT.sub(" ", t))`` for every text (what shingles and n-grams are cut
    from). ASCII texts (most) take a shortcut that gives the same string: on ASCII, NFKC changes
    nothing, ``_PUNCT`` is a byte translation to spaces, and ``\s+`` collapsed + ``strip`` is
    ``" ".join(str.split())`` (the same ASCII whitespace, \x1c-\x1f included), done for the
    ASCII texts of a batch at once (:func:`_normalized_ascii`); other texts go through Python's
    ``re`` and ``unicodedata`` as before."""
    is_ascii = [t.isascii() for t in texts]
    ascii_texts = [t for t, a in zip(texts, is_ascii) if a]
    done: list[str] = []
    # chunks of about _NORM_CHUNK characters (at least one text each): the byte arrays stay small
    ends = np.cumsum(np.fromiter(map(len, ascii_texts), dtype=np.int64, count=len(ascii_texts)) + 1)
    lo = 0
    while lo < len(ascii_texts):
        start = int(ends[lo - 1]) if lo else 0
        hi = min(int(np.searchsorted(ends, start + _NORM_CHUNK)) + 1, len(ascii_texts))  # (the text reaching the bound too)
        part = ascii_texts[lo:hi]
        batch = _normalized_ascii(part)
        done += batch if batch is not None else [_normalized_one_ascii(t) for t in part]
        lo = hi
    out = iter(done)
    return [next(out) if a else normalize_text(_PUNCT.sub(" ", t)) for t, a in zip(texts, is_ascii)]


_NORM_CHUNK = 1 << 22
# ASCII whitespace for str.split() (\x1c-\x1f included) also becomes a space in the batch path
_ASCII_TO_SPACE = bytes(32 if chr(i).isspace() else b for i, b in enumerate(_ASCII_PUNCT_TO_SPACE[:128])) + bytes(range(128, 256))
# separators for the batch path: characters normalization turns into a space anyway, so one that
# no text of the batch contains can stand between texts without changing any of them
_SEPARATORS = [c for c in range(128) if _ASCII_TO_SPACE[c] == 32 and c != 32]


def _normalized_one_ascii(t: str) -> str:
    return " ".join(t.encode("ascii").translate(_ASCII_PUNCT_TO_SPACE).decode("ascii").lower().split())


def _normalized_ascii(texts: list[str]) -> list[str] | None:
    """:func:`_normalized_one_ascii` of every (ASCII) text, in one pass over their bytes: the
    texts joined by a separator byte none of them contains, punctuation and whitespace translated
    to spaces (the separator kept), lower-cased, then two numpy compactions: a space after a space,
    a separator or the start goes (runs become one space, none leads a text), then a space before a
    separator or the end goes (none trails). ``None`` if every separator occurs in the texts."""
    if not texts:
        return []
    for sep in _SEPARATORS:  # (the first, NUL, is in no text but a hostile one)
        joined = chr(sep).join(texts)
        if joined.count(chr(sep)) == len(texts) - 1:
            break
    else:
        return None
    table = _ASCII_TO_SPACE[:sep] + bytes([sep]) + _ASCII_TO_SPACE[sep + 1 :]
    b = np.frombuffer(joined.encode("ascii").translate(table).lower(), dtype=np.uint8)
    if not len(b):
        return [""] * len(texts)
    space = b == 32
    after = np.empty_like(space)
    after[0] = True
    np.logical_or(space[:-1], b[:-1] == sep, out=after[1:])
    b = b[~(space & after)]
    if len(b):
        space = b == 32
        before = np.empty_like(space)
        before[-1] = True
        np.equal(b[1:], sep, out=before[:-1])
        b = b[~(space & before)]
    return b.tobytes().decode("ascii").split(chr(sep))


class NormalizedMemo:
    """:func:`normalized_many` that remembers one batch for a later step of the same run:
    decontamination normalizes every row, near dedup the survivors, the same strings (the
    normalization is a pure function of the text, so a remembered string is the one it would
    compute). Only the last batch :meth:`remember` saw is kept, and :meth:`recall` empties it:
    memory stays one batch's strings, and nothing outlives the steps that share the memo
    (``build_steps`` makes one per run)."""

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}

    def remember(self, texts: Sequence[str]) -> list[str]:
        """:func:`normalized_many` of ``texts``, kept (in place of any earlier batch)."""
        norm = normalized_many(texts)
        self._memo = dict(zip(texts, norm))
        return norm

    def recall(self, texts: Sequence[str]) -> list[str]:
        """:func:`normalized_many` of ``texts``, taken from the remembered batch where it has them
        (the memo is emptied: each batch is recalled once)."""
        memo, self._memo = self._memo, {}
        if not memo:
            return normalized_many(texts)
        out = list(map(memo.get, texts))
        missing = [i for i, o in enumerate(out) if o is None]
        if missing:
            for i, o in zip(missing, normalized_many([texts[i] for i in missing])):
                out[i] = o
        return out


def _shingle_text(text: str) -> str:
    """The text shingles are cut from: punctuation to spaces, NFKC, lower case, whitespace collapsed."""
    return _SPACES.sub(" ", normalize_text(_PUNCT.sub(" ", text)))


def shingle_strs(text: str, k: int = 5) -> set[str]:
    """The character k-grams :func:`shingles` encodes (encoding is one-to-one: the same sets)."""
    t = _shingle_text(text)
    if len(t) <= k:
        return {t}
    return {t[i : i + k] for i in range(len(t) - k + 1)}


@dataclass(frozen=True)
class NearDedupConfig:
    threshold: float = 0.85
    num_perm: int = 128
    shingle_size: int = 5
    seed: int = 1


def near_duplicates(texts: Sequence[str], config: NearDedupConfig = NearDedupConfig(),
                    normalized: Sequence[str] | None = None) -> list[str | None]:
    """For each text, the index (as str) of the earlier kept text it nearly duplicates, or None.

    The same decisions as datasketch's ``MinHash`` + ``MinHashLSH`` (same hash family, same
    permutations, same bands), computed for all texts at once: each distinct shingle is hashed
    once (SHA-1, datasketch's default), the permutations are one numpy pass over all shingle
    hashes, the LSH bands are plain dicts. ``tests/pipelines/bigmath/test_dedup.py`` compares the
    signatures with datasketch's own. ``normalized``: :func:`normalized_many` of ``texts``, when
    the caller has it already.
    """
    if not texts:
        return []
    return near_duplicates_of_signatures(text_signatures(texts, config, normalized), config)


@lru_cache(maxsize=16)
def _lsh_ranges(threshold: float, num_perm: int) -> tuple[tuple[int, int], ...]:
    from datasketch import MinHashLSH

    return tuple((int(a), int(b)) for a, b in MinHashLSH(threshold=threshold, num_perm=num_perm).hashranges)


def lsh_ranges(config: NearDedupConfig = NearDedupConfig()) -> tuple[tuple[int, int], ...]:
    """datasketch's ``MinHashLSH(threshold, num_perm).hashranges`` (the bands), computed once per
    process: datasketch derives them by numerical integration (tens of milliseconds)."""
    return _lsh_ranges(config.threshold, config.num_perm)


def band_ids(sigs: np.ndarray, config: NearDedupConfig = NearDedupConfig()) -> np.ndarray:
    """For each row and LSH band (datasketch's ``MinHashLSH.hashranges``), a small integer that is
    equal for two rows exactly when they are in the same band with equal band values; the
    integers of all bands together are 0..(number of distinct keys - 1)."""
    ranges = lsh_ranges(config)
    sigs = np.ascontiguousarray(sigs)
    ids = np.empty((len(sigs), len(ranges)), dtype=np.int64)
    width = ranges[0][1] - ranges[0][0] if ranges else 0
    folds = None
    if ranges and all(a == j * width and b == a + width for j, (a, b) in enumerate(ranges)):
        # bands of one width side by side (datasketch's): every band's fold at once, column by column
        bands = sigs[:, : len(ranges) * width].reshape(len(sigs), len(ranges), width)
        with np.errstate(over="ignore"):  # wrap-around is the modulo 2**64
            folds = np.zeros((len(sigs), len(ranges)), dtype=np.uint64)
            for c in range(width):
                folds = _fmix64((folds ^ bands[:, :, c].astype(np.uint64)) * _GOLDEN)
    offset = 0
    for j, (a, b) in enumerate(ranges):
        inverse, count = _row_ids(np.ascontiguousarray(sigs[:, a:b]), None if folds is None else folds[:, j])
        ids[:, j] = inverse + offset  # one key space for all bands
        offset += count
    return ids


def _row_fold(band: np.ndarray) -> np.ndarray:
    """Each row of ``band`` folded to one 64-bit value (equal rows, equal values)."""
    with np.errstate(over="ignore"):  # wrap-around is the modulo 2**64
        h = np.zeros(len(band), dtype=np.uint64)
        for col in band.T:
            h = _fmix64((h ^ col.astype(np.uint64)) * _GOLDEN)
    return h


def _row_ids(band: np.ndarray, h: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(id of each row, number of ids): equal ids exactly for equal rows. The rows are folded to
    one 64-bit value each (``h``: :func:`_row_fold` of ``band``, when the caller has it) and those
    are made unique; every row is then compared with its group's first row, and only if some fold
    collided (two different rows, one value) are the rows themselves sorted (``np.unique`` over
    whole rows): exact either way."""
    h = _row_fold(band) if h is None else h
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if (band == band[first[inverse]]).all():
        return inverse, len(first)
    rows = band.view(np.dtype((np.void, band.shape[1] * band.dtype.itemsize))).ravel()
    _, inverse = np.unique(rows, return_inverse=True)
    inverse = inverse.ravel()
    return inverse, int(inverse.max(initial=-1)) + 1


def near_duplicates_of_signatures(sigs: np.ndarray, config: NearDedupConfig = NearDedupConfig()) -> list[str | None]:
    """:func:`near_duplicates` from the rows' MinHash signatures: datasketch's LSH query then insert,
    row by row in input order, with the band keys as integers (:func:`band_ids`).

    A shortcut decides most rows without a lookup: the earliest row ``e`` sharing a band key with
    row ``i`` is, when it was inserted (it matched nothing), the smallest of ``i``'s candidates,
    so the query tries it first; if it passes the threshold it is the match. That test is one
    vectorized comparison for all rows; the rows it does not decide take the lookups."""
    if not len(sigs):
        return []
    n = len(sigs)
    keys = band_ids(sigs, config)
    flat = keys.ravel()
    # a band key no other row has can never bring a candidate: rows with only such keys skip the lookups
    shared = np.flatnonzero((np.bincount(flat)[keys] > 1).any(axis=1))
    # datasketch's MinHash.jaccard is (equal hash values) / num_perm >= threshold: the same test as a
    # count of at least ``need`` (the smallest count that passes, found with that very float test)
    need = next((c for c in range(config.num_perm + 1) if float(c) / float(config.num_perm) >= config.threshold),
                config.num_perm + 1)
    first_row = np.full(int(flat.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first_row, flat, np.repeat(np.arange(n), keys.shape[1]))
    earlier = first_row[keys[shared]]
    earlier[earlier >= shared[:, None]] = n  # (the row itself, or none before it)
    earliest = earlier.min(axis=1)  # per shared row: the earliest other row before it with one of its keys
    has = earliest < n
    passes = np.zeros(len(shared), dtype=bool)
    pairs = np.flatnonzero(has)
    for lo in range(0, len(pairs), 16384):  # (in chunks: two gathered signature blocks stay small)
        part = pairs[lo : lo + 16384]
        passes[part] = np.count_nonzero(sigs[shared[part]] == sigs[earliest[part]], axis=1) >= need
    # the LSH table as chains in flat int lists (no list per key: few objects for the garbage
    # collector to walk on a large heap): head[key] is the last slot inserted under a key, slot
    # j * bands + band belongs to the j-th shared row, and nxt[slot] is the slot inserted before it
    bands = keys.shape[1]
    head = [-1] * (int(flat.max()) + 1)
    nxt = [-1] * (len(shared) * bands)
    rows_of = shared.tolist()
    inserted = [False] * n
    out: list[str | None] = [None] * n
    shared_keys = keys[shared].ravel().tolist()
    for j, (i, e, ok) in enumerate(zip(rows_of, earliest.tolist(), passes.tolist())):
        if ok and inserted[e]:  # the shortcut: the first candidate the query would try, and it passes
            out[i] = str(e)
            continue
        row_keys = shared_keys[j * bands : (j + 1) * bands]
        cands: set[int] = set()
        for key in row_keys:
            slot = head[key]
            while slot >= 0:
                cands.add(rows_of[slot // bands])
                slot = nxt[slot]
        match = None
        sig = sigs[i]
        for c in sorted(cands):  # sorted: the same match on every run
            if np.count_nonzero(sig == sigs[c]) >= need:
                match = c
                break
        if match is None:
            inserted[i] = True
            for b, key in enumerate(row_keys):
                slot = j * bands + b
                nxt[slot] = head[key]
                head[key] = slot
        else:
            out[i] = str(match)
    return out


def _utf8(shingle: str | bytes) -> bytes:
    return shingle.encode("utf-8", "surrogatepass") if isinstance(shingle, str) else shingle


def minhash_signatures(sets: Sequence[set[str] | set[bytes]], config: NearDedupConfig = NearDedupConfig()) -> np.ndarray:
    """One row per set: datasketch's ``MinHash(num_perm, seed).update_batch(set).hashvalues``
    (``str`` members stand for their UTF-8 encoding, lone surrogates passed through)."""
    from datasketch import MinHash

    template = MinHash(num_perm=config.num_perm, seed=config.seed)
    scheme = getattr(template, "scheme", "legacy")
    if scheme not in ("legacy", "affine32", "affine64") or any(not s for s in sets):
        # a scheme this code does not know (or an empty set): datasketch itself, one set at a time
        sets = [{_utf8(x) for x in s} for s in sets]
        return np.vstack([m.hashvalues for m in MinHash.bulk(sets, num_perm=config.num_perm, seed=config.seed)])
    distinct = list(set().union(*sets))  # each shingle hashed once, however many texts share it
    position = dict(zip(distinct, range(len(distinct))))
    hashes = _sha1_32(distinct)
    lengths = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
    flat = np.fromiter(map(position.__getitem__, chain.from_iterable(sets)), dtype=np.int64, count=int(lengths.sum()))
    return _min_permuted(hashes[flat], lengths, template, scheme, config)


def _sha1_32(shingles: Sequence[str | bytes]) -> np.ndarray:
    """datasketch's default hash (``sha1_hash32``: the first 4 bytes of SHA-1, little-endian) of each shingle."""
    return np.frombuffer(b"".join([hashlib.sha1(_utf8(sh)).digest()[:4] for sh in shingles]), dtype="<u4")


_SHA1_CHUNK = 65536
_SHA1_H0 = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
_SHA1_K = tuple(np.uint32(k) for k in (0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6))


def _sha1_32_blocks(block: np.ndarray) -> np.ndarray:
    """:func:`_sha1_32` of messages given as their one padded 64-byte SHA-1 block each (an
    ``(n, 64)`` uint8 array; messages of at most 55 bytes fit in one block): FIPS 180-4's 80
    rounds run once over all n messages as numpy uint32 columns (wrap-around is the modulo 2**32)."""
    n = len(block)
    w = list(np.ascontiguousarray(block.view(">u4").astype(np.uint32).T))  # the 16 message words, each a column
    a, b, c, d, e = (np.full(n, h, dtype=np.uint32) for h in _SHA1_H0)
    f, tmp = np.empty(n, dtype=np.uint32), np.empty(n, dtype=np.uint32)
    for t in range(80):
        x = w[t % 16]
        if t >= 16:  # the message schedule, in place over a ring of 16 words: rotl1(w[t-3]^w[t-8]^w[t-14]^w[t-16])
            x ^= w[(t - 3) % 16]
            x ^= w[(t - 8) % 16]
            x ^= w[(t - 14) % 16]
            np.right_shift(x, 31, out=tmp)
            x <<= 1
            x |= tmp
        if t < 20:  # Ch(b, c, d)
            np.bitwise_xor(c, d, out=f)
            f &= b
            f ^= d
        elif 40 <= t < 60:  # Maj(b, c, d)
            np.bitwise_or(b, c, out=f)
            f &= d
            np.bitwise_and(b, c, out=tmp)
            f |= tmp
        else:  # Parity
            np.bitwise_xor(b, c, out=f)
            f ^= d
        # the new a = rotl5(a) + f + e + K + w[t], built in e's array (e is not needed after this round)
        e += f
        e += x
        e += _SHA1_K[t // 20]
        np.left_shift(a, 5, out=tmp)
        e += tmp
        np.right_shift(a, 27, out=tmp)
        e += tmp
        np.right_shift(b, 2, out=tmp)  # b becomes rotl30(b)
        b <<= 30
        b |= tmp
        a, b, c, d, e = e, a, b, c, d
    a += np.uint32(_SHA1_H0[0])
    return a.byteswap()  # digest bytes 0-3 are H0 big-endian; sha1_hash32 reads them little-endian


def _sha1_32_windows(chars: np.ndarray, starts: np.ndarray, k: int, joined: str,
                     code_points: np.ndarray | None = None) -> np.ndarray:
    """:func:`_sha1_32` of the k-grams ``joined[p : p + k]`` for p in ``starts`` (``chars``: the code
    points of ``joined``, or their byte numbers when ``code_points`` maps each number to its code
    point). Each k-gram's UTF-8 bytes (surrogatepass: a lone surrogate is 3 bytes
    like any other BMP code point) are laid out in one padded block and hashed by
    :func:`_sha1_32_blocks`; a k-gram longer than 55 bytes (k > 13 only) goes through hashlib.
    Chunks of 64k k-grams at a time: the blocks and round arrays stay a few MB on any input."""
    if len(starts) > _SHA1_CHUNK:
        return np.concatenate([_sha1_32_windows(chars, starts[lo : lo + _SHA1_CHUNK], k, joined, code_points)
                               for lo in range(0, len(starts), _SHA1_CHUNK)])
    n = len(starts)
    if not n:
        return np.empty(0, dtype=np.uint32)
    cps = chars[starts[:, None] + np.arange(k)]  # (n, k) code points
    if code_points is not None:
        cps = code_points[cps]
    block = np.zeros((n, 64), dtype=np.uint8)
    size = np.full(n, k, dtype=np.int64)
    wide = np.flatnonzero(cps.max(axis=1) >= 0x80) if k <= 55 else np.arange(n)
    if k <= 55:  # ASCII k-grams (most): one byte per character
        block[:, :k] = cps
    if len(wide):
        cps = cps[wide]
        nbytes = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
        lead = np.select([nbytes == 1, nbytes == 2, nbytes == 3], [cps, 0xC0 | (cps >> 6), 0xE0 | (cps >> 12)],
                         0xF0 | (cps >> 18))
        # byte j of a character: the lead byte, then continuation bytes of 6 bits each (high to low)
        parts = [lead] + [0x80 | ((cps >> (6 * np.maximum(nbytes - 1 - j, 0))) & 0x3F) for j in range(1, 4)]
        size[wide] = nbytes.sum(axis=1)
        offset = np.cumsum(nbytes, axis=1) - nbytes
        fits = size[wide] <= 55  # (a longer k-gram's bytes are not laid out: hashlib hashes it below)
        sub = np.zeros((len(wide), 64), dtype=np.uint8)
        rows = np.broadcast_to(np.arange(len(wide))[:, None], cps.shape)
        for j, part in enumerate(parts):
            sel = (j < nbytes) & fits[:, None]
            sub[rows[sel], offset[sel] + j] = part[sel]
        block[wide] = sub
    fits = size <= 55
    block[np.arange(n), np.where(fits, size, 0)] = 0x80
    bits = size * 8
    block[:, 62] = bits >> 8
    block[:, 63] = bits & 0xFF
    out = _sha1_32_blocks(block)
    long = np.flatnonzero(~fits)
    if len(long):  # (their blocks above were placeholders)
        out[long] = _sha1_32([joined[p : p + k] for p in starts[long].tolist()])
    return out


def _premixed(hashes: np.ndarray, scheme: str) -> np.ndarray:
    """The shingle hashes as datasketch feeds them to the permutations: widened (legacy), or
    through its MurmurHash3 pre-mix (affine schemes). Element-wise, so it can run on distinct
    shingles before their hashes are spread to every window."""
    if scheme == "legacy":
        return hashes.astype(np.uint64)
    from datasketch.minhash import _SCHEME_DTYPES, _SCHEME_WIDTHS, _fmix

    return _fmix(hashes.astype(_SCHEME_DTYPES[scheme]), _SCHEME_WIDTHS[scheme])


def _min_permuted(hashes: np.ndarray, lengths: np.ndarray, template, scheme: str, config: NearDedupConfig,
                  premixed: bool = False) -> np.ndarray:
    """Row i of the result: datasketch's hash values after ``update`` with the ``lengths[i]`` shingle
    hashes that follow row i-1's in ``hashes`` (every length >= 1; ``premixed``: already through
    :func:`_premixed`)."""
    a, b = template.permutations
    if scheme == "legacy":
        from datasketch.minhash import _max_hash, _mersenne_prime
    hv = hashes if premixed else _premixed(hashes, scheme)
    a, b = a[:, None], b[:, None]
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    ends = starts + lengths
    out = np.empty((len(lengths), config.num_perm), dtype=template.hashvalues.dtype)
    # documents in blocks of about 16k shingles: the (permutations x shingles) matrix stays small and
    # is one buffer reused block after block; the shingles run along the contiguous axis, so the
    # per-document minimum is a contiguous reduceat
    buf = np.empty((config.num_perm, _BLOCK), dtype=out.dtype)
    doc, n = 0, len(lengths)
    while doc < n:
        end = max(int(np.searchsorted(ends, starts[doc] + _BLOCK, side="right")), doc + 1)
        lo, hi = int(starts[doc]), int(ends[end - 1])
        if hi - lo > buf.shape[1]:  # one document longer than a block
            buf = np.empty((config.num_perm, hi - lo), dtype=out.dtype)
        phv = buf[:, : hi - lo]
        with np.errstate(over="ignore"):  # wrap-around is the modulo, as in datasketch
            np.multiply(a, hv[None, lo:hi], out=phv)
            phv += b
            if scheme == "legacy":
                np.remainder(phv, _mersenne_prime, out=phv)
                np.bitwise_and(phv, _max_hash, out=phv)
        mins = np.minimum.reduceat(phv, starts[doc:end] - lo, axis=1).T
        np.minimum(template.hashvalues, mins, out=out[doc:end])
        doc = end
    return out


_BLOCK = 16384


def text_signatures(texts: Sequence[str], config: NearDedupConfig = NearDedupConfig(),
                    normalized: Sequence[str] | None = None) -> np.ndarray:
    """``minhash_signatures([shingle_strs(t, k) for t in texts])`` without a Python set per text:
    the k-grams of all texts are cut at once as integers (each character numbered among the
    distinct characters of the batch, k of them packed exactly into one uint64, so two k-grams get
    the same integer only when they are the same string), each distinct k-gram is SHA-1-hashed
    once, and the permutations run over the windows of every text (repeats inside a text do not
    change a minimum). Falls back to the set path where the packing would not be exact (more than
    ``2**(64/k)`` distinct characters in the batch) or for a scheme it does not know.
    ``normalized``: :func:`normalized_many` of ``texts``, when the caller has it already."""
    from datasketch import MinHash

    k = config.shingle_size
    template = MinHash(num_perm=config.num_perm, seed=config.seed)
    scheme = getattr(template, "scheme", "legacy")
    # (normalize_text leaves single spaces, nothing to strip: _shingle_text's _SPACES pass changes nothing)
    norm = normalized_many(texts) if normalized is None else list(normalized)
    joined = "".join(norm)
    lengths = np.fromiter(map(len, norm), dtype=np.int64, count=len(norm))
    known = scheme in ("legacy", "affine32", "affine64") and len(texts)
    is_ascii = [t.isascii() for t in norm] if known and k <= 8 else []
    wide = sorted(set().union(*(t for t, a in zip(norm, is_ascii) if not a))) if is_ascii else []
    if is_ascii and len(wide) <= 128:
        # one byte per character without numbering the whole batch: ASCII characters (most) are
        # their own byte, the batch's other characters (at most 128) bytes 128, 129, ... in code
        # point order, mapped in the texts that have them only; a k-gram's key is its k bytes read
        # as one little-endian uint64 (an unaligned 8-byte read at every position, the bytes past
        # the k-th masked off)
        to_byte = {ord(c): 128 + i for i, c in enumerate(wide)}
        mapped = "".join([t if a else t.translate(to_byte) for t, a in zip(norm, is_ascii)]) if wide else joined
        padded = np.frombuffer(mapped.encode("latin-1") + bytes(8), dtype=np.uint8)
        chars = padded[: len(joined)]
        m = max(len(chars) - k + 1, 0)
        keys = np.ndarray((m,), dtype="<u8", buffer=padded, strides=(1,)) & np.uint64((1 << (8 * k)) - 1)
        code_points = np.concatenate((np.arange(128), np.array([ord(c) for c in wide], dtype=np.int64)))
        return _signatures_of_keys(keys, chars, norm, joined, lengths, template, scheme, config, code_points)
    # UTF-32 gives one code unit per str character (a lone surrogate too): positions match ``joined``
    chars = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    present = np.zeros(int(chars.max(initial=0)) + 1, dtype=bool)  # the batch's alphabet, numbered in code point order
    present[chars] = True
    size = int(np.count_nonzero(present))
    if not known or size ** k > 2**64:
        return minhash_signatures([shingle_strs(t, k) for t in texts], config)
    number = np.cumsum(present, dtype=np.int64) - 1  # code point -> its number in the alphabet
    m = max(len(chars) - k + 1, 0)
    if size <= 256 and k <= 8:
        # one byte per character: a k-gram's key is its k bytes read as one little-endian uint64
        # (an unaligned 8-byte read at every position, the bytes past the k-th masked off)
        padded = np.zeros(len(chars) + 8, dtype=np.uint8)
        np.take(number.astype(np.uint8), chars, out=padded[: len(chars)])
        keys = np.ndarray((m,), dtype="<u8", buffer=padded, strides=(1,)) & np.uint64((1 << (8 * k)) - 1)
    else:
        code = number.astype(np.uint64)[chars]
        base = np.uint64(size)
        keys = code[:m].copy()
        with np.errstate(over="ignore"):  # never reached: len(alphabet) ** k <= 2**64
            for j in range(1, k):
                keys *= base
                keys += code[j : j + m]
    return _signatures_of_keys(keys, chars, norm, joined, lengths, template, scheme, config)


def _signatures_of_keys(keys: np.ndarray, chars: np.ndarray, norm: list[str], joined: str, lengths: np.ndarray,
                        template, scheme: str, config: NearDedupConfig,
                        code_points: np.ndarray | None = None) -> np.ndarray:
    """:func:`text_signatures` from the exact key of the k-gram at every position of ``joined``
    (``chars``: its code points, or their byte numbers with ``code_points``, see
    :func:`_sha1_32_windows`; ``norm``: the texts it joins, ``lengths`` theirs)."""
    k = config.shingle_size
    m = len(keys)
    ends = np.cumsum(lengths)
    windows = np.maximum(lengths - k + 1, 0)  # k-grams inside each text (a text of length k has one)
    short = lengths < k  # shorter texts are one shingle: the whole text
    # start positions of every window, text by text: all positions but the last k - 1 of each text
    # (the windows that would run into the next text; all of a text shorter than k)
    valid = np.ones(m, dtype=bool)
    tail = (ends[:, None] - np.arange(1, k)).ravel()
    valid[tail[(tail >= np.repeat(ends - lengths, k - 1)) & (tail < m)]] = False
    pos = np.flatnonzero(valid)
    # each distinct k-gram once (hash-based, first occurrences), then its hash mapped back to every window
    at = keys[pos]
    window_keys = pl.Series(at, dtype=pl.UInt64)
    first = window_keys.arg_unique().to_numpy()
    distinct_hash = _premixed(_sha1_32_windows(chars, pos[first], k, joined, code_points), scheme)  # (pre-mixed once per k-gram)
    ids = _positions_in(at, at[first])
    if ids is not None:
        hashes = distinct_hash[ids]
    else:  # (probing ran long: Polars' hash map instead, the same hashes)
        dtype = pl.UInt32 if distinct_hash.dtype == np.uint32 else pl.UInt64
        hashes = window_keys.replace_strict(window_keys.gather(first), pl.Series(distinct_hash, dtype=dtype),
                                            return_dtype=dtype).to_numpy()
    per_doc = np.where(short, 1, windows)
    if short.any():  # the whole text of each short one goes in at its place
        slot = np.concatenate(([0], np.cumsum(per_doc)[:-1]))[short]
        hashes = np.insert(hashes, slot - np.arange(len(slot)),
                           _premixed(_sha1_32([norm[i] for i in np.flatnonzero(short).tolist()]), scheme))
    return _min_permuted(hashes, per_doc, template, scheme, config, premixed=True)


_MAX_PROBE = 32


def _positions_in(keys: np.ndarray, distinct: np.ndarray) -> np.ndarray | None:
    """For each of ``keys`` (uint64), its position in ``distinct`` (each key of ``keys`` once):
    an open-addressing table (linear probing, multiplicative hash, at most a quarter full) built
    and probed with whole-array numpy steps, one step per probe distance. Exact (every hit is
    checked against the key itself). ``None`` when some key would sit more than ``_MAX_PROBE``
    slots from its home (keys made to collide): the caller then maps them another way, so the
    work stays linear on any input."""
    n = len(distinct)
    bits = max((4 * n).bit_length(), 4)
    mask = np.int64((1 << bits) - 1)
    shift = np.uint64(64 - bits)
    with np.errstate(over="ignore"):  # wrap-around is the modulo 2**64
        home = ((distinct * _GOLDEN) >> shift).view(np.int64)
    table = np.full(1 << bits, -1, dtype=np.int64)
    pending = np.arange(n, dtype=np.int64)
    # round r: every key not placed yet tries the slot r after its home; of keys trying one free
    # slot, one is written last and wins; the others (and those finding it taken) go on to r + 1.
    # No slot is ever emptied, so the slots between a key's home and its own are all taken.
    # Written in reverse, so the earliest key wins a slot: keys come in order of first occurrence,
    # and a frequent k-gram (most lookups) tends to occur early and so sits at its home slot.
    for far in range(_MAX_PROBE):
        slot = (home[pending] + far) & mask
        free = table[slot] < 0
        cand, slot = pending[free], slot[free]
        table[slot[::-1]] = cand[::-1]
        won = table[slot] == cand
        pending = np.concatenate((pending[~free], cand[~won]))
        if not len(pending):
            break
    else:
        return None
    table = table.astype(np.int32) if n < 2**31 else table  # (half the bytes to gather)
    out = np.empty(len(keys), dtype=table.dtype)
    # in chunks: the hashed keys and the comparisons stay in cache, no array as long as ``keys``
    # but the result
    for lo in range(0, len(keys), _LOOKUP_CHUNK):
        part = keys[lo : lo + _LOOKUP_CHUNK]
        with np.errstate(over="ignore"):
            where = np.multiply(part, _GOLDEN)
            where >>= shift
            where = where.view(np.int64)
        got = np.take(table, where)
        miss = np.flatnonzero(np.take(distinct, got) != part)  # (a -1 reads the last key: compared, not trusted)
        for step in range(1, far + 1):
            if not len(miss):
                break
            got_next = table[(where[miss] + step) & mask]
            hit = distinct[got_next] == part[miss]
            got[miss[hit]] = got_next[hit]
            miss = miss[~hit]
        if len(miss):
            raise ValueError("dedup: a k-gram key missing from its own distinct keys (internal error: report it)")
        out[lo : lo + len(part)] = got
    return out


_LOOKUP_CHUNK = 1 << 16


def _words(text: str) -> list[str]:
    return normalize_text(_PUNCT.sub(" ", text)).split()


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_FMIX1, _FMIX2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (a bijection that spreads every input bit)."""
    h = h ^ (h >> _S33)
    h = h * _FMIX1
    h = h ^ (h >> _S33)
    h = h * _FMIX2
    return h ^ (h >> _S33)


def gram_hashes(word_hashes: np.ndarray, length: int) -> np.ndarray:
    """A stable 64-bit hash of every run of ``length`` consecutive words, from the words' hashes,
    for all windows at once (numpy): the n-gram hashing is one array pass, not one call per gram.
    The length is mixed in, so runs of different lengths do not share hashes."""
    m = len(word_hashes) - length + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    out = np.empty(m, dtype=np.uint64)
    tmp = np.empty(min(m, _GRAM_CHUNK), dtype=np.uint64)
    # in place, a cache-sized chunk of windows at a time: every pass over a chunk stays in cache
    with np.errstate(over="ignore"):  # wrap-around is the intended modulo 2**64
        for lo in range(0, m, _GRAM_CHUNK):
            hi = min(lo + _GRAM_CHUNK, m)
            h, t = out[lo:hi], tmp[: hi - lo]
            h.fill(np.uint64(length) * _GOLDEN)
            for j in range(length):
                h ^= word_hashes[lo + j : hi + j]
                _fmix64_into(h, t)
                h *= _GOLDEN
            _fmix64_into(h, t)
    return out


_GRAM_CHUNK = 16384


def _fmix64_into(h: np.ndarray, tmp: np.ndarray) -> None:
    """:func:`_fmix64` in place (``tmp``: scratch of the same length)."""
    np.right_shift(h, _S33, out=tmp)
    h ^= tmp
    h *= _FMIX1
    np.right_shift(h, _S33, out=tmp)
    h ^= tmp
    h *= _FMIX2
    np.right_shift(h, _S33, out=tmp)
    h ^= tmp


def _gram_hash_rows(words: np.ndarray, length: int) -> np.ndarray:
    """:func:`gram_hashes` of each row of an ``(m, length)`` array of word hashes (one gram per row)."""
    with np.errstate(over="ignore"):
        h = np.full(len(words), np.uint64(length) * _GOLDEN, dtype=np.uint64)
        for j in range(length):
            h = _fmix64(h ^ words[:, j]) * _GOLDEN
        return _fmix64(h)


class _WordHashes:
    """hash64 of each distinct word, computed once (the cache is emptied past ``max_words``, so a
    large corpus's vocabulary does not pile up in memory)."""

    def __init__(self, max_words: int = 1_000_000):
        self._cache: dict[str, int] = {}
        self.max_words = max_words

    def __call__(self, words: list[str]) -> np.ndarray:
        cache = self._cache
        if len(cache) > self.max_words:
            cache.clear()
        for w in words:
            if w not in cache:
                cache[w] = hash64(w)
        return np.fromiter((cache[w] for w in words), dtype=np.uint64, count=len(words))


def _word_hashes_of(normalized: list[str], word_hashes: Callable[[list[str]], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(words per text, hash64 of every word of every text in order) for texts already normalized
    (single spaces, none at the ends, so ``split(" ")`` is ``split()``): the words are split by
    Polars and each distinct word is hashed once."""
    try:
        series = pl.Series(normalized, dtype=pl.Utf8)
    except Exception:  # (a lone surrogate cannot enter Polars: the same words, one text at a time)
        words = [t.split() for t in normalized]
        counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        return counts, word_hashes([w for ws in words for w in ws])
    lists = series.str.split(" ")
    counts = pl.select(pl.when(series == "").then(0).otherwise(lists.list.len())).to_series().to_numpy().astype(np.int64)
    flat = lists.explode(empty_as_null=True)  # (no list is empty: an empty text splits into [""])
    flat = flat.filter(flat != "")  # only an empty text gives an empty "word"
    # each distinct word found by Polars' own string hash (a lookup key only: the words are hashed
    # with ``word_hashes``), mapped back by the numpy table, and checked word by word against the
    # distinct word it was mapped to: exact, or (a Polars hash shared by two words) the hash map below
    keys = flat.hash(seed=0).to_numpy()
    first = pl.Series(keys, dtype=pl.UInt64).arg_unique().to_numpy()
    ids = _positions_in(keys, keys[first])
    if ids is not None:
        distinct = flat.gather(first)
        if (flat == distinct.gather(ids)).all():
            return counts, word_hashes(distinct.to_list())[ids]
    distinct = flat.unique(maintain_order=True)
    hashes = pl.Series(word_hashes(distinct.to_list()), dtype=pl.UInt64)
    return counts, flat.replace_strict(distinct, hashes, return_dtype=pl.UInt64).to_numpy()


def word_ngrams(text: str, n: int, word_hashes: Callable[[list[str]], np.ndarray] | None = None) -> list[int]:
    """Hashes of the text's word n-grams (the whole text when it has fewer than ``n`` words)."""
    words = _words(text)
    wh = (word_hashes or _WordHashes())(words)
    return gram_hashes(wh, min(n, len(words))).tolist() if words else []


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
        self._short_first: dict[int, set[int]] = {}  # word count -> hash64 of short items' first words
        self._item_set: list[str] = []
        self._item_size: list[int] = []
        self.sizes: dict[str, int] = {}
        self._word_hashes = _WordHashes()
        self._keys: tuple | None = None  # the hashes a row's windows can hit (_lookup_keys)

    def add(self, name: str, texts: Iterable[str]) -> None:
        n = self.config.ngram
        count = 0
        for t in texts:
            if not t:
                continue
            words = _words(t)
            if not words:
                continue
            self._keys = None
            item = len(self._item_set)
            self._item_set.append(name)
            count += 1
            if len(words) < n:
                if len(words) >= self.config.min_short_words:
                    wh = self._word_hashes(words)
                    h = int(gram_hashes(wh, len(words))[0])
                    self._short.setdefault(len(words), set()).add(h)
                    self._short_first.setdefault(len(words), set()).add(int(wh[0]))
                    self._short_item.setdefault(h, item)
                self._item_size.append(1)
                continue
            grams = set(gram_hashes(self._word_hashes(words), n).tolist())
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
        wh = self._word_hashes(words)
        for length, hashes in self._short.items():  # a short evaluation item inside the row
            for h in gram_hashes(wh, length).tolist():
                if h in hashes:
                    return 1.0, self._item_set[self._short_item[h]]
        grams = set(gram_hashes(wh, min(self.config.ngram, len(words))).tolist()) if words else set()
        return self._score(grams)

    def _score(self, grams: set[int]) -> tuple[float, str | None]:
        """:meth:`match`'s n-gram part: the row's distinct gram hashes against the items'."""
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

    def flags(self, texts: Sequence[str], normalized: Sequence[str] | None = None) -> tuple[list[bool], list[str | None]]:
        """:meth:`match` for every text (the same score and item), computed for all texts at once:
        the rows' words are hashed in one batch, the gram hashes of every window are one numpy
        pass per length and their lookups one hash-set membership test (Polars) per length; only
        rows with an n-gram hit are then scored one by one, from the gram hashes already computed
        (a row without a hit scores 0). ``normalized``: :func:`normalized_many` of ``texts``, when
        the caller has it already."""
        flags: list[bool] = [False] * len(texts)
        details: list[str | None] = [None] * len(texts)
        for i, (score, name) in self._matches(texts, normalized).items():
            hit = name is not None and score >= self.config.min_overlap
            flags[i] = hit
            details[i] = f"{score:.0%} {self.config.ngram}-gram overlap with {name}" if hit else None
        return flags, details

    def _lookup_keys(self) -> tuple[pl.Series, dict[int, tuple[pl.Series, pl.Series]]]:
        """The hashes a row's window can hit, as Polars lists for ``is_in``: the indexed n-grams,
        and per short length, (the first words of the short items of that length, their hashes)."""
        if self._keys is None:
            def listed(hashes) -> pl.Series:
                return pl.Series(sorted(hashes), dtype=pl.UInt64).implode()  # (is_in's one-list form)

            self._keys = (listed(self._items), {length: (listed(self._short_first[length]), listed(hashes))
                                                for length, hashes in self._short.items()})
        return self._keys

    def _matches(self, texts: Sequence[str], normalized: Sequence[str] | None = None) -> dict[int, tuple[float, str | None]]:
        """:meth:`match` of each row that can score above 0 (row number -> (score, set name)), in
        the order :meth:`match` decides: a short evaluation item inside the row first (lengths in
        ``_short``'s order, the row's first such window), then the row's distinct n-grams."""
        n = self.config.ngram
        out: dict[int, tuple[float, str | None]] = {}
        if not len(texts):
            return out
        grams, short = self._lookup_keys()
        norm = normalized_many(texts) if normalized is None else list(normalized)
        counts, flat = _word_hashes_of(norm, self._word_hashes)  # _words of every text, hashed
        ends = np.cumsum(counts)
        starts = ends - counts

        def row_of(at: np.ndarray) -> np.ndarray:  # the row holding each word position (empty rows skipped)
            return np.searchsorted(ends, at, side="right")

        flat_series = pl.Series(flat, dtype=pl.UInt64)

        def is_in(h: np.ndarray, keys: pl.Series) -> np.ndarray:
            return pl.Series(h, dtype=pl.UInt64).is_in(keys).to_numpy() if len(h) else np.zeros(0, dtype=bool)

        if short:  # the positions holding the first word of some short item (one pass over all words)
            firsts = pl.Series(sorted(set().union(*self._short_first.values())), dtype=pl.UInt64).implode()
            maybe = np.flatnonzero(flat_series.is_in(firsts).to_numpy())
            maybe_words = pl.Series(flat[maybe], dtype=pl.UInt64)
        for length, (first_words, hashes) in short.items():
            # only a window that starts with a short item's first word can be that item: hash those only
            at = maybe[maybe_words.is_in(first_words).to_numpy()]
            at = at[at + length <= ends[row_of(at)]]  # (not crossing into the next row)
            found = []
            for lo in range(0, len(at), _GRAM_CHUNK):  # (in chunks: the gathered words stay small)
                part = at[lo : lo + _GRAM_CHUNK]
                h = _gram_hash_rows(flat[part[:, None] + np.arange(length)], length)
                hit = is_in(h, hashes)
                found.append((part[hit], h[hit]))
            at = np.concatenate([f[0] for f in found]) if found else at
            h = np.concatenate([f[1] for f in found]) if found else np.empty(0, dtype=np.uint64)
            rows, first = np.unique(row_of(at), return_index=True)  # (positions ascend: a row's first window)
            for r, g in zip(rows.tolist(), h[first].tolist()):
                if r not in out:
                    out[r] = (1.0, self._item_set[self._short_item[g]])
        if not self._items:
            return out
        h = gram_hashes(flat, n)
        hit = np.flatnonzero(is_in(h, grams))
        hit = hit[hit + n <= ends[row_of(hit)]]  # not crossing into the next row
        for r in np.unique(row_of(hit)).tolist():
            if r not in out:
                out[r] = self._score(set(h[starts[r] : ends[r] - n + 1].tolist()))
        # a row shorter than n words has one "gram", its whole text (which only an n-gram's hash could equal)
        for length in np.unique(counts[(counts > 0) & (counts < n)]).tolist():
            rows = np.flatnonzero(counts == length)
            whole = _gram_hash_rows(flat[starts[rows][:, None] + np.arange(length)], length)
            found = is_in(whole, grams)
            for r, g in zip(rows[found].tolist(), whole[found].tolist()):
                if r not in out:
                    out[r] = self._score({g})
        return out
