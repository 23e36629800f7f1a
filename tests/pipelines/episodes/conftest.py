"""Fixtures of every source format, each written by that format's own library (or wire format)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.episodes.collect import CollectConfig, TaskSpec, collect

TINY = CollectConfig(tasks=(TaskSpec("Reacher-v5", max_steps=8), TaskSpec("InvertedPendulum-v5", max_steps=8, data_format="arrow")),
                     data_sources=("scripted", "play"), episodes_per_source=2, seed=3)


@pytest.fixture(scope="session")
def minari_root(tmp_path_factory) -> Path:
    """Real Minari datasets (HDF5 and Arrow) recorded from MuJoCo by Minari's DataCollector."""
    root = tmp_path_factory.mktemp("minari")
    collect(TINY, root)
    return root
