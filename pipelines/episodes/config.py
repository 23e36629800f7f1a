"""The ``episodes`` section of a profile (pipelines/config.py), built by :func:`for_profile`.

``sample``: three MuJoCo tasks x three data sources, three short episodes each — collected on CPU
in a few seconds. ``full``: the same tasks with longer and more episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.episodes.collect import CollectConfig, TaskSpec


@dataclass(frozen=True)
class EpisodesConfig:
    collect: CollectConfig


SAMPLE_TASKS = (
    TaskSpec("InvertedPendulum-v5", max_steps=100, data_format="arrow"),
    TaskSpec("Reacher-v5", max_steps=50),
    TaskSpec("HalfCheetah-v5", max_steps=60),
)
FULL_TASKS = (
    TaskSpec("InvertedPendulum-v5", max_steps=1000, data_format="arrow"),
    TaskSpec("Reacher-v5", max_steps=50),
    TaskSpec("HalfCheetah-v5", max_steps=1000),
)


EPISODES_PER_SOURCE = {"sample": 3, "full": 100}
TASKS = {"sample": SAMPLE_TASKS, "full": FULL_TASKS}


def for_profile(profile_name: str, seed: int = 0) -> EpisodesConfig:
    if profile_name in TASKS:
        return EpisodesConfig(CollectConfig(tasks=TASKS[profile_name],
                                            episodes_per_source=EPISODES_PER_SOURCE[profile_name], seed=seed))
    raise ValueError(f"unknown profile {profile_name!r} for episodes; use 'sample' or 'full'")


episodes_config = for_profile  # the name the release registry calls
