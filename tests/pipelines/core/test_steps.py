import polars as pl
import pytest

from pipelines.core.steps import Funnel, RowAccountingError, Step, StepResult, check_funnel_conservation, reject_where, run_steps


def frame():
    return pl.DataFrame({"x": [1, 2, 3, 4, 5, 6]})


def test_reject_where_labels_every_rejected_row():
    res = reject_where(frame(), pl.col("x") > 4, reason="too_big", step="size")
    assert res.kept["x"].to_list() == [1, 2, 3, 4]
    assert res.rejected["x"].to_list() == [5, 6]
    assert set(res.rejected["reason"]) == {"too_big"} and set(res.rejected["step"]) == {"size"}


def test_run_steps_records_funnel_and_conserves_rows():
    steps = [
        Step("odd", lambda f: reject_where(f, pl.col("x") % 2 == 1, reason="odd", step="odd")),
        Step("big", lambda f: reject_where(f, pl.col("x") > 4, reason="big", step="big")),
    ]
    kept, rejected, funnel = run_steps(frame(), steps)
    assert kept["x"].to_list() == [2, 4]
    assert sorted(rejected["x"].to_list()) == [1, 3, 5, 6]
    table = funnel.to_frame()
    assert table.select("step", "rows_in", "rows_kept", "rows_rejected").unique(maintain_order=True).rows() == [
        ("odd", 6, 3, 3), ("big", 3, 2, 1)]
    assert check_funnel_conservation(table) == []


def test_a_step_that_loses_rows_is_caught():
    lossy = Step("lossy", lambda f: StepResult(f.head(2), f.head(0).with_columns(
        pl.lit(None, pl.Utf8).alias("reason"), pl.lit(None, pl.Utf8).alias("step"), pl.lit(None, pl.Utf8).alias("detail"))))
    with pytest.raises(RowAccountingError, match="lossy"):
        run_steps(frame(), [lossy])


def test_conservation_check_reports_a_broken_funnel():
    f = Funnel()
    f.record("a", 6, reject_where(frame(), pl.col("x") > 4, reason="r", step="a"))
    table = f.to_frame().with_columns(pl.col("rows_kept") + 1)
    assert check_funnel_conservation(table)


def test_record_counts_gives_the_same_rows_as_record_and_refuses_lost_rows():
    by_frame, by_count = Funnel(), Funnel()
    res = reject_where(frame(), pl.col("x") > 4, reason="big", step="size")
    by_frame.record("size", 6, res)
    by_count.record_counts("size", 6, 4, {"big": 2})
    assert by_frame.to_frame().equals(by_count.to_frame())
    by_count.record_counts("none", 4, 4, {})
    assert check_funnel_conservation(by_count.to_frame()) == []
    with pytest.raises(RowAccountingError, match="'lossy': 4 rows in, but 3 kept"):
        Funnel().record_counts("lossy", 4, 3, {})
