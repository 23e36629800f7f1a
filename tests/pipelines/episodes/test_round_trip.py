"""Source -> standard -> source reproduces every value the source had, per reader (issue 16).

Observations and actions are stored as float32 in the standard: float32 sources come back exact,
float64 sources come back as their float32 rounding (compared as such); rewards are float64 and
come back exact."""

from __future__ import annotations

import json

import h5py
import numpy as np
import polars as pl

from pipelines.episodes.convert import standardize
from pipelines.episodes.readers import read_d4rl_hdf5, read_lerobot, read_minari
from pipelines.episodes.writers import write_d4rl_hdf5, write_lerobot_v3, write_minari


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).astype(np.float32)


def _d4rl_source(path, next_obs: bool):
    rng = np.random.default_rng(5)
    n = 14
    terminals, timeouts = np.zeros(n, bool), np.zeros(n, bool)
    terminals[4], timeouts[9], timeouts[13] = True, True, True
    arrays = {"observations": rng.normal(size=(n, 3)).astype(np.float32),
              "actions": rng.uniform(-1, 1, (n, 2)).astype(np.float32),
              "rewards": rng.normal(size=n), "terminals": terminals, "timeouts": timeouts}
    if next_obs:  # as D4RL has them: the next step's observation, and a final one at each episode end
        nxt = np.roll(arrays["observations"], -1, axis=0)
        ends = terminals | timeouts
        nxt[ends] = rng.normal(size=(int(ends.sum()), 3)).astype(np.float32)
        arrays["next_observations"] = nxt
    with h5py.File(path, "w") as fh:
        for k, v in arrays.items():
            fh.create_dataset(k, data=v)
    return arrays


def test_d4rl_round_trip_reproduces_every_array(tmp_path):
    for next_obs in (False, True):
        src = tmp_path / f"src_{next_obs}.hdf5"
        arrays = _d4rl_source(src, next_obs)
        res = standardize(read_d4rl_hdf5(src))
        assert res.quarantine.height == 0
        assert not any("next_observations_differ" in m for m in res.episodes.get_column("metadata").to_list())
        # the return is the sum of every source reward, the last transition's included
        assert np.isclose(res.episodes.get_column("return").sum(), arrays["rewards"].sum())
        back = tmp_path / f"back_{next_obs}.hdf5"
        write_d4rl_hdf5(back, res.episodes, res.steps)
        with h5py.File(back, "r") as fh:
            got = {k: fh[k][()] for k in fh.keys()}
        assert set(got) == set(arrays) | {"timeouts"}
        for key, want in arrays.items():
            np.testing.assert_array_equal(got[key], want, err_msg=key)


def test_lerobot_round_trip_reproduces_every_frame(tmp_path):
    rng = np.random.default_rng(2)
    rows, index = [], 0
    for e in range(3):
        for f in range(4 + e):
            last = f == 3 + e
            rows.append({"observation.state": rng.normal(size=3).astype(np.float32).tolist(),
                         "action": rng.uniform(-1, 1, 2).astype(np.float32).tolist(), "timestamp": f / 10,
                         "frame_index": f, "episode_index": e, "index": index, "task_index": 0,
                         "next.reward": float(rng.normal()), "next.done": last})
            index += 1
    frames = pl.DataFrame(rows).with_columns(pl.col("observation.state").cast(pl.List(pl.Float32)),
                                             pl.col("action").cast(pl.List(pl.Float32)),
                                             pl.col("next.reward").cast(pl.Float32))
    src = tmp_path / "src"
    (src / "meta").mkdir(parents=True)
    (src / "data" / "chunk-000").mkdir(parents=True)
    frames.write_parquet(src / "data" / "chunk-000" / "file-000.parquet")
    info = {"codebase_version": "v3.0", "robot_type": "so100", "fps": 10, "features": {
        "observation.state": {"dtype": "float32", "shape": [3]}, "action": {"dtype": "float32", "shape": [2]},
        "next.reward": {"dtype": "float32", "shape": [1]}, "next.done": {"dtype": "bool", "shape": [1]}}}
    (src / "meta" / "info.json").write_text(json.dumps(info))
    pl.DataFrame({"task_index": [0], "task": ["pick"]}).write_parquet(src / "meta" / "tasks.parquet")
    res = standardize(read_lerobot(src, source="so100"))
    assert res.quarantine.height == 0
    (root,) = write_lerobot_v3(tmp_path / "back", res.episodes, res.steps)
    back = pl.read_parquet(root / "data" / "chunk-000" / "file-000.parquet").sort(["episode_index", "frame_index"])
    for col in ("observation.state", "action", "next.reward", "next.done", "frame_index", "episode_index"):
        assert back.get_column(col).to_list() == frames.get_column(col).to_list(), col
    assert not back.get_column("action_is_pad").any()  # every last action was the source's


def test_minari_round_trip_reproduces_every_episode(tmp_path, minari_root):
    import minari

    from pipelines.episodes.readers import minari_dataset_dirs

    for ds_dir in minari_dataset_dirs(minari_root)[:2]:
        source_ds = minari.MinariDataset(ds_dir / "data")
        res = standardize(read_minari(ds_dir))
        assert res.quarantine.height == 0
        (out,) = write_minari(tmp_path / ds_dir.name, res.episodes, res.steps)
        back_ds = minari.MinariDataset(out / "data")
        src_eps = list(source_ds.storage.get_episodes(source_ds.episode_indices.tolist()))
        back_eps = list(back_ds.storage.get_episodes(back_ds.episode_indices.tolist()))
        assert len(src_eps) == len(back_eps) > 0
        for a, b in zip(src_eps, back_eps):
            obs_a = a["observations"]
            obs_a = np.concatenate([np.asarray(obs_a[k]).reshape(len(a["rewards"]) + 1, -1) for k in sorted(obs_a)],
                                   axis=1) if isinstance(obs_a, dict) else np.asarray(obs_a)
            np.testing.assert_array_equal(_f32(obs_a), np.asarray(b["observations"]))
            np.testing.assert_array_equal(_f32(a["actions"]).reshape(len(a["rewards"]), -1), np.asarray(b["actions"]))
            np.testing.assert_array_equal(np.asarray(a["rewards"], np.float64), np.asarray(b["rewards"], np.float64))
            np.testing.assert_array_equal(a["terminations"], b["terminations"])
            np.testing.assert_array_equal(a["truncations"], b["truncations"])


def test_d4rl_next_observations_that_differ_are_reported(tmp_path):
    src = tmp_path / "odd.hdf5"
    arrays = _d4rl_source(src, True)
    with h5py.File(src, "a") as fh:
        fh["next_observations"][0] = arrays["next_observations"][0] + 1.0  # not observations[1]
    (first, *_) = read_d4rl_hdf5(src)
    assert first.metadata["next_observations_differ"] == 1
