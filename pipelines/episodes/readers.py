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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from pipelines.core import storage
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


def read_minari(path: str | Path, source: str | None = None, episodes: list[int] | None = None) -> list[ReadItem]:
    """A Minari dataset directory (HDF5 or Arrow storage), or a directory of several.

    ``episodes``: read only these episode indices of a single dataset (an engine task's share of
    it; ids and order are those of the whole read)."""
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
    wanted = None if episodes is None else set(int(i) for i in episodes)
    for index in ds.episode_indices.tolist():
        if wanted is not None and index not in wanted:
            continue
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
    ones of the final step, kept there and flagged ``rlds_invalid`` (metadata
    ``final_transition_on_last_step``), so every source value survives.
    """
    obs_all = data["observations"]
    sl = slice(start, end + 1)
    obs = _take(obs_all, sl)
    actions = np.asarray(data["actions"][sl], dtype=np.float64)
    rewards = np.asarray(data["rewards"][sl], dtype=np.float64).reshape(-1)
    terminals = np.asarray(data["terminals"][sl], dtype=bool).reshape(-1)
    meta = dict(fields.pop("metadata", {}) or {})
    final_action = final_reward = None
    if "next_observations" in data:
        # the standard holds next_observations[t] as the observation of step t + 1: say where the source differs
        inner = _take(data["next_observations"], slice(start, end))
        later = _take(obs_all, slice(start + 1, end + 1))
        a, b = flatten_observation(inner)[0] if end > start else None, flatten_observation(later)[0] if end > start else None
        if a is not None and not np.array_equal(a, b, equal_nan=True):
            meta["next_observations_differ"] = int((~np.isclose(a, b, equal_nan=True)).any(axis=1).sum())
        obs = _concat_obs(obs, _take(data["next_observations"], slice(end, end + 1)))
    else:
        # the last transition's action and reward are kept on the final step (flagged RLDS-invalid there)
        final_action, final_reward = actions[-1].reshape(-1), float(rewards[-1])
        actions, rewards = actions[:-1], rewards[:-1]
        meta["final_transition_on_last_step"] = True
    state, image, image_key = _split_images(obs)
    flat, layout = flatten_observation(state)
    actions = actions.reshape(actions.shape[0], -1)
    images = [encode_png(im) for im in image] if image is not None else None
    if image_key:
        meta["image_key"] = image_key
    ep = Episode(source=source, source_format=source_format, source_id=source_id, obs_state=flat, actions=actions,
                 rewards=rewards, terminated=bool(terminals[-1]) if terminals.size else False,
                 truncated=not (bool(terminals[-1]) if terminals.size else False), obs_layout=layout,
                 obs_images=images, metadata=meta, final_action=final_action, final_reward=final_reward, **fields)
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


# A D4RL file is read whole into memory; its declared size (shape x dtype of every dataset) is
# checked against this budget before a byte of data is read, so a 4 KB file declaring 48 GB fails fast.
HDF5_BUDGET_BYTES = 8 * 1024 ** 3


def _h5_declared_bytes(fh) -> int:
    import h5py

    total = 0

    def visit(_name, node):
        nonlocal total
        if isinstance(node, h5py.Dataset):
            total += int(np.prod(node.shape, dtype=object) if node.shape else 1) * int(node.dtype.itemsize)

    fh.visititems(visit)
    return total


def _h5_to_dict(node) -> Any:
    import h5py

    if isinstance(node, h5py.Dataset):
        return node[()]
    return {k: _h5_to_dict(node[k]) for k in node.keys()}


def _scalar_keys(data: dict, keys: Iterable[str]) -> list[str]:
    """Required arrays that are scalars (0-d) instead of one value per transition."""
    def scalar(v: Any) -> bool:
        if isinstance(v, dict):
            return any(scalar(x) for x in v.values())
        return np.ndim(v) == 0
    return [k for k in keys if k in data and scalar(data[k])]


def read_d4rl_hdf5(path: str | Path, source: str | None = None, robot: str = "unknown", task: str | None = None,
                   data_source: str | None = None, language_instruction: str | None = None,
                   budget_bytes: int | None = None) -> list[ReadItem]:
    """A D4RL/D5RL-style HDF5 file (or a directory of ``*.hdf5``/``*.h5``).

    Arrays: ``observations`` (array or group), ``actions``, ``rewards``, ``terminals`` and episode
    ends from ``timeouts`` and/or ``trajectory_ends``; optional ``next_observations``. Other
    datasets (scalar metadata included) are ignored. A file whose datasets declare more than
    ``budget_bytes`` (default :data:`HDF5_BUDGET_BYTES`) is quarantined as ``oversized`` unread.
    """
    if storage.is_uri(path):  # an object store: h5py reads through an fsspec file object, nothing copied
        if storage.is_dir(path):
            out = []
            for f in sorted([*storage.list_files(path, "**/*.hdf5"), *storage.list_files(path, "**/*.h5")]):
                out.extend(read_d4rl_hdf5(f, source, robot, task, data_source, language_instruction, budget_bytes))
            return out
    else:
        path = Path(path)
    if not storage.is_uri(path) and path.is_dir():
        out: list[ReadItem] = []
        for f in sorted([*path.rglob("*.hdf5"), *path.rglob("*.h5")]):
            out.extend(read_d4rl_hdf5(f, source, robot, task, data_source, language_instruction, budget_bytes))
        return out
    source = source or _stem(path)
    try:
        return _read_d4rl_file(path, source, robot, task, data_source, language_instruction,
                               HDF5_BUDGET_BYTES if budget_bytes is None else budget_bytes)
    except Exception as exc:  # noqa: BLE001 - one bad file is one quarantined item, never a crashed run
        return [Quarantined(source, "d4rl-hdf5", str(path), reasons.UNREADABLE,
                            f"{path}: {type(exc).__name__}: {exc}")]


def _stem(path: str | Path) -> str:
    return Path(storage.name_of(path)).stem


def _read_d4rl_file(path: str | Path, source: str, robot: str, task: str | None, data_source: str | None,
                    language_instruction: str | None, budget: int) -> list[ReadItem]:
    import contextlib

    import h5py

    try:
        with contextlib.ExitStack() as stack:
            target = stack.enter_context(storage.open_input(path)) if storage.is_uri(path) else path
            fh = stack.enter_context(h5py.File(target, "r"))
            declared = _h5_declared_bytes(fh)
            if declared > budget:
                return [Quarantined(source, "d4rl-hdf5", str(path), reasons.OVERSIZED,
                                    f"{path}: datasets declare {declared} bytes, over the {budget}-byte budget; "
                                    f"split the file or raise budget_bytes")]
            data = {k: _h5_to_dict(fh[k]) for k in fh.keys()}
    except Exception as exc:  # noqa: BLE001
        return [Quarantined(source, "d4rl-hdf5", str(path), reasons.UNREADABLE,
                            f"{path}: not a readable HDF5 file ({type(exc).__name__}: {exc})")]
    missing = [k for k in ("observations", "actions", "rewards", "terminals") if k not in data]
    if missing:
        return [Quarantined(source, "d4rl-hdf5", str(path), reasons.MISSING_FIELD,
                            f"{path}: missing {', '.join(missing)}; a D4RL file needs observations, actions, rewards, terminals")]
    scalars = _scalar_keys(data, ("observations", "actions", "rewards", "terminals", "timeouts", "trajectory_ends",
                                  "next_observations"))
    if scalars:
        return [Quarantined(source, "d4rl-hdf5", str(path), reasons.SHAPE_MISMATCH,
                            f"{path}: {', '.join(scalars)} is a scalar dataset; a D4RL file needs one value per transition")]
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
    out: list[ReadItem] = []
    for i, (s, e) in enumerate(bounds):
        sid = f"{storage.name_of(path)}#{i}"
        try:
            out.append(episode_from_transitions(
                data, source=source, source_format="d4rl-hdf5", source_id=sid, start=s, end=e, robot=robot,
                task=task or _stem(path), data_source=data_source or "unknown", language_instruction=language_instruction,
                metadata={"file": storage.name_of(path), "transitions": [s, e]}))
        except Exception as exc:  # noqa: BLE001
            out.append(Quarantined(source, "d4rl-hdf5", sid, reasons.SHAPE_MISMATCH,
                                   f"{path}: episode {i}: {type(exc).__name__}: {exc}"))
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


# Total bytes a pickle may allocate through constructors that take a size (bytearray(n), an array
# of a given shape). Data that is literally in the pickle is bounded by the file; these are not.
PICKLE_BUDGET_BYTES = 2 * 1024 ** 3


class RestrictedUnpickler(pickle.Unpickler):
    """Loads numpy arrays, numpy scalars and plain containers; any other global is refused.

    Constructors that allocate by a size argument are wrapped: ``bytearray(int)`` is refused, an
    array built from a shape is counted against ``budget_bytes``, and the total is capped.
    """

    def __init__(self, file, budget_bytes: int = PICKLE_BUDGET_BYTES):
        super().__init__(file)
        self.budget_bytes = budget_bytes
        self.allocated = 0

    def _charge(self, n: int, what: str) -> None:
        self.allocated += int(n)
        if self.allocated > self.budget_bytes:
            raise UnsafePickleError(f"{what} would bring allocations to {self.allocated} bytes, over the "
                                    f"{self.budget_bytes}-byte budget")

    def _bytearray(self, *args):
        if args and isinstance(args[0], int) and not isinstance(args[0], bool):
            raise UnsafePickleError(f"bytearray({args[0]}) allocates by size; only bytearray(data) is allowed")
        out = bytearray(*args)
        self._charge(len(out), "bytearray")
        return out

    def _reconstruct(self, real):
        def reconstruct(subtype, shape, dtype, *rest):
            dims = shape if isinstance(shape, tuple) else (shape,)
            if not all(isinstance(d, int) and d >= 0 for d in dims):
                raise UnsafePickleError(f"array shape {shape!r} is not a tuple of sizes")
            size = 1
            for d in dims:
                size *= d
            self._charge(size * np.dtype(dtype).itemsize, f"array of shape {shape!r}")
            return real(subtype, shape, dtype, *rest)
        return reconstruct

    def find_class(self, module: str, name: str):
        checked = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)  # protocol <= 2 names
        if (checked, name) in _PICKLE_ALLOWED:
            found = super().find_class(module, name)
            if (checked, name) == ("builtins", "bytearray"):
                return self._bytearray
            if name == "_reconstruct":
                return self._reconstruct(found)
            return found
        if module in ("numpy", "numpy.dtypes") and name.endswith("DType"):  # numpy 2 dtype classes
            return super().find_class(module, name)
        raise UnsafePickleError(f"global {module}.{name} is not allowed (only numpy arrays and plain containers)")


def safe_load_pickle(data: bytes, budget_bytes: int = PICKLE_BUDGET_BYTES) -> Any:
    if len(data) > budget_bytes:
        raise UnsafePickleError(f"pickle of {len(data)} bytes is over the {budget_bytes}-byte budget")
    return RestrictedUnpickler(io.BytesIO(data), budget_bytes).load()


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
            if f.stat().st_size > PICKLE_BUDGET_BYTES:  # checked before the file is read into memory
                raise UnsafePickleError(f"{f.stat().st_size} bytes is over the {PICKLE_BUDGET_BYTES}-byte budget")
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

    Frames of one episode become its steps; the last frame's action and reward are kept on the
    final step (flagged ``rlds_invalid`` there). State features (``observation.*`` of float dtype) are concatenated
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
        if not isinstance(features, dict) or not all(isinstance(f, dict) for f in features.values()):
            raise ValueError(f"'features' must be an object mapping each feature name to its spec "
                             f"({{\"dtype\": ..., \"shape\": ...}}), got {type(features).__name__}")
    except Exception as exc:  # noqa: BLE001
        return [Quarantined(source, "lerobot", str(path), reasons.UNREADABLE,
                            f"{path}/meta/info.json: {type(exc).__name__}: {exc}")]
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
            # our own exports mark a last frame whose zero action stands for none
            final_pad = "action_is_pad" in group.columns and bool(group.get_column("action_is_pad").to_list()[-1])
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
                     rewards=rewards[:-1], final_action=None if final_pad else actions[-1],
                     final_reward=float(rewards[-1]) if "next.reward" in group.columns else None, terminated=done, truncated=not done, obs_layout=layout, obs_images=images,
                     robot=robot or str(info.get("robot_type") or "unknown"),
                     task=tasks.get(task_index, "unknown") if task_index is not None else "unknown",
                     data_source=data_source,
                     language_instruction=tasks.get(task_index) if task_index is not None else None,
                     metadata={"codebase_version": version, "fps": info.get("fps"), "episode_index": int(index),
                               "action_shape": shape, "action_names": names, "skipped_video": video_keys})
        out.append(_finish(ep))
    return out


# --- RLDS TFRecord -----------------------------------------------------------------------------
# TFDS writes a dataset version directory: ``dataset_info.json`` (name, version, splits),
# ``features.json`` (the declared feature spec) and ``{name}-{split}.tfrecord-NNNNN-of-NNNNN``
# shards, one ``tf.train.Example`` per episode with the nested ``steps`` flattened over steps
# (``steps/observation/image`` holds one encoded image per step). Every key is mapped by its
# declared type, never guessed from its values or from key order.

class RLDSLayoutError(ValueError):
    """A directory the RLDS reader cannot tell apart (several datasets, versions or no spec)."""


@dataclass(frozen=True)
class FeatureSpec:
    """One leaf of a TFDS feature spec, flattened to its key in the example (``steps/action``)."""

    key: str
    cls: str                      # TFDS class name: Tensor, Image, Text, Scalar, ...
    dtype: str
    shape: tuple[int | None, ...]
    in_steps: bool                # under the ``steps`` Dataset: one value per step
    encoding: str = "none"        # Tensor: none | bytes | zlib; Image: png | jpeg
    spec: dict = field(default_factory=dict, compare=False)
    nested: bool = False          # a Sequence inside a step: TFDS writes ragged_flat_values + ragged_row_lengths_0

    @property
    def ragged(self) -> bool:
        return self.nested or any(d is None for d in self.shape)


def _dims(shape: dict | None) -> tuple[int | None, ...]:
    return tuple(None if int(d) < 0 else int(d) for d in (shape or {}).get("dimensions", []))


def parse_feature_spec(node: dict, prefix: str = "", in_steps: bool = False) -> list[FeatureSpec]:
    """The leaves of a ``features.json`` (TFDS ``FeaturesDict`` proto as JSON) with their flat keys."""
    cls = str(node.get("pythonClassName", "")).rsplit(".", 1)[-1]
    if "featuresDict" in node:
        out = []
        for name, child in node["featuresDict"].get("features", {}).items():
            out.extend(parse_feature_spec(child, f"{prefix}{name}/", in_steps))
        return out
    if "sequence" in node:
        if not in_steps:  # tfds.features.Dataset (``steps``): its leaves get one value per step
            return parse_feature_spec(node["sequence"]["feature"], prefix, True)
        # a Sequence inside a step: a variable-length list per step, stored ragged by TFDS
        length = int(node["sequence"].get("length", -1))
        return [FeatureSpec(leaf.key, leaf.cls, leaf.dtype, (None if length < 0 else length, *leaf.shape), True,
                            leaf.encoding, leaf.spec, nested=True)
                for leaf in parse_feature_spec(node["sequence"]["feature"], prefix, True)]
    key = prefix.rstrip("/")
    if "image" in node:
        im = node["image"]
        return [FeatureSpec(key, "Image", str(im.get("dtype", "uint8")), _dims(im.get("shape")), in_steps,
                            str(im.get("encodingFormat", "png")), node)]
    if "tensor" in node:
        t = node["tensor"]
        return [FeatureSpec(key, cls or "Tensor", str(t.get("dtype", "float32")), _dims(t.get("shape")), in_steps,
                            str(t.get("encoding", "none")).lower(), node)]
    if "text" in node:
        return [FeatureSpec(key, "Text", "string", (), in_steps, "none", node)]
    return [FeatureSpec(key, cls or "unknown", "unknown", (), in_steps, "none", node)]


def _feature_kind(spec: FeatureSpec) -> str:
    """How a step feature is kept: image, depth, state (fixed numeric, rank <= 1), tensor, ragged, text, raw."""
    name = spec.key.rsplit("/", 1)[-1].lower()
    if spec.nested and spec.cls not in ("Tensor", "Scalar", "ClassLabel"):
        return "raw"  # a list of images or texts per step: kept as bytes (``shape`` = each item's length)
    if spec.cls == "Image":
        return "depth" if spec.dtype != "uint8" or "depth" in name else "image"
    if spec.cls == "Text" or spec.dtype == "string":
        return "text" if spec.cls == "Text" or not spec.shape else "raw"
    if spec.cls in ("Tensor", "Scalar", "ClassLabel") and spec.encoding in ("none", "bytes", "zlib"):
        if spec.ragged:
            return "ragged"
        if len(spec.shape) >= 2:
            return "depth" if "depth" in name else "tensor"
        return "state"
    return "raw"


def _np_dtype(dtype: str) -> np.dtype:
    return np.dtype("bool" if dtype == "bool" else dtype)


RLDS_ZLIB_MAX_BYTES = 256 * 1024 ** 2  # one zlib-encoded step value, inflated


def _step_values(spec: FeatureSpec, ex: dict, n: int) -> list[np.ndarray | bytes | str]:
    """The ``n`` per-step values of one step feature, as TFDS's serializer laid them out."""
    key = spec.key
    if spec.encoding in ("bytes", "zlib"):  # each step's array stored as its own raw bytes
        import zlib

        raw = ex[key][1]
        vals = []
        for b in raw:
            if spec.encoding == "zlib":  # bounded: a few compressed bytes must not inflate to gigabytes
                d = zlib.decompressobj()
                b = d.decompress(bytes(b), RLDS_ZLIB_MAX_BYTES)
                if d.unconsumed_tail:
                    raise ValueError(f"{key}: a zlib value inflates past {RLDS_ZLIB_MAX_BYTES} bytes")
            b = bytes(b)
            arr = np.frombuffer(b, dtype=_np_dtype(spec.dtype))
            fixed = [d for d in spec.shape if d is not None]
            vals.append(arr.reshape(-1, *spec.shape[1:]) if spec.ragged and len(fixed) == len(spec.shape) - 1
                        and spec.shape[0] is None else arr.reshape(spec.shape) if not spec.ragged else arr)
        return vals
    if spec.ragged:
        flat_key, rows_key = f"{key}/ragged_flat_values", f"{key}/ragged_row_lengths_0"
        if flat_key not in ex or rows_key not in ex:
            raise KeyError(key)
        rows = np.asarray(ex[rows_key][1], dtype=np.int64)
        inner_shape = spec.shape[1:]
        if not spec.nested or any(d is None for d in inner_shape) or rows.size != n:
            raise ValueError(f"{key}: ragged shape {spec.shape} with {rows.size} row lengths for {n} steps")
        inner = int(np.prod(inner_shape, dtype=np.int64)) if inner_shape else 1
        if spec.cls in ("Image", "Text") or spec.dtype == "string":
            flat_list = [bytes(v) for v in ex[flat_key][1]]
            bounds = np.concatenate([[0], np.cumsum(rows)])
            return [flat_list[bounds[i]:bounds[i + 1]] for i in range(n)]
        flat = np.asarray(ex[flat_key][1]).astype(_np_dtype(spec.dtype))
        bounds = np.concatenate([[0], np.cumsum(rows * inner)])
        if bounds[-1] != flat.size:
            raise ValueError(f"{key}: row lengths cover {bounds[-1]} values, the flat values are {flat.size}")
        return [flat[bounds[i]:bounds[i + 1]].reshape((r, *inner_shape)) for i, r in enumerate(rows.tolist())]
    kind, values = ex[key]
    if spec.cls == "Image" or spec.cls == "Text" or spec.dtype == "string":
        if len(values) != n:
            raise ValueError(f"{key}: {len(values)} values for {n} steps")
        return [bytes(v) for v in values]
    arr = np.asarray(values).astype(_np_dtype(spec.dtype))
    width = int(np.prod(spec.shape, dtype=np.int64)) if spec.shape else 1
    if arr.size != n * width:
        raise ValueError(f"{key}: {arr.size} values for {n} steps of shape {spec.shape}")
    return list(arr.reshape(n, *spec.shape))


def _feature_entry(spec: FeatureSpec, kind: str, value, name: str) -> dict:
    entry = {"key": name, "kind": kind, "dtype": spec.dtype, "shape": None, "floats": None, "ints": None,
             "data": None, "text": None, "spec": None}
    if kind in ("image",) or (kind == "depth" and spec.cls == "Image"):
        entry["data"] = bytes(value)
    elif kind == "text":
        entry["text"] = bytes(value).decode("utf-8", errors="surrogateescape")
        entry["data"] = None if entry["text"].encode("utf-8", errors="surrogateescape") == value else bytes(value)
    elif kind == "raw":
        if isinstance(value, list):  # items of a per-step list, concatenated; their lengths in ``shape``
            entry["data"], entry["shape"] = b"".join(value), [len(v) for v in value]
        else:
            entry["data"] = bytes(value) if isinstance(value, (bytes, bytearray)) else np.asarray(value).tobytes()
        entry["spec"] = json.dumps(spec.spec, sort_keys=True)
    else:
        arr = np.asarray(value)
        entry["shape"] = [int(d) for d in arr.shape]
        if arr.dtype.kind == "f":
            entry["floats"] = [float(x) for x in arr.reshape(-1)]
        else:
            entry["ints"] = [int(x) for x in arr.reshape(-1)]
    return entry


def _raw_entries(spec: FeatureSpec, ex: dict, name: str) -> list[dict]:
    """Every stored field of an unknown feature class, whole-episode, as bytes + the declared spec.

    Without a known layout the values cannot be split per step, so they sit on the first step;
    ``shape`` holds each bytes item's length (or the value count) so the bytes split back exactly.
    """
    out = []
    for k in sorted(k for k in ex if k == spec.key or k.startswith(spec.key + "/")):
        kind, vals = ex[k]
        if kind == "bytes":
            data, shape, dtype = b"".join(bytes(v) for v in vals), [len(v) for v in vals], "bytes"
        else:
            arr = np.asarray(vals, dtype="<f4" if kind == "float" else "<i8")
            data, shape, dtype = arr.tobytes(), [int(arr.size)], str(arr.dtype)
        out.append({"key": name + k[len(spec.key):], "kind": "raw", "dtype": dtype, "shape": shape, "floats": None,
                    "ints": None, "data": data, "text": None, "spec": json.dumps(spec.spec, sort_keys=True)})
    return out


def decode_feature(entry: dict) -> np.ndarray | bytes | str:
    """A ``features`` entry back to the source value (array of its dtype and shape, image bytes, text)."""
    if entry["kind"] == "text":
        return entry["data"] if entry["data"] is not None else entry["text"]
    if entry["data"] is not None:
        return entry["data"]
    vals = entry["floats"] if entry["floats"] is not None else entry["ints"]
    return np.asarray(vals, dtype=_np_dtype(entry["dtype"])).reshape(entry["shape"])


# Open-X variants of one meaning: the first present names the episode's language instruction.
LANGUAGE_KEYS = ("steps/language_instruction", "steps/observation/natural_language_instruction",
                 "steps/observation/language_instruction", "steps/natural_language_instruction")


def _rlds_actions(parts: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, list[tuple[str, int]], np.ndarray | None]:
    """The raw action (n, A) in declared-key order, its layout, and the standardized 7-D action where
    the keys say end-effector deltas (RT-1 style ``world_vector``/``rotation_delta``)."""
    if "" in parts:
        return parts[""].reshape(n, -1), [("action", parts[""].reshape(n, -1).shape[1])], None
    layout = [(k, parts[k].reshape(n, -1).shape[1]) for k in sorted(parts)]
    raw = np.concatenate([parts[k].reshape(n, -1) for k in sorted(parts)], axis=1)
    ee = None
    if "world_vector" in parts and "rotation_delta" in parts:
        grip_key = next((k for k in ("gripper_closedness_action", "open_gripper", "gripper") if k in parts), None)
        grip = parts[grip_key].reshape(n, -1)[:, 0] if grip_key else np.zeros(n)
        ee = ee7_from_delta(parts["world_vector"].reshape(n, -1), parts["rotation_delta"].reshape(n, -1), grip,
                            gripper_open_is_positive=grip_key != "gripper_closedness_action")
    return raw, layout, ee


def _rlds_episode(ex: dict, specs: list[FeatureSpec], *, source: str, sid: str, robot: str, data_source: str,
                  ee_action: str | None, identity: dict, where: str) -> ReadItem:
    def bad(reason: str, detail: str) -> Quarantined:
        return Quarantined(source, "rlds", sid, reason, f"{where}: {detail}")

    steps = [s for s in specs if s.in_steps]
    flags = {}
    for name in ("is_first", "is_last", "is_terminal"):
        if f"steps/{name}" not in ex:
            return bad(reasons.MISSING_FIELD, f"no steps/{name}")
        flags[name] = np.asarray(ex[f"steps/{name}"][1]).astype(bool)
    n = int(flags["is_first"].size)
    if n == 0:
        return bad(reasons.EMPTY_EPISODE, "no steps")
    expect_first, expect_last = np.eye(1, n, 0, dtype=bool)[0], np.eye(1, n, n - 1, dtype=bool)[0]
    if (flags["is_last"].size != n or not np.array_equal(flags["is_first"], expect_first)
            or not np.array_equal(flags["is_last"], expect_last) or flags["is_terminal"][:-1].any()):
        return bad(reasons.BAD_FLAGS, "is_first/is_last/is_terminal are not first/last/last-only in the source")
    state, layout, images_by_key, features, action_parts = [], [], {}, [[] for _ in range(n)], {}
    rewards = discounts = None
    unknown: list[str] = []
    for spec in steps:
        sub = spec.key.split("/", 1)[1] if "/" in spec.key else spec.key
        if sub in ("is_first", "is_last", "is_terminal"):
            continue
        if spec.dtype == "unknown":  # a feature class the reader does not know: its stored values, kept raw
            unknown.append(spec.key)
            features[0].extend(_raw_entries(spec, ex, sub))
            continue
        try:
            values = _step_values(spec, ex, n)
        except KeyError:
            return bad(reasons.MISSING_FIELD, f"{spec.key} is declared in features.json but absent")
        if sub == "reward" or sub == "discount":
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != (n,):
                return bad(reasons.SHAPE_MISMATCH, f"{spec.key} has shape {arr.shape[1:]} per step; expected a scalar")
            rewards, discounts = (arr, discounts) if sub == "reward" else (rewards, arr)
            continue
        if sub == "action" or sub.startswith("action/"):
            if _feature_kind(spec) != "state":
                return bad(reasons.SHAPE_MISMATCH, f"{spec.key}: a {spec.cls} {spec.shape} action cannot be a vector")
            action_parts[sub[len("action/"):] if sub != "action" else ""] = np.asarray(values, dtype=np.float64)
            continue
        kind = _feature_kind(spec)
        if sub.startswith("observation/") and kind == "state":
            arr = np.asarray(values, dtype=np.float64).reshape(n, -1)
            state.append(arr)
            layout.append((sub.split("/", 1)[1], arr.shape[1]))
            continue
        if kind == "image":
            images_by_key[sub] = values
        if kind == "raw":
            unknown.append(spec.key)
        for t in range(n):
            features[t].append(_feature_entry(spec, kind, values[t], sub))
    if rewards is None:
        return bad(reasons.MISSING_FIELD, "no steps/reward")
    if not action_parts:
        return bad(reasons.MISSING_FIELD, "no steps/action")
    actions, action_layout, ee = _rlds_actions(action_parts, n)
    if ee is None and ee_action == "delta7" and actions.shape[1] == 7:
        ee = ee7_from_delta(actions[:, :3], actions[:, 3:6], actions[:, 6])
    # the primary camera: the key named ``image``, else the only RGB image; every other camera stays in features
    primary = ("observation/image" if "observation/image" in images_by_key
               else next(iter(images_by_key)) if len(images_by_key) == 1 else None)
    images = None
    if primary:
        images = list(images_by_key[primary])
        features = [[f for f in fs if f["key"] != primary] for fs in features]
    lang = None
    for key in LANGUAGE_KEYS:
        if key in ex and ex[key][1]:
            lang = bytes(ex[key][1][0]).decode("utf-8", errors="replace")
            break
    meta: dict[str, Any] = {**identity, "action_layout": [[k, w] for k, w in action_layout], "image_key": primary}
    if unknown:
        meta["unmapped_keys"] = unknown
    for spec in specs:
        if not spec.in_steps and spec.key in ex:
            kind, values = ex[spec.key]
            meta[spec.key.split("/", 1)[-1]] = ([bytes(v).decode("utf-8", errors="replace") for v in values]
                                                if kind == "bytes" else np.asarray(values).tolist())
    obs = np.concatenate(state, axis=1) if state else np.zeros((n, 0))
    terminal = bool(flags["is_terminal"][-1])
    ep = Episode(source=source, source_format="rlds", source_id=sid, obs_state=obs, actions=actions[:-1],
                 rewards=rewards[:-1], terminated=terminal, truncated=not terminal, obs_layout=layout,
                 obs_images=images, action_ee7=None if ee is None else ee[:-1], robot=robot,
                 task=identity.get("dataset") or source, data_source=data_source, language_instruction=lang,
                 metadata=meta, final_action=actions[-1], final_reward=float(rewards[-1]), discounts=discounts,
                 step_features=features)
    return _finish(ep)


_SHARD = re.compile(r"^(?P<name>.+)-(?P<split>[^-]+)\.tfrecord(-\d+-of-\d+)?$")


def rlds_version_dirs(path: Path) -> list[Path]:
    """Every TFDS version directory (``dataset_info.json`` beside shards) at or under ``path``."""
    if (path / "dataset_info.json").exists():
        return [path]
    return sorted(p.parent for p in path.rglob("dataset_info.json"))


def read_rlds(path: str | Path, source: str | None = None, robot: str = "unknown", data_source: str = "unknown",
              ee_action: str | None = None, split: str | None = None) -> list[ReadItem]:
    """RLDS episodes as TensorFlow Datasets writes them, read on the wire format without TensorFlow.

    ``path`` is a version directory (``.../name/1.0.0``) or a directory holding exactly one; several
    versions or datasets under one path are refused (:class:`RLDSLayoutError`) -- pass one. The
    source is the dataset's own name from ``dataset_info.json`` (unless ``source`` is given); the
    version and split go to each episode's metadata, and ``split`` picks one split.
    ``ee_action="delta7"`` says a flat 7-D action is ``[dxyz, drpy, gripper]`` (Bridge-style);
    split actions with ``world_vector``/``rotation_delta`` (RT-1 style) are recognised by name.
    """
    from pipelines.episodes.tfrecord import iter_records, parse_example

    path = Path(path)
    dirs = rlds_version_dirs(path if path.is_dir() else path.parent)
    if not dirs:
        raise RLDSLayoutError(f"{path}: no dataset_info.json; RLDS data as TFDS writes it has dataset_info.json and "
                              f"features.json beside its shards -- point at that version directory")
    if len(dirs) > 1:
        raise RLDSLayoutError(f"{path}: holds {len(dirs)} TFDS datasets/versions ("
                              + ", ".join(d.relative_to(path).as_posix() if d != path else "." for d in dirs)
                              + "); pass one version directory")
    root = dirs[0]
    try:
        info = json.loads((root / "dataset_info.json").read_text(encoding="utf-8"))
        specs = parse_feature_spec(json.loads((root / "features.json").read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001
        return [Quarantined(source or root.name, "rlds", str(root), reasons.UNREADABLE,
                            f"{root}: dataset_info.json/features.json unreadable ({type(exc).__name__}: {exc})")]
    name = str(info.get("name") or root.parent.name)
    version = str(info.get("version") or root.name)
    source = source or name
    files = sorted(p for p in root.iterdir() if p.is_file() and ".tfrecord" in p.name) if path.is_dir() else [path]
    out: list[ReadItem] = []
    for f in files:
        m = _SHARD.match(f.name)
        shard_split = m.group("split") if m else "unknown"
        if split is not None and shard_split != split:
            continue
        identity = {"dataset": name, "version": version, "split": shard_split}
        index = 0
        try:
            for index, payload in enumerate(iter_records(f)):
                sid = f"{f.name}#{index}"
                where = f"{f} record {index}"
                try:
                    item = _rlds_episode(parse_example(payload), specs, source=source, sid=sid, robot=robot,
                                         data_source=data_source, ee_action=ee_action, identity=identity, where=where)
                except Exception as exc:  # noqa: BLE001 - one bad episode is one quarantined item
                    item = Quarantined(source, "rlds", sid, reasons.UNREADABLE, f"{where}: {type(exc).__name__}: {exc}")
                out.append(item)
        except Exception as exc:  # noqa: BLE001 - a corrupt shard: what was read stays, the rest is reported
            out.append(Quarantined(source, "rlds", f"{f.name}#{index}+", reasons.UNREADABLE,
                                   f"{f}: {type(exc).__name__}: {exc}"))
    if not files:
        out.append(Quarantined(source, "rlds", str(root), reasons.UNREADABLE, f"{root}: no *.tfrecord* files"))
    return out


READERS: dict[str, Callable[..., list[ReadItem]]] = {
    "minari": read_minari,
    "d4rl-hdf5": read_d4rl_hdf5,
    "d5rl-pickle": read_d5rl_pickles,
    "lerobot": read_lerobot,
    "rlds": read_rlds,
}


def read_source(fmt: str, path: str | Path, **options) -> list[ReadItem]:
    """Every item of ``path`` (a local path or an fsspec URI: ``s3://bucket/prefix/...``).

    By URI, D4RL HDF5 files are read through fsspec file objects (h5py reads them as files); the
    other formats' files (Minari's library wants a directory; LeRobot, RLDS and pickles are read
    whole per dataset or shard anyway) are read from a temporary local copy of what ``path`` names,
    and the copy's path is put back to the URI in every id and detail."""
    if fmt not in READERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    try:
        if storage.is_uri(path) and fmt != "d4rl-hdf5":
            return _read_copied(fmt, str(path), options)
        return READERS[fmt](path, **options)
    except RLDSLayoutError:
        raise  # the user picks the directory: a usage error, not bad data
    except Exception as exc:  # noqa: BLE001 - a reader's last resort: the source is reported, the run completes
        return [Quarantined(options.get("source") or storage.name_of(path), fmt, str(path), reasons.UNREADABLE,
                            f"{path}: {type(exc).__name__}: {exc}")]


def _read_copied(fmt: str, uri: str, options: dict) -> list[ReadItem]:
    """``fmt``'s reader on a temporary local copy of ``uri``; ids and details name the URI again."""
    if not storage.exists(uri):
        return [Quarantined(options.get("source") or storage.name_of(uri), fmt, uri, reasons.UNREADABLE,
                            f"{uri}: no such object or prefix; check the URI and FOUNDRY_S3_ENDPOINT_URL / credentials")]
    parent = uri.rstrip("/").rsplit("/", 1)[0]
    if fmt == "d5rl-pickle" and not options.get("source") and not storage.is_dir(uri):
        options = {**options, "source": storage.name_of(parent)}  # the reader's default: the file's directory
    with _copy_for(fmt, uri) as local:
        back = [(str(local), uri)]
        if fmt == "rlds" and local.is_file():  # one shard: its copied version directory is the URI's parent
            back.append((str(local.parent), parent))
        try:
            items = READERS[fmt](local, **options)
        except RLDSLayoutError as exc:  # the usage error names the URI the user gave, not the copy
            message = str(exc)
            for here, there in back:
                message = message.replace(here, there)
            raise RLDSLayoutError(message) from None
    out: list[ReadItem] = []
    for it in items:
        if isinstance(it, Quarantined):
            sid, detail = it.source_id, it.detail
            for here, there in back:
                sid, detail = sid.replace(here, there), detail.replace(here, there)
            it = Quarantined(it.source, it.source_format, sid, it.reason, detail)
        out.append(it)
    return out


def _copy_for(fmt: str, uri: str):
    """The local copy a reader needs: the object or prefix itself, and for one RLDS shard also the
    ``dataset_info.json`` and ``features.json`` beside it (the reader needs the spec)."""
    import contextlib
    import tempfile

    if fmt != "rlds" or storage.is_dir(uri):
        return storage.local_copy(uri)

    @contextlib.contextmanager
    def shard_with_spec():
        parent = uri.rstrip("/").rsplit("/", 1)[0]
        with tempfile.TemporaryDirectory(prefix="foundry-rlds-") as tmp:
            root = Path(tmp) / storage.name_of(parent)
            root.mkdir()
            for name in ("dataset_info.json", "features.json"):
                sibling = storage.join(parent, name)
                if storage.exists(sibling):
                    (root / name).write_bytes(storage.read_bytes(sibling))
            (root / storage.name_of(uri)).write_bytes(storage.read_bytes(uri))
            yield root / storage.name_of(uri)

    return shard_with_spec()


def split_items(items: Iterable[ReadItem]) -> tuple[list[Episode], list[Quarantined]]:
    eps, bad = [], []
    for it in items:
        (eps if isinstance(it, Episode) else bad).append(it)
    return eps, bad
