"""Episode conversion as engine tasks (read + lay out per unit): the standard tables byte-identical
to the reader alone, on the local engine (in-process and worker processes) and on Ray."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest

from pipelines.core.storage import parquet_bytes
from pipelines.engine.local import LocalEngine
from pipelines.episodes import reasons
from pipelines.episodes.convert import standardize
from pipelines.episodes.engine import convert_on_engine, plan_tasks
from pipelines.episodes.readers import read_source

RLDS_FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "episodes" / "rlds" / "foundry_two_cameras" / "1.0.0"


def _tables(res) -> dict[str, bytes]:
    return {"episodes": parquet_bytes(res.episodes), "steps": parquet_bytes(res.steps),
            "quarantine": parquet_bytes(res.quarantine), "funnel": parquet_bytes(res.funnel_frame)}


def _d4rl_dir(tmp_path):
    """Two good D4RL files and one that is not HDF5: one quarantined item, the rest convert."""
    root = tmp_path / "d4rl"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.hdf5", "b.hdf5"):
        n = 9
        terminals = np.zeros(n, bool)
        terminals[[3, 8]] = True
        with h5py.File(root / name, "w") as fh:
            fh.create_dataset("observations", data=rng.normal(size=(n, 3)))
            fh.create_dataset("actions", data=rng.uniform(-1, 1, (n, 2)))
            fh.create_dataset("rewards", data=np.arange(n, dtype=np.float64))
            fh.create_dataset("terminals", data=terminals)
    (root / "broken.h5").write_bytes(b"not an HDF5 file at all")
    return root


def test_minari_split_by_episodes_equals_the_reader(minari_root):
    tasks = plan_tasks("minari", minari_root, {}, episodes_per_task=1)
    # 4 datasets x 2 episodes: one task per episode, each naming its dataset and episode
    assert tasks.height == 8 and tasks.get_column("episodes").to_list()[:2] == [[0], [1]]
    with LocalEngine(num_workers=1) as eng:
        laid_out = convert_on_engine("minari", minari_root, eng, episodes_per_task=1)
    assert laid_out.items_in == 8 and len(laid_out.steps) == 8
    assert _tables(laid_out.standardize()) == _tables(standardize(read_source("minari", minari_root)))


def test_one_corrupt_minari_episode_is_one_quarantined_row(tmp_path, minari_root):
    copy = tmp_path / "foundry" / "reacher" / "play-v0"
    shutil.copytree(minari_root / "foundry" / "reacher" / "play-v0", copy)
    with h5py.File(copy / "data" / "main_data.hdf5", "a") as fh:
        del fh["episode_1"]["actions"]
    with LocalEngine() as eng:  # one task per episode: the task holding episode 1 sends back its quarantine record
        res = convert_on_engine("minari", copy, eng, episodes_per_task=1).standardize()
    assert res.items_in == 2 and res.episodes.get_column("source_id").to_list() == ["foundry/reacher/play-v0#0"]
    assert res.quarantine.get_column("reason").to_list() == [reasons.UNREADABLE]
    assert "episode 1" in res.quarantine.get_column("detail")[0]
    assert _tables(res) == _tables(standardize(read_source("minari", copy)))


def test_bad_file_is_one_quarantined_row_on_worker_processes(tmp_path):
    root = _d4rl_dir(tmp_path)
    assert plan_tasks("d4rl-hdf5", root).height == 3  # one task per file
    with LocalEngine(num_workers=2) as eng:  # tasks and items travel pickled between processes
        res = convert_on_engine("d4rl-hdf5", root, eng, robot="arm").standardize()
    assert res.quarantine.get_column("reason").to_list() == [reasons.UNREADABLE]
    assert "broken.h5" in res.quarantine.get_column("detail")[0]
    assert res.episodes.height == 4
    assert _tables(res) == _tables(standardize(read_source("d4rl-hdf5", root, robot="arm")))


def test_rlds_is_one_task_per_shard_and_equals_the_reader(tmp_path):
    src = tmp_path / "foundry_two_cameras" / "1.0.0"
    shutil.copytree(RLDS_FIXTURE, src)
    shards = sorted(p.name for p in src.iterdir() if ".tfrecord" in p.name)
    tasks = plan_tasks("rlds", src)
    assert [t.rsplit("/", 1)[-1] for t in tasks.get_column("path").to_list()] == shards
    with LocalEngine() as eng:
        res = convert_on_engine("rlds", src, eng).standardize()
    assert res.episodes.height > 0 and _tables(res) == _tables(standardize(read_source("rlds", src)))


@pytest.mark.slow
def test_minari_on_ray_equals_local(minari_root, ray_inprocess):
    """Ray Data batches, one task per episode share: the same standard tables, byte for byte."""
    with LocalEngine() as eng:
        local = _tables(convert_on_engine("minari", minari_root, eng, episodes_per_task=1).standardize())
    ray = _tables(convert_on_engine("minari", minari_root, ray_inprocess, episodes_per_task=1).standardize())
    assert local == ray and pl.read_parquet(__import__("io").BytesIO(ray["episodes"])).height == 8
