"""Profiles: one object that selects inputs and sizes, with a section per family.

``sample`` (the default) reads the files shipped in ``data/sample`` and needs no network and no
LLM; ``full`` reads the real Hub datasets. Each family owns its section's dataclass and builds it
with ``for_profile(name, ...)`` in ``pipelines/<family>/config.py``: ``bigmath`` (FunnelConfig),
``countdown`` (CountdownConfig), ``episodes`` (EpisodesConfig), ``owm`` (OwmConfig), ``fspo``
(FspoConfig, built by its ``config_for_profile``). The
reformulation has no settings of its own (it runs with ``bigmath.verify``).

The environment is read when a profile is built (:func:`get_profile`), never at import:
``FOUNDRY_PROFILE`` picks one, ``FOUNDRY_DATA_ROOT`` says where outputs go (default ``var/`` in the
repository, git-ignored), ``FOUNDRY_VERIFY_WORKERS`` sizes answer verification.

A profile's funnel refuses to run without an evaluation set to decontaminate against (it would
otherwise silently skip decontamination); ``FOUNDRY_ALLOW_NO_EVAL_SETS=1`` (or
``get_profile(..., allow_no_eval_sets=True)``) says that is meant.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

# Big-Math's sample inputs live in its section's module; named here too for the assets that declare
# one partition per sample source. (Importing it reads no file and no environment.)
from pipelines.bigmath.config import SAMPLE_EVAL_SETS, SAMPLE_MATH_SOURCES  # noqa: F401 - re-exported
from pipelines.bigmath.lock import read_lock  # called when a full profile is built (tests replace it)

if TYPE_CHECKING:  # the sections' types; their modules are imported when a profile is built
    from pipelines.bigmath.funnel import FunnelConfig
    from pipelines.countdown.config import CountdownConfig
    from pipelines.episodes.config import EpisodesConfig
    from pipelines.fspo.config import FspoConfig
    from pipelines.owm.config import OwmConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
PROFILE_NAMES = ("sample", "full")  # the launchpad offers these (assets/resources.py)


@dataclass(frozen=True)
class Profile:
    name: str
    bigmath: FunnelConfig
    countdown: CountdownConfig
    episodes: EpisodesConfig
    owm: OwmConfig
    fspo: FspoConfig
    seed: int = 0
    data_root: Path = field(default_factory=lambda: REPO_ROOT / "var")


def get_profile(name: str | None = None, data_root: str | Path | None = None,
                allow_no_eval_sets: bool | None = None, seed: int = 0) -> Profile:
    from pipelines.bigmath import config as bigmath
    from pipelines.countdown import config as countdown
    from pipelines.episodes import config as episodes
    from pipelines.fspo import config as fspo
    from pipelines.owm import config as owm

    name = name or os.environ.get("FOUNDRY_PROFILE", "sample")
    if name not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {name!r}; FOUNDRY_PROFILE must be 'sample' or 'full'")
    if allow_no_eval_sets is None:
        allow_no_eval_sets = os.environ.get("FOUNDRY_ALLOW_NO_EVAL_SETS", "") not in ("", "0", "false", "False")
    root = Path(data_root or os.environ.get("FOUNDRY_DATA_ROOT") or REPO_ROOT / "var").resolve()
    workers = int(os.environ.get("FOUNDRY_VERIFY_WORKERS", str(min(4, os.cpu_count() or 1))))
    return Profile(
        name=name,
        bigmath=bigmath.for_profile(name, allow_no_eval_sets=allow_no_eval_sets, verify_workers=workers,
                                    read_lock=read_lock),
        countdown=countdown.for_profile(name, seed=seed),
        episodes=episodes.for_profile(name, seed=seed),
        owm=owm.for_profile(name),
        fspo=fspo.config_for_profile(name, seed=seed),
        seed=seed,
        data_root=root,
    )
