import pickle

import numpy as np
import polars as pl
from click.testing import CliRunner

from pipelines.episodes.cli import group


def _pickles(path, n=3):
    path.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        ep = {"observations": rng.normal(size=(5, 4)), "actions": rng.uniform(-1, 1, (5, 2)), "rewards": np.ones(5),
              "terminals": np.eye(1, 5, 4, dtype=bool).reshape(-1), "next_observations": rng.normal(size=(5, 4))}
        (path / f"ep{i}.pkl").write_bytes(pickle.dumps(ep))
    (path / "evil.pkl").write_bytes(b"cos\nsystem\n(S'true'\ntR.")


def test_convert_then_validate_standard(tmp_path):
    _pickles(tmp_path / "kitchen")
    runner = CliRunner()
    res = runner.invoke(group, ["convert", str(tmp_path / "kitchen"), "--from", "d5rl-pickle", "--out", str(tmp_path / "std")])
    assert res.exit_code == 0, res.output
    assert "3 episodes" in res.output and "quarantined evil.pkl: unsafe_pickle" in res.output
    res = runner.invoke(group, ["validate", str(tmp_path / "std")])
    assert res.exit_code == 0, res.output
    assert "PASS  flags" in res.output and "all checks passed" in res.output


def test_validate_exits_nonzero_on_a_broken_dataset(tmp_path):
    _pickles(tmp_path / "kitchen")
    runner = CliRunner()
    runner.invoke(group, ["convert", str(tmp_path / "kitchen"), "--from", "d5rl-pickle", "--out", str(tmp_path / "std")])
    part = next((tmp_path / "std" / "steps").glob("source=*/part-0.parquet"))
    pl.read_parquet(part).with_columns(pl.lit(True).alias("is_first")).write_parquet(part)
    res = runner.invoke(group, ["validate", str(tmp_path / "std")])
    assert res.exit_code == 1 and "FAIL  flags" in res.output


def test_convert_to_lerobot_and_minari_validate(tmp_path):
    _pickles(tmp_path / "kitchen")
    runner = CliRunner()
    for to in ("lerobot", "minari"):
        res = runner.invoke(group, ["convert", str(tmp_path / "kitchen"), "--from", "d5rl-pickle", "--to", to,
                                    "--out", str(tmp_path / to)])
        assert res.exit_code == 0, res.output
        res = runner.invoke(group, ["validate", str(tmp_path / to)])
        assert res.exit_code == 0 and "3 episodes" in res.output, res.output
