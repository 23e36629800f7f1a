"""OpenWebMath's Hub shards, offline: `foundry sources lock` pins the revision and lists the shards
(a stand-in Hub on 127.0.0.1), the shards become Dagster partitions, one partition is read from the
stand-in by `hf://` URI in record batches (range requests), and the full profile's corpora built
from the Hub equal those built from a local directory of the same shards. Unpinned refuses, naming
the command. Nothing here reaches the internet (the loopback guard fails any test that tries)."""

from __future__ import annotations

import importlib
import io
import json

import polars as pl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.bigmath import lock
from pipelines.bigmath.recipe import hub_specs
from pipelines.cli import main
from pipelines.owm import hub
from pipelines.owm.reader import read_all
from tests.pipelines.llm.server import loopback_only  # noqa: F401 - a fixture
from tests.pipelines.owm.hub_stand_in import HubStandIn

SHA = "c0ffee" + "0" * 34
SAMPLE = "data/sample/owm/stackexchange-00000.parquet"
SHARDS = ("data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet")


@pytest.fixture(autouse=True)
def _loopback(loopback_only, monkeypatch):  # noqa: F811
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    yield


def _parquet(table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=100)  # several row groups: the reader fetches them by range
    return buf.getvalue()


@pytest.fixture(scope="module")
def shard_files() -> dict[str, bytes]:
    table = pq.read_table(SAMPLE)
    return {SHARDS[0]: _parquet(table.slice(0, 500)), SHARDS[1]: _parquet(table.slice(500))}


@pytest.fixture
def stand_in(shard_files):
    repos = {s.hf_id: (f"{abs(hash(s.hf_id)) % 10**8:040d}", {}) for s in hub_specs()}  # Big-Math's ids: info only
    repos[hub.HF_ID] = (SHA, {**shard_files, "README.md": b"# OpenWebMath", "data/notes.txt": b"not a shard"})
    with HubStandIn(repos) as server:
        yield server


@pytest.fixture
def pinned(tmp_path, stand_in, monkeypatch):
    """The lock written by `foundry sources lock` against the stand-in, as the repository's lock."""
    path = tmp_path / "sources.lock.json"
    res = CliRunner().invoke(main, ["sources", "lock", "--lock-file", str(path), "--endpoint", stand_in.url])
    assert res.exit_code == 0, res.output
    monkeypatch.setattr(lock, "LOCK_PATH", path)
    monkeypatch.setenv("HF_ENDPOINT", stand_in.url)  # where the hf:// reads go
    return path


def test_lock_pins_the_revision_and_lists_the_shards(pinned, stand_in):
    entry = json.loads(pinned.read_text())["datasets"][hub.HF_ID]
    assert entry == {"revision": SHA, "pattern": "data/*.parquet", "files": list(SHARDS), "used_by": ["owm"]}
    first = pinned.read_bytes()
    res = CliRunner().invoke(main, ["sources", "lock", "--lock-file", str(pinned), "--endpoint", stand_in.url])
    assert res.exit_code == 0 and pinned.read_bytes() == first  # byte-stable
    assert any(p.startswith(f"/api/datasets/{hub.HF_ID}/tree/{SHA}") for _, p, _ in stand_in.requests)
    shown = CliRunner().invoke(main, ["sources", "show", "--lock-file", str(pinned)])
    assert f"{hub.HF_ID}" in shown.output and "(2 files data/*.parquet)" in shown.output
    from pipelines.owm.config import for_profile

    cfg = for_profile("full")
    assert cfg.hub_revision == SHA
    assert cfg.shards == tuple(f"hf://datasets/{hub.HF_ID}@{SHA}/{f}" for f in SHARDS)


def test_a_listing_failure_leaves_the_dataset_unresolved(tmp_path, shard_files):
    repos = {s.hf_id: ("1" * 40, {}) for s in hub_specs()}
    repos[hub.HF_ID] = (SHA, {"README.md": b"no shards at this revision"})
    path = tmp_path / "lock.json"
    with HubStandIn(repos) as server:
        res = CliRunner().invoke(main, ["sources", "lock", "--lock-file", str(path), "--endpoint", server.url])
    assert res.exit_code != 0 and "no file at" in res.output and "1 dataset(s) unresolved" in res.output
    entry = json.loads(path.read_text())["datasets"][hub.HF_ID]
    assert entry["revision"] is None and entry["files"] == [] and "foundry sources lock" in entry["status"]


def test_unpinned_full_profile_refuses_naming_the_command(tmp_path, monkeypatch):
    from dagster import Failure

    import assets.owm as owm
    from pipelines.owm.config import for_profile

    assert json.loads(lock.LOCK_PATH.read_text())["datasets"][hub.HF_ID]["revision"] is None  # as committed
    cfg = for_profile("full")
    assert cfg.shards == () and cfg.hub_dataset == hub.HF_ID
    with pytest.raises(hub.UnpinnedShardsError, match="foundry sources lock"):
        hub.locked_shards().require()
    with pytest.raises(Failure, match="foundry sources lock"):
        owm.shard_path(cfg, "train-00000-of-00114")
    res = CliRunner().invoke(main, ["owm", "build", "--profile", "full", "--out", str(tmp_path / "out")])
    assert res.exit_code != 0 and "foundry sources lock" in res.output


def test_a_hub_shard_streams_by_uri_in_record_batches(pinned, stand_in, shard_files, tmp_path):
    uri = hub.shard_uri(hub.HF_ID, SHA, SHARDS[1])
    local = tmp_path / "train-00001-of-00002.parquet"
    local.write_bytes(shard_files[SHARDS[1]])
    got, want = read_all([uri], batch_rows=64), read_all([local], batch_rows=64)
    assert got.kept == want.kept and len(got.kept) == 487
    assert {d["shard"] for d in got.kept} == {"train-00001-of-00002.parquet"}
    ranges = stand_in.ranged_reads(SHARDS[1])
    assert ranges and all(r and r.startswith("bytes=") for r in ranges)  # range requests, never a plain GET


@pytest.fixture
def hub_partitions(pinned, monkeypatch):
    """assets.owm re-imported with the pinned lock: its shard partitions include the Hub's; re-imported
    against the repository's lock afterwards."""
    import assets.owm as owm

    yield importlib.reload(owm)
    with monkeypatch.context() as m:
        m.setattr(lock, "LOCK_PATH", lock.REPO_ROOT / "sources.lock.json")
        importlib.reload(owm)
    assert owm.SHARD_PARTITIONS.get_partition_keys() == ["stackexchange-00000", "wikitext-00000"]


def test_locked_shards_are_partitions_and_one_materializes_from_the_hub(hub_partitions, stand_in, tmp_path):
    from dagster import DagsterInstance, materialize

    from assets.resources import foundry_resources

    owm = hub_partitions
    keys = owm.SHARD_PARTITIONS.get_partition_keys()
    assert keys == ["stackexchange-00000", "wikitext-00000", "train-00000-of-00002", "train-00001-of-00002"]
    with DagsterInstance.ephemeral() as instance:
        result = materialize([owm.owm_documents, owm.owm_scores], partition_key="train-00000-of-00002",
                             resources=foundry_resources("full", tmp_path), instance=instance)
    assert result.success
    scores = pl.read_parquet(tmp_path / "assets" / "owm_scores" / "shard_key=train-00000-of-00002" / "part-0.parquet")
    assert scores.height == 500 and set(scores.get_column("shard")) == {"train-00000-of-00002.parquet"}
    meta = result.asset_materializations_for_node("owm_documents")[0].metadata
    assert meta["shard_file"].value == f"hf://datasets/{hub.HF_ID}@{SHA}/{SHARDS[0]}"
    assert stand_in.ranged_reads(SHARDS[0]) and not stand_in.ranged_reads(SHARDS[1])  # only its own shard


def test_full_profile_corpora_from_the_hub_equal_those_from_a_local_directory(pinned, shard_files, tmp_path):
    local = tmp_path / "owm_hub" / "data"
    local.mkdir(parents=True)
    for path, data in shard_files.items():
        (local / path.split("/")[-1]).write_bytes(data)
    common = ["--budget", "20000"]
    hub_out, dir_out = tmp_path / "from_hub", tmp_path / "from_dir"
    res = CliRunner().invoke(main, ["owm", "build", "--profile", "full", "--out", str(hub_out), *common])
    assert res.exit_code == 0, res.output
    files = [a for f in sorted(local.glob("*.parquet")) for a in ("--shard", str(f))]
    res = CliRunner().invoke(main, ["owm", "build", "--profile", "full", *files, "--out", str(dir_out), *common])
    assert res.exit_code == 0, res.output
    for name in ("enriched.parquet", "control.parquet", "rejected.parquet", "stats.json"):
        assert (hub_out / name).read_bytes() == (dir_out / name).read_bytes(), name
    assert pl.read_parquet(hub_out / "enriched.parquet").height > 0
