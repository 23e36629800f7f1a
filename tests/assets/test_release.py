"""The release asset: built from the family's tables, gated by their blocking checks, with its own
blocking checks (manifest, load, GX suite) and Data Docs HTML."""

import sys

import datasets
import polars as pl
import pytest
from dagster import AssetCheckResult, AssetKey, asset, asset_check, materialize

from assets.io import ParquetWarehouseIOManager
from assets.release import CHECK_CROISSANT, CHECK_GX, CHECK_LOADS, CHECK_MANIFEST, build_release_asset, release_dir
from assets.resources import FoundryResource
from pipelines.release.manifest import verify_release
from tests.pipelines.release.toy import break_croissant, register_toy_suites, toy_frames, toy_spec

SPEC = toy_spec()


@pytest.fixture(autouse=True)
def _toy_suites(monkeypatch):
    register_toy_suites(monkeypatch)


def _family(kept_check_passes: bool, duplicate_ids: bool = False):
    @asset(name="toy_kept")
    def toy_kept() -> pl.DataFrame:
        frame = toy_frames()["toy_kept"]
        return pl.concat([frame, frame.head(1)]) if duplicate_ids else frame

    @asset(name="toy_funnel")
    def toy_funnel() -> pl.DataFrame:
        return toy_frames()["toy_funnel"]

    @asset_check(asset=toy_kept, name="toy_schema", blocking=True)
    def toy_schema(toy_kept: pl.DataFrame) -> AssetCheckResult:
        return AssetCheckResult(passed=kept_check_passes)

    return [toy_kept, toy_funnel, toy_schema]


def _run(tmp_path, defs):
    foundry = FoundryResource(data_root=str(tmp_path))
    result = materialize(defs, raise_on_error=False, resources={
        "foundry": foundry,
        "io_manager": ParquetWarehouseIOManager(foundry=foundry),  # tables under tmp_path/assets
    })
    return result, foundry


def _checks(result) -> dict:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_release_asset_builds_a_verified_loadable_release(tmp_path):
    result, foundry = _run(tmp_path, _family(True) + [build_release_asset(SPEC)])
    assert result.success
    out = release_dir(foundry, SPEC, "1.0.0")
    assert out == tmp_path.resolve() / "releases" / "sample" / "toy" / "v1.0.0"
    assert verify_release(out).ok
    assert datasets.load_dataset(str(out))["train"].num_rows == 9
    checks = _checks(result)
    assert checks == {"toy_schema": True, CHECK_MANIFEST: True, CHECK_LOADS: True, CHECK_CROISSANT: True, CHECK_GX: True}
    assert (tmp_path / "artifacts" / "gx_docs" / "release_toy_suite__default__train.html").exists()  # Data Docs for humans
    mats = result.asset_materializations_for_node("release_toy")
    meta = mats[0].metadata
    assert meta["dagster/row_count"].value == 12 and meta["version"].value == "1.0.0"
    # the released rows are queryable by name in the warehouse, one view per config
    import duckdb

    con = duckdb.connect(str(tmp_path / "foundry.duckdb"), read_only=True)
    try:
        views = [v.strip() for v in meta["duckdb_views"].value.split(",")]
        released = sum(con.execute(f'SELECT count(*) FROM "{v}"').fetchone()[0] for v in views)
    finally:
        con.close()
    assert released == 12
    # a second run reproduces the same version, byte for byte
    before = (out / "manifest.json").read_bytes()
    again, _ = _run(tmp_path, _family(True) + [build_release_asset(SPEC)])
    assert again.success and (out / "manifest.json").read_bytes() == before


def test_a_failing_blocking_check_upstream_blocks_the_release(tmp_path):
    result, foundry = _run(tmp_path, _family(False) + [build_release_asset(SPEC)])
    assert not result.success
    assert _checks(result)["toy_schema"] is False
    assert not result.asset_materializations_for_node("release_toy")
    assert not release_dir(foundry, SPEC, "1.0.0").exists()


def test_release_gx_suite_fails_on_bad_rows(tmp_path):
    result, _ = _run(tmp_path, _family(True, duplicate_ids=True) + [build_release_asset(SPEC)])
    assert not result.success  # the release's own blocking GX check fails
    assert _checks(result)[CHECK_GX] is False


@pytest.mark.parametrize("breakage", ["broken croissant.json", "mlcroissant not importable"])
def test_croissant_is_a_blocking_check_of_the_release_asset(tmp_path, monkeypatch, breakage):
    """The same gate as CI (validators.release.release_gate): a Croissant failure fails the run."""
    if breakage == "broken croissant.json":
        break_croissant(monkeypatch)
    else:
        monkeypatch.setitem(sys.modules, "mlcroissant", None)
    result, _ = _run(tmp_path, _family(True) + [build_release_asset(SPEC)])
    assert not result.success
    checks = _checks(result)
    assert checks[CHECK_CROISSANT] is False
    assert checks[CHECK_MANIFEST] and checks[CHECK_LOADS] and checks[CHECK_GX]  # only Croissant is wrong


def test_definitions_have_a_release_for_bigmath_wired_to_its_tables():
    from assets.definitions import defs

    graph = defs.resolve_asset_graph()
    key = AssetKey("release_bigmath")
    assert key in graph.get_all_asset_keys()
    assert {AssetKey("bigmath_kept"), AssetKey("bigmath_funnel"), AssetKey("bigmath_rejected")} <= set(graph.get(key).parent_keys)
    assert graph.get(key).group_name == "release"
