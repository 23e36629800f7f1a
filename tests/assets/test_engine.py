"""The engine resource in the assets: partitioned Big-Math and Countdown assets materialized on a
Ray cluster (in-process, and `ray start --head` through its address) write the same Parquet bytes
as the `local` engine; the IO manager writes and reads the assets on a local S3 server."""

from pathlib import Path

import pytest
from dagster import AssetSelection, DagsterInstance, materialize

import assets.bigmath as bm
import assets.countdown as cd
from assets.engine_resource import EngineResource
from assets.materialize import materialize_all
from assets.resources import foundry_resources
from pipelines.countdown import config as cd_config

pytestmark = pytest.mark.slow

TINY = cd_config.CountdownConfig(n_problems=160, traces_per_strategy=6, node_budget=150, mcts_iterations=60,
                                 priming_rows=5)
STRATEGIES = cd.STRATEGY_PARTITIONS.get_partition_keys()[:2]


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(cd_config.CONFIG_BY_PROFILE, "sample", TINY)


def _traces(root: Path, engine: EngineResource, io_manager=None) -> dict[str, bytes]:
    resources = {**foundry_resources("sample", root), "engine": engine}
    if io_manager is not None:
        resources["io_manager"] = io_manager
    assets = [cd.countdown_problems, cd.countdown_search_traces]
    with DagsterInstance.ephemeral() as instance:
        assert materialize(assets, selection=AssetSelection.assets(cd.PROBLEMS, cd.REJECTED, cd.FUNNEL),
                           resources=resources, instance=instance).success
        for key in STRATEGIES:
            assert materialize(assets, selection=AssetSelection.assets(cd.TRACES), partition_key=key,
                               resources=resources, instance=instance).success
    if io_manager is not None:
        return {}
    base = root / "assets" / cd.TRACES.path[-1]
    return {k: (base / f"strategy={k}" / "part-0.parquet").read_bytes() for k in STRATEGIES}


def test_countdown_traces_partitions_on_ray_equal_local(tmp_path, tiny, ray_inprocess):
    local = _traces(tmp_path / "local", EngineResource(kind="local"))
    ray = _traces(tmp_path / "ray", EngineResource(kind="ray", num_workers=2))  # joins the running in-process cluster
    assert local == ray and all(local.values())


def test_bigmath_funnel_on_ray_head_cluster_equals_local(tmp_path, ray_head, ray_head_address):
    root = tmp_path / "data"
    family = [bm.bigmath_sources, bm.bigmath_funnel]
    outputs = {}
    with DagsterInstance.ephemeral() as instance:
        for name, engine in (("local", EngineResource(kind="local")),
                             ("ray", EngineResource(kind="ray", address=ray_head_address))):
            resources = {**foundry_resources("sample", root), "engine": engine}
            selected = None if name == "local" else set(bm.bigmath_funnel.keys)  # sources once, funnel twice
            results = materialize_all(family, resources, instance, selected=selected)
            assert all(r.success for r in results)
            kept = sorted((root / "assets" / "bigmath_kept").glob("source=*/part-0.parquet"))
            outputs[name] = ({p.parent.name: p.read_bytes() for p in kept},
                             (root / "assets" / "bigmath_rejected.parquet").read_bytes(),
                             (root / "assets" / "bigmath_funnel.parquet").read_bytes())
    assert len(outputs["local"][0]) >= 3
    assert outputs["ray"] == outputs["local"]


def test_io_manager_on_s3_server(tmp_path, tiny, monkeypatch):
    from moto.server import ThreadedMotoServer

    from assets.io import ParquetWarehouseIOManager
    from pipelines.core import storage

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_DEFAULT_REGION": "us-east-1", "FOUNDRY_S3_ENDPOINT_URL": f"http://{host}:{port}"}.items():
            monkeypatch.setenv(k, v)
        fs, _ = storage.filesystem("s3://foundry")
        fs.mkdir("foundry")
        root = tmp_path / "data"
        foundry = foundry_resources("sample", root)["foundry"]
        io = ParquetWarehouseIOManager(foundry=foundry, base_uri="s3://foundry/assets")
        _traces(root, EngineResource(kind="local"), io_manager=io)  # the traces read countdown_problems from s3
        local = _traces(tmp_path / "local", EngineResource(kind="local"))
        fs.invalidate_cache()
        for k in STRATEGIES:
            with fs.open(f"foundry/assets/countdown_search_traces/strategy={k}/part-0.parquet", "rb") as fh:
                assert fh.read() == local[k]
        assert fs.exists("foundry/assets/countdown_problems.parquet")
        import duckdb

        con = duckdb.connect(str(root / "foundry.duckdb"))
        storage.register_duckdb_filesystem(con, "s3://foundry")
        n = con.execute("select count(*) from countdown_search_traces").fetchone()[0]
        assert n == TINY.traces_per_strategy * len(STRATEGIES)
    finally:
        server.stop()
