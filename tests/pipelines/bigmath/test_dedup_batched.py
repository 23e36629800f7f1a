"""The batched dedup and decontamination paths decide exactly what their one-row references decide:
``ContaminationIndex.flags`` vs ``match`` row by row, ``dedup_keys`` vs ``dedup_key``, the numpy
SHA-1 vs hashlib, the band ids and LSH loop vs datasketch's ``MinHashLSH``, on the sample rows,
generated text and hostile rows; and each stays linear on large hostile input (issue 15)."""

import hashlib
import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipelines.bigmath import dedup
from pipelines.bigmath.dedup import (ContaminationIndex, DecontamConfig, NearDedupConfig, dedup_key, dedup_keys,
                                     minhash_signatures, near_duplicates, near_duplicates_of_signatures, shingle_strs,
                                     text_signatures)
from tests.conftest import SAMPLE_MATH
from tests.pipelines.hostile_text import PROPERTY, SURROGATES, hostile_text, scaled, timed

MATH500 = [json.loads(l)["problem"] for l in (SAMPLE_MATH / "math500_test.jsonl").read_text().splitlines()]
GSM8K = [json.loads(l)["question"] for l in (SAMPLE_MATH / "gsm8k_test.jsonl").read_text().splitlines()]
ODD = ["", " ", "x", "a b", "Find x.", "ﬁnd  Ｘ", "ünïcödé \ud800 surrogate", "a\x1cb\u3000c\x85d", "证明：如图 ⑴ ⑵",
       "\x00\x01 \x7f", "ab\ud800\udc00cd", "😀 emoji 😀 text", SURROGATES]

# a linear pass over these sizes takes well under a second; a quadratic one, minutes
LINEAR_LIMIT_S = 30.0


def _reference_flags(index: ContaminationIndex, texts):
    """What ``flags`` did before batching: ``match`` on every row."""
    flags, details = [], []
    for t in texts:
        score, name = index.match(t)
        hit = name is not None and score >= index.config.min_overlap
        flags.append(hit)
        details.append(f"{score:.0%} {index.config.ngram}-gram overlap with {name}" if hit else None)
    return flags, details


def _index(config=DecontamConfig(), **sets):
    index = ContaminationIndex(config)
    for name, texts in sets.items():
        index.add(name, texts)
    return index


def test_flags_equal_match_on_the_sample_rows():
    planted = [MATH500[i].replace("Find", "Determine") + " Show your work." for i in range(0, 100, 7)]
    trimmed = [" ".join(t.split()[3:]) for t in MATH500[:60]]  # an evaluation item with its start cut off
    short_items = ["Compute 2 plus 3.", "What is pi?", "Find x", "solve for y now", "a b c d e f g"]
    rows = MATH500[:150] + GSM8K[:300] + planted + trimmed + ODD + [f"Please {s.lower()} quickly" for s in short_items]
    index = _index(math500=MATH500[:100], gsm8k=GSM8K[:50], short=short_items)
    want = _reference_flags(index, rows)
    assert index.flags(rows) == want
    assert sum(want[0]) >= 150  # the comparison covers many hits, short-item hits included
    assert any(d and "with short" in d for d in want[1])
    # an index of short items only, and an empty one
    assert _index(short=short_items).flags(rows) == _reference_flags(_index(short=short_items), rows)
    assert _index().flags(rows) == ([False] * len(rows), [None] * len(rows))


WORDS = ["find", "the", "x", "of", "a", "sum", "2", "Ünï", "ﬁ", "\ud800", ".", "  ", "\n", "证明"]
phrase = st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(items=st.lists(phrase, max_size=6), rows=st.lists(phrase | hostile_text, max_size=10),
       ngram=st.integers(2, 5), min_overlap=st.sampled_from([0.2, 0.5, 1.0]))
@example(items=["find the x", "the sum of a", "x x x x x", "of a", "sum 2"], ngram=5, min_overlap=0.5,
         rows=["find the x of a sum", "x x x x x x", "", "of a find the x", "sum 2 of a", "of a sum 2"])
def test_flags_equal_match_on_generated_text(items, rows, ngram, min_overlap):
    config = DecontamConfig(ngram=ngram, min_overlap=min_overlap, min_short_words=2, max_items_per_gram=2)
    index = _index(config, evals=items[::2], other=items[1::2])  # two sets: which item matched shows in the detail
    assert index.flags(rows) == _reference_flags(index, rows)


def test_flags_are_linear_on_large_hostile_rows():
    index = _index(math500=MATH500[:100])
    rows = [scaled(f) for f in ("x ", "the sum of ", "(a) ", "a" * 50 + " ")] + [MATH500[0]] * 2000
    (flags, _), seconds = timed(index.flags, rows)
    assert flags == [False] * 4 + [True] * 2000
    assert seconds < LINEAR_LIMIT_S


@PROPERTY
@given(texts=st.lists(hostile_text | st.text(alphabet=st.characters(max_codepoint=0x7F)), max_size=8))
@example(texts=ODD)
def test_dedup_keys_equal_dedup_key(texts):
    assert dedup_keys(texts) == [dedup_key(t) for t in texts]


def test_dedup_keys_on_every_ascii_character_and_the_sample():
    every_ascii = "".join(map(chr, range(128)))
    texts = MATH500 + GSM8K + ODD + [every_ascii, every_ascii[::-1], " \x1c\x1dA_b\x0b ", "\x1f"]
    assert dedup_keys(texts) == [dedup_key(t) for t in texts]


def test_numpy_sha1_equals_hashlib_for_every_one_block_length():
    rng = np.random.default_rng(7)
    messages = [bytes(rng.integers(0, 256, size, dtype=np.uint8)) for size in range(56) for _ in range(20)]
    block = np.zeros((len(messages), 64), dtype=np.uint8)
    for i, m in enumerate(messages):
        block[i, : len(m)] = list(m)
        block[i, len(m)] = 0x80
        block[i, 56:] = list((len(m) * 8).to_bytes(8, "big"))
    want = [int.from_bytes(hashlib.sha1(m).digest()[:4], "little") for m in messages]
    assert dedup._sha1_32_blocks(block).tolist() == want


def test_windowed_sha1_equals_hashlib_on_any_characters():
    """1- to 4-byte UTF-8 characters, lone surrogates, and k-grams too long for one block."""
    text = "ab c\x7f\x80ß€\ud800\udfff😀证明\U0010ffff" * 3 + "x" * 70
    chars = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    for k in (1, 5, 13, 14, 20, 60):
        starts = np.arange(len(text) - k + 1)
        want = dedup._sha1_32([text[p : p + k] for p in starts.tolist()])
        assert (dedup._sha1_32_windows(chars, starts, k, text) == want).all(), k


def test_text_signatures_with_long_shingles_and_wide_characters():
    texts = ["😀证明 ß€ \U0010ffff abc " * 4, "x" * 80, "short", "" ] + GSM8K[:20]
    for k in (14, 60):
        cfg = NearDedupConfig(shingle_size=k, num_perm=32)
        assert (text_signatures(texts, cfg) == minhash_signatures([shingle_strs(t, k) for t in texts], cfg)).all(), k


def _datasketch_lsh(sigs, config):
    """datasketch's own LSH over the given signatures: query, then insert the rows that match nothing."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    scheme = getattr(MinHash(num_perm=config.num_perm, seed=config.seed), "scheme", "legacy")
    hashes = [MinHash(num_perm=config.num_perm, seed=config.seed, hashvalues=s, scheme=scheme) for s in sigs]
    out = []
    for i, m in enumerate(hashes):
        match = next((c for c in sorted(lsh.query(m), key=int) if m.jaccard(hashes[int(c)]) >= config.threshold), None)
        out.append(match)
        if match is None:
            lsh.insert(str(i), m)
    return out


@settings(derandomize=True, max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2), min_size=16, max_size=16), max_size=40),
       st.sampled_from([0.3, 0.5, 0.8]))
def test_lsh_loop_equals_datasketch_on_generated_signatures(rows, threshold):
    """Values from {0, 1, 2}: many equal bands and Jaccard values on both sides of the threshold."""
    cfg = NearDedupConfig(threshold=threshold, num_perm=16)
    sigs = np.array(rows, dtype=np.uint32).reshape(-1, 16)
    assert near_duplicates_of_signatures(sigs, cfg) == _datasketch_lsh(sigs, cfg)


def test_a_row_close_only_to_a_matched_row_is_not_its_near_copy():
    """The LSH inserts only rows that matched nothing: C is close to B, but B matched A and C
    shares no band with A, so C has no candidate (bands of 3 values at threshold 0.5, 16 values)."""
    cfg = NearDedupConfig(threshold=0.5, num_perm=16)
    a, b, c = [0] * 16, [0] * 9 + [1] * 7, [2, 0, 0, 2, 0, 0, 2, 0, 0] + [1] * 7
    sigs = np.array([a, b, c], dtype=np.uint32)
    assert near_duplicates_of_signatures(sigs, cfg) == _datasketch_lsh(sigs, cfg) == [None, "0", None]
    sigs = np.array([a, b, c, c, b], dtype=np.uint32)  # later copies: of C (inserted) and of B (matches A first)
    assert near_duplicates_of_signatures(sigs, cfg) == _datasketch_lsh(sigs, cfg) == [None, "0", None, "2", "0"]


def test_band_ids_are_exact_even_when_every_fold_collides(monkeypatch):
    rng = np.random.default_rng(3)
    sigs = rng.integers(0, 3, (300, 128), dtype=np.uint32)
    sigs[100:150] = sigs[:50]  # equal rows, hence equal bands

    def same_bands(ids):
        return [[ids[i, j] == ids[k, j] for k in range(0, 300, 7)] for i in range(0, 300, 5) for j in range(ids.shape[1])]

    ranges = dedup.lsh_ranges(NearDedupConfig())
    truth = [[(sigs[i, a:b] == sigs[k, a:b]).all() for k in range(0, 300, 7)] for i in range(0, 300, 5) for a, b in ranges]
    assert same_bands(dedup.band_ids(sigs)) == truth
    monkeypatch.setattr(dedup, "_fmix64", lambda h: np.zeros_like(h))  # every row folds to the same value
    assert same_bands(dedup.band_ids(sigs)) == truth


def test_near_dedup_equals_datasketch_on_hostile_rows():
    cfg = NearDedupConfig()
    rows = ODD + [t + " (variant)" for t in GSM8K[:40]] + GSM8K[:40] + [scaled(f, 3000) for f in ("(a)", "ab", "\n \n")]
    assert near_duplicates(rows, cfg) == _datasketch_lsh(minhash_signatures([dedup.shingles(t, 5) for t in rows], cfg), cfg)


def test_near_dedup_is_linear_on_large_hostile_rows():
    rows = [scaled(f) for f in ("(a)", "x", "the sum of ", "证明 ")] + [t + f" #{i}" for i, t in enumerate(GSM8K * 5)]
    matches, seconds = timed(near_duplicates, rows)
    assert len(matches) == len(rows)
    assert seconds < LINEAR_LIMIT_S


def test_chunked_gram_hashes_equal_the_plain_formula():
    """The in-place, chunked n-gram hashing gives the hashes of the plain formula (across chunk edges)."""
    from pipelines.bigmath.dedup import _FMIX1, _FMIX2, _GOLDEN, _GRAM_CHUNK, _gram_hash_rows, gram_hashes

    def fmix(h):
        h = h ^ (h >> np.uint64(33))
        h = h * _FMIX1
        h = h ^ (h >> np.uint64(33))
        h = h * _FMIX2
        return h ^ (h >> np.uint64(33))

    def plain(words, length):
        m = len(words) - length + 1
        with np.errstate(over="ignore"):
            h = np.full(max(m, 0), np.uint64(length) * _GOLDEN, dtype=np.uint64)
            for j in range(length):
                h = fmix(h ^ words[j : j + m]) * _GOLDEN
            return fmix(h)

    words = np.random.default_rng(5).integers(0, 2**64 - 1, 2 * _GRAM_CHUNK + 37, dtype=np.uint64)
    for length in (1, 3, 8, 13):
        want = plain(words, length)
        assert (gram_hashes(words, length) == want).all(), length
        rows = words[np.arange(len(want))[:, None] + np.arange(length)]
        assert (_gram_hash_rows(rows, length) == want).all(), length
    assert len(gram_hashes(words[:3], 8)) == 0


def test_chunked_paths_equal_the_references():
    """More k-grams than one SHA-1 chunk, more short-item start positions than one gram chunk."""
    text = "".join(chr(0x61 + (i * 7919) % 26) + chr(0x61 + (i * 104729) % 23) for i in range(50_000)) + "ß€😀"
    chars = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    starts = np.arange(len(text) - 4)
    assert len(starts) > dedup._SHA1_CHUNK
    assert (dedup._sha1_32_windows(chars, starts, 5, text) == dedup._sha1_32([text[p : p + 5] for p in starts.tolist()])).all()
    index = _index(DecontamConfig(ngram=8, min_short_words=2), short=["x y", "y x z"], long=[MATH500[0]])
    rows = ["x " * 40_000 + "y x z", "x " * 30_000, MATH500[0], "y x"]
    assert index.flags(rows) == _reference_flags(index, rows)
    assert index.flags(rows)[0] == [True, False, True, False]


def test_normalized_memo_gives_the_normalization_and_keeps_one_batch():
    """The memo the decontamination and near dedup steps share: recall gives normalized_many's
    strings (remembered or not, lone surrogates and wide characters included), in the caller's
    order, and empties the memo (nothing outlives one batch)."""
    from pipelines.bigmath.dedup import NormalizedMemo, normalized_many

    texts = MATH500[:50] + ["A, b!", "ünï \ud800 x", "", "A, b!", "ﬁ ß"]
    memo = NormalizedMemo()
    assert memo.remember(texts) == normalized_many(texts)
    later = texts[::-3] + ["never seen, Here", "\udfff?"]  # survivors in another order, and new texts
    assert memo.recall(later) == normalized_many(later)
    assert memo._memo == {}
    assert memo.recall(texts) == normalized_many(texts)  # (nothing remembered: computed)
    memo.remember(texts[:3])
    memo.remember(texts[3:6])  # a new batch replaces the old one
    assert set(memo._memo) == set(texts[3:6])


def test_funnel_steps_with_the_shared_memo_decide_as_without():
    """build_steps' decontaminate and near_dedup steps (sharing a NormalizedMemo) give the same
    kept rows, rejects and details as the steps built without one."""
    import polars as pl

    from pipelines.bigmath import funnel as F
    from pipelines.core.steps import run_steps

    rows = MATH500[:120] + GSM8K[:80]
    problems = rows + [r + "!" for r in rows[::2]] + rows[::3]  # exact and near copies
    frame = pl.DataFrame({"problem": problems, "problem_id": [f"p{i}" for i in range(len(problems))],
                          "source": ["s"] * len(problems)})
    index = ContaminationIndex()
    index.add("eval", rows[::5])
    memo = dedup.NormalizedMemo()
    shared = [F.contamination_step(index, memo), F.exact_dedup_step(), F.near_dedup_step(NearDedupConfig(), memo)]
    alone = [F.contamination_step(index), F.exact_dedup_step(), F.near_dedup_step(NearDedupConfig())]
    k1, r1, _ = run_steps(frame, shared)
    k2, r2, _ = run_steps(frame, alone)
    assert r1.height > 0 and k1.height > 0
    assert k1.equals(k2) and r1.equals(r2)


def test_positions_in_maps_every_key_to_its_distinct_position(monkeypatch):
    """The k-gram keys' table: each key gets its position among the distinct keys (keys sharing
    home slots included); keys made to share one home past the probe limit give None (the caller
    then uses Polars), and text_signatures is the same on that path."""
    rng = np.random.default_rng(0)
    distinct = np.unique(np.concatenate([rng.integers(0, 2**63, 5000, dtype=np.uint64),
                                         np.arange(3000, dtype=np.uint64), np.uint64(2**64 - 1) - np.arange(50, dtype=np.uint64)]))
    rng.shuffle(distinct)
    keys = distinct[rng.integers(0, len(distinct), 40000)]
    pos = dedup._positions_in(keys, distinct)
    assert (distinct[pos] == keys).all()
    monkeypatch.setattr(dedup, "_LOOKUP_CHUNK", 999)  # lookups in many chunks, the last one short
    assert (dedup._positions_in(keys, distinct) == pos).all()
    # keys whose hash (key * golden mod 2**64) differs only in the low bits: one home slot for all
    inverse = pow(0x9E3779B97F4A7C15, -1, 2**64)
    crowd = np.array([(inverse * (12345 + i)) % 2**64 for i in range(200)], dtype=np.uint64)
    assert dedup._positions_in(crowd[::-1], crowd) is None
    few = crowd[:20]  # within the probe limit: still exact
    assert (few[dedup._positions_in(few[[3, 0, 19, 3]], few)] == few[[3, 0, 19, 3]]).all()


def test_text_signatures_equal_when_the_table_gives_up(monkeypatch):
    from pipelines.bigmath.dedup import text_signatures

    texts = MATH500[:60] + GSM8K[:60] + ["", "ab", "ünï \ud800 x"]
    want = text_signatures(texts)
    monkeypatch.setattr(dedup, "_positions_in", lambda keys, distinct: None)
    assert (text_signatures(texts) == want).all()


def test_batched_ascii_normalization_equals_the_per_text_one(monkeypatch):
    """normalized_many's ASCII batch (texts joined by a separator byte, numpy space compaction)
    gives the per-text strings: every ASCII character, empty and all-space texts, texts holding
    the first separators, chunk boundaries, and a batch holding every separator (per text then)."""
    from pipelines.bigmath.dedup import _PUNCT, _SEPARATORS, normalized_many
    from pipelines.core.hashing import normalize_text

    every = "".join(map(chr, range(128)))
    texts = (MATH500[:80] + ["", " ", "  \t\n", "a", " a ", "A,,  b\x1f\x1cc ", "\x00x\x00", "\x01\x00 y", every,
                             "end  ", "  start", "x" * 100] + GSM8K[:40] + ["", ""])
    want = [normalize_text(_PUNCT.sub(" ", t)) for t in texts]
    assert normalized_many(texts) == want
    assert normalized_many([every + t for t in texts[:5]]) == [normalize_text(_PUNCT.sub(" ", every + t)) for t in texts[:5]]
    assert dedup._normalized_ascii([every]) is None and dedup._normalized_ascii(["".join(map(chr, _SEPARATORS[:-1]))]) == [""]
    monkeypatch.setattr(dedup, "_NORM_CHUNK", 7)  # many small chunks (one text each, or a few short ones)
    assert normalized_many(texts) == want


def test_band_ids_with_bands_of_unequal_widths(monkeypatch):
    """Bands folded all at once (equal widths, datasketch's) or one by one (any other layout):
    equal ids exactly for equal band values either way."""
    rng = np.random.default_rng(5)
    sigs = rng.integers(0, 2, (200, 128), dtype=np.uint32)
    sigs[50:90] = sigs[:40]
    for ranges in (((0, 16), (16, 32)), ((0, 10), (10, 40), (64, 128)), ((3, 7),)):
        monkeypatch.setattr(dedup, "lsh_ranges", lambda config=None, r=ranges: r)
        ids = dedup.band_ids(sigs)
        for j, (a, b) in enumerate(ranges):
            band = sigs[:, a:b]
            eq = (band[:, None, :] == band[None, :, :]).all(axis=2)
            assert ((ids[:, j][:, None] == ids[:, j][None, :]) == eq).all()


@pytest.mark.parametrize("table", ["none", "wrong"])
def test_word_hashes_equal_when_the_lookup_key_fails(monkeypatch, table):
    """Words mapped to their distinct word by a Polars-hash table are checked one by one: a table
    that gives up, or one that maps words to the wrong distinct word (as a shared Polars hash
    would), falls back to the hash map, with the same hashes."""
    from pipelines.bigmath.dedup import _WordHashes, _word_hashes_of, _words, normalized_many

    texts = MATH500[:60] + ["", "one", "a b a b a"]
    want = _WordHashes()([w for t in texts for w in _words(t)]).tolist()
    fake = (lambda keys, distinct: None) if table == "none" else (lambda keys, distinct: np.zeros(len(keys), dtype=np.int64))
    monkeypatch.setattr(dedup, "_positions_in", fake)
    counts, flat = _word_hashes_of(normalized_many(texts), _WordHashes())
    assert flat.tolist() == want and counts.tolist() == [len(_words(t)) for t in texts]


@pytest.mark.parametrize("extra", [0, 5, 128, 129, 400])
def test_text_signatures_for_any_number_of_non_ascii_characters(extra):
    """The byte keys (ASCII as itself, up to 128 other characters numbered 128...) and the general
    alphabet path past that: the same signatures as the set path, surrogates and astral characters
    included."""
    from pipelines.bigmath.dedup import minhash_signatures, shingle_strs, text_signatures

    wide = [chr(0xC0 + i) if i % 3 else chr(0x1F600 + i) for i in range(extra)]
    texts = MATH500[:40] + ["".join(wide[i : i + 7]) + " x" for i in range(0, len(wide), 7)] + [
        "caf\u00e9 \ud800 ab" if extra else "plain ascii", "abc", "", "abcdef"]
    cfg = NearDedupConfig(num_perm=32)
    assert (text_signatures(texts, cfg) == minhash_signatures([shingle_strs(t, 5) for t in texts], cfg)).all()
