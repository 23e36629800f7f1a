"""Building a release: the layout loads with datasets, verifies, rebuilds byte for byte, and a
released version never changes."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import polars as pl
import pytest
import yaml

from pipelines.release.build import build_release
from pipelines.release.card import check_front_matter, size_category
from pipelines.release.croissant import validate_croissant
from pipelines.release.manifest import read_manifest, read_split, verify_release
from pipelines.release.versions import ReleaseRefused
from tests.pipelines.release.toy import toy_frames, toy_kept, toy_spec


def _build(tmp_path: Path, out: str = "out", version: str = "1.0.0", frames=None, spec=None, ledger: str = "ledger"):
    return build_release(spec or toy_spec(), frames or toy_frames(), version, tmp_path / out,
                         ledger_dir=tmp_path / ledger, profile=object())


def _tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _rows(frame: pl.DataFrame) -> list[dict]:
    return sorted(frame.to_dicts(), key=lambda r: r["id"])


def test_load_dataset_returns_exactly_the_rows_and_splits_of_the_asset(tmp_path):
    result = _build(tmp_path)
    kept = toy_kept().drop("unpublished")
    ds = datasets.load_dataset(str(result.directory))  # the default config
    assert set(ds) == {"train", "test"}
    want_test = kept.filter(pl.col("id").str.ends_with("9"))
    want_train = kept.filter(~pl.col("id").str.ends_with("9"))
    assert _rows(ds["test"].to_polars()) == _rows(want_test)
    assert _rows(ds["train"].to_polars()) == _rows(want_train)
    assert ds["train"].column_names == ["id", "problem", "answer", "options", "score", "flag", "source"]
    funnel = datasets.load_dataset(str(result.directory), "funnel")
    assert set(funnel) == {"train"} and funnel["train"].num_rows == 2
    assert result.rows == {"default/train": 9, "default/test": 1, "funnel/train": 2}


def test_manifest_verifies_and_lists_every_file(tmp_path):
    result = _build(tmp_path)
    report = verify_release(result.directory)
    assert report.ok, report.lines()
    manifest = read_manifest(result.directory)
    listed = {f["path"] for f in manifest["files"]}
    assert listed == set(_tree(result.directory)) - {"manifest.json"}
    shards = [f for f in manifest["files"] if f["kind"] == "data"]
    assert sum(f["rows"] for f in shards if f["config"] == "default") == 10
    assert manifest["source_datasets"][0] == {"name": "alpha", "revision": "-", "license": "MIT",
                                              "origin": "alpha files", "rows": 5}
    assert manifest["licenses"] == ["apache-2.0", "mit"]  # gamma has no published rows
    assert manifest["code_version"] and manifest["build_time"].endswith("Z")


@pytest.mark.parametrize("tamper", ["flip_byte", "delete", "extra", "card_edit"])
def test_a_tampered_release_is_detected(tmp_path, tamper):
    result = _build(tmp_path)
    shard = next(result.directory.glob("data/default/train-*.parquet"))
    if tamper == "flip_byte":
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
    elif tamper == "delete":
        shard.unlink()
    elif tamper == "extra":
        (result.directory / "data" / "default" / "train-00009-of-00009.parquet").write_bytes(b"PAR1")
    else:
        (result.directory / "README.md").write_text("hacked", encoding="utf-8")
    report = verify_release(result.directory)
    assert not report.ok
    assert {"flip_byte": report.mismatched, "delete": report.missing, "extra": report.extra,
            "card_edit": report.mismatched}[tamper]


def test_rebuilding_with_no_change_is_byte_identical(tmp_path):
    first = _build(tmp_path, "a")
    second = _build(tmp_path, "b")  # same ledger, fresh directory
    assert _tree(first.directory) == _tree(second.directory)
    again = _build(tmp_path, "a")  # over itself
    assert again.reproduced and _tree(again.directory) == _tree(second.directory)
    assert verify_release(again.directory).ok


def test_source_date_epoch_makes_builds_identical_across_ledgers(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    one = _build(tmp_path, "a", ledger="ledger1")
    two = _build(tmp_path, "b", ledger="ledger2")
    assert _tree(one.directory) == _tree(two.directory)
    assert one.manifest["build_time"] == "2023-11-14T22:13:20Z"
    assert one.manifest["build_time_source"] == "SOURCE_DATE_EPOCH"


def test_an_existing_version_with_different_content_is_refused(tmp_path):
    _build(tmp_path, "a")
    changed = toy_frames()
    changed["toy_kept"] = changed["toy_kept"].with_columns(pl.when(pl.col("id") == "id03").then(pl.lit("999"))
                                                          .otherwise(pl.col("answer")).alias("answer"))
    with pytest.raises(ReleaseRefused, match=r"toy 1\.0\.0 already exists .*different content.*changed 1"):
        _build(tmp_path, "b", frames=changed)
    assert not (tmp_path / "b").exists()
    # and the directory of the same version is refused even with a fresh ledger
    with pytest.raises(ReleaseRefused, match="different content"):
        _build(tmp_path, "a", frames=changed, ledger="other")
    assert verify_release(tmp_path / "a").ok  # untouched


def test_new_version_changelog_and_bump_rules(tmp_path):
    _build(tmp_path, "v1")
    frames = toy_frames(12)  # two rows added (id10 to alpha? no: id10 beta, id11 alpha)
    frames["toy_kept"] = frames["toy_kept"].filter(pl.col("id") != "id00")  # one beta row removed
    with pytest.raises(ReleaseRefused, match="needs a minor bump"):
        _build(tmp_path, "v101", "1.0.1", frames=frames)
    with pytest.raises(ReleaseRefused, match="not a semantic version"):
        _build(tmp_path, "bad", "1.1", frames=frames)
    result = _build(tmp_path, "v110", "1.1.0", frames=frames)
    table = {(r["config"], r["split"], r["source"]): r for r in result.changelog.to_dicts()}
    assert table[("default", "train", "beta")]["added"] == 1 and table[("default", "train", "beta")]["removed"] == 1
    assert table[("default", "train", "alpha")]["added"] == 1
    assert table[("funnel", "train", None)]["changed"] == 2  # rows_in/rows_kept moved
    changelog = (result.directory / "CHANGELOG.md").read_text()
    assert "Against 1.0.0: 2 rows added, 1 removed, 2 changed" in changelog
    assert result.manifest["previous_version"] == "1.0.0"
    with pytest.raises(ReleaseRefused, match="below the latest built version 1.1.0"):
        _build(tmp_path, "v105", "1.0.5", frames=frames)
    renamed = toy_frames(12).copy()
    renamed["toy_kept"] = renamed["toy_kept"].rename({"answer": "answer"}).with_columns(pl.col("score").cast(pl.Int64))
    with pytest.raises(ReleaseRefused, match="needs a major bump"):
        _build(tmp_path, "v120", "1.2.0", frames=renamed)
    assert _build(tmp_path, "v200", "2.0.0", frames=renamed).manifest["version"] == "2.0.0"


def test_shards_are_bounded_and_still_load(tmp_path):
    spec = toy_spec(max_shard_rows=3)
    result = _build(tmp_path, spec=spec)
    shards = sorted(result.directory.glob("data/default/train-*.parquet"))
    assert [p.name for p in shards] == [f"train-0000{i}-of-00003.parquet" for i in range(3)]
    assert all(f["rows"] <= 3 for f in result.manifest["files"] if f["kind"] == "data")
    ds = datasets.load_dataset(str(result.directory))
    assert ds["train"].num_rows == 9
    assert _rows(read_split(result.directory, "default", "train")) == _rows(ds["train"].to_polars())


def test_card_front_matter_and_real_figures(tmp_path):
    result = _build(tmp_path)
    text = (result.directory / "README.md").read_text(encoding="utf-8")
    meta = check_front_matter(text)
    assert meta["license"] == ["apache-2.0", "mit"]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["configs"][0] == {"config_name": "default", "default": True, "data_files": [
        {"split": "train", "path": "data/default/train-*.parquet"}, {"split": "test", "path": "data/default/test-*.parquet"}]}
    info = {c["config_name"]: c for c in meta["dataset_info"]}
    assert {f["name"]: f.get("dtype", f.get("list")) for f in info["default"]["features"]}["options"] == "string"
    assert [s["num_examples"] for s in info["default"]["splits"]] == [9, 1]
    assert "| gamma | CC-BY-4.0 |" in text and "| alpha | MIT |" in text  # every source, with its license
    assert "| dedup | 13 | 10 | 3 | duplicate | 3 |" in text  # the funnel table
    assert "images/funnel.png" in text and (result.directory / "images" / "funnel.png").exists()
    assert "@misc{toy2026" in text and "@misc{alpha" in text
    assert size_category(5_000) == "1K<n<10K"


def test_croissant_is_valid_and_reads_the_rows(tmp_path):
    import mlcroissant as mlc  # a declared dependency: the release gate fails without it

    result = _build(tmp_path)
    doc = json.loads((result.directory / "croissant.json").read_text())
    assert {r["@id"] for r in doc["recordSet"]} == {"default_train", "default_test", "funnel_train"}
    ok, message = validate_croissant(result.directory / "croissant.json")
    assert ok, message
    records = list(mlc.Dataset(jsonld=str(result.directory / "croissant.json")).records("default_train"))
    assert len(records) == 9


def test_an_out_dir_that_is_not_a_release_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(ReleaseRefused, match="not a release directory"):
        _build(tmp_path)
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_missing_table_or_column_names_the_fix(tmp_path):
    with pytest.raises(KeyError, match="toy_funnel"):
        _build(tmp_path, frames={"toy_kept": toy_kept()})
    with pytest.raises(KeyError, match="lacks published columns"):
        _build(tmp_path, frames={"toy_kept": toy_kept().drop("answer"), "toy_funnel": toy_frames()["toy_funnel"]})


def test_registry_declares_bigmath():
    from pipelines.release.registry import REGISTRY, get_spec

    spec = get_spec("bigmath")
    assert spec.assets() == ["bigmath_kept", "bigmath_funnel", "bigmath_rejected"]
    assert spec.id_column in spec.configs[0].columns
    with pytest.raises(KeyError, match="known: .*bigmath"):
        get_spec("nope")
    assert all(yaml.safe_dump(s.task_categories) for s in REGISTRY.values())


def test_card_dataset_info_round_trips_through_datasets(tmp_path):
    """The card's ``dataset_info`` (written by datasets' own DatasetInfosDict) is what load_dataset uses:
    its features equal the shards' and its split sizes the manifest's; a changed card changes the load."""
    import pyarrow.parquet as pq

    result = _build(tmp_path)
    for config in ("default", "funnel"):
        info = datasets.load_dataset_builder(str(result.directory), config).info
        shard = next(result.directory.glob(f"data/{config}/*.parquet"))
        assert info.features == datasets.Features.from_arrow_schema(pq.read_schema(shard))
        assert {n: s.num_examples for n, s in info.splits.items()} == \
            {k.split("/")[1]: v for k, v in result.rows.items() if k.startswith(f"{config}/")}
    card = result.directory / "README.md"
    card.write_text(card.read_text().replace("- name: score\n    dtype: float64", "- name: score\n    dtype: float32", 1))
    assert datasets.load_dataset(str(result.directory), "default")["train"].features["score"] == datasets.Value("float32")


def test_front_matter_that_does_not_parse_names_the_card():
    with pytest.raises(ValueError, match="mycard: the YAML front matter does not parse"):
        check_front_matter("---\nlicense: [mit\n---\n# x\n", "mycard")
    with pytest.raises(ValueError, match="mycard: front matter lacks 'dataset_info'"):
        check_front_matter("---\nlicense: mit\npretty_name: x\ntask_categories: []\nsize_categories: []\n"
                           "configs: []\n---\n# x\n", "mycard")
