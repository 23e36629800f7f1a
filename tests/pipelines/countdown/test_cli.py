import json

import polars as pl
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.countdown.config import STRATEGIES


def test_generate_writes_every_strategy_and_set(tmp_path):
    out = tmp_path / "cd"
    res = CliRunner().invoke(main, ["countdown", "generate", "--n", "120", "--numbers", "3", "--seed", "5",
                                    "--traces", "3", "--priming-rows", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    problems = pl.read_parquet(out / "problems.parquet")
    assert problems.height > 50 and problems["numbers"].list.len().unique().to_list() == [3]
    assert {p.stem for p in (out / "traces").glob("*.parquet")} == set(STRATEGIES)
    assert {p.stem for p in (out / "priming").glob("*.parquet")} >= {"all_strategies", "wrong_answer",
                                                                       "length_matched_dots"}
    again = tmp_path / "cd2"
    CliRunner().invoke(main, ["countdown", "generate", "--n", "120", "--numbers", "3", "--seed", "5",
                              "--traces", "3", "--priming-rows", "3", "--out", str(again)])
    assert (out / "problems.parquet").read_bytes() == (again / "problems.parquet").read_bytes()


def test_score_messy_file(tmp_path):
    src = tmp_path / "completions.jsonl"
    rows = [
        {"text": "<think>…</think><answer>(4 - 1) * 3</answer><|im_end|>", "nums": [4, 1, 3], "goal": 9},
        {"text": "<answer>4 * 3 - 1</answer>", "nums": "[4, 1, 3]", "goal": "9"},
        {"text": "I think it is 9", "nums": [4, 1, 3], "goal": 9},
        {"text": "<answer>4 + 3</answer>", "nums": [4, 1, 3], "goal": 7},
        {"text": 5, "nums": None, "goal": 9},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken json\n", encoding="utf-8")
    out = tmp_path / "scores.parquet"
    args = ["countdown", "score", str(src), "--field", "completion=text", "--field", "numbers=nums",
            "--field", "target=goal", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    scores = pl.read_parquet(out)
    assert scores.height == 6
    assert scores["score"].to_list() == [1.0, 0.1, 0.0, 0.1, 0.0, 0.0]
    assert scores["format_ok"].to_list() == [True, True, False, True, False, False]
    assert scores["expression"][0] == "(4 - 1) * 3"
    assert scores["parse_error"][3].startswith("wrong_numbers")
    assert scores["parse_error"][5].startswith("malformed_row")
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["rows"] == 6 and summary["errors"]["malformed_row"] == 2

    res = CliRunner().invoke(main, args[:-2] + ["--numbers-rule", "subset", "--out", str(tmp_path / "s.jsonl")])
    assert res.exit_code == 0
    subset = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert subset[3]["score"] == 1.0  # 4 + 3 uses each number at most once


def test_score_rejects_bad_field_mapping(tmp_path):
    src = tmp_path / "c.jsonl"
    src.write_text('{"completion": "x"}\n')
    res = CliRunner().invoke(main, ["countdown", "score", str(src), "--field", "answer", "--out", str(tmp_path / "o.jsonl")])
    assert res.exit_code != 0 and "NAME=COLUMN" in res.output
