"""Round trips: standard -> export -> read back gives the same episodes."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from pipelines.episodes.checks import dataset_checks
from pipelines.episodes.convert import standardize
from pipelines.episodes.readers import read_lerobot, read_minari
from pipelines.episodes.writers import read_standard, write_lerobot_v3, write_minari, write_standard


@pytest.fixture(scope="module")
def standard(minari_root):
    return standardize(read_minari(minari_root))


def _core(episodes: pl.DataFrame, steps: pl.DataFrame):
    """What every format keeps: per source, per episode in order, the arrays and the flags."""
    out = {}
    for row in episodes.sort(["source", "source_id"]).iter_rows(named=True):
        s = steps.filter(pl.col("episode_id") == row["episode_id"]).sort("step_index")
        out.setdefault(row["source"], []).append((
            row["length"], round(row["return"], 5), row["terminated"],
            np.asarray(s["observation_state"].to_list(), np.float32).round(5).tolist(),
            np.asarray(s["action"].to_list()[:-1], np.float32).round(5).tolist(),
            s["is_first"].to_list(), s["is_last"].to_list(), s["is_terminal"].to_list()))
    return out


def test_standard_round_trip_and_checks_pass(tmp_path, standard):
    write_standard(tmp_path / "std", standard.episodes, standard.steps, standard.quarantine, standard.stats)
    episodes, steps, stats = read_standard(tmp_path / "std")
    assert episodes.equals(standard.episodes) and steps.equals(standard.steps)
    assert sorted(p.name for p in (tmp_path / "std" / "steps").iterdir()) == [
        f"source={s}" for s in sorted(standard.episodes["source"].unique())]
    assert all(o.passed for o in dataset_checks(episodes, steps, stats))


def test_standard_write_is_byte_deterministic(tmp_path, standard):
    for d in ("a", "b"):
        write_standard(tmp_path / d, standard.episodes, standard.steps, standard.quarantine, standard.stats)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_lerobot_v3_round_trip(tmp_path, standard):
    roots = write_lerobot_v3(tmp_path / "lerobot", standard.episodes, standard.steps)
    assert len(roots) == standard.episodes["source"].n_unique()
    info = json.loads((roots[0] / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] > 0
    stats = json.loads((roots[0] / "meta" / "stats.json").read_text())
    assert {"q01", "q10", "q50", "q90", "q99", "mean", "std"} <= set(stats["observation.state"])
    meta_eps = pl.read_parquet(roots[0] / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    assert (meta_eps["dataset_to_index"] - meta_eps["dataset_from_index"]).to_list() == meta_eps["length"].to_list()
    back = [standardize(read_lerobot(r)) for r in roots]
    assert all(b.quarantine.height == 0 for b in back)
    episodes = pl.concat([b.episodes for b in back])
    steps = pl.concat([b.steps for b in back])
    assert _core(episodes, steps) == _core(standard.episodes, standard.steps)


def test_minari_round_trip(tmp_path, standard):
    roots = write_minari(tmp_path / "minari", standard.episodes, standard.steps)
    back = standardize(read_minari(tmp_path / "minari"))
    assert back.quarantine.height == 0 and len(roots) == standard.episodes["source"].n_unique()
    assert _core(back.episodes, back.steps) == _core(standard.episodes, standard.steps)
    assert back.episodes["data_source"].to_list() == standard.episodes["data_source"].to_list()
