"""Family inputs and `--out` by URI against a local S3-compatible server (moto, 127.0.0.1): Big-Math
local-file sources and `foundry countdown score` read the same rows from s3:// as from a path, and
`--out s3://...` holds the same bytes as the local --out."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.bigmath.sources import SourceSpec, load_source
from pipelines.core import storage
from pipelines.core.io import InputFileError
from pipelines.countdown.cli import group as countdown
from tests.pipelines.engine.test_storage import BUCKET, s3, s3_endpoint  # noqa: F401 - the moto server fixtures

LINES = [json.dumps({"question": "What is 2+3?", "answer": "5"}), "{not json", "",
         json.dumps({"question": "Compute 7*6.", "answer": "42"})]


def test_bigmath_local_source_by_uri_equals_path(s3, tmp_path):
    text = ("\n".join(LINES) + "\n").encode("utf-8")
    (tmp_path / "rows.jsonl").write_bytes(text)
    storage.filesystem(f"s3://{BUCKET}")[0].pipe(f"{BUCKET}/sources/rows.jsonl", text)
    fields = {"problem": "question", "answer": "answer"}
    local = load_source(SourceSpec("toy", fields, files=("rows.jsonl",)), tmp_path)
    by_uri = load_source(SourceSpec("toy", fields, files=(f"s3://{BUCKET}/sources/rows.jsonl",)))
    relative = load_source(SourceSpec("toy", fields, files=("sources/rows.jsonl",)), f"s3://{BUCKET}")
    assert by_uri.records == local.records == relative.records and by_uri.revision == local.revision
    assert [r.error is None for r in by_uri.records] == [True, False, True]  # the bad line: a record with its reason
    assert "rows.jsonl line 2" in by_uri.records[1].error
    with pytest.raises(InputFileError, match=f"s3://{BUCKET}/sources/missing.jsonl"):
        load_source(SourceSpec("toy", fields, files=(f"s3://{BUCKET}/sources/missing.jsonl",)))


def test_countdown_score_from_and_to_s3_equals_local(s3, tmp_path):
    rows = [{"completion": "<answer>(3 + 5) * 2</answer>", "numbers": [3, 5, 2], "target": 16},
            {"completion": "no answer", "numbers": [1, 2], "target": 3}]
    text = "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")
    (tmp_path / "c.jsonl").write_bytes(text)
    storage.filesystem(f"s3://{BUCKET}")[0].pipe(f"{BUCKET}/countdown/c.jsonl", text)
    runner = CliRunner()
    local = runner.invoke(countdown, ["score", str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "s.parquet")])
    assert local.exit_code == 0, local.output
    out = f"s3://{BUCKET}/countdown/scores.parquet"
    remote = runner.invoke(countdown, ["score", f"s3://{BUCKET}/countdown/c.jsonl", "--out", out])
    assert remote.exit_code == 0, remote.output
    assert remote.output == local.output and json.loads(local.output)["accuracy"] == 0.5
    assert storage.read_bytes(out) == (tmp_path / "s.parquet").read_bytes()
    missing = runner.invoke(countdown, ["score", f"s3://{BUCKET}/countdown/none.jsonl", "--out", out])
    assert missing.exit_code != 0 and "none.jsonl" in missing.output


def test_bigmath_filter_from_and_to_s3_equals_local(s3, tmp_path):
    from pipelines.bigmath.cli import group as bigmath

    rows = [{"question": "What is 2+3?", "answer": "5"}, {"question": "Compute 7*6.", "answer": "42"},
            {"question": "Which is larger? (A) 2 (B) 3", "answer": "B"}]
    text = "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")
    (tmp_path / "mine.jsonl").write_bytes(text)
    storage.filesystem(f"s3://{BUCKET}")[0].pipe(f"{BUCKET}/bigmath/mine.jsonl", text)
    args = ["--field", "problem=question", "--field", "answer=answer", "--workers", "1"]
    runner = CliRunner()
    local = runner.invoke(bigmath, ["filter", str(tmp_path / "mine.jsonl"), *args, "--out", str(tmp_path / "out")])
    assert local.exit_code == 0, local.output
    out = f"s3://{BUCKET}/bigmath/out"
    remote = runner.invoke(bigmath, ["filter", f"s3://{BUCKET}/bigmath/mine.jsonl", *args, "--out", out])
    assert remote.exit_code == 0, remote.output
    for name in ("kept.parquet", "rejected.parquet"):  # funnel.json differs only in its timings
        assert storage.read_bytes(f"{out}/{name}") == (tmp_path / "out" / name).read_bytes()
    report = json.loads(storage.read_bytes(f"{out}/funnel.json"))
    assert report["rows_in"] == 3 and report["source_revisions"] == json.loads(
        (tmp_path / "out" / "funnel.json").read_text())["source_revisions"]


def test_countdown_generate_out_s3_holds_the_local_files(s3, tmp_path):
    args = ["generate", "--n", "40", "--numbers", "3", "--seed", "1", "--traces", "1", "--priming-rows", "2"]
    runner = CliRunner()
    local = runner.invoke(countdown, [*args, "--out", str(tmp_path / "cd")])
    assert local.exit_code == 0, local.output
    out = f"s3://{BUCKET}/countdown/generated"
    remote = runner.invoke(countdown, [*args, "--out", out])
    assert remote.exit_code == 0, remote.output
    files = {p.relative_to(tmp_path / "cd").as_posix(): p.read_bytes() for p in sorted((tmp_path / "cd").rglob("*"))
             if p.is_file()}
    s3.invalidate_cache()
    got = {f[len(out) + 1:]: storage.read_bytes(f) for f in storage.list_files(out, "**") if not storage.is_dir(f)}
    assert got == files and "problems.parquet" in got and any(k.startswith("traces/") for k in got)


def test_bigmath_filter_eval_set_by_uri_decontaminates_as_the_local_file(s3, tmp_path):
    from pipelines.bigmath.cli import group as bigmath

    rows = [{"question": "What is the sum of the first ten positive odd integers squared?", "answer": "1330"},
            {"question": "Compute 7*6.", "answer": "42"}]
    evals = [{"problem": "What is the sum of the first ten positive odd integers squared?"}]
    (tmp_path / "mine.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ev = "".join(json.dumps(r) + "\n" for r in evals).encode("utf-8")
    (tmp_path / "eval.jsonl").write_bytes(ev)
    storage.filesystem(f"s3://{BUCKET}")[0].pipe(f"{BUCKET}/bigmath/eval.jsonl", ev)
    args = [str(tmp_path / "mine.jsonl"), "--field", "problem=question", "--field", "answer=answer", "--workers", "1"]
    runner = CliRunner()
    local = runner.invoke(bigmath, ["filter", *args, "--eval-set", str(tmp_path / "eval.jsonl"), "--out", str(tmp_path / "a")])
    assert local.exit_code == 0, local.output
    remote = runner.invoke(bigmath, ["filter", *args, "--eval-set", f"s3://{BUCKET}/bigmath/eval.jsonl",
                                     "--out", str(tmp_path / "b")])
    assert remote.exit_code == 0, remote.output
    rejected = pl.read_parquet(tmp_path / "b" / "rejected.parquet")
    assert rejected.get_column("reason").to_list() == ["contaminated"]
    for name in ("kept.parquet", "rejected.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    missing = runner.invoke(bigmath, ["filter", *args, "--eval-set", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "c")])
    assert missing.exit_code == 2 and "none.jsonl: no such file" in missing.output
