"""The streaming reader: every row kept or quarantined with a reason naming file, row, error class."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.core.io import InputFileError
from pipelines.owm import reasons
from pipelines.owm.reader import iter_batches, read_all
from tests.pipelines.owm.conftest import write_jsonl, write_parquet


def test_parquet_streams_in_bounded_batches(tmp_path, owm_rows):
    path = write_parquet(tmp_path / "shard-00000.parquet", owm_rows, row_group_size=16)
    batches = list(iter_batches(path, batch_rows=7))
    assert all(b.rows <= 7 for b in batches)
    assert sum(b.rows for b in batches) == len(owm_rows)
    rows = [d["row"] for b in batches for d in b.kept]
    assert rows == list(range(len(owm_rows)))
    doc = batches[0].kept[0]
    assert doc["url"] == "https://example.org/0" and json.loads(doc["metadata"]) == {"i": 0}
    assert doc["doc_id"].startswith("owm-") and doc["shard"] == "shard-00000.parquet"


def test_parquet_memory_stays_flat_whatever_the_shard_size(tmp_path):
    # ~40 MB of text in small row groups; reading in batches must hold about one batch at a time
    rows = [{"text": ("x" * 20_000) + str(i), "url": None, "date": None, "metadata": None} for i in range(2_000)]
    path = write_parquet(tmp_path / "big.parquet", rows, row_group_size=50)
    del rows
    base = pa.total_allocated_bytes()
    peak, n = 0, 0
    for batch in iter_batches(path, batch_rows=50):
        n += batch.rows
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert n == 2_000
    assert peak < 8_000_000, f"Arrow held {peak} bytes while streaming a 40 MB shard"


def test_jsonl_malformed_rows_are_quarantined_with_reasons(tmp_path):
    path = write_jsonl(tmp_path / "docs.jsonl", [
        {"text": "ok one", "url": "u1"},
        '{"text": "unterminated',
        b"\xff\xfe not utf-8",
        "[1, 2, 3]",
        {"url": "no text"},
        {"text": "   "},
        {"text": 42},
        {"text": "bad meta", "metadata": "{not json"},
        {"text": "meta is a list", "metadata": "[1]"},
        {"text": "meta as object", "metadata": {"a": 1}},
        {"text": "date is a number", "date": 20240101},
        "",
        {"text": "ok last"},
    ])
    got = read_all([path])
    assert len(got.kept) + len(got.rejected) == 12  # the blank line is not a row
    assert [d["text"] for d in got.kept] == ["ok one", "meta as object", "ok last"]
    by_row = {r["row"]: r for r in got.rejected}
    assert by_row[1]["reason"] == reasons.MALFORMED and "docs.jsonl line 2" in by_row[1]["detail"] and "JSONDecodeError" in by_row[1]["detail"]
    assert by_row[2]["reason"] == reasons.MALFORMED and "UnicodeDecodeError" in by_row[2]["detail"]
    assert by_row[3]["reason"] == reasons.MALFORMED and "got list" in by_row[3]["detail"]
    assert by_row[4]["reason"] == reasons.MISSING_TEXT and "--field text=COL" in by_row[4]["detail"]
    assert by_row[5]["reason"] == reasons.MISSING_TEXT
    assert by_row[6]["reason"] == reasons.WRONG_TYPE
    assert by_row[7]["reason"] == reasons.BAD_METADATA and "JSONDecodeError" in by_row[7]["detail"]
    assert by_row[8]["reason"] == reasons.BAD_METADATA
    assert by_row[10]["reason"] == reasons.WRONG_TYPE
    assert all(r["reason"] in reasons.READ_REASONS for r in got.rejected)


def test_bom_is_stripped(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": "\ufeffHello"}).encode() + b"\n")
    got = read_all([path])
    assert not got.rejected and got.kept[0]["text"] == "Hello"


def test_field_mapping_and_missing_column(tmp_path):
    pq.write_table(pa.table({"content": ["a doc"], "link": ["u"]}), tmp_path / "mine.parquet")
    got = read_all([tmp_path / "mine.parquet"], {"text": "content", "url": "link"})
    assert got.kept[0]["text"] == "a doc" and got.kept[0]["url"] == "u"
    with pytest.raises(InputFileError, match=r"mine.parquet: no column 'text'.*--field text=COL"):
        read_all([tmp_path / "mine.parquet"])


def test_unreadable_files_name_the_file(tmp_path):
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputFileError, match="junk.parquet"):
        read_all([tmp_path / "junk.parquet"])
    with pytest.raises(InputFileError, match="unsupported file type"):
        read_all([tmp_path / "x.csv"]) if (tmp_path / "x.csv").write_text("a") else None


def test_gzip_jsonl(tmp_path):
    import gzip

    with gzip.open(tmp_path / "d.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({"text": "zipped"}) + "\n")
    assert read_all([tmp_path / "d.jsonl.gz"]).kept[0]["text"] == "zipped"
