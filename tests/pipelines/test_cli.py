import duckdb
import polars as pl
from click.testing import CliRunner

from pipelines.cli import main


def test_summary_and_query_read_the_warehouse(tmp_path):
    pl.DataFrame({"step": ["a", "b"], "rows_in": [3, 2]}).write_parquet(tmp_path / "t.parquet")
    con = duckdb.connect(str(tmp_path / "foundry.duckdb"))
    con.execute(f"CREATE VIEW toy_funnel AS SELECT * FROM read_parquet('{tmp_path / 't.parquet'}')").fetchall()
    con.close()
    runner = CliRunner()
    res = runner.invoke(main, ["summary", "--data-root", str(tmp_path)])
    assert res.exit_code == 0 and "toy_funnel" in res.output and "2 rows" in res.output
    res = runner.invoke(main, ["query", "select sum(rows_in) as total from toy_funnel", "--data-root", str(tmp_path)])
    assert res.exit_code == 0 and "5" in res.output and "total" in res.output
    res = runner.invoke(main, ["query", "select * from nope", "--data-root", str(tmp_path)])
    assert res.exit_code != 0 and "query failed" in res.output


def test_query_without_a_warehouse_says_what_to_run(tmp_path):
    res = CliRunner().invoke(main, ["query", "select 1", "--data-root", str(tmp_path / "empty")])
    assert res.exit_code != 0 and "make run" in res.output
