"""Storage by URI against a local S3-compatible server (moto's server mode, a real socket on
127.0.0.1, started by the test): the same bytes as on a local disk, and DuckDB reads them."""

import io

import duckdb
import polars as pl
import pytest

from pipelines.core import storage

BUCKET = "foundry-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """Credentials for moto (any value works) and the endpoint, the way a deployment sets them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("FOUNDRY_S3_ENDPOINT_URL", s3_endpoint)
    fs, _ = storage.filesystem(f"s3://{BUCKET}")
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    fs.invalidate_cache()
    return fs


def frame() -> pl.DataFrame:
    return pl.DataFrame({"problem_id": ["b", "a", "c", "d"], "source": ["gsm8k", "ocw", "gsm8k", "ocw"],
                         "answer": ["1", "2", None, "\\frac{1}{2}"]})


def test_parquet_round_trip_same_bytes_as_local(s3, tmp_path):
    uri = f"s3://{BUCKET}/assets/kept.parquet"
    storage.write_parquet(frame(), uri)
    local = storage.write_parquet(frame(), tmp_path / "kept.parquet")
    assert storage.read_parquet(uri).equals(frame())
    with s3.open(f"{BUCKET}/assets/kept.parquet", "rb") as fh:
        assert fh.read() == open(local, "rb").read()  # one writer, one setting: byte-identical
    batches = list(storage.iter_parquet_batches(uri, batch_rows=3))
    assert [b.height for b in batches] == [3, 1] and pl.concat(batches).equals(frame())


def test_partitioned_write_replaces_stale_partitions(s3):
    uri = f"s3://{BUCKET}/assets/by_source"
    storage.write_partitioned_parquet(frame(), uri, "source")
    storage.write_partitioned_parquet(frame().filter(pl.col("source") == "ocw"), uri, "source")
    s3.invalidate_cache()
    assert [f.rsplit("/", 2)[-2] for f in storage.list_files(uri, "*=*/part-*.parquet")] == ["source=ocw"]
    back = storage.read_parquet(uri, hive=True)
    assert back.sort("problem_id").equals(frame().filter(pl.col("source") == "ocw").sort("problem_id").select(back.columns))


def test_duckdb_reads_parquet_by_uri(s3):
    uri = f"s3://{BUCKET}/assets/for_duckdb.parquet"
    storage.write_parquet(frame(), uri)
    con = duckdb.connect()
    storage.register_duckdb_filesystem(con, uri)
    got = con.execute(f"select problem_id from read_parquet('{uri}') order by problem_id").fetchall()
    assert got == [("a",), ("b",), ("c",), ("d",)]


def test_local_paths_stay_the_default(tmp_path):
    assert not storage.is_uri(tmp_path / "x.parquet") and storage.is_uri("s3://b/x") and not storage.is_uri("file:///x")
    assert storage.join("s3://b/root/", "assets", "x.parquet") == "s3://b/root/assets/x.parquet"
    assert storage.storage_options_from_env("s3://b", {"FOUNDRY_S3_ENDPOINT_URL": "http://127.0.0.1:9"}) == {
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}}
    assert storage.storage_options_from_env(tmp_path, {"FOUNDRY_S3_ENDPOINT_URL": "http://x"}) == {}
