import duckdb
import pytest
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


# ------------------------------------------------------------------ issue 15: clean errors, query limit


def _warehouse(tmp_path, *views: str):
    con = duckdb.connect(str(tmp_path / "foundry.duckdb"))
    for v in views:
        con.execute(v).fetchall()
    con.close()


def _one_sentence(res) -> str:
    text = res.output.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    return text


def test_query_limit_runs_in_the_database(tmp_path):
    # a billion rows, and any row past 500,000 raises: only a limit pushed into DuckDB answers
    _warehouse(tmp_path, "CREATE VIEW big AS SELECT CASE WHEN i < 500000 THEN i ELSE error('fetched past the limit') "
                         "END AS i FROM range(1000000000) t(i)")
    res = CliRunner().invoke(main, ["query", "select * from big", "--limit", "3", "--data-root", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "shape: (3, 1)" in res.output and "fetched past" not in res.output


def test_an_empty_sql_string_is_a_usage_error(tmp_path):
    _warehouse(tmp_path, "CREATE VIEW v AS SELECT 1 AS x")
    res = CliRunner().invoke(main, ["query", "   ", "--data-root", str(tmp_path)])
    assert res.exit_code == 2 and "give a SQL statement" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("command", ["query", "summary"])
def test_a_corrupt_warehouse_is_one_sentence_and_exit_1(tmp_path, command):
    (tmp_path / "foundry.duckdb").write_bytes(b"this is not a duckdb file" * 200)
    args = [command, *(["select 1"] if command == "query" else []), "--data-root", str(tmp_path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output
    assert "foundry.duckdb" in _one_sentence(res) or "DuckDB" in res.output


def test_a_non_integer_llm_setting_names_the_variable(tmp_path):
    f = tmp_path / "mc.jsonl"
    f.write_text('{"q": "What is 2 + 3? (A) 4 (B) 5", "a": "B"}\n')
    args = ["bigmath", "reformulate", str(f), "--field", "problem=q", "--field", "answer=a", "--llm", "openai",
            "--out", str(tmp_path / "out")]
    env = {"FOUNDRY_LLM_BASE_URL": "http://127.0.0.1:9/v1", "FOUNDRY_LLM_MODEL": "m", "FOUNDRY_LLM_CONCURRENCY": "four"}
    res = CliRunner().invoke(main, args, env=env)
    assert res.exit_code == 2 and "FOUNDRY_LLM_CONCURRENCY='four' is not an integer" in _one_sentence(res)
    for var, value in [("FOUNDRY_LLM_TIMEOUT_S", "soon"), ("FOUNDRY_LLM_MAX_RETRIES", "-1"),
                       ("FOUNDRY_LLM_TIMEOUT_S", "nan")]:
        res = CliRunner().invoke(main, args, env={**env, "FOUNDRY_LLM_CONCURRENCY": "2", var: value})
        assert res.exit_code == 2 and var in _one_sentence(res), res.output
    # --debug (a flag of the foundry group) shows the traceback instead
    res = CliRunner().invoke(main, ["--debug", *args], env=env)
    assert res.exit_code == 1 and type(res.exception).__name__ == "LLMSettingError"


def test_an_unforeseen_error_is_one_sentence_pointing_at_debug(tmp_path, monkeypatch):
    import pipelines.bigmath.cli as bigmath_cli

    def explode(config):
        raise KeyError("internal")

    monkeypatch.setattr(bigmath_cli, "run_funnel", explode)
    f = tmp_path / "in.jsonl"
    f.write_text('{"q": "What is 1 + 1?", "a": "2"}\n')
    args = ["bigmath", "filter", str(f), "--field", "problem=q", "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1 and "--debug" in _one_sentence(res) and "KeyError" in res.output
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == [f]
