"""Per-profile settings of the episodes family (keyed by the profile's name).

``sample``: three MuJoCo tasks x three data sources, three short episodes each — collected on CPU
in a few seconds. ``full``: the same tasks with longer and more episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.episodes.collect import CollectConfig, TaskSpec


@dataclass(frozen=True)
class EpisodesConfig:
    collect: CollectConfig
    export_lerobot: bool = True
    export_minari: bool = True


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


def episodes_config(profile_name: str, seed: int = 0) -> EpisodesConfig:
    if profile_name == "sample":
        return EpisodesConfig(CollectConfig(tasks=SAMPLE_TASKS, episodes_per_source=3, seed=seed))
    if profile_name == "full":
        return EpisodesConfig(CollectConfig(tasks=FULL_TASKS, episodes_per_source=100, seed=seed))
    raise ValueError(f"unknown profile {profile_name!r} for episodes; use 'sample' or 'full'")
