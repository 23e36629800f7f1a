import numpy as np
import polars as pl

from pipelines.episodes.collect import CollectConfig, TaskSpec, collect
from pipelines.episodes.convert import standardize
from pipelines.episodes.readers import read_minari


def test_collection_is_deterministic_and_sources_differ(tmp_path):
    cfg = CollectConfig(tasks=(TaskSpec("Reacher-v5", max_steps=10),), data_sources=("scripted", "noisy", "play"),
                        episodes_per_source=1, seed=7)
    a = standardize(read_minari(tmp_path / "a") if collect(cfg, tmp_path / "a") else [])
    b = standardize(read_minari(tmp_path / "b") if collect(cfg, tmp_path / "b") else [])
    assert a.steps.equals(b.steps) and a.episodes.equals(b.episodes)
    acts = {r["source"]: a.steps.filter((pl.col("source") == r["source"]) & ~pl.col("is_last"))["action"].to_list()
            for r in a.episodes.iter_rows(named=True)}
    assert set(acts) == {"reacher_scripted", "reacher_noisy", "reacher_play"}
    assert not np.allclose(acts["reacher_scripted"], acts["reacher_noisy"])


def test_scripted_controllers_beat_random_play(tmp_path):
    cfg = CollectConfig(tasks=(TaskSpec("Reacher-v5", max_steps=50), TaskSpec("HalfCheetah-v5", max_steps=40)),
                        data_sources=("scripted", "play"), episodes_per_source=2, seed=0)
    collect(cfg, tmp_path)
    res = standardize(read_minari(tmp_path))
    ret = dict(res.episodes.group_by("source").agg(pl.col("return").mean()).iter_rows())
    assert ret["reacher_scripted"] > ret["reacher_play"]
    assert ret["halfcheetah_scripted"] > ret["halfcheetah_play"]
