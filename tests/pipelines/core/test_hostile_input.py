"""Issue 15 (hostile input), readers and outputs: one bad row never ends a run, the BOM is no row,
outputs are swapped in as a set, and ``--out`` problems are refused before the work starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.core.io import read_records
from pipelines.core.outputs import OutputPathError, check_output_path, staged_output

REPO = Path(__file__).resolve().parents[3]
GOOD = [{"q": "What is 2 + 3?", "a": "5"}, {"q": "What is 7 - 4?", "a": "3"}]


def _jsonl(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _filter(files, out, *extra) -> object:
    args = ["bigmath", "filter", *map(str, files), "--field", "problem=q", "--field", "answer=a",
            "--workers", "1", "--out", str(out), *extra]
    return CliRunner().invoke(main, args)


def _good_lines() -> list[bytes]:
    return [json.dumps(r).encode() for r in GOOD]


# ------------------------------------------------------------------ readers


def test_a_bom_is_stripped_and_the_first_row_is_read(tmp_path):
    path = _jsonl(tmp_path / "bom.jsonl", [b"\xef\xbb\xbf" + _good_lines()[0], _good_lines()[1]])
    recs = read_records(path)
    assert [r.error for r in recs] == [None, None] and recs[0].record == GOOD[0]


@pytest.mark.parametrize("bad, expect", [
    (b'{"q": "x \\ud800", "a": "1"}', "surrogate"),                  # a lone surrogate
    (b'{"q": "big", "a": ' + b"7" * 5000 + b"}", "ValueError"),       # over Python's int-str limit
    (b'{"q": ' + b'{"a": ' * 70 + b"1" + b"}" * 70 + b"}", "nested deeper"),
])
def test_one_hostile_jsonl_row_is_quarantined_and_the_run_completes(tmp_path, bad, expect):
    path = _jsonl(tmp_path / "in.jsonl", [_good_lines()[0], bad, _good_lines()[1]])
    res = _filter([path], tmp_path / "out")
    assert res.exit_code == 0, res.output
    kept = pl.read_parquet(tmp_path / "out" / "kept.parquet")
    rejected = pl.read_parquet(tmp_path / "out" / "rejected.parquet")
    report = json.loads((tmp_path / "out" / "funnel.json").read_text())
    assert report["rows_in"] == 3 == kept.height + rejected.height
    row = rejected.filter(pl.col("reason") == "malformed").row(0, named=True)
    assert "in.jsonl line 2" in row["detail"] and expect in row["detail"]


def test_a_parquet_column_that_overflows_on_conversion_quarantines_its_row_only(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"q": [r["q"] for r in GOOD], "a": [r["a"] for r in GOOD],
                             "when": pa.array([0, 400 * 10**15], pa.timestamp("us"))}), path)  # year ~14700
    res = _filter([path], tmp_path / "out")
    assert res.exit_code == 0, res.output
    rejected = pl.read_parquet(tmp_path / "out" / "rejected.parquet")
    assert rejected.height == 1 and rejected["reason"][0] == "malformed"
    assert "in.parquet row 1" in rejected["detail"][0] and "when" in rejected["detail"][0]
    assert "OverflowError" in rejected["detail"][0]


def test_reformulate_quarantines_a_surrogate_row_and_completes(tmp_path):
    path = _jsonl(tmp_path / "mc.jsonl", [b'{"q": "What is 2 + 3? (A) 4 (B) \\udc00", "a": "B"}',
                                           json.dumps({"q": "What is 2 + 3? (A) 4 (B) 5", "a": "B"}).encode()])
    res = CliRunner().invoke(main, ["bigmath", "reformulate", str(path), "--field", "problem=q", "--field", "answer=a",
                                    "--workers", "1", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["rows_in"] == 2 and report["rejected_by_reason"].get("malformed") == 1


# ------------------------------------------------------------------ outputs as a set


def _run_filter_subprocess(files, out, kill_at: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FOUNDRY_TEST_KILL_AT", None)
    if kill_at:
        env["FOUNDRY_TEST_KILL_AT"] = kill_at
    cmd = [sys.executable, "-m", "pipelines.cli", "bigmath", "filter", *map(str, files), "--field", "problem=q",
           "--field", "answer=a", "--workers", "1", "--out", str(out)]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("kill_at", ["after_first_rename", "before_swap"])
def test_a_run_killed_mid_write_leaves_the_previous_set_whole_and_no_temp_files(tmp_path, kill_at):
    """The issue's case: killed right after kept.parquet is renamed, the old set must stay as it was."""
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(GOOD[0]) + "\n")
    second = tmp_path / "second.jsonl"
    second.write_text("".join(json.dumps(r) + "\n" for r in GOOD))
    out = tmp_path / "out"
    assert _run_filter_subprocess([first], out, None).returncode == 0
    before = _snapshot(out)
    assert set(before) == {"kept.parquet", "rejected.parquet", "funnel.json"}

    killed = _run_filter_subprocess([second], out, kill_at)
    assert killed.returncode == -9, killed.stderr  # it really died by SIGKILL at that point
    assert _snapshot(out) == before  # the old set, byte for byte, and nothing else inside --out

    done = _run_filter_subprocess([second], out, None)  # the next run sweeps what the killed one left beside
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "funnel.json").read_text())["rows_in"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.jsonl", "out", "second.jsonl"]


def test_a_run_killed_right_after_the_swap_leaves_the_new_set_whole(tmp_path):
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(GOOD[0]) + "\n")
    out = tmp_path / "out"
    assert _run_filter_subprocess([first], out, None).returncode == 0
    second = tmp_path / "second.jsonl"
    second.write_text("".join(json.dumps(r) + "\n" for r in GOOD))
    assert _run_filter_subprocess([second], out, "after_swap").returncode == -9
    assert json.loads((out / "funnel.json").read_text())["rows_in"] == 2
    assert pl.read_parquet(out / "kept.parquet").height + pl.read_parquet(out / "rejected.parquet").height == 2


def test_staged_output_keeps_files_outside_the_set_and_repairs_a_half_swap(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "llm_cache.sqlite").write_text("cache")
    (out / "kept.parquet").write_text("old")
    with staged_output(out) as stage:
        (stage / "kept.parquet").write_text("new")
    assert (out / "kept.parquet").read_text() == "new" and (out / "llm_cache.sqlite").read_text() == "cache"

    # where the atomic exchange is unsupported, a run killed between the two renames leaves the old
    # set at .out.old-PID: the next run puts it back before anything else
    import pipelines.core.outputs as outputs

    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    os.replace(out, tmp_path / ".out.old-123")
    with pytest.raises(RuntimeError):
        with staged_output(out) as stage:
            assert (out / "kept.parquet").read_text() == "new"  # restored before the work
            raise RuntimeError("the work failed")
    assert (out / "kept.parquet").read_text() == "new"
    with staged_output(out) as stage:
        (stage / "kept.parquet").write_text("newer")
    assert (out / "kept.parquet").read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_run_leaves_the_previous_output_and_nothing_beside_it(tmp_path):
    out = tmp_path / "scores.parquet"
    out.write_text("old")
    with pytest.raises(ValueError):
        with staged_output(out, kind="file") as staged:
            staged.write_text("half")
            raise ValueError("boom")
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["scores.parquet"]


# ------------------------------------------------------------------ --out checked first


def test_out_under_a_file_is_refused_before_reading_the_inputs(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    missing_input = tmp_path / "never_read.jsonl"  # would fail with "no such file" if the work started
    res = _filter([missing_input], blocker / "out")
    assert res.exit_code == 2, res.output
    assert "a_file is a file" in res.output and "Traceback" not in res.output and "no such file" not in res.output


def test_out_in_an_unwritable_place_is_refused_before_the_work(tmp_path):
    res = _filter([tmp_path / "never_read.jsonl"], "/proc/foundry_out")
    assert res.exit_code == 2, res.output
    assert "--out /proc/foundry_out" in res.output and "Traceback" not in res.output


def test_out_in_a_read_only_directory_is_refused(tmp_path, monkeypatch):
    # tests run as root, which chmod does not stop: the check asks os.access, simulated here honestly
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == tmp_path else real(p, mode, **kw))
    with pytest.raises(OutputPathError, match="permission denied"):
        check_output_path(tmp_path / "out")


def test_out_equal_to_an_input_is_refused(tmp_path):
    path = tmp_path / "completions.jsonl"
    path.write_text(json.dumps({"completion": "<answer>1+2</answer>", "numbers": [1, 2], "target": 3}) + "\n")
    before = path.read_bytes()
    res = CliRunner().invoke(main, ["countdown", "score", str(path), "--out", str(path)])
    assert res.exit_code == 2 and "also an input" in res.output, res.output
    assert path.read_bytes() == before


def test_out_is_never_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputPathError, match="current directory"):
        check_output_path(".")
