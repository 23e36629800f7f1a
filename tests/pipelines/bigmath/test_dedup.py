import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.bigmath.dedup import ContaminationIndex, DecontamConfig, NearDedupConfig, exact_duplicates, near_duplicates
from pipelines.bigmath.dedup import minhash_signatures, shingles
from tests.conftest import SAMPLE_MATH

MATH500 = [json.loads(l)["problem"] for l in (SAMPLE_MATH / "math500_test.jsonl").read_text().splitlines()]
GSM8K = [json.loads(l)["question"] for l in (SAMPLE_MATH / "gsm8k_test.jsonl").read_text().splitlines()]


def test_exact_duplicates_ignore_case_and_spacing():
    flags, _ = exact_duplicates(["Find x.", "find   X.", "Find y."])
    assert flags == [False, True, False]


def test_near_duplicates_catch_light_edits_but_not_distinct_problems():
    base = GSM8K[:50]
    edited = [t.replace(" the ", " the  ").rstrip("?") + " ?" for t in base[:10]]
    matches = near_duplicates(base + edited, NearDedupConfig())
    assert all(m is None for m in matches[:50])
    assert [int(m) for m in matches[50:]] == list(range(10))


def test_near_dedup_is_deterministic():
    texts = GSM8K[:200] + GSM8K[:20]
    assert near_duplicates(texts) == near_duplicates(texts)


def test_decontamination_rejects_eval_items_and_planted_near_copies():
    index = ContaminationIndex(DecontamConfig())
    index.add("math500_heldout", MATH500[:100])
    planted = [MATH500[i].replace("Find", "Determine").replace("  ", " ") + " Show your work." for i in range(0, 100, 10)]
    flags, details = index.flags(MATH500[:100] + planted + GSM8K[:300])
    assert all(flags[:110]), [i for i, f in enumerate(flags[:110]) if not f]
    assert not any(flags[110:])
    assert "math500_heldout" in details[0]
    clean, _ = index.flags(MATH500[100:])
    assert sum(clean) == 0


def _datasketch_near_duplicates(texts, config):
    """The per-text datasketch version the vectorized one replaced (the reference)."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    sigs = MinHash.bulk([shingles(t, config.shingle_size) for t in texts], num_perm=config.num_perm, seed=config.seed)
    out = []
    for i, sig in enumerate(sigs):
        match = next((c for c in sorted(lsh.query(sig), key=int) if sig.jaccard(sigs[int(c)]) >= config.threshold), None)
        out.append(match)
        if match is None:
            lsh.insert(str(i), sig)
    return out, sigs


def test_vectorized_minhash_equals_datasketch_signatures_and_decisions():
    cfg = NearDedupConfig()
    edited = [t.replace(" the ", " a ").rstrip("?.") + "!" for t in GSM8K[:150]]
    texts = MATH500[:300] + GSM8K[:300] + edited + GSM8K[:20] + ["", "x", "ünïcödé \ud800 surrogate"]
    want, sigs = _datasketch_near_duplicates(texts, cfg)
    got_sigs = minhash_signatures([shingles(t, cfg.shingle_size) for t in texts], cfg)
    assert (got_sigs == np.vstack([s.hashvalues for s in sigs])).all()
    got = near_duplicates(texts, cfg)
    assert got == want and sum(m is not None for m in got) >= 20


def test_text_signatures_equal_the_shingle_set_signatures():
    """The batched k-gram path gives the signatures of the per-text shingle sets (hence datasketch's),
    for short, empty, non-ASCII and lone-surrogate texts, any shingle size, and on the fallback
    (an alphabet too large to pack k characters into 64 bits)."""
    from pipelines.bigmath.dedup import text_signatures, shingle_strs

    texts = MATH500[:200] + GSM8K[:200] + ["", "x", "abcd", "abcde", "abcdef", "  a  ", "ünïcödé \ud800 surrogate",
                                            "证明：如图 ⑴ ⑵", "ﬁﬂ ß İı", "a\x1cb\u3000c", "ab\ud800\udc00cd"]
    for k in (1, 3, 5, 9):
        cfg = NearDedupConfig(shingle_size=k)
        want = minhash_signatures([shingle_strs(t, k) for t in texts], cfg)
        assert (text_signatures(texts, cfg) == want).all(), k
    wide = ["".join(chr(0x4E00 + (i * 40 + j) % 9000) for j in range(40)) for i in range(300)]  # 9,000 characters
    cfg = NearDedupConfig()
    assert (text_signatures(wide, cfg) == minhash_signatures([shingle_strs(t, 5) for t in wide], cfg)).all()


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("ab c.\n\u00e9\u0301ﬁ\ud800证1"), max_size=30), min_size=1, max_size=12))
def test_text_signatures_equal_on_generated_text(texts):
    from pipelines.bigmath.dedup import text_signatures, shingle_strs

    cfg = NearDedupConfig(num_perm=32)
    assert (text_signatures(texts, cfg) == minhash_signatures([shingle_strs(t, 5) for t in texts], cfg)).all()


def test_normalized_many_equals_the_per_text_normalization():
    """The Polars path for ASCII texts gives Python's normalize_text(_PUNCT.sub(" ", t)) exactly:
    every ASCII character (control characters and \\x1c-\\x1f whitespace included) and mixed texts."""
    from pipelines.bigmath.dedup import _PUNCT, _shingle_text, normalized_many
    from pipelines.core.hashing import normalize_text

    every_ascii = "".join(map(chr, range(128)))
    texts = MATH500[:200] + GSM8K[:200] + [every_ascii, every_ascii[::-1], "", " ", "\x1c\x1dA_b\x0b", "Ünï ｆｕｌｌ \ud800 x",
                                          "ﬁ ß İ", "a\u3000b\x85c"]
    want = [normalize_text(_PUNCT.sub(" ", t)) for t in texts]
    assert normalized_many(texts) == want
    assert [_shingle_text(t) for t in texts] == want


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text(max_size=8), max_size=10))
def test_normalized_many_on_generated_text(texts):
    from pipelines.bigmath.dedup import _PUNCT, normalized_many
    from pipelines.core.hashing import normalize_text

    assert normalized_many(texts) == [normalize_text(_PUNCT.sub(" ", t)) for t in texts]


def test_batched_word_hashes_equal_the_per_text_words():
    from pipelines.bigmath.dedup import _WordHashes, _word_hashes_of, _words, normalized_many

    texts = MATH500[:100] + GSM8K[:100] + ["", "   ", "one", "a  b\tc", "ünï \ud800 x", "ﬁ ß"]
    counts, flat = _word_hashes_of(normalized_many(texts), _WordHashes())
    words = [_words(t) for t in texts]
    assert counts.tolist() == [len(w) for w in words]
    assert flat.tolist() == _WordHashes()([w for ws in words for w in ws]).tolist()
    ok = [t for t in texts if "\ud800" not in t]  # the Polars path (no lone surrogate)
    counts, flat = _word_hashes_of(normalized_many(ok), _WordHashes())
    assert flat.tolist() == _WordHashes()([w for t in ok for w in _words(t)]).tolist()
