"""Every reader on a fixture in its real format, including one malformed file or episode each."""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path

import h5py
import numpy as np
import polars as pl

from pipelines.episodes import reasons
from pipelines.episodes.convert import standardize
from pipelines.episodes.readers import (Quarantined, read_d4rl_hdf5, read_d5rl_pickles, read_lerobot,
                                        read_minari, read_rlds, safe_load_pickle, split_items)


def _png(value: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((4, 4, 3), value, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


# --- Minari ---------------------------------------------------------------------------------

def test_minari_reads_hdf5_and_arrow_datasets(minari_root):
    eps, bad = split_items(read_minari(minari_root))
    assert not bad
    assert {e.source for e in eps} == {"reacher_scripted", "reacher_play", "invertedpendulum_scripted",
                                       "invertedpendulum_play"}
    assert {e.metadata["data_format"] for e in eps} == {"hdf5", "arrow"}
    reacher = next(e for e in eps if e.source == "reacher_scripted")
    assert reacher.obs_state.shape == (reacher.actions.shape[0] + 1, 10)
    assert reacher.robot == "planar-2link-arm" and reacher.task == "Reacher-v5" and reacher.data_source == "scripted"
    assert reacher.action_ee7 is not None and reacher.action_ee7.shape == (reacher.actions.shape[0], 7)
    assert reacher.truncated and not reacher.terminated  # 8-step time limit
    assert reacher.action_low.tolist() == [-1.0, -1.0]


def test_minari_corrupt_episode_is_quarantined_rest_convert(tmp_path, minari_root):
    import shutil

    src = minari_root / "foundry" / "reacher" / "play-v0"
    copy = tmp_path / "foundry" / "reacher" / "play-v0"
    shutil.copytree(src, copy)
    with h5py.File(copy / "data" / "main_data.hdf5", "a") as fh:
        del fh["episode_1"]["actions"]
    items = read_minari(copy)
    eps, bad = split_items(items)
    assert [e.source_id for e in eps] == ["foundry/reacher/play-v0#0"]
    assert len(bad) == 1 and bad[0].reason == reasons.UNREADABLE and "episode 1" in bad[0].detail
    res = standardize(items)
    assert res.episodes.height == 1 and res.quarantine.get_column("reason").to_list() == [reasons.UNREADABLE]


def test_minari_broken_metadata_is_unreadable(tmp_path):
    (tmp_path / "ds" / "data").mkdir(parents=True)
    (tmp_path / "ds" / "data" / "metadata.json").write_text("{not json")
    (bad,) = read_minari(tmp_path / "ds")
    assert isinstance(bad, Quarantined) and bad.reason == reasons.UNREADABLE


# --- D4RL / D5RL HDF5 --------------------------------------------------------------------------

def _d4rl_arrays(n=12, obs_dim=3, act_dim=2, seed=0):
    rng = np.random.default_rng(seed)
    terminals = np.zeros(n, bool)
    timeouts = np.zeros(n, bool)
    terminals[3] = True   # episode 0: steps 0..3, terminal
    timeouts[7] = True    # episode 1: steps 4..7, time limit; episode 2: 8..11, unflagged tail
    return {"observations": rng.normal(size=(n, obs_dim)), "actions": rng.uniform(-1, 1, (n, act_dim)),
            "rewards": np.arange(n, dtype=np.float64), "terminals": terminals, "timeouts": timeouts,
            "next_observations": rng.normal(size=(n, obs_dim))}


def _write_h5(path, arrays):
    with h5py.File(path, "w") as fh:
        for k, v in arrays.items():
            if isinstance(v, dict):
                g = fh.create_group(k)
                for kk, vv in v.items():
                    g.create_dataset(kk, data=vv)
            else:
                fh.create_dataset(k, data=v)


def test_d4rl_hdf5_splits_episodes_and_keeps_final_observation(tmp_path):
    arrays = _d4rl_arrays()
    _write_h5(tmp_path / "widowx.hdf5", arrays)
    eps, bad = split_items(read_d4rl_hdf5(tmp_path / "widowx.hdf5", robot="widowx"))
    assert not bad and [e.actions.shape[0] for e in eps] == [4, 4, 4]
    assert [e.terminated for e in eps] == [True, False, False]
    np.testing.assert_allclose(eps[0].obs_state[-1], arrays["next_observations"][3])
    assert eps[1].rewards.tolist() == [4.0, 5.0, 6.0, 7.0]


def test_d4rl_trajectory_ends_and_no_next_obs_drop_the_final_transition(tmp_path):
    arrays = _d4rl_arrays()
    del arrays["next_observations"], arrays["timeouts"]
    arrays["trajectory_ends"] = np.zeros(12, bool)
    arrays["trajectory_ends"][7] = True
    arrays["observations"] = {"state": arrays["observations"], "image": np.zeros((12, 4, 4, 3), np.uint8)}
    _write_h5(tmp_path / "a1.hdf5", arrays)
    eps, bad = split_items(read_d4rl_hdf5(tmp_path / "a1.hdf5"))
    assert not bad and [e.actions.shape[0] for e in eps] == [3, 3, 3]
    assert eps[0].metadata["final_transition_on_last_step"] is True
    np.testing.assert_array_equal(eps[0].final_action, arrays["actions"][3])  # kept, not dropped
    assert eps[0].final_reward == arrays["rewards"][3]
    assert eps[0].obs_images is not None and eps[0].obs_images[0].startswith(b"\x89PNG")
    assert eps[0].obs_layout == [("state", 3)]


def test_d4rl_malformed_file_is_quarantined_rest_convert(tmp_path):
    _write_h5(tmp_path / "good.hdf5", _d4rl_arrays())
    bad_arrays = _d4rl_arrays()
    bad_arrays["actions"] = bad_arrays["actions"][:-2]
    _write_h5(tmp_path / "short_actions.hdf5", bad_arrays)
    (tmp_path / "not_hdf5.h5").write_bytes(b"this is not hdf5")
    nan_arrays = _d4rl_arrays(seed=1)
    nan_arrays["observations"][5, 1] = np.nan  # episode 1 of this file
    _write_h5(tmp_path / "with_nan.hdf5", nan_arrays)
    res = standardize(read_d4rl_hdf5(tmp_path))
    q = {(r["source_id"], r["reason"]) for r in res.quarantine.iter_rows(named=True)}
    assert (str(tmp_path / "short_actions.hdf5"), reasons.SHAPE_MISMATCH) in q
    assert (str(tmp_path / "not_hdf5.h5"), reasons.UNREADABLE) in q
    assert ("with_nan.hdf5#1", reasons.NON_FINITE) in q
    assert res.episodes.height == 3 + 2
    assert res.steps.height == res.episodes.get_column("length").sum() + res.episodes.height


# --- D5RL kitchen pickles ----------------------------------------------------------------------

class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_d5rl_pickles_load_safely_and_quarantine_unsafe_ones(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        ep = {"observations": rng.normal(size=(6, 5)).astype(np.float32), "actions": rng.uniform(-1, 1, (6, 9)),
              "rewards": np.ones(6), "terminals": np.array([0, 0, 0, 0, 0, 1], bool),
              "next_observations": rng.normal(size=(6, 5)), "language_instruction": "open the microwave",
              "data_source": "expert"}
        (tmp_path / f"episode_{i}.pkl").write_bytes(pickle.dumps(ep, protocol=4))
    marker = tmp_path / "pwned"
    (tmp_path / "episode_evil.pkl").write_bytes(pickle.dumps({"observations": _Exploit(marker)}))
    (tmp_path / "episode_cut.pkl").write_bytes(pickle.dumps({"a": np.zeros(3)})[:-5])
    items = read_d5rl_pickles(tmp_path, source="kitchen_expert")
    eps, bad = split_items(items)
    assert len(eps) == 2 and eps[0].language_instruction == "open the microwave" and eps[0].terminated
    assert eps[0].robot == "franka-kitchen" and eps[0].data_source == "expert"
    assert {b.source_id: b.reason for b in bad} == {"episode_evil.pkl": reasons.UNSAFE_PICKLE,
                                                    "episode_cut.pkl": reasons.UNREADABLE}
    assert not marker.exists()  # the payload never ran


def test_restricted_unpickler_allows_numpy_scalars_and_containers():
    obj = {"a": [np.float32(1.5), (1, 2)], "b": np.arange(3, dtype=np.int16), "c": {1, 2}}
    back = safe_load_pickle(pickle.dumps(obj, protocol=2))
    assert back["a"][0] == np.float32(1.5) and back["b"].dtype == np.int16 and back["c"] == {1, 2}


# --- LeRobotDataset v2.1 and v3 ----------------------------------------------------------------

def _lerobot_frames(n_eps=3, length=5, obs_dim=4, act_dim=2, image=False):
    rows, index = [], 0
    for e in range(n_eps):
        for f in range(length):
            row = {"observation.state": [float(e + f + k) for k in range(obs_dim)],
                   "action": [float(f) / 10] * act_dim, "timestamp": f / 10, "frame_index": f, "episode_index": e,
                   "index": index, "task_index": e % 2, "next.reward": float(f == length - 1),
                   "next.done": f == length - 1}
            if image:
                row["observation.images.top"] = {"bytes": _png(e * 10 + f), "path": None}
            rows.append(row)
            index += 1
    return pl.DataFrame(rows)


def _lerobot_info(version, obs_dim=4, act_dim=2, image=False, data_path=""):
    feats = {"observation.state": {"dtype": "float32", "shape": [obs_dim]}, "action": {"dtype": "float32", "shape": [act_dim]},
             "next.reward": {"dtype": "float32", "shape": [1]}, "next.done": {"dtype": "bool", "shape": [1]},
             "observation.images.wrist": {"dtype": "video", "shape": [64, 64, 3]}}
    if image:
        feats["observation.images.top"] = {"dtype": "image", "shape": [4, 4, 3]}
    return {"codebase_version": version, "robot_type": "so100", "fps": 10, "features": feats, "data_path": data_path}


def test_lerobot_v21_per_episode_files_with_one_corrupt(tmp_path):
    root = tmp_path / "so100_v21"
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps(_lerobot_info(
        "v2.1", image=True, data_path="data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet")))
    (root / "meta" / "tasks.jsonl").write_text('{"task_index": 0, "task": "pick the cube"}\n'
                                               '{"task_index": 1, "task": "place the cube"}\n')
    frames = _lerobot_frames(image=True)
    for e in range(3):
        path = root / "data" / "chunk-000" / f"episode_{e:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frames.filter(pl.col("episode_index") == e).write_parquet(path)
    (root / "data" / "chunk-000" / "episode_000003.parquet").write_bytes(b"PAR1 truncated garbage")
    eps, bad = split_items(read_lerobot(root))
    assert [e.source_id for e in eps] == ["episode_000000", "episode_000001", "episode_000002"]
    assert len(bad) == 1 and bad[0].reason == reasons.UNREADABLE and "episode_000003" in bad[0].source_id
    assert eps[1].language_instruction == "place the cube" and eps[0].robot == "so100"
    assert eps[0].actions.shape == (4, 2) and eps[0].obs_state.shape == (5, 4)
    assert eps[0].terminated and eps[0].rewards.sum() == 0.0
    assert eps[0].final_reward == 1.0  # the success reward sits on the last frame: kept there, in the return
    assert eps[0].obs_images[2] == _png(2)
    assert eps[0].metadata["skipped_video"] == ["observation.images.wrist"]


def test_lerobot_v3_files_and_tasks_parquet(tmp_path):
    root = tmp_path / "so100_v3"
    (root / "meta" / "episodes" / "chunk-000").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps(_lerobot_info(
        "v3.0", data_path="data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet")))
    # LeRobot v3 writes tasks with pandas, the task string as the index
    import pandas as pd

    pd.DataFrame({"task_index": [0, 1]}, index=pd.Index(["pick", "place"], name="task")).to_parquet(root / "meta" / "tasks.parquet")
    frames = _lerobot_frames(n_eps=4, length=6)
    bad_ep = frames.filter(pl.col("episode_index") == 3).with_columns(
        pl.col("observation.state").list.slice(0, 2))  # a narrower observation: obs shape check
    frames = pl.concat([frames.filter(pl.col("episode_index") < 3), bad_ep])
    (root / "data" / "chunk-000").mkdir(parents=True)
    frames.write_parquet(root / "data" / "chunk-000" / "file-000.parquet")
    res = standardize(read_lerobot(root, source="so100"))
    assert res.episodes.height == 3
    assert res.quarantine.get_column("reason").to_list() == [reasons.OBS_SHAPE_INCONSISTENT]
    assert sorted(res.episodes.get_column("task").to_list()) == ["pick", "pick", "place"]


# --- RLDS TFRecord -------------------------------------------------------------------------------
# (the values against what tfds reads back are in test_rlds_tfds.py)

def test_rlds_tfrecord_without_tensorflow(tmp_path):
    from tests.pipelines.episodes.test_rlds_tfds import copy_fixture

    root = copy_fixture("two_cameras", tmp_path)
    corrupt = sorted(root.glob("*-train.tfrecord-00003-of-*"))[0]
    data = bytearray(corrupt.read_bytes())
    data[-10] ^= 0x55
    corrupt.write_bytes(bytes(data))
    items = read_rlds(root, source="bridge", robot="widowx", ee_action="delta7")
    eps, bad = split_items(items)
    assert len(eps) == 10 - 1 and {b.reason for b in bad} == {reasons.UNREADABLE}
    assert "checksum" in bad[0].detail and corrupt.name in bad[0].detail
    first = eps[0]
    assert first.actions.shape[1] == 7 and len(first.obs_images) == first.obs_state.shape[0]
    assert first.language_instruction == "put the red block in the bowl" and first.terminated
    np.testing.assert_allclose(first.action_ee7[:, :6], first.actions[:, :6])
    openx = Path(__file__).resolve().parents[2] / "fixtures/episodes/rlds/foundry_openx_variants/1.0.0"
    (rt1, *_), _ = split_items(read_rlds(openx))
    assert rt1.action_ee7.shape == (rt1.actions.shape[0], 7)
    assert rt1.language_instruction == "pick coke can" and [k for k, _ in rt1.obs_layout] == [
        "natural_language_embedding", "proprio"]
    res = standardize(items)
    assert res.episodes.height == 9 and res.quarantine.height == 1
    assert res.steps.filter(pl.col("is_last")).get_column("action").null_count() == 0
