"""Collect real episodes from gymnasium MuJoCo tasks, through Minari's recorder.

Like D5RL, each task gets several data sources: ``scripted`` (a hand-written controller that does
the task), ``noisy`` (the same controller with Gaussian action noise) and ``play`` (random,
temporally-correlated exploration). MuJoCo runs headless on CPU; observations are state vectors.
Seeds come from the config, so the same config records the same episodes.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

Controller = Callable[[np.ndarray, int], np.ndarray]


def pendulum_controller(obs: np.ndarray, t: int) -> np.ndarray:
    """InvertedPendulum: PD on the pole angle plus a weak pull of the cart to the centre."""
    x, theta, xdot, thetadot = obs[:4]
    return np.array([20.0 * theta + 2.0 * thetadot + 0.3 * x + 0.6 * xdot])


def reacher_controller(obs: np.ndarray, t: int) -> np.ndarray:
    """Reacher: Jacobian-transpose control of the fingertip toward the target, with joint damping."""
    c1, c2, s1, s2 = obs[0], obs[1], obs[2], obs[3]
    qvel = obs[6:8]
    to_target = -obs[8:10]
    l1, l2 = 0.1, 0.11
    s12, c12 = s1 * c2 + c1 * s2, c1 * c2 - s1 * s2
    jac = np.array([[-l1 * s1 - l2 * s12, -l2 * s12], [l1 * c1 + l2 * c12, l2 * c12]])
    return jac.T @ (40.0 * to_target) - 0.1 * qvel


def cheetah_controller(obs: np.ndarray, t: int) -> np.ndarray:
    """HalfCheetah: an open-loop gait, back and front legs in anti-phase."""
    phase = 2 * np.pi * t / 12.0
    back = np.sin(phase + np.array([0.0, 0.6, 1.2]))
    front = np.sin(phase + np.pi + np.array([0.0, 0.6, 1.2]))
    return np.concatenate([back, front])


CONTROLLERS: dict[str, Controller] = {
    "InvertedPendulum": pendulum_controller,
    "Reacher": reacher_controller,
    "HalfCheetah": cheetah_controller,
}


@dataclass(frozen=True)
class TaskSpec:
    env_id: str
    max_steps: int
    data_format: str = "hdf5"  # Minari storage: hdf5 or arrow

    @property
    def name(self) -> str:
        return self.env_id.split("-v")[0]


@dataclass(frozen=True)
class CollectConfig:
    tasks: tuple[TaskSpec, ...]
    data_sources: tuple[str, ...] = ("scripted", "noisy", "play")
    episodes_per_source: int = 3
    noise_scale: float = 0.3   # std of the noisy source, as a fraction of the action range's half width
    play_smoothing: float = 0.8  # play: a_t = s * a_{t-1} + (1 - s) * uniform
    seed: int = 0


def dataset_id(task: TaskSpec, data_source: str) -> str:
    return f"foundry/{task.name.lower()}/{data_source}-v0"


def _policy(task: TaskSpec, data_source: str, space, rng: np.random.Generator, cfg: CollectConfig):
    low, high = space.low.astype(np.float64), space.high.astype(np.float64)
    controller = CONTROLLERS[task.name]
    state = {"prev": (low + high) / 2}

    def act(obs: np.ndarray, t: int) -> np.ndarray:
        if data_source == "scripted":
            a = controller(obs, t)
        elif data_source == "noisy":
            a = controller(obs, t) + rng.normal(0.0, cfg.noise_scale * (high - low) / 2)
        elif data_source == "play":
            a = cfg.play_smoothing * state["prev"] + (1 - cfg.play_smoothing) * rng.uniform(low, high)
            state["prev"] = a
        else:
            raise ValueError(f"unknown data source {data_source!r}; use scripted, noisy or play")
        return np.clip(a, low, high).astype(np.float32)

    return act


def collect(cfg: CollectConfig, out_dir: str | Path) -> list[dict]:
    """Record every (task, data source) as one Minari dataset under ``out_dir``; one summary row each."""
    import gymnasium as gym
    import minari
    from minari import DataCollector

    from pipelines.episodes.writers import minari_root

    out_dir = Path(out_dir)
    rows = []
    for ti, task in enumerate(cfg.tasks):
        if task.name not in CONTROLLERS:
            raise ValueError(f"no scripted controller for {task.env_id}; known: {', '.join(sorted(CONTROLLERS))}")
        for si, data_source in enumerate(cfg.data_sources):
            seed = cfg.seed * 10_000 + ti * 100 + si
            rng = np.random.default_rng(seed)
            env = gym.make(task.env_id, max_episode_steps=task.max_steps)
            env.action_space.seed(seed)
            recorder = DataCollector(env, record_infos=False, data_format=task.data_format)
            act = _policy(task, data_source, env.action_space, rng, cfg)
            steps = 0
            for e in range(cfg.episodes_per_source):
                obs, _ = recorder.reset(seed=seed * 1000 + e)
                done, t = False, 0
                while not done:
                    obs, _, term, trunc, _ = recorder.step(act(obs, t))
                    done, t = term or trunc, t + 1
                steps += t
            did = dataset_id(task, data_source)
            with minari_root(out_dir):
                target = out_dir / did
                if target.exists():
                    shutil.rmtree(target)
                recorder.create_dataset(
                    dataset_id=did, algorithm_name=data_source, eval_env=task.env_id, author="reasoning-data foundry",
                    author_email="foundry@localhost", code_permalink="pipelines/episodes/collect.py",
                    description=f"{task.env_id}, {data_source} data source, seed {seed}")
            recorder.close()
            rows.append({"dataset_id": did, "path": str(out_dir / did), "env_id": task.env_id,
                         "data_source": data_source, "data_format": task.data_format,
                         "episodes": cfg.episodes_per_source, "steps": steps, "seed": seed})
    del minari
    return rows
