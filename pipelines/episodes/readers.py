"""Readers: every supported source format to :class:`Episode` (or :class:`Quarantined`, with a reason).

A reader never raises on bad data: a file it cannot open, or an episode it cannot lay out, comes
back as a ``Quarantined`` item naming the file, the episode and what is wrong; the rest convert.

Formats: Minari datasets (HDF5 and Arrow, through ``minari``), D4RL/D5RL-style HDF5 (``h5py``),
D5RL kitchen per-episode pickles (a restricted unpickler: numpy arrays and plain containers only),
LeRobotDataset v2.1 and v3.0 (Parquet + JSON metadata), RLDS TFRecord (wire format, no TensorFlow).
"""

from __future__ import annotations

import io
import json
import pickle
import re
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from pipelines.episodes import reasons
from pipelines.episodes.schema import Episode, Quarantined, ee7_from_delta, ee7_from_poses, flatten_observation, structural_problem

ReadItem = Episode | Quarantined
FORMATS = ("minari", "d4rl-hdf5", "d5rl-pickle", "lerobot", "rlds")

# Embodiment of the gymnasium MuJoCo tasks, by environment name without version.
ROBOTS = {
    "InvertedPendulum": "cart-pole",
    "InvertedDoublePendulum": "cart-double-pole",
    "Reacher": "planar-2link-arm",
    "Pusher": "7dof-arm",
    "HalfCheetah": "half-cheetah",
    "Hopper": "hopper",
    "Walker2d": "walker2d",
    "Ant": "ant-quadruped",
    "Swimmer": "swimmer",
}


def _finish(ep: Episode) -> ReadItem:
    """An episode that passes the structural check, or its quarantine record."""
    problem = structural_problem(ep)
    if problem:
        return Quarantined(ep.source, ep.source_format, ep.source_id, problem[0], problem[1])
    return ep


def _robot_of(env_id: str | None) -> str:
    if not env_id:
        return "unknown"
    name = env_id.split("/")[-1].split("-v")[0]
    return ROBOTS.get(name, name.lower())


def reacher_ee7(obs: np.ndarray) -> np.ndarray:
    """Reacher-v5: the fingertip is ``target + (fingertip - target)`` and its yaw is ``q1 + q2``.

    The realized end-effector motion between steps is the standardized 7-D action (no gripper: 0).
    """
    q1 = np.arctan2(obs[:, 2], obs[:, 0])
    q2 = np.arctan2(obs[:, 3], obs[:, 1])
    tip = obs[:, 4:6] + obs[:, 8:10]
    xyz = np.concatenate([tip, np.zeros((obs.shape[0], 1))], axis=1)
    rpy = np.stack([np.zeros_like(q1), np.zeros_like(q1), q1 + q2], axis=1)
    return ee7_from_poses(xyz, rpy, np.zeros(obs.shape[0]))


EE_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"Reacher": reacher_ee7}


def _ee_for_env(env_id: str | None, obs: np.ndarray) -> np.ndarray | None:
    name = (env_id or "").split("/")[-1].split("-v")[0]
    fn = EE_TRANSFORMS.get(name)
    if fn is None or obs.ndim != 2 or obs.shape[1] < 10:
        return None
    return fn(obs)


# --- Minari -------------------------------------------------------------------------------

def _minari_data_dir(path: Path) -> Path:
    return path / "data" if (path / "data").is_dir() else path


def minari_dataset_dirs(root: str | Path) -> list[Path]:
    """Every Minari dataset under ``root`` (a directory holding ``data/metadata.json``)."""
    root = Path(root)
    return sorted({p.parent.parent for p in root.rglob("data/metadata.json")})


def minari_source_name(dataset_id: str) -> str:
    """``foundry/reacher/scripted-v0`` -> ``reacher_scripted`` (namespace and version dropped)."""
    parts = dataset_id.split("/")
    parts = parts[1:] if len(parts) > 1 else parts
    parts[-1] = re.sub(r"-v\d+$", "", parts[-1])
    return "_".join(p for p in parts if p)


def read_minari(path: str | Path, source: str | None = None) -> list[ReadItem]:
    """A Minari dataset directory (HDF5 or Arrow storage), or a directory of several."""
    path = Path(path)
    if not (path / "data" / "metadata.json").exists() and not (path / "metadata.json").exists():
        dirs = minari_dataset_dirs(path)
        if not dirs:
            return [Quarantined(source or path.name, "minari", str(path), reasons.UNREADABLE,
                                f"{path}: no Minari dataset (data/metadata.json) found")]
        out: list[ReadItem] = []
        for d in dirs:
            out.extend(read_minari(d, None))
        return out
    import minari

    data_dir = _minari_data_dir(path)
    try:
        ds = minari.MinariDataset(data_dir)
        meta = dict(ds.storage.metadata)
    except Exception as exc:  # noqa: BLE001 - any failure to open is the file's fault, reported as such
        return [Quarantined(source or path.name, "minari", str(path), reasons.UNREADABLE,
                            f"{path}: cannot open as a Minari dataset ({type(exc).__name__}: {exc})")]
    dataset_id = str(meta.get("dataset_id") or path.name)
    source = source or minari_source_name(dataset_id)
    env_spec = meta.get("env_spec")
    env_id = None
    if env_spec:
        try:
            env_id = json.loads(env_spec).get("id")
        except (TypeError, ValueError):
            env_id = None
    action_space = ds.action_space
    low = getattr(action_space, "low", None)
    high = getattr(action_space, "high", None)
    parts = dataset_id.split("/")
    data_source = str(meta.get("algorithm_name") or (parts[-1].split("-v")[0] if parts else "unknown"))
    out = []
    for index in ds.episode_indices.tolist():
        sid = f"{dataset_id}#{index}"
        try:
            raw = next(iter(ds.storage.get_episodes([index])))
            obs, layout = flatten_observation(raw["observations"])
            actions = np.asarray(raw["actions"], dtype=np.float64)
            actions = actions.reshape(actions.shape[0], -1)
            term = np.asarray(raw["terminations"], dtype=bool)
            trunc = np.asarray(raw["truncations"], dtype=bool)
            rewards = np.asarray(raw["rewards"], dtype=np.float64)
        except Exception as exc:  # noqa: BLE001
            out.append(Quarantined(source, "minari", sid, reasons.UNREADABLE,
                                   f"{path}: episode {index}: {type(exc).__name__}: {exc}"))
            continue
        ep = Episode(source=source, source_format="minari", source_id=sid, obs_state=obs, actions=actions,
                     rewards=rewards, terminated=bool(term[-1]) if term.size else False,
                     truncated=bool(trunc[-1]) if trunc.size else False, obs_layout=layout,
                     robot=_robot_of(env_id), task=env_id or dataset_id, data_source=data_source,
                     action_low=low, action_high=high,
                     metadata={"dataset_id": dataset_id, "episode_index": index, "data_format": meta.get("data_format")})
        if structural_problem(ep) is None:
            ep.action_ee7 = _ee_for_env(env_id, obs)
        out.append(_finish(ep))
    return out


# --- D4RL / D5RL HDF5 and pickles (flat transitions) -----------------------------------------------

def _split_images(obs: Any) -> tuple[Any, np.ndarray | None, str | None]:
    """Take image-like arrays (uint8 with >= 3 dims per batch) out of a dict observation."""
    if not isinstance(obs, dict):
        return obs, None, None
    state, image, image_key = {}, None, None
    for key in sorted(obs):
        arr = obs[key]
        if isinstance(arr, dict):
            state[key] = arr
        elif np.asarray(arr).dtype == np.uint8 and np.asarray(arr).ndim >= 3:
            if image is None:
                image, image_key = np.asarray(arr), key
        else:
            state[key] = arr
    return state, image, image_key


def encode_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _take(obs: Any, sl) -> Any:
    if isinstance(obs, dict):
        return {k: _take(v, sl) for k, v in obs.items()}
    return np.asarray(obs)[sl]


def _length(obs: Any) -> int:
    if isinstance(obs, dict):
        lengths = {_length(v) for v in obs.values()}
        if len(lengths) != 1:
            raise ValueError(f"observation keys disagree in length: {sorted(lengths)}")
        return lengths.pop()
    return int(np.asarray(obs).shape[0])


def _concat_obs(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        return {k: _concat_obs(a[k], b[k]) for k in a}
    return np.concatenate([np.asarray(a), np.asarray(b)], axis=0)


def episode_from_transitions(data: dict, *, source: str, source_format: str, source_id: str, start: int, end: int,
                             **fields) -> ReadItem:
    """Transitions ``start..end`` (inclusive) of D4RL-style arrays as one episode.

    With ``next_observations`` the final observation is ``next_observations[end]`` and every
    transition is kept; without it the last transition's action and reward become the invalid
    ones of the final step (recorded as ``dropped_final_transition`` in metadata), as D4RL's own
    ``qlearning_dataset`` does.
    """
    obs_all = data["observations"]
    sl = slice(start, end + 1)
    obs = _take(obs_all, sl)
    actions = np.asarray(data["actions"][sl], dtype=np.float64)
    rewards = np.asarray(data["rewards"][sl], dtype=np.float64).reshape(-1)
    terminals = np.asarray(data["terminals"][sl], dtype=bool).reshape(-1)
    meta = dict(fields.pop("metadata", {}) or {})
    if "next_observations" in data:
        obs = _concat_obs(obs, _take(data["next_observations"], slice(end, end + 1)))
    else:
        actions, rewards = actions[:-1], rewards[:-1]
        meta["dropped_final_transition"] = True
    state, image, image_key = _split_images(obs)
    flat, layout = flatten_observation(state)
    actions = actions.reshape(actions.shape[0], -1)
    images = [encode_png(im) for im in image] if image is not None else None
    if image_key:
        meta["image_key"] = image_key
    ep = Episode(source=source, source_format=source_format, source_id=source_id, obs_state=flat, actions=actions,
                 rewards=rewards, terminated=bool(terminals[-1]) if terminals.size else False,
                 truncated=not (bool(terminals[-1]) if terminals.size else False), obs_layout=layout,
                 obs_images=images, metadata=meta, **fields)
    return _finish(ep)


def _episode_bounds(n: int, *flags: np.ndarray | None) -> list[tuple[int, int]]:
    ends = np.zeros(n, dtype=bool)
    for f in flags:
        if f is not None:
            ends |= np.asarray(f, dtype=bool).reshape(-1)[:n]
    bounds, start = [], 0
    for i in np.flatnonzero(ends).tolist():
        bounds.append((start, i))
        start = i + 1
    if start < n:
        bounds.append((start, n - 1))  # a tail without an end flag is a truncated episode
    return bounds


def _h5_to_dict(node) -> Any:
    import h5py

    if isinstance(node, h5py.Dataset):
        return node[()]
    return {k: _h5_to_dict(node[k]) for k in node.keys()}


def read_d4rl_hdf5(path: str | Path, source: str | None = None, robot: str = "unknown", task: str | None = None,
                   data_source: str | None = None, language_instruction: str | None = None) -> list[ReadItem]:
    """A D4RL/D5RL-style HDF5 file (or a directory of ``*.hdf5``/``*.h5``).

    Arrays: ``observations`` (array or group), ``actions``, ``rewards``, ``terminals`` and episode
    ends from ``timeouts`` and/or ``trajectory_ends``; optional ``next_observations``.
    """
    path = Path(path)
    if path.is_dir():
        out: list[ReadItem] = []
        for f in sorted([*path.rglob("*.hdf5"), *path.rglob("*.h5")]):
            out.extend(read_d4rl_hdf5(f, source, robot, task, data_source, language_instruction))
        return out
    import h5py

    source = source or path.stem
    try:
        with h5py.File(path, "r") as fh:
            data = {k: _h5_to_dict(fh[k]) for k in fh.keys()}
    except Exception as exc:  # noqa: BLE001
        return [Quarantined(source, "d4rl-hdf5", str(path), reasons.UNREADABLE,
                            f"{path}: not a readable HDF5 file ({type(exc).__name__}: {exc})")]
    missing = [k for k in ("observations", "actions", "rewards", "terminals") if k not in data]
    if missing:
        return [Quarantined(source, "d4rl-hdf5", str(path), reasons.MISSING_FIELD,
                            f"{path}: missing {', '.join(missing)}; a D4RL file needs observations, actions, rewards, terminals")]
    try:
        n = _length(data["observations"])
    except ValueError as exc:
        return [Quarantined(source, "d4rl-hdf5", str(path), reasons.SHAPE_MISMATCH, f"{path}: {exc}")]
    lengths = {k: int(np.asarray(data[k]).shape[0]) for k in ("actions", "rewards", "terminals", "timeouts",
                                                              "trajectory_ends") if k in data}
    bad = {k: v for k, v in lengths.items() if v != n}
    if bad:
        return [Quarantined(source, "d4rl-hdf5", str(path), reasons.SHAPE_MISMATCH,
                            f"{path}: {n} observations but " + ", ".join(f"{v} {k}" for k, v in bad.items()))]
    bounds = _episode_bounds(n, data["terminals"], data.get("timeouts"), data.get("trajectory_ends"))
    out = []
    for i, (s, e) in enumerate(bounds):
        sid = f"{path.name}#{i}"
        try:
            out.append(episode_from_transitions(
                data, source=source, source_format="d4rl-hdf5", source_id=sid, start=s, end=e, robot=robot,
                task=task or path.stem, data_source=data_source or "unknown", language_instruction=language_instruction,
                metadata={"file": path.name, "transitions": [s, e]}))
        except Exception as exc:  # noqa: BLE001
            out.append(Quarantined(source, "d4rl-hdf5", sid, reasons.SHAPE_MISMATCH, f"{path}: episode {i}: {exc}"))
    return out


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global outside the allow-list."""


_PICKLE_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "bytearray"), ("builtins", "complex"),
    ("collections", "OrderedDict"), ("_codecs", "encode"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Loads numpy arrays, numpy scalars and plain containers; any other global is refused."""

    def find_class(self, module: str, name: str):
        checked = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)  # protocol <= 2 names
        if (checked, name) in _PICKLE_ALLOWED:
            return super().find_class(module, name)
        if module in ("numpy", "numpy.dtypes") and name.endswith("DType"):  # numpy 2 dtype classes
            return super().find_class(module, name)
        raise UnsafePickleError(f"global {module}.{name} is not allowed (only numpy arrays and plain containers)")


def safe_load_pickle(data: bytes) -> Any:
    return RestrictedUnpickler(io.BytesIO(data)).load()


def read_d5rl_pickles(path: str | Path, source: str | None = None, robot: str = "franka-kitchen",
                      task: str = "kitchen", data_source: str | None = None) -> list[ReadItem]:
    """D5RL kitchen per-episode pickles: a file (or directory of ``*.pkl``), one episode each.

    Each holds a dict with ``observations`` (array or dict), ``actions``, ``rewards`` and
    ``terminals`` (or ``dones``); optional ``next_observations``, ``language_instruction``.
    """
    path = Path(path)
    files = sorted([*path.rglob("*.pkl"), *path.rglob("*.pickle")]) if path.is_dir() else [path]
    source = source or (path.name if path.is_dir() else path.parent.name)
    out: list[ReadItem] = []
    for f in files:
        sid = f.name
        try:
            obj = safe_load_pickle(f.read_bytes())
        except UnsafePickleError as exc:
            out.append(Quarantined(source, "d5rl-pickle", sid, reasons.UNSAFE_PICKLE, f"{f}: {exc}"))
            continue
        except Exception as exc:  # noqa: BLE001
            out.append(Quarantined(source, "d5rl-pickle", sid, reasons.UNREADABLE, f"{f}: {type(exc).__name__}: {exc}"))
            continue
        if not isinstance(obj, dict):
            out.append(Quarantined(source, "d5rl-pickle", sid, reasons.MISSING_FIELD,
                                   f"{f}: expected a dict of arrays, got {type(obj).__name__}"))
            continue
        if "terminals" not in obj and "dones" in obj:
            obj = {**obj, "terminals": obj["dones"]}
        missing = [k for k in ("observations", "actions", "rewards", "terminals") if k not in obj]
        if missing:
            out.append(Quarantined(source, "d5rl-pickle", sid, reasons.MISSING_FIELD, f"{f}: missing {', '.join(missing)}"))
            continue
        try:
            n = _length(obj["observations"])
            lang = obj.get("language_instruction")
            out.append(episode_from_transitions(
                obj, source=source, source_format="d5rl-pickle", source_id=sid, start=0, end=n - 1, robot=robot,
                task=str(obj.get("task", task)), data_source=data_source or str(obj.get("data_source", "unknown")),
                language_instruction=None if lang is None else str(lang), metadata={"file": f.name}))
        except Exception as exc:  # noqa: BLE001
            out.append(Quarantined(source, "d5rl-pickle", sid, reasons.SHAPE_MISMATCH, f"{f}: {type(exc).__name__}: {exc}"))
    if not files:
        out.append(Quarantined(source, "d5rl-pickle", str(path), reasons.UNREADABLE, f"{path}: no .pkl files"))
    return out


# --- LeRobotDataset v2.1 / v3.0 ----------------------------------------------------------------

def _image_bytes(value: Any) -> bytes | None:
    if isinstance(value, dict):
        return value.get("bytes")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return None


def read_lerobot(path: str | Path, source: str | None = None, robot: str | None = None,
                 data_source: str = "unknown") -> list[ReadItem]:
    """A LeRobotDataset directory (``meta/info.json`` with codebase_version v2.x or v3.x).

    Frames of one episode become its steps; the last frame's action and reward are the invalid
    ones of the final step. State features (``observation.*`` of float dtype) are concatenated
    in sorted order; the first ``image`` feature becomes ``observation_image`` (video features
    need a decoder and are skipped, said in metadata).
    """
    import pyarrow.parquet as pq
    import polars as pl

    path = Path(path)
    source = source or path.name
    try:
        info = json.loads((path / "meta" / "info.json").read_text(encoding="utf-8"))
        version = str(info.get("codebase_version", ""))
        features: dict = info["features"]
    except Exception as exc:  # noqa: BLE001
        return [Quarantined(source, "lerobot", str(path), reasons.UNREADABLE, f"{path}/meta/info.json: {exc}")]
    tasks: dict[int, str] = {}
    try:
        if version.startswith("v2"):
            for line in (path / "meta" / "tasks.jsonl").read_text(encoding="utf-8").splitlines():
                if line.strip():
                    t = json.loads(line)
                    tasks[int(t["task_index"])] = str(t["task"])
        else:
            tt = pq.read_table(path / "meta" / "tasks.parquet").to_pylist()
            for t in tt:
                name = t.get("task", t.get("__index_level_0__"))
                tasks[int(t["task_index"])] = str(name)
    except Exception as exc:  # noqa: BLE001 - tasks are optional for conversion
        tasks = {}
        info.setdefault("_warnings", []).append(f"tasks unreadable: {exc}")
    state_keys = sorted(k for k, f in features.items() if k.startswith("observation.") and f.get("dtype") in
                        ("float32", "float64", "int64", "int32"))
    image_keys = sorted(k for k, f in features.items() if k.startswith("observation.") and f.get("dtype") == "image")
    video_keys = sorted(k for k, f in features.items() if f.get("dtype") == "video")
    files = sorted((path / "data").rglob("*.parquet"))
    out: list[ReadItem] = []
    frames = []
    for f in files:
        try:
            frames.append(pl.read_parquet(f))
        except Exception as exc:  # noqa: BLE001
            out.append(Quarantined(source, "lerobot", f.relative_to(path).as_posix(), reasons.UNREADABLE,
                                   f"{f}: not a readable Parquet file ({type(exc).__name__}: {exc})"))
    if not frames:
        return out or [Quarantined(source, "lerobot", str(path), reasons.UNREADABLE, f"{path}/data: no Parquet files")]
    data = pl.concat(frames, how="diagonal_relaxed").sort(["episode_index", "frame_index"])
    shape = features.get("action", {}).get("shape")
    names = features.get("action", {}).get("names")
    for (index,), group in data.group_by(["episode_index"], maintain_order=True):
        sid = f"episode_{int(index):06d}"
        try:
            if "action" not in group.columns:
                raise KeyError("action")
            parts, layout = [], []
            for k in state_keys:
                arr = np.asarray(group.get_column(k).to_list(), dtype=np.float64).reshape(group.height, -1)
                parts.append(arr)
                layout.append((k, arr.shape[1]))
            if not parts:
                raise KeyError("observation.* state feature")
            obs = np.concatenate(parts, axis=1)
            actions = np.asarray(group.get_column("action").to_list(), dtype=np.float64).reshape(group.height, -1)
            rewards = (np.asarray(group.get_column("next.reward").to_list(), dtype=np.float64)
                       if "next.reward" in group.columns else np.zeros(group.height))
            done = bool(group.get_column("next.done").to_list()[-1]) if "next.done" in group.columns else False
            images = None
            if image_keys:
                images = [_image_bytes(v) for v in group.get_column(image_keys[0]).to_list()]
                if any(b is None for b in images):
                    raise ValueError(f"{image_keys[0]}: a frame has no embedded image bytes")
            task_index = int(group.get_column("task_index").to_list()[0]) if "task_index" in group.columns else None
        except KeyError as exc:
            out.append(Quarantined(source, "lerobot", sid, reasons.MISSING_FIELD, f"{path}: episode {index}: missing {exc}"))
            continue
        except Exception as exc:  # noqa: BLE001
            out.append(Quarantined(source, "lerobot", sid, reasons.SHAPE_MISMATCH,
                                   f"{path}: episode {index}: {type(exc).__name__}: {exc}"))
            continue
        ep = Episode(source=source, source_format="lerobot", source_id=sid, obs_state=obs, actions=actions[:-1],
                     rewards=rewards[:-1], terminated=done, truncated=not done, obs_layout=layout, obs_images=images,
                     robot=robot or str(info.get("robot_type") or "unknown"),
                     task=tasks.get(task_index, "unknown") if task_index is not None else "unknown",
                     data_source=data_source,
                     language_instruction=tasks.get(task_index) if task_index is not None else None,
                     metadata={"codebase_version": version, "fps": info.get("fps"), "episode_index": int(index),
                               "action_shape": shape, "action_names": names, "skipped_video": video_keys})
        out.append(_finish(ep))
    return out


# --- RLDS TFRecord -----------------------------------------------------------------------------

def _rlds_actions(ex: dict, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The raw action (n, A) and, where the layout says end-effector deltas, the standardized 7-D one."""
    if "steps/action" in ex:
        return np.asarray(ex["steps/action"][1], dtype=np.float64).reshape(n, -1), None
    keys = sorted(k for k in ex if k.startswith("steps/action/"))
    if not keys:
        raise KeyError("steps/action")
    parts = {k.split("/", 2)[2]: np.asarray(ex[k][1], dtype=np.float64).reshape(n, -1) for k in keys}
    raw = np.concatenate([parts[k] for k in sorted(parts)], axis=1)
    ee = None
    if "world_vector" in parts and "rotation_delta" in parts:
        grip_key = next((k for k in ("gripper_closedness_action", "open_gripper", "gripper") if k in parts), None)
        grip = parts[grip_key][:, 0] if grip_key else np.zeros(n)
        ee = ee7_from_delta(parts["world_vector"], parts["rotation_delta"], grip,
                            gripper_open_is_positive=grip_key != "gripper_closedness_action")
    return raw, ee


def _rlds_episode(ex: dict, *, source: str, sid: str, robot: str, data_source: str, ee_action: str | None) -> ReadItem:
    flags = ex.get("steps/is_first") or ex.get("steps/is_last")
    if flags is None:
        return Quarantined(source, "rlds", sid, reasons.MISSING_FIELD, f"{sid}: no steps/is_first or steps/is_last")
    n = len(flags[1])
    obs_keys = sorted(k for k in ex if k.startswith("steps/observation/"))
    state_parts, layout, images = [], [], None
    for k in obs_keys:
        kind, values = ex[k]
        name = k.split("/", 2)[2]
        if kind == "bytes":
            if images is None and len(values) == n:
                images = list(values)
            continue
        arr = np.asarray(values, dtype=np.float64)
        if arr.size % max(n, 1):
            return Quarantined(source, "rlds", sid, reasons.SHAPE_MISMATCH,
                               f"{sid}: {k} has {arr.size} values, not a multiple of {n} steps")
        arr = arr.reshape(n, -1)
        state_parts.append(arr)
        layout.append((name, arr.shape[1]))
    if not state_parts:
        return Quarantined(source, "rlds", sid, reasons.MISSING_FIELD, f"{sid}: no numeric steps/observation/* feature")
    try:
        actions, ee = _rlds_actions(ex, n)
    except KeyError:
        return Quarantined(source, "rlds", sid, reasons.MISSING_FIELD, f"{sid}: no steps/action feature")
    except ValueError as exc:
        return Quarantined(source, "rlds", sid, reasons.SHAPE_MISMATCH, f"{sid}: action: {exc}")
    if ee is None and ee_action == "delta7" and actions.shape[1] == 7:
        ee = ee7_from_delta(actions[:, :3], actions[:, 3:6], actions[:, 6])
    rewards = np.asarray(ex["steps/reward"][1], dtype=np.float64) if "steps/reward" in ex else np.zeros(n)
    terminal = bool(np.asarray(ex["steps/is_terminal"][1]).any()) if "steps/is_terminal" in ex else False
    lang = None
    if "steps/language_instruction" in ex and ex["steps/language_instruction"][1]:
        lang = bytes(ex["steps/language_instruction"][1][0]).decode("utf-8", errors="replace")
    meta = {}
    for k, (kind, values) in ex.items():
        if k.startswith("episode_metadata/"):
            meta[k.split("/", 1)[1]] = ([bytes(v).decode("utf-8", errors="replace") for v in values] if kind == "bytes"
                                        else np.asarray(values).tolist())
    if rewards.size != n:
        return Quarantined(source, "rlds", sid, reasons.SHAPE_MISMATCH, f"{sid}: {rewards.size} rewards for {n} steps")
    ep = Episode(source=source, source_format="rlds", source_id=sid, obs_state=np.concatenate(state_parts, axis=1),
                 actions=actions[:-1], rewards=rewards[:-1], terminated=terminal, truncated=not terminal,
                 obs_layout=layout, obs_images=images, action_ee7=None if ee is None else ee[:-1], robot=robot,
                 task=source, data_source=data_source, language_instruction=lang, metadata=meta)
    return _finish(ep)


def read_rlds(path: str | Path, source: str | None = None, robot: str = "unknown", data_source: str = "unknown",
              ee_action: str | None = None) -> list[ReadItem]:
    """RLDS episodes in TFRecord files (TFDS layout: one ``tf.train.Example`` per episode with
    ``steps/...`` features flattened over steps), read on the wire format without TensorFlow.

    ``ee_action="delta7"`` says a flat 7-D action is ``[dxyz, drpy, gripper]`` (Bridge-style);
    split actions with ``world_vector``/``rotation_delta`` (RT-1 style) are recognised by name.
    """
    from pipelines.episodes.tfrecord import TFRecordError, iter_records, parse_example

    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file() and ".tfrecord" in p.name) if path.is_dir() else [path]
    source = source or (path.name if path.is_dir() else path.name.split(".tfrecord")[0])
    out: list[ReadItem] = []
    for f in files:
        index = 0
        try:
            for index, payload in enumerate(iter_records(f)):
                sid = f"{f.name}#{index}"
                try:
                    ex = parse_example(payload)
                except TFRecordError as exc:
                    out.append(Quarantined(source, "rlds", sid, reasons.UNREADABLE, f"{f}: record {index}: {exc}"))
                    continue
                out.append(_rlds_episode(ex, source=source, sid=sid, robot=robot, data_source=data_source,
                                         ee_action=ee_action))
        except (TFRecordError, OSError) as exc:
            out.append(Quarantined(source, "rlds", f"{f.name}#*", reasons.UNREADABLE, f"{exc}"))
    if not files:
        out.append(Quarantined(source, "rlds", str(path), reasons.UNREADABLE, f"{path}: no *.tfrecord* files"))
    return out


READERS: dict[str, Callable[..., list[ReadItem]]] = {
    "minari": read_minari,
    "d4rl-hdf5": read_d4rl_hdf5,
    "d5rl-pickle": read_d5rl_pickles,
    "lerobot": read_lerobot,
    "rlds": read_rlds,
}


def read_source(fmt: str, path: str | Path, **options) -> list[ReadItem]:
    if fmt not in READERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return READERS[fmt](path, **options)


def split_items(items: Iterable[ReadItem]) -> tuple[list[Episode], list[Quarantined]]:
    eps, bad = [], []
    for it in items:
        (eps if isinstance(it, Episode) else bad).append(it)
    return eps, bad
