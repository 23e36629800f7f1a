import polars as pl
import pytest

from pipelines.core.io import InputFileError, atomic_write_parquet, read_records


def test_bad_jsonl_lines_become_error_records(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"problem": "ok"}\n'
        b'{"problem": \n'             # invalid JSON
        b'\xff\xfe not utf8\n'        # non-UTF-8
        b'[1, 2]\n'                   # not an object
        b'\n'                         # blank: not a row
        + b'[' * 100000 + b'\n'       # nested too deep for the parser
        + b'{"problem": "last"}\n'
    )
    recs = read_records(path)
    assert [r.source_id for r in recs] == ["1", "2", "3", "4", "6", "7"]
    assert recs[0].record == {"problem": "ok"} and recs[-1].record == {"problem": "last"}
    errors = [r.error for r in recs[1:5]]
    assert all(errors) and "line 2" in errors[0] and "not UTF-8" in errors[1] and "list" in errors[2]


def test_unreadable_files_raise_a_clear_error(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_records(tmp_path / "missing.jsonl")
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(InputFileError, match="broken.parquet"):
        read_records(bad)
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="unsupported"):
        read_records(csv)


def test_atomic_parquet_is_byte_identical_and_leaves_no_temp(tmp_path):
    df = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    p1 = atomic_write_parquet(df, tmp_path / "one.parquet")
    p2 = atomic_write_parquet(df, tmp_path / "two.parquet")
    assert p1.read_bytes() == p2.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.parquet", "two.parquet"]
    assert read_records(p1)[1].record == {"a": 2, "b": None}
