"""Writers: the standard Parquet dataset, LeRobotDataset v3.0, and Minari datasets.

Standard layout (``DIR``)::

    info.json                      schema version, counts, sources
    stats.json                     per-source mean/std/min/max/quantiles (checks.compute_stats)
    episodes/source=<s>/part-0.parquet
    steps/source=<s>/part-0.parquet
    quarantine.parquet             every source episode that did not convert, with reason

LeRobot v3 (one dataset per source, since LeRobot datasets have one shape and one robot):
``meta/info.json``, ``meta/stats.json`` (with q01..q99), ``meta/tasks.parquet``,
``meta/episodes/chunk-000/file-000.parquet``, ``data/chunk-000/file-000.parquet``. The final step
(RLDS ``is_last``) becomes the last frame with the standard's action there, or a zero action with
``action_is_pad`` set when the standard has none; ``next.done`` is ``is_terminal``.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.core.io import atomic_write_parquet, atomic_write_text, write_partitioned_parquet
from pipelines.episodes.checks import array_stats, compute_stats, stats_json
from pipelines.episodes.schema import EPISODE_SCHEMA, QUARANTINE_SCHEMA, STEP_SCHEMA

STANDARD_VERSION = "episodes-standard/1"
LEROBOT_VERSION = "v3.0"
LEROBOT_FPS = 20


def write_standard(directory: str | Path, episodes: pl.DataFrame, steps: pl.DataFrame,
                   quarantine: pl.DataFrame | None = None, stats: dict | None = None) -> Path:
    directory = Path(directory)
    write_partitioned_parquet(episodes, directory / "episodes", "source")
    write_partitioned_parquet(steps, directory / "steps", "source")
    q = quarantine if quarantine is not None else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    atomic_write_parquet(q, directory / "quarantine.parquet")
    stats = stats if stats is not None else compute_stats(episodes, steps)
    atomic_write_text(stats_json(stats), directory / "stats.json")
    info = {"format": STANDARD_VERSION, "episodes": episodes.height, "steps": steps.height,
            "quarantined": q.height, "sources": sorted(episodes.get_column("source").unique().to_list()),
            "episode_schema": {k: str(v) for k, v in EPISODE_SCHEMA.items()},
            "step_schema": {k: str(v) for k, v in STEP_SCHEMA.items()}}
    atomic_write_text(json.dumps(info, indent=1, sort_keys=True), directory / "info.json")
    return directory


def _read_partitioned(directory: Path, schema: dict) -> pl.DataFrame:
    files = sorted(directory.glob("source=*/part-*.parquet"))
    if not files:
        return pl.DataFrame(schema=schema)
    parts = []
    for f in files:
        source = f.parent.name.split("=", 1)[1]
        parts.append(pl.read_parquet(f).with_columns(pl.lit(source, pl.Utf8).alias("source")))
    return pl.concat(parts, how="diagonal_relaxed").select(list(schema)).cast(schema)


def read_standard(directory: str | Path) -> tuple[pl.DataFrame, pl.DataFrame, dict | None]:
    """(episodes, steps, stats or None) of a standard dataset directory."""
    from pipelines.episodes.schema import sort_frames

    directory = Path(directory)
    if not (directory / "episodes").is_dir():
        raise FileNotFoundError(f"{directory}: no episodes/ directory; give the --out DIR of `foundry episodes convert`")
    episodes = _read_partitioned(directory / "episodes", EPISODE_SCHEMA)
    steps = _read_partitioned(directory / "steps", STEP_SCHEMA)
    stats_path = directory / "stats.json"
    stats = json.loads(stats_path.read_text(encoding="utf-8")) if stats_path.exists() else None
    episodes, steps = sort_frames(episodes, steps)
    return episodes, steps, stats


# --- LeRobot v3 ---------------------------------------------------------------------------------

def _lerobot_frames(episodes: pl.DataFrame, steps: pl.DataFrame, tasks: dict[str, int]) -> pl.DataFrame:
    action_dim = int(episodes.get_column("action_dim")[0])
    zero = [0.0] * action_dim
    ep_index = {eid: i for i, eid in enumerate(episodes.get_column("episode_id").to_list())}
    task_of = {eid: tasks[_task_text(row)] for eid, row in
               zip(episodes.get_column("episode_id").to_list(), episodes.iter_rows(named=True))}
    frame = steps.with_columns(
        pl.col("episode_id").replace_strict(ep_index, return_dtype=pl.Int64).alias("episode_index"),
        pl.col("step_index").alias("frame_index"),
        (pl.col("step_index").cast(pl.Float32) / LEROBOT_FPS).alias("timestamp"),
        pl.col("episode_id").replace_strict(task_of, return_dtype=pl.Int64).alias("task_index"),
        pl.col("action").fill_null(pl.lit(zero, dtype=pl.List(pl.Float32))).alias("action"),
        pl.col("action").is_null().alias("action_is_pad"),  # a zero written where the standard has no action
        pl.col("reward").cast(pl.Float32).alias("next.reward"),
        pl.col("is_terminal").alias("next.done"),
    ).sort(["episode_index", "frame_index"]).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    cols = ["observation_state", "action", "action_is_pad", "timestamp", "frame_index", "episode_index", "index", "task_index",
            "next.reward", "next.done"]
    out = frame.select(cols).rename({"observation_state": "observation.state"})
    if episodes.get_column("has_image").any():
        out = out.with_columns(frame.select(pl.struct(pl.col("observation_image").alias("bytes"),
                                                      pl.lit(None, pl.Utf8).alias("path")).alias("observation.image")))
    return out


def _task_text(row: dict) -> str:
    return row.get("language_instruction") or row.get("task") or "unknown"


def write_lerobot_v3(directory: str | Path, episodes: pl.DataFrame, steps: pl.DataFrame) -> list[Path]:
    """One LeRobotDataset v3.0 per source under ``directory/<source>``; returns their roots."""
    directory = Path(directory)
    roots = []
    for source in sorted(episodes.get_column("source").unique().to_list()):
        eps = episodes.filter(pl.col("source") == source)
        st = steps.filter(pl.col("source") == source)
        root = directory / source
        task_names = sorted({_task_text(r) for r in eps.iter_rows(named=True)})
        tasks = {t: i for i, t in enumerate(task_names)}
        frames = _lerobot_frames(eps, st, tasks)
        atomic_write_parquet(frames, root / "data" / "chunk-000" / "file-000.parquet")
        atomic_write_parquet(pl.DataFrame({"task_index": list(tasks.values()), "task": list(tasks)},
                                          schema={"task_index": pl.Int64, "task": pl.Utf8}),
                             root / "meta" / "tasks.parquet")
        bounds = frames.group_by("episode_index", maintain_order=True).agg(
            pl.col("index").min().alias("dataset_from_index"), (pl.col("index").max() + 1).alias("dataset_to_index"),
            pl.len().cast(pl.Int64).alias("length"), pl.col("task_index").first())
        meta_eps = bounds.with_columns(
            pl.col("task_index").replace_strict({v: k for k, v in tasks.items()}, return_dtype=pl.Utf8)
            .map_elements(lambda t: [t], return_dtype=pl.List(pl.Utf8)).alias("tasks"),
            pl.lit(0, pl.Int64).alias("data/chunk_index"), pl.lit(0, pl.Int64).alias("data/file_index"),
            pl.lit(0, pl.Int64).alias("meta/episodes/chunk_index"), pl.lit(0, pl.Int64).alias("meta/episodes/file_index"),
            pl.Series("episode_id", eps.get_column("episode_id").to_list()),
        ).drop("task_index")
        atomic_write_parquet(meta_eps, root / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
        obs_dim = int(eps.get_column("obs_dim")[0])
        act_dim = int(eps.get_column("action_dim")[0])
        features = {
            "observation.state": {"dtype": "float32", "shape": [obs_dim], "names": None},
            "action": {"dtype": "float32", "shape": [act_dim], "names": None},
            "action_is_pad": {"dtype": "bool", "shape": [1], "names": None},
            "timestamp": {"dtype": "float32", "shape": [1], "names": None},
            "frame_index": {"dtype": "int64", "shape": [1], "names": None},
            "episode_index": {"dtype": "int64", "shape": [1], "names": None},
            "index": {"dtype": "int64", "shape": [1], "names": None},
            "task_index": {"dtype": "int64", "shape": [1], "names": None},
            "next.reward": {"dtype": "float32", "shape": [1], "names": None},
            "next.done": {"dtype": "bool", "shape": [1], "names": None},
        }
        if "observation.image" in frames.columns:
            features["observation.image"] = {"dtype": "image", "shape": None, "names": ["height", "width", "channel"]}
        info = {"codebase_version": LEROBOT_VERSION, "robot_type": str(eps.get_column("robot")[0]),
                "total_episodes": eps.height, "total_frames": frames.height, "total_tasks": len(tasks),
                "chunks_size": 1000, "data_files_size_in_mb": 100, "video_files_size_in_mb": 500, "fps": LEROBOT_FPS,
                "splits": {"train": f"0:{eps.height}"},
                "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet", "video_path": None,
                "features": features}
        atomic_write_text(json.dumps(info, indent=4), root / "meta" / "info.json")
        stats = {
            "observation.state": array_stats(np.asarray(frames.get_column("observation.state").to_list())),
            "action": array_stats(np.asarray(frames.get_column("action").to_list())),
            "next.reward": array_stats(frames.get_column("next.reward").to_numpy()),
            "timestamp": array_stats(frames.get_column("timestamp").to_numpy()),
            "frame_index": array_stats(frames.get_column("frame_index").to_numpy()),
            "episode_index": array_stats(frames.get_column("episode_index").to_numpy()),
        }
        atomic_write_text(stats_json(stats), root / "meta" / "stats.json")
        roots.append(root)
    return roots


# --- Minari -------------------------------------------------------------------------------------

@contextlib.contextmanager
def minari_root(path: str | Path):
    """Point Minari's dataset directory at ``path`` for the duration (it reads an env variable)."""
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield Path(path)
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def write_minari(directory: str | Path, episodes: pl.DataFrame, steps: pl.DataFrame,
                 data_format: str = "hdf5", namespace: str = "foundry-export") -> list[Path]:
    """One Minari dataset per source (``<namespace>/<source>-v0``) under ``directory``."""
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    directory = Path(directory)
    roots = []
    for source in sorted(episodes.get_column("source").unique().to_list()):
        eps = episodes.filter(pl.col("source") == source)
        st = steps.filter(pl.col("source") == source)
        obs_dim = int(eps.get_column("obs_dim")[0])
        act_dim = int(eps.get_column("action_dim")[0])
        low, high = eps.get_column("action_low")[0], eps.get_column("action_high")[0]
        low = np.asarray(low.to_list() if low is not None else [-np.inf] * act_dim, dtype=np.float32)
        high = np.asarray(high.to_list() if high is not None else [np.inf] * act_dim, dtype=np.float32)
        obs_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        act_space = gym.spaces.Box(low, high, (act_dim,), np.float32)
        buffers = []
        grouped = {k[0]: g for k, g in st.group_by(["episode_id"], maintain_order=True)}
        for i, row in enumerate(eps.iter_rows(named=True)):
            g = grouped[row["episode_id"]].sort("step_index")
            obs = np.asarray(g.get_column("observation_state").to_list(), dtype=np.float32)
            act = np.asarray(g.get_column("action").to_list()[:-1], dtype=np.float32)
            rew = np.asarray(g.get_column("reward").to_list()[:-1], dtype=np.float64)
            t = act.shape[0]
            term = np.zeros(t, dtype=bool)
            trunc = np.zeros(t, dtype=bool)
            term[-1] = bool(row["terminated"])
            trunc[-1] = not bool(row["terminated"])
            buffers.append(EpisodeBuffer(id=i, observations=obs, actions=act, rewards=rew, terminations=term,
                                         truncations=trunc, infos={}))
        dataset_id = f"{namespace}/{source}-v0"
        with minari_root(directory):
            target = directory / dataset_id
            if target.exists():
                import shutil

                shutil.rmtree(target)
            with warnings.catch_warnings():  # no eval env exists for exported data; Minari warns about that
                warnings.filterwarnings("ignore", message=".*(eval_env|env_spec is None).*")
                minari.create_dataset_from_buffers(
                    dataset_id=dataset_id, buffer=buffers, observation_space=obs_space, action_space=act_space,
                    algorithm_name=str(eps.get_column("data_source")[0]), author="reasoning-data foundry",
                    author_email="foundry@localhost", code_permalink="pipelines/episodes/writers.py",
                    description=f"{source}: standardized episodes exported by the foundry", data_format=data_format)
        roots.append(directory / dataset_id)
    return roots


# --- D4RL HDF5 ----------------------------------------------------------------------------------

def d4rl_arrays(episodes: pl.DataFrame, steps: pl.DataFrame) -> dict[str, np.ndarray]:
    """The standard back as D4RL arrays, episodes in the order given.

    An episode whose last step has an action (the source's last transition, kept) gives ``T + 1``
    transitions without ``next_observations``; one without gives ``T`` transitions with
    ``next_observations``. Mixing the two in one file is refused, as D4RL has one layout per file.
    """
    grouped = {k[0]: g.sort("step_index") for k, g in steps.group_by(["episode_id"], maintain_order=True)}
    cols: dict[str, list] = {"observations": [], "actions": [], "rewards": [], "terminals": [], "timeouts": [],
                             "next_observations": []}
    layouts = set()
    for row in episodes.iter_rows(named=True):
        g = grouped[row["episode_id"]]
        obs = np.asarray(g.get_column("observation_state").to_list(), dtype=np.float32)
        actions = g.get_column("action").to_list()
        rewards = np.asarray(g.get_column("reward").to_list(), dtype=np.float64)
        with_final = actions[-1] is not None
        layouts.add(with_final)
        t = obs.shape[0] if with_final else obs.shape[0] - 1
        cols["observations"].append(obs[:t])
        cols["actions"].append(np.asarray(actions[:t], dtype=np.float32))
        cols["rewards"].append(rewards[:t])
        end = np.zeros(t, dtype=bool)
        end[-1] = True
        cols["terminals"].append(end & bool(row["terminated"]))
        cols["timeouts"].append(end & (not bool(row["terminated"])))
        if not with_final:
            cols["next_observations"].append(obs[1:])
    if len(layouts) > 1:
        raise ValueError("episodes mix kept last actions and next observations; write them to separate files")
    out = {k: np.concatenate(v) for k, v in cols.items() if v}
    return out


def write_d4rl_hdf5(path: str | Path, episodes: pl.DataFrame, steps: pl.DataFrame) -> Path:
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as fh:
        for key, arr in d4rl_arrays(episodes, steps).items():
            fh.create_dataset(key, data=arr)
    return path
