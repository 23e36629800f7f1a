"""The row contract's on-disk check: kept + rejected files = rows read, and the funnel file agrees."""

import polars as pl

from pipelines.core.io import atomic_write_parquet, write_partitioned_parquet
from pipelines.core.steps import Funnel, reject_where
from validators.common import conservation_on_disk, parquet_rows


def _written(tmp_path):
    frame = pl.DataFrame({"x": list(range(10)), "part": ["a", "b"] * 5})
    res = reject_where(frame, pl.col("x") >= 7, reason="big", step="size")
    funnel = Funnel()
    funnel.record("size", frame.height, res)
    write_partitioned_parquet(res.kept, tmp_path / "kept", "part")
    atomic_write_parquet(res.rejected, tmp_path / "rejected.parquet")
    atomic_write_parquet(funnel.to_frame(), tmp_path / "funnel.parquet")
    atomic_write_parquet(frame, tmp_path / "read.parquet")
    return tmp_path / "read.parquet", tmp_path / "kept", tmp_path / "rejected.parquet", tmp_path / "funnel.parquet"


def test_files_that_add_up_pass(tmp_path):
    read, kept, rejected, funnel = _written(tmp_path)
    assert parquet_rows(kept) == 7 and parquet_rows([kept, rejected]) == 10
    ok, meta = conservation_on_disk(read, kept, rejected, funnel)
    assert ok, meta["problems"]
    assert conservation_on_disk(10, [kept], [rejected])[0]


def test_a_file_changed_after_writing_fails(tmp_path):
    read, kept, rejected, funnel = _written(tmp_path)
    atomic_write_parquet(pl.read_parquet(rejected).head(2), rejected)  # one rejected row lost after writing
    ok, meta = conservation_on_disk(read, kept, rejected, funnel)
    assert not ok
    assert "kept 7 + rejected 2 = 9 rows on disk, but 10 were read" in meta["problems"]
    assert "rejects 3 rows, but the rejected files hold 2" in meta["problems"]


def test_a_funnel_that_disagrees_with_the_files_fails(tmp_path):
    read, kept, rejected, funnel = _written(tmp_path)
    bad = pl.read_parquet(funnel).with_columns(pl.lit(8, dtype=pl.Int64).alias("rows_kept"))
    atomic_write_parquet(bad, funnel)
    ok, meta = conservation_on_disk(read, kept, rejected, funnel)
    assert not ok and "ends with 8 kept, but the kept files hold 7" in meta["problems"]


def test_a_missing_file_fails_and_names_it(tmp_path):
    read, kept, rejected, funnel = _written(tmp_path)
    ok, meta = conservation_on_disk(read, kept, tmp_path / "nowhere.parquet", funnel)
    assert not ok and "nowhere" in meta["problems"] and "materialize" in meta["problems"]


def test_one_funnel_per_partition_is_summed(tmp_path):
    from pipelines.core.steps import Funnel

    for part, (n, big) in {"a": (5, 2), "b": (4, 1)}.items():
        frame = pl.DataFrame({"x": list(range(n))})
        res = reject_where(frame, pl.col("x") >= n - big, reason="big", step="size")
        funnel = Funnel()
        funnel.record("size", n, res)
        atomic_write_parquet(res.kept, tmp_path / "kept" / f"part={part}" / "part-0.parquet")
        atomic_write_parquet(res.rejected, tmp_path / "rejected" / f"part={part}" / "part-0.parquet")
        atomic_write_parquet(funnel.to_frame(), tmp_path / "funnel" / f"part={part}" / "part-0.parquet")
    ok, meta = conservation_on_disk(9, tmp_path / "kept", tmp_path / "rejected", tmp_path / "funnel")
    assert ok, meta["problems"]
    assert (meta["funnel_rows_in"], meta["funnel_kept"], meta["funnel_rejected"]) == (9, 6, 3)
