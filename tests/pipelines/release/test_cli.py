"""``foundry release build | verify | publish`` on a toy dataset read from a warehouse directory."""

from __future__ import annotations

import datasets
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.core.io import atomic_write_parquet, write_partitioned_parquet
from pipelines.release.registry import REGISTRY
from tests.pipelines.release.toy import toy_frames, toy_spec


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    monkeypatch.setitem(REGISTRY, "toy", toy_spec())
    frames = toy_frames()
    write_partitioned_parquet(frames["toy_kept"], tmp_path / "var" / "assets" / "toy_kept", "source")  # hive, like the IO manager
    atomic_write_parquet(frames["toy_funnel"], tmp_path / "var" / "assets" / "toy_funnel.parquet")
    return tmp_path / "var"


def test_build_verify_publish_round_trip(tmp_path, warehouse):
    runner = CliRunner()
    out = tmp_path / "rel"
    r = runner.invoke(main, ["release", "build", "toy", "--version", "1.0.0", "--out", str(out), "--data-root", str(warehouse)])
    assert r.exit_code == 0, r.output
    assert "default/train" in r.output and (warehouse / "releases" / "sample" / "toy" / "ledger" / "1.0.0.json").exists()
    assert datasets.load_dataset(str(out))["train"].num_rows == 9

    r = runner.invoke(main, ["release", "verify", str(out)])
    assert r.exit_code == 0 and r.output.strip().endswith("OK")

    r = runner.invoke(main, ["release", "publish", str(out), "--repo", "org/toy", "--dry-run"])
    assert r.exit_code == 0 and "dry run: nothing was sent" in r.output and "v1.0.0" in r.output

    r = runner.invoke(main, ["release", "publish", str(out), "--repo", "org/toy", "--local-dir", str(tmp_path / "m")])
    assert r.exit_code == 0 and (tmp_path / "m" / "org" / "toy" / "v1.0.0" / "manifest.json").exists()

    next(out.glob("data/default/test-*.parquet")).write_bytes(b"junk")
    r = runner.invoke(main, ["release", "verify", str(out)])
    assert r.exit_code == 1 and "MISMATCH data/default/test-00000-of-00001.parquet" in r.output


def test_build_refuses_a_changed_version_with_a_clear_message(tmp_path, warehouse):
    runner = CliRunner()
    args = ["release", "build", "toy", "--version", "1.0.0", "--data-root", str(warehouse)]
    assert runner.invoke(main, args + ["--out", str(tmp_path / "a")]).exit_code == 0
    frames = toy_frames(11)
    atomic_write_parquet(frames["toy_funnel"], warehouse / "assets" / "toy_funnel.parquet")
    r = runner.invoke(main, args + ["--out", str(tmp_path / "b")])
    assert r.exit_code == 1 and "already exists" in r.output and "never changes" in r.output


def test_build_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(REGISTRY, "toy", toy_spec())
    runner = CliRunner()
    r = runner.invoke(main, ["release", "build", "toy", "--out", str(tmp_path / "o"), "--data-root", str(tmp_path)])
    assert r.exit_code == 1 and "not materialized" in r.output
    r = runner.invoke(main, ["release", "build", "nope", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "no release spec named 'nope'" in r.output
    r = runner.invoke(main, ["release", "verify", str(tmp_path)])
    assert r.exit_code == 1 and "no manifest" in r.output
