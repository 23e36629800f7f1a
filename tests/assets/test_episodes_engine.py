"""`episodes_standardize` with the `engine` resource: one source partition materialized on the local
engine and on the in-process Ray cluster writes the same Parquet bytes."""

from pathlib import Path

import pytest
from dagster import AssetSelection, DagsterInstance, materialize

import assets.episodes as ep
from assets.engine_resource import EngineResource
from assets.resources import foundry_resources

pytestmark = pytest.mark.slow

SOURCE = "reacher_noisy"


def _tables(root: Path) -> dict[str, bytes]:
    base = root / "assets"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*.parquet"))
            if not p.relative_to(base).as_posix().startswith(ep.COLLECTED.path[-1])}


def test_episodes_partition_on_ray_equals_local(tmp_path, ray_inprocess):
    root = tmp_path / "data"
    family = [ep.episodes_minari_collected, ep.episodes_standardize]
    out = {}
    with DagsterInstance.ephemeral() as instance:
        resources = foundry_resources("sample", root)
        assert materialize(family, selection=AssetSelection.assets(ep.COLLECTED), resources=resources,
                           instance=instance).success
        for name, engine in (("local", EngineResource(kind="local")),
                             ("ray", EngineResource(kind="ray", num_workers=2))):  # joins the in-process cluster
            result = materialize(family, selection=AssetSelection.assets(ep.EPISODES, ep.STEPS, ep.QUARANTINE, ep.FUNNEL),
                                 partition_key=SOURCE, resources={**resources, "engine": engine}, instance=instance)
            assert result.success
            out[name] = _tables(root)
    assert out["local"] == out["ray"]
    assert any(f"source={SOURCE}" in k for k in out["local"]) and len(out["local"]) >= 2
