"""The registered families build real releases (small configs), and compound row keys work."""

from __future__ import annotations

import datasets
import polars as pl
import pytest

from pipelines.config import get_profile
from pipelines.release.build import build_release
from pipelines.release.manifest import verify_release
from pipelines.release.registry import REGISTRY
from pipelines.release.spec import ConfigSpec, SplitSpec
from pipelines.release.versions import ReleaseRefused
from tests.pipelines.release.toy import toy_frames, toy_spec


def test_countdown_release_from_its_pipeline_functions(tmp_path, monkeypatch):
    config = pytest.importorskip("pipelines.countdown.config")
    small = config.CONFIG_BY_PROFILE["sample"].with_(n_problems=300, traces_per_strategy=3, priming_rows=3)
    monkeypatch.setitem(config.CONFIG_BY_PROFILE, "sample", small)
    from validators.release import validate_release

    spec = REGISTRY["countdown"]
    profile = get_profile("sample", tmp_path)
    frames = spec.produce(profile)
    result = build_release(spec, frames, "1.0.0", tmp_path / "out", ledger_dir=tmp_path / "ledger", profile=profile)
    assert verify_release(result.directory).ok
    problems = datasets.load_dataset(str(result.directory), "problems")
    assert set(problems) == {"train", "val", "test_heldout"}
    for split in problems:
        want = frames["countdown_problems"].filter(pl.col("split") == split)
        assert problems[split].num_rows == want.height
        assert sorted(problems[split]["problem_id"]) == sorted(want["problem_id"].to_list())
    traces = datasets.load_dataset(str(result.directory), "search_traces")["train"]
    assert traces.num_rows == frames["countdown_search_traces"].height
    assert result.manifest["licenses"] == ["mit"]
    ok, meta = validate_release(spec, profile, result.directory)
    assert ok, meta["failed"]


def test_bigmath_specs_are_declared_with_licenses_for_every_sample_source():
    profile = get_profile("sample")
    for name in ("bigmath", "bigmath_published"):
        if name not in REGISTRY:
            continue
        sources = REGISTRY[name].sources(profile)
        assert sources and all(s.license not in ("", "unknown") for s in sources)
        assert all(k in REGISTRY[name].citations for s in sources for k in s.citations)


def test_compound_row_keys(tmp_path):
    steps = pl.DataFrame({"ep": ["a", "a", "b", "b"], "t": [1, 0, 0, 1], "x": [1.0, 2.0, 3.0, 4.0],
                          "source": ["alpha"] * 4})
    spec = toy_spec(configs=toy_spec().configs + (ConfigSpec("steps", "toy_steps", (SplitSpec("train"),),
                                                             key=("ep", "t")),))
    frames = {**toy_frames(), "toy_steps": steps}
    result = build_release(spec, frames, "1.0.0", tmp_path / "o", ledger_dir=tmp_path / "l")
    loaded = datasets.load_dataset(str(result.directory), "steps")["train"]
    assert list(zip(loaded["ep"], loaded["t"])) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]  # sorted by the key
    frames["toy_steps"] = steps.with_columns(pl.when(pl.col("t") == 1).then(9.0).otherwise(pl.col("x")).alias("x"))
    with pytest.raises(ReleaseRefused, match="changed 2"):
        build_release(spec, frames, "1.0.0", tmp_path / "o2", ledger_dir=tmp_path / "l")
