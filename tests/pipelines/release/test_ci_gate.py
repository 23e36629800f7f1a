"""The CI gate script: passes a good release, fails (non-zero) when an expectation fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl

from pipelines.release.registry import REGISTRY
from tests.pipelines.release.toy import break_croissant, toy_frames, toy_spec

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


def test_a_broken_croissant_fails_the_gate(tmp_path, monkeypatch):
    break_croissant(monkeypatch)
    failures = _script().gate(toy_spec(), toy_frames(), None, tmp_path, log=lambda *_: None)
    assert len(failures) == 1 and failures[0].startswith("toy: croissant_valid failed:")
    assert "no_such_files" in failures[0]


def test_mlcroissant_not_importable_is_a_failure_not_a_pass(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mlcroissant", None)  # `import mlcroissant` now raises ImportError
    failures = _script().gate(toy_spec(), toy_frames(), None, tmp_path, log=lambda *_: None)
    assert len(failures) == 1 and "croissant_valid" in failures[0] and "mlcroissant is not importable" in failures[0]


def test_a_config_without_a_gx_suite_fails_the_gate(tmp_path, monkeypatch):
    from validators.release import FAMILY_SUITES

    monkeypatch.delitem(FAMILY_SUITES, "toy/funnel")
    failures = _script().gate(toy_spec(), toy_frames(), None, tmp_path, log=lambda *_: None)
    assert len(failures) == 1 and "gx_release_suite" in failures[0]
    assert "toy/funnel: no Great Expectations suite registered" in failures[0]


def test_every_registered_config_has_a_gx_suite():
    from validators.release import missing_suites

    assert [m for spec in REGISTRY.values() for m in missing_suites(spec)] == []


def test_row_count_expectation_comes_from_the_manifest_not_the_rows(tmp_path):
    """The generic suite's row count is the manifest's, so rows lost after the manifest was written fail."""
    import json

    from pipelines.release.build import build_release
    from validators.release import validate_release

    result = build_release(toy_spec(), toy_frames(), "1.0.0", tmp_path / "o", ledger_dir=tmp_path / "l")
    path = result.directory / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["configs"]["default"]["train"]["rows"] = 10  # the shards hold 9
    path.write_text(json.dumps(manifest))
    ok, meta = validate_release(toy_spec(), None, result.directory)
    assert not ok and meta["failed"] == "default/train: expect_table_row_count_to_equal()"
