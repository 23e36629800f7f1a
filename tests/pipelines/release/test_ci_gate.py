"""The CI gate script: passes a good release, fails (non-zero) when an expectation fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl

from pipelines.release.registry import REGISTRY
from tests.pipelines.release.toy import toy_frames, toy_spec

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "ci_release_gate.py"


def _script():
    spec = importlib.util.spec_from_file_location("ci_release_gate", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gate_passes_a_good_release_and_writes_data_docs(tmp_path):
    failures = _script().gate(toy_spec(), toy_frames(), None, tmp_path, log=lambda *_: None)
    assert failures == []
    assert (tmp_path / "toy" / "v1.0.0" / "manifest.json").exists()
    assert sorted(p.name for p in (tmp_path / "gx_docs").glob("*.html")) == [
        "release_toy_suite__default__test.html", "release_toy_suite__default__train.html",
        "release_toy_suite__funnel__train.html"]


def test_gate_fails_when_an_expectation_fails(tmp_path, monkeypatch):
    frames = toy_frames()
    frames["toy_kept"] = frames["toy_kept"].with_columns(  # a row from a source nobody declared
        pl.when(pl.col("id") == "id04").then(pl.lit("zeta")).otherwise(pl.col("source")).alias("source"))
    mod = _script()
    failures = mod.gate(toy_spec(), frames, None, tmp_path, log=lambda *_: None)
    assert len(failures) == 1 and "expect_column_values_to_be_in_set(source)" in failures[0]

    monkeypatch.setitem(REGISTRY, "toy", toy_spec(produce=lambda profile: frames))
    assert mod.main(["--dataset", "toy", "--tables", "pipeline", "--out", str(tmp_path / "cli")]) == 1
    assert mod.main(["--dataset", "nope", "--out", str(tmp_path / "cli2")]) == 1
