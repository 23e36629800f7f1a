"""The standard episode schema: an episodes table and a steps table with RLDS semantics.

An episode of ``T`` transitions has ``T + 1`` step rows. Step ``t`` holds the observation seen at
``t``, the action taken there and the reward that action earned. The last row (``is_last``) holds
the final observation; RLDS calls its action, reward and discount invalid, so ``rlds_invalid`` is
set there -- and the values are the source's, kept as stored (a source that has none gives a null
action and reward 0). ``is_terminal`` is set on the last row when the episode ended in a terminal
state; truncation is ``is_last`` without ``is_terminal``. ``discount`` is the source's where it has
one, else 0 on a terminal last row and 1 elsewhere. An episode's ``return`` is the sum of every
source reward, the last row's included.

Observations: ``observation_state`` is every numeric observation field flattened and concatenated
(the layout, key by key, is in the episode's ``obs_layout``); ``observation_image`` is one encoded
image (PNG/JPEG bytes) or null. ``features`` keeps, per step, every other source feature by its
declared type (each camera, depth maps, ragged lists, text, and unknown keys as raw bytes with the
declared spec); see :data:`FEATURE_STRUCT`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from pipelines.core.hashing import content_id

EPISODE_SCHEMA: dict[str, pl.DataType] = {
    "episode_id": pl.Utf8,
    "source": pl.Utf8,          # the standardized dataset the episode came from (partition key)
    "source_format": pl.Utf8,   # minari | d4rl-hdf5 | d5rl-pickle | lerobot | rlds
    "source_id": pl.Utf8,       # file and index of the episode inside its source
    "robot": pl.Utf8,           # embodiment
    "task": pl.Utf8,
    "data_source": pl.Utf8,     # scripted | noisy | play | ... (how the data was produced)
    "language_instruction": pl.Utf8,
    "length": pl.Int64,         # transitions T (valid actions); the steps table has T + 1 rows
    "return": pl.Float64,       # sum of every source reward (the is_last row's included)
    "terminated": pl.Boolean,
    "truncated": pl.Boolean,
    "obs_dim": pl.Int64,
    "action_dim": pl.Int64,
    "has_image": pl.Boolean,
    "action_low": pl.List(pl.Float64),   # null when the source has no action space
    "action_high": pl.List(pl.Float64),
    "obs_layout": pl.Utf8,      # JSON: [[key, width], ...] in observation_state order
    "metadata": pl.Utf8,        # JSON: anything else the source said about the episode
}

# One source feature of one step, by its declared kind: image | depth | tensor | ragged | text | raw.
# Floats go to ``floats`` (float64 holds every float32 exactly), integers and bools to ``ints``,
# encoded images and raw bytes to ``data``, text to ``text``; ``shape`` is the value's own shape
# (a ragged feature's row length), ``spec`` the declared spec as JSON for ``raw`` keys.
FEATURE_STRUCT = pl.Struct({"key": pl.Utf8, "kind": pl.Utf8, "dtype": pl.Utf8, "shape": pl.List(pl.Int64),
                            "floats": pl.List(pl.Float64), "ints": pl.List(pl.Int64), "data": pl.Binary,
                            "text": pl.Utf8, "spec": pl.Utf8})

STEP_SCHEMA: dict[str, pl.DataType] = {
    "episode_id": pl.Utf8,
    "source": pl.Utf8,
    "step_index": pl.Int64,
    "observation_state": pl.List(pl.Float32),
    "observation_image": pl.Binary,
    "action": pl.List(pl.Float32),
    "action_ee7": pl.List(pl.Float32),  # standardized [dx, dy, dz, droll, dpitch, dyaw, gripper] or null
    "reward": pl.Float64,
    "discount": pl.Float32,
    "is_first": pl.Boolean,
    "is_last": pl.Boolean,
    "is_terminal": pl.Boolean,
    "rlds_invalid": pl.Boolean,   # RLDS calls action/reward/discount of this row invalid (the is_last row); values kept
    "features": pl.List(FEATURE_STRUCT),
}

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "episode_id": pl.Utf8,
    "source": pl.Utf8,
    "source_format": pl.Utf8,
    "source_id": pl.Utf8,
    "reason": pl.Utf8,
    "step": pl.Utf8,
    "detail": pl.Utf8,
}


@dataclass
class Episode:
    """One episode in memory, as a reader produces it (before flags and checks).

    ``obs_state`` has ``T + 1`` rows (the last is the final observation), ``actions`` ``T`` rows,
    ``rewards`` ``T`` values. ``obs_images``, when given, has ``T + 1`` encoded images.
    ``final_action``/``final_reward`` are the source's values on the last step (RLDS-invalid, kept);
    ``discounts`` the source's ``T + 1`` discounts; ``step_features`` ``T + 1`` lists of feature
    dicts (:data:`FEATURE_STRUCT`).
    """

    source: str
    source_format: str
    source_id: str
    obs_state: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool
    truncated: bool
    obs_layout: list[tuple[str, int]] = field(default_factory=list)
    obs_images: list[bytes] | None = None
    action_ee7: np.ndarray | None = None
    robot: str = "unknown"
    task: str = "unknown"
    data_source: str = "unknown"
    language_instruction: str | None = None
    action_low: np.ndarray | None = None
    action_high: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    final_action: np.ndarray | None = None
    final_reward: float | None = None
    discounts: np.ndarray | None = None
    step_features: list[list[dict]] | None = None

    @property
    def episode_id(self) -> str:
        return episode_id(self.source, self.source_id)


@dataclass(frozen=True)
class Quarantined:
    """A source episode (or whole file) that could not become an :class:`Episode`, and why."""

    source: str
    source_format: str
    source_id: str
    reason: str
    detail: str


def episode_id(source: str, source_id: str) -> str:
    return content_id(source, source_id, prefix="ep_")


def flatten_observation(obs: Any, prefix: str = "") -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Flatten a (possibly nested dict) batch of observations ``(N, ...)`` into ``(N, D)``.

    Keys are visited in sorted order so the layout is the same on every run.
    """
    if isinstance(obs, dict):
        parts, layout = [], []
        for key in sorted(obs):
            arr, sub = flatten_observation(obs[key], f"{prefix}{key}/")
            parts.append(arr)
            layout.extend(sub)
        if not parts:
            raise ValueError("observation dict is empty")
        n = {p.shape[0] for p in parts}
        if len(n) != 1:
            raise ValueError(f"observation keys disagree in length: {sorted(n)}")
        return np.concatenate(parts, axis=1), layout
    arr = np.asarray(obs)
    if arr.ndim == 0:
        raise ValueError("observation is a scalar, not a batch")
    arr = arr.reshape(arr.shape[0], -1).astype(np.float64) if arr.ndim != 2 else arr.astype(np.float64)
    return arr, [(prefix.rstrip("/") or "observation", int(arr.shape[1]))]


def ee7_from_poses(xyz: np.ndarray, rpy: np.ndarray, gripper: np.ndarray) -> np.ndarray:
    """The standardized 7-D action from absolute end-effector poses of ``T + 1`` steps.

    Like the RT-X/Octo transforms: position delta, rotation delta (wrapped to [-pi, pi]) and the
    gripper command of the step, giving ``T`` rows ``[dx, dy, dz, droll, dpitch, dyaw, gripper]``.
    """
    xyz, rpy, gripper = (np.asarray(a, dtype=np.float64) for a in (xyz, rpy, gripper))
    dxyz = np.diff(xyz, axis=0)
    drpy = np.diff(rpy, axis=0)
    drpy = (drpy + np.pi) % (2 * np.pi) - np.pi
    return np.concatenate([dxyz, drpy, gripper[:-1].reshape(-1, 1)], axis=1)


def ee7_from_delta(delta_xyz: np.ndarray, delta_rpy: np.ndarray, gripper: np.ndarray,
                   gripper_open_is_positive: bool = True) -> np.ndarray:
    """The standardized 7-D action from a source that already gives EE deltas.

    The gripper is mapped to [0, 1] with 1 = open, as Octo's standardization does.
    """
    g = np.asarray(gripper, dtype=np.float64).reshape(-1, 1)
    g = np.clip(g, -1.0, 1.0)
    if g.min(initial=0.0) < 0:  # [-1, 1] convention -> [0, 1]
        g = (g + 1.0) / 2.0
    if not gripper_open_is_positive:
        g = 1.0 - g
    return np.concatenate([np.asarray(delta_xyz, np.float64), np.asarray(delta_rpy, np.float64), g], axis=1)


def structural_problem(ep: Episode) -> tuple[str, str] | None:
    """Why an episode cannot be laid out as steps (reason, detail), or None."""
    from pipelines.episodes import reasons

    obs, act, rew = ep.obs_state, ep.actions, ep.rewards
    if act.ndim != 2 or obs.ndim != 2:
        return reasons.SHAPE_MISMATCH, f"observations have {obs.ndim} dims and actions {act.ndim}; expected 2 each"
    if act.shape[0] == 0:
        return reasons.EMPTY_EPISODE, "no transitions"
    if obs.shape[0] != act.shape[0] + 1:
        return reasons.SHAPE_MISMATCH, f"{obs.shape[0]} observations for {act.shape[0]} actions; expected actions + 1"
    if rew.reshape(-1).shape[0] != act.shape[0]:
        return reasons.SHAPE_MISMATCH, f"{rew.size} rewards for {act.shape[0]} actions"
    if ep.obs_images is not None and len(ep.obs_images) != obs.shape[0]:
        return reasons.SHAPE_MISMATCH, f"{len(ep.obs_images)} images for {obs.shape[0]} observations"
    if ep.final_action is not None and np.asarray(ep.final_action).reshape(-1).shape[0] != act.shape[1]:
        return reasons.SHAPE_MISMATCH, f"final action has {np.asarray(ep.final_action).size} values; actions {act.shape[1]}"
    if ep.discounts is not None and np.asarray(ep.discounts).reshape(-1).shape[0] != obs.shape[0]:
        return reasons.SHAPE_MISMATCH, f"{np.asarray(ep.discounts).size} discounts for {obs.shape[0]} steps"
    if ep.step_features is not None and len(ep.step_features) != obs.shape[0]:
        return reasons.SHAPE_MISMATCH, f"features for {len(ep.step_features)} steps; expected {obs.shape[0]}"
    if ep.action_ee7 is not None and ep.action_ee7.shape != (act.shape[0], 7):
        return reasons.SHAPE_MISMATCH, f"action_ee7 has shape {ep.action_ee7.shape}; expected ({act.shape[0]}, 7)"
    return None


def episode_row(ep: Episode) -> dict:
    rewards = np.asarray(ep.rewards, dtype=np.float64).reshape(-1)
    return {
        "episode_id": ep.episode_id,
        "source": ep.source,
        "source_format": ep.source_format,
        "source_id": ep.source_id,
        "robot": ep.robot,
        "task": ep.task,
        "data_source": ep.data_source,
        "language_instruction": ep.language_instruction,
        "length": int(ep.actions.shape[0]),
        "return": float(rewards.sum() + (ep.final_reward or 0.0)),
        "terminated": bool(ep.terminated),
        "truncated": bool(ep.truncated and not ep.terminated),
        "obs_dim": int(ep.obs_state.shape[1]),
        "action_dim": int(ep.actions.shape[1]),
        "has_image": ep.obs_images is not None,
        "action_low": None if ep.action_low is None else [float(x) for x in np.asarray(ep.action_low).reshape(-1)],
        "action_high": None if ep.action_high is None else [float(x) for x in np.asarray(ep.action_high).reshape(-1)],
        "obs_layout": json.dumps([[k, int(w)] for k, w in (ep.obs_layout or [("observation", ep.obs_state.shape[1])])]),
        "metadata": json.dumps(ep.metadata, sort_keys=True, default=str),
    }


def step_columns(ep: Episode) -> dict:
    """The steps of one episode as columns (T + 1 rows)."""
    n = ep.obs_state.shape[0]
    t = n - 1
    eid = ep.episode_id
    final = None if ep.final_action is None else list(map(float, np.asarray(ep.final_action, dtype=np.float32).reshape(-1)))
    actions = [list(map(float, a)) for a in np.asarray(ep.actions, dtype=np.float32)] + [final]
    ee7 = ([list(map(float, a)) for a in np.asarray(ep.action_ee7, dtype=np.float32)] + [None]
           if ep.action_ee7 is not None else [None] * n)
    rewards = [float(r) for r in np.asarray(ep.rewards, dtype=np.float64).reshape(-1)] + [float(ep.final_reward or 0.0)]
    discounts = ([float(d) for d in np.asarray(ep.discounts, dtype=np.float32).reshape(-1)] if ep.discounts is not None
                 else [1.0] * t + [0.0 if ep.terminated else 1.0])
    is_last = [False] * t + [True]
    is_terminal = [False] * t + [bool(ep.terminated)]
    return {
        "episode_id": [eid] * n,
        "source": [ep.source] * n,
        "step_index": list(range(n)),
        "observation_state": [list(map(float, o)) for o in np.asarray(ep.obs_state, dtype=np.float32)],
        "observation_image": list(ep.obs_images) if ep.obs_images is not None else [None] * n,
        "action": actions,
        "action_ee7": ee7,
        "reward": rewards,
        "discount": discounts,
        "is_first": [True] + [False] * t,
        "is_last": is_last,
        "is_terminal": is_terminal,
        "rlds_invalid": is_last,
        "features": list(ep.step_features) if ep.step_features is not None else [[] for _ in range(n)],
    }


def step_frame(ep: Episode) -> pl.DataFrame:
    """The steps table rows of one episode (the costly part of the layout: one engine task's work)."""
    return pl.DataFrame(step_columns(ep), schema=STEP_SCHEMA)


def to_frames(episodes: list[Episode]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(episodes table, steps table) of well-formed episodes, in the order given."""
    rows = [episode_row(ep) for ep in episodes]
    ep_frame = pl.DataFrame(rows, schema=EPISODE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=EPISODE_SCHEMA)
    parts = [step_frame(ep) for ep in episodes]
    steps = pl.concat(parts) if parts else pl.DataFrame(schema=STEP_SCHEMA)
    return ep_frame, steps


def quarantine_frame(items: list[Quarantined], step: str = "read") -> pl.DataFrame:
    rows = [{"episode_id": episode_id(q.source, q.source_id), "source": q.source, "source_format": q.source_format,
             "source_id": q.source_id, "reason": q.reason, "step": step, "detail": q.detail} for q in items]
    return pl.DataFrame(rows, schema=QUARANTINE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=QUARANTINE_SCHEMA)


def sort_frames(episodes: pl.DataFrame, steps: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deterministic order: by source, source_id; steps by episode then step index."""
    episodes = episodes.sort(["source", "source_id", "episode_id"])
    order = episodes.select("episode_id").with_row_index("__o")
    steps = (steps.join(order, on="episode_id", how="left").sort(["__o", "step_index"]).drop("__o"))
    return episodes, steps
