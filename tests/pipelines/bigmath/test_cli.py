import json

import polars as pl
from click.testing import CliRunner

from pipelines.cli import main


def test_filter_command_on_user_files_with_bad_rows_and_eval_set(tmp_path, sample_math):
    user = tmp_path / "mine.jsonl"
    lines = [json.loads(l) for l in (sample_math / "math500_test.jsonl").read_text().splitlines()[:40]]
    user.write_text("\n".join(json.dumps({"prob": r["problem"], "ans": r["answer"], "sol": r["solution"]}) for r in lines)
                    + "\n{not json\n" + json.dumps({"prob": "What is 2+2? (A) 3 (B) 4 (C) 5", "ans": "4"}) + "\n")
    evals = tmp_path / "eval.jsonl"
    evals.write_text("\n".join(json.dumps({"question": r["problem"]}) for r in lines[:5]) + "\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["bigmath", "filter", str(user), "--field", "problem=prob", "--field", "answer=ans",
                                    "--field", "solution=sol", "--eval-set", str(evals), "--eval-field", "problem=question",
                                    "--workers", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    kept, rejected = pl.read_parquet(out / "kept.parquet"), pl.read_parquet(out / "rejected.parquet")
    report = json.loads((out / "funnel.json").read_text())
    assert kept.height + rejected.height == report["rows_in"] == 42
    reasons = report["rejected_by_reason"]
    assert reasons["contaminated"] == 5 and reasons["malformed"] == 1 and reasons["multiple_choice"] >= 1
    assert {"reason", "step", "detail"} <= set(rejected.columns)
    assert set(kept["source"]) == {"mine"}


def test_filter_command_names_an_unreadable_file(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"nope")
    res = CliRunner().invoke(main, ["bigmath", "filter", str(bad), "--field", "problem=q", "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "broken.parquet" in res.output


def test_filter_command_rejects_a_bad_field_spec(tmp_path):
    res = CliRunner().invoke(main, ["bigmath", "filter", "x.jsonl", "--field", "problem", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "NAME=COLUMN" in res.output


def test_same_input_gives_byte_identical_outputs(tmp_path, sample_math):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        res = CliRunner().invoke(main, ["bigmath", "filter", str(sample_math / "mawps_singleeq.jsonl"),
                                        "--field", "problem=input", "--field", "answer=target", "--source", "mawps",
                                        "--workers", "2", "--out", str(out)])
        assert res.exit_code == 0, res.output
        report = json.loads((out / "funnel.json").read_text())
        timings = report.pop("timings")  # seconds and memory describe the machine, not the data
        assert [t["step"] for t in timings][:2] == ["normalize", "build_contamination_index"]
        assert all(t["seconds"] >= 0 and t["peak_rss_mb"] > 0 for t in timings)
        runs.append({**{f: (out / f).read_bytes() for f in ("kept.parquet", "rejected.parquet")}, "report": report})
    assert runs[0] == runs[1]
    assert runs[0]["report"]["kept"] > 480
