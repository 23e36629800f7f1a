"""Episode readers and `foundry episodes convert --out` by URI, against a local S3-compatible server
(moto, a real socket on 127.0.0.1): the same standard tables and the same files as from local paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from pipelines.core import storage
from pipelines.core.storage import parquet_bytes
from pipelines.engine.local import LocalEngine
from pipelines.episodes.cli import group
from pipelines.episodes.convert import standardize
from pipelines.episodes.engine import convert_on_engine, plan_tasks
from pipelines.episodes.readers import RLDSLayoutError, read_lerobot, read_minari, read_source
from pipelines.episodes.writers import write_lerobot_v3
from tests.pipelines.engine.test_storage import BUCKET, s3, s3_endpoint  # noqa: F401 - the moto server fixtures

RLDS_FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "episodes" / "rlds" / "foundry_two_cameras" / "1.0.0"


def _tables(res) -> dict[str, bytes]:
    return {"episodes": parquet_bytes(res.episodes), "steps": parquet_bytes(res.steps)}


def _up(local: Path, key: str) -> str:
    uri = f"s3://{BUCKET}/{key}"
    storage.upload_tree(local, uri)
    return uri


def test_minari_and_lerobot_by_uri_equal_local(s3, minari_root, tmp_path):
    dataset = sorted(p.parent.parent for p in minari_root.rglob("data/metadata.json"))[0]  # one HDF5/Arrow dataset
    uri = _up(dataset, "episodes/minari/" + dataset.name)
    local = standardize(read_minari(dataset, "reacher_play"))
    by_uri = standardize(read_source("minari", uri, source="reacher_play"))
    assert by_uri.episodes.height == local.episodes.height > 0 and _tables(by_uri) == _tables(local)

    lerobot = write_lerobot_v3(tmp_path / "lr", local.episodes, local.steps)[0]  # LeRobot v3: JSON + Parquet
    uri = _up(lerobot, "episodes/lerobot/" + lerobot.name)
    assert _tables(standardize(read_source("lerobot", uri))) == _tables(standardize(read_lerobot(lerobot)))


def test_d4rl_hdf5_by_uri_reads_through_file_objects(s3, tmp_path):
    root = tmp_path / "d4rl"
    root.mkdir()
    n, terminals = 9, np.zeros(9, bool)
    terminals[[3, 8]] = True
    with h5py.File(root / "a.hdf5", "w") as fh:
        fh.create_dataset("observations", data=np.arange(n * 3, dtype=np.float64).reshape(n, 3))
        fh.create_dataset("actions", data=np.linspace(-1, 1, n * 2).reshape(n, 2))
        fh.create_dataset("rewards", data=np.arange(n, dtype=np.float64))
        fh.create_dataset("terminals", data=terminals)
    (root / "broken.h5").write_bytes(b"not HDF5")
    uri = _up(root, "episodes/d4rl")
    assert plan_tasks("d4rl-hdf5", uri).height == 2  # one task per object
    with LocalEngine() as eng:
        by_uri = convert_on_engine("d4rl-hdf5", uri, eng, robot="arm").standardize()
    local = standardize(read_source("d4rl-hdf5", root, robot="arm"))
    assert by_uri.episodes.height == 2 and _tables(by_uri) == _tables(local)
    (detail,) = by_uri.quarantine.get_column("detail").to_list()
    assert detail.startswith(f"s3://{BUCKET}/episodes/d4rl/broken.h5")  # the bad file, named by its URI


def test_rlds_shards_by_uri_equal_local(s3, tmp_path):
    uri = _up(RLDS_FIXTURE, "episodes/rlds/foundry_two_cameras/1.0.0")
    assert plan_tasks("rlds", uri).height == 8  # one task per shard object
    with LocalEngine() as eng:
        by_uri = convert_on_engine("rlds", uri, eng).standardize()
    local = standardize(read_source("rlds", RLDS_FIXTURE))
    assert by_uri.episodes.height == local.episodes.height > 0 and _tables(by_uri) == _tables(local)


def test_cli_convert_out_s3_writes_the_local_files(s3, tmp_path):
    src = tmp_path / "foundry_two_cameras" / "1.0.0"
    shutil.copytree(RLDS_FIXTURE, src)
    runner = CliRunner()
    res = runner.invoke(group, ["convert", str(src), "--from", "rlds", "--out", str(tmp_path / "std")])
    assert res.exit_code == 0, res.output
    out = f"s3://{BUCKET}/runs/std"
    src_uri = _up(src, "episodes/rlds-cli/foundry_two_cameras/1.0.0")
    res = runner.invoke(group, ["convert", src_uri, "--from", "rlds", "--out", out])
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output
    local_files = {p.relative_to(tmp_path / "std").as_posix(): p.read_bytes()
                   for p in sorted((tmp_path / "std").rglob("*")) if p.is_file()}
    s3.invalidate_cache()
    remote = {f[len(out) + 1:]: storage.read_bytes(f) for f in storage.list_files(out, "**")
              if not storage.is_dir(f)}
    assert remote == local_files and any(k.endswith(".parquet") for k in remote)
    checked_local = runner.invoke(group, ["validate", str(tmp_path / "std")])
    checked = runner.invoke(group, ["validate", out])  # read back from the store: the same checks pass
    assert checked.exit_code == checked_local.exit_code == 0, checked.output
    assert checked.output.replace(out, "DIR") == checked_local.output.replace(str(tmp_path / "std"), "DIR")


def test_missing_uri_is_one_quarantined_item(s3):
    items = read_source("lerobot", f"s3://{BUCKET}/no/such/dataset")
    assert len(items) == 1 and "no such object" in items[0].detail


def test_rlds_prefix_with_two_versions_is_a_usage_error_naming_the_uri(s3):
    _up(RLDS_FIXTURE, "episodes/two/ds/1.0.0")
    _up(RLDS_FIXTURE, "episodes/two/ds/1.0.1")
    with pytest.raises(RLDSLayoutError, match=f"s3://{BUCKET}/episodes/two: holds 2"):
        with LocalEngine() as eng:
            convert_on_engine("rlds", f"s3://{BUCKET}/episodes/two", eng)


def test_d5rl_pickle_file_by_uri_keeps_the_source_name(s3, tmp_path):
    import pickle

    kitchen = tmp_path / "kitchen"
    kitchen.mkdir()
    n = 4
    episode = {"observations": np.arange(n * 2, dtype=np.float64).reshape(n, 2), "actions": np.zeros((n, 1)),
               "rewards": np.ones(n), "terminals": np.eye(1, n, n - 1, dtype=bool)[0]}
    (kitchen / "ep0.pkl").write_bytes(pickle.dumps(episode))
    uri = _up(kitchen, "episodes/kitchen")
    one = standardize(read_source("d5rl-pickle", f"{uri}/ep0.pkl"))
    local = standardize(read_source("d5rl-pickle", kitchen / "ep0.pkl"))
    assert one.episodes.get_column("source").to_list() == ["kitchen"] and _tables(one) == _tables(local)
