"""Materialize the Big-Math family into a temp data root with a real instance."""

import duckdb
from dagster import DagsterInstance

import assets.bigmath as bm
from assets.materialize import materialize_all
from assets.resources import foundry_resources

FAMILY = [bm.bigmath_sources, bm.bigmath_funnel, bm.gx_bigmath_kept, bm.gx_bigmath_rejected, bm.bigmath_conservation_on_disk]


def test_materialize_bigmath_family(tmp_path):
    root = tmp_path / "data"
    resources = foundry_resources("sample", root)
    with DagsterInstance.ephemeral() as instance:
        results = materialize_all(FAMILY, resources, instance)  # every source partition, then the funnel
    assert all(r.success for r in results) and len(results) == len(bm.SOURCE_PARTITIONS.get_partition_keys()) + 1
    result = results[-1]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {bm.CHECK_CONSERVATION: True, bm.CHECK_SCHEMA: True, bm.CHECK_UNIQUE_ID: True,
                      bm.CHECK_RESIDUE: True, bm.CHECK_VERIFY_TIMEOUTS: True, bm.CHECK_GX_KEPT: True,
                      bm.CHECK_GX_REJECTED: True, bm.CHECK_ON_DISK: True}

    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    kept_meta = mats["bigmath_kept"].materialization.metadata
    assert kept_meta["dagster/row_count"].value > 2000
    assert "problem_id" in kept_meta["preview"].value
    assert kept_meta["funnel_plot"].value.startswith("![funnel_plot](data:image/png;base64,")
    funnel_meta = mats["bigmath_funnel"].materialization.metadata
    timings = funnel_meta["step_timings"].value
    assert [t["step"] for t in timings][:2] == ["build_contamination_index", "decontaminate"]
    assert "verify_answer" in {t["step"] for t in timings}
    assert all(t["seconds"] >= 0 and t["peak_rss_mb"] > 0 for t in timings) and funnel_meta["peak_rss_mb"].value > 0
    assert (root / "assets" / "bigmath_kept" / "source=gsm8k" / "part-0.parquet").exists()
    assert (root / "artifacts" / "gx_docs" / "bigmath_kept_suite.html").exists()

    con = duckdb.connect(str(root / "foundry.duckdb"), read_only=True)
    try:
        per_source = dict(con.execute("SELECT source, count(*) FROM bigmath_kept GROUP BY 1 ORDER BY 1").fetchall())
        rejected = dict(con.execute("SELECT reason, sum(count) FROM bigmath_funnel WHERE reason IS NOT NULL GROUP BY 1").fetchall())
        total_in = con.execute("SELECT rows_in FROM bigmath_funnel WHERE step = 'normalize' LIMIT 1").fetchone()[0]
        n_kept = con.execute("SELECT count(*) FROM bigmath_kept").fetchone()[0]
        n_rej = con.execute("SELECT count(*) FROM bigmath_rejected").fetchone()[0]
    finally:
        con.close()
    assert "aqua" not in per_source and per_source["gsm8k"] > 1300
    assert rejected["multiple_choice"] >= 284 and rejected["contaminated"] == 100
    assert n_kept + n_rej == total_in == 3195


def test_blocking_checks_stop_bad_data(tmp_path, monkeypatch):
    """If the funnel ever loses a row, the blocking conservation check fails; if more than 0.1% of
    the verified rows ran out of time, the timeout check fails."""
    import polars as pl

    import pipelines.bigmath.funnel as funnel
    from pipelines.bigmath import reasons as R

    real = funnel.filter_rows

    def lossy(*args, **kwargs):
        r = real(*args, **kwargs)
        r.kept = r.kept.head(r.kept.height - 1)
        # as if 5 rows had run out of verification time (5 of ~2,500 verified rows > 0.1%)
        r.rejected = r.rejected.with_columns(
            pl.when(pl.int_range(pl.len()) < 5).then(pl.lit(R.VERIFY_TIMEOUT)).otherwise(pl.col("reason")).alias("reason"))
        return r

    monkeypatch.setattr(bm, "filter_rows", lossy)
    root = tmp_path / "data"
    resources = foundry_resources("sample", root)
    with DagsterInstance.ephemeral() as instance:
        result = materialize_all(FAMILY[:2], resources, instance, raise_on_error=False)[-1]  # no on-disk check
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks[bm.CHECK_CONSERVATION] is False
    assert checks[bm.CHECK_VERIFY_TIMEOUTS] is False


def test_timeout_share_rule():
    import polars as pl

    from validators.bigmath import verify_timeouts

    rejected = pl.DataFrame({"reason": ["verify_timeout", "unparseable_answer"]})
    assert verify_timeouts(rejected, 1000, 0.001)[0] is True      # 1 in 1,000: at the limit
    ok, meta = verify_timeouts(rejected, 999, 0.001)
    assert ok is False and meta["verify_timeout_rows"] == 1
    assert verify_timeouts(pl.DataFrame({"reason": []}, schema={"reason": pl.Utf8}), 0, 0.001)[0] is True


def test_a_row_lost_on_write_fails_the_blocking_on_disk_check(tmp_path):
    """The rejected file ends one row short of what the funnel rejected (the frames in memory add up): only the
    on-disk check sees it, and it blocks."""
    from tests.assets.lossy_io import lossy_resources

    with DagsterInstance.ephemeral() as instance:
        result = materialize_all([bm.bigmath_sources, bm.bigmath_funnel, bm.bigmath_conservation_on_disk],
                                 lossy_resources(tmp_path / "data", "bigmath_rejected"), instance,
                                 raise_on_error=False)[-1]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks[bm.CHECK_CONSERVATION].passed is True
    assert checks[bm.CHECK_ON_DISK].passed is False
    problems = checks[bm.CHECK_ON_DISK].metadata["problems"].value
    assert "but 3195 were read" in problems and "the rejected files hold" in problems
    assert not result.success
