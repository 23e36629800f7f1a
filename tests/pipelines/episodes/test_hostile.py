"""Hostile and careless episode inputs (issue 15): no crash, no memory bomb, one bad episode -> one
quarantined item naming the file and the error class, the rest convert."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from pipelines.episodes import reasons
from pipelines.episodes.convert import standardize
from pipelines.episodes.readers import (Quarantined, UnsafePickleError, read_d4rl_hdf5, read_lerobot, safe_load_pickle,
                                        split_items)


def _d4rl(path, n=8, **extra):
    rng = np.random.default_rng(0)
    terminals = np.zeros(n, bool)
    terminals[3] = True
    with h5py.File(path, "w") as fh:
        fh.create_dataset("observations", data=rng.normal(size=(n, 3)))
        fh.create_dataset("actions", data=rng.normal(size=(n, 2)))
        fh.create_dataset("rewards", data=np.arange(n, dtype=np.float64))
        fh.create_dataset("terminals", data=terminals)
        for k, v in extra.items():
            fh.create_dataset(k, data=v)


def test_hdf5_scalar_datasets_do_not_crash(tmp_path):
    _d4rl(tmp_path / "good.hdf5", env_name=np.bytes_(b"hopper"), seed=np.int64(3))  # scalar metadata is fine
    with h5py.File(tmp_path / "scalar_rewards.hdf5", "w") as fh:
        fh.create_dataset("observations", data=np.zeros((4, 3)))
        fh.create_dataset("actions", data=np.zeros((4, 2)))
        fh.create_dataset("rewards", data=1.0)           # a scalar where one reward per transition belongs
        fh.create_dataset("terminals", data=np.zeros(4, bool))
    eps, bad = split_items(read_d4rl_hdf5(tmp_path))
    assert len(eps) == 2
    (q,) = bad
    assert q.reason == reasons.SHAPE_MISMATCH and "scalar_rewards.hdf5" in q.detail and "rewards" in q.detail


def test_hdf5_declaring_a_huge_dataset_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.hdf5"
    with h5py.File(path, "w") as fh:
        # 48 GB declared, nothing written: the file stays a few KB
        fh.create_dataset("observations", shape=(200_000_000, 60), dtype="f4", chunks=(1024, 60))
        fh.create_dataset("actions", shape=(200_000_000, 2), dtype="f4", chunks=(1024, 2))
        fh.create_dataset("rewards", shape=(200_000_000,), dtype="f4", chunks=(1024,))
        fh.create_dataset("terminals", shape=(200_000_000,), dtype="bool", chunks=(1024,))
    assert path.stat().st_size < 64 * 1024
    (q,) = read_d4rl_hdf5(path)
    assert isinstance(q, Quarantined) and q.reason == reasons.OVERSIZED
    assert "bomb.hdf5" in q.detail and "budget" in q.detail


def test_small_budget_applies_to_ordinary_files(tmp_path):
    _d4rl(tmp_path / "ok.hdf5")
    (q,) = read_d4rl_hdf5(tmp_path / "ok.hdf5", budget_bytes=100)
    assert q.reason == reasons.OVERSIZED


def test_lerobot_features_as_a_list_is_quarantined_not_a_crash(tmp_path):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text(json.dumps({"codebase_version": "v3.0", "features": [
        {"name": "action", "dtype": "float32"}]}))
    (q,) = read_lerobot(tmp_path)
    assert q.reason == reasons.UNREADABLE and "info.json" in q.detail and "features" in q.detail


# a 35-byte protocol-2 pickle: bytearray(4_000_000_000)
BYTEARRAY_BOMB = b"\x80\x02c__builtin__\nbytearray\n\x8a\x05\x00(k\xee\x00\x85R."


def test_pickle_that_allocates_by_size_is_refused():
    assert len(BYTEARRAY_BOMB) == 35
    with pytest.raises(UnsafePickleError, match="allocates by size"):
        safe_load_pickle(BYTEARRAY_BOMB)


def test_pickle_array_shape_counts_against_the_budget():
    import pickle

    data = pickle.dumps(np.zeros((64, 64), np.float64), protocol=2)
    assert safe_load_pickle(data).shape == (64, 64)
    with pytest.raises(UnsafePickleError, match="budget"):
        safe_load_pickle(data, budget_bytes=1000)
    assert safe_load_pickle(pickle.dumps(bytearray(b"abc"), protocol=2)) == bytearray(b"abc")


def test_one_bad_rlds_episode_is_one_quarantined_item_naming_file_and_error_class(tmp_path):
    from tests.pipelines.episodes.test_rlds_tfds import copy_fixture

    root = copy_fixture("two_cameras", tmp_path)
    from pipelines.episodes.tfrecord import iter_records, write_records

    shard = sorted(root.glob("*.tfrecord-00000-of-*"))[0]
    records = list(iter_records(shard))
    # a feature key that is not UTF-8: parsing this one record raises UnicodeDecodeError
    bad = records[0].replace(b"steps/reward", b"steps/rewar\xff", 1)  # same length, invalid UTF-8
    write_records(shard, [bad, *records[1:]])
    items = __import__("pipelines.episodes.readers", fromlist=["read_rlds"]).read_rlds(root)
    eps, quarantined = split_items(items)
    (q,) = quarantined
    assert q.reason == reasons.UNREADABLE and shard.name in q.detail and "UnicodeDecodeError" in q.detail
    assert len(eps) >= 1
    res = standardize(items)
    assert res.episodes.height == len(eps) and res.quarantine.height == 1


def test_mutated_rlds_records_never_escape_and_the_counts_add_up(tmp_path):
    """Deterministic fuzzing: bytes of valid records flipped, truncated or repeated (checksums
    recomputed, so the parser sees them); every record ends an episode or a quarantine row."""
    from pipelines.episodes.readers import read_rlds
    from pipelines.episodes.tfrecord import iter_records, write_records
    from tests.pipelines.episodes.test_rlds_tfds import copy_fixture

    root = copy_fixture("openx_variants", tmp_path)
    shards = sorted(root.glob("*.tfrecord-*"))
    originals = {s: list(iter_records(s)) for s in shards}
    rng = np.random.default_rng(15)
    for _ in range(40):
        total = 0
        for shard, records in originals.items():
            mutated = []
            for rec in records:
                b = bytearray(rec)
                op = rng.integers(3)
                if op == 0:
                    for i in rng.integers(0, len(b), size=int(rng.integers(1, 8))):
                        b[i] = int(rng.integers(256))
                elif op == 1:
                    b = b[: int(rng.integers(1, len(b)))]
                else:
                    i = int(rng.integers(0, len(b) - 8))
                    b = b[:i] + b[i:i + 8] * 3 + b[i:]
                mutated.append(bytes(b))
            write_records(shard, mutated)
            total += len(mutated)
        items = read_rlds(root)
        eps, bad = split_items(items)
        assert len(eps) + len(bad) == total
        assert all(q.reason in reasons.ALL and q.detail for q in bad)


def test_zlib_tensor_that_inflates_past_the_cap_is_quarantined(monkeypatch):
    import zlib

    from pipelines.episodes import readers

    spec = readers.FeatureSpec("steps/observation/x", "Tensor", "float32", (None,), True, "zlib")
    bomb = zlib.compress(b"\0" * 4096)
    monkeypatch.setattr(readers, "RLDS_ZLIB_MAX_BYTES", 1024)
    with pytest.raises(ValueError, match="inflates past"):
        readers._step_values(spec, {"steps/observation/x": ("bytes", [bomb])}, 1)
    ok = zlib.compress(np.arange(4, dtype=np.float32).tobytes())
    (arr,) = readers._step_values(spec, {"steps/observation/x": ("bytes", [ok])}, 1)
    assert arr.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_reader_crash_becomes_one_quarantined_source(tmp_path):
    from pipelines.episodes.readers import read_source

    root = tmp_path / "lr"
    (root / "meta").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "meta" / "info.json").write_text(json.dumps({"codebase_version": "v3.0", "features": {}}))
    # two files whose columns cannot be concatenated: polars raises inside the reader
    import polars as pl

    pl.DataFrame({"episode_index": [0], "frame_index": [0], "action": [[1.0]]}).write_parquet(root / "data" / "a.parquet")
    pl.DataFrame({"episode_index": ["x"], "frame_index": [0], "action": ["s"]}).write_parquet(root / "data" / "b.parquet")
    items = read_source("lerobot", root)
    assert all(isinstance(i, Quarantined) for i in items) and items
    assert any("lr" in i.detail and "Error" in i.detail for i in items)
