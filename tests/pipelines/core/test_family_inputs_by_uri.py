"""Family inputs and `--out` by URI against a local S3-compatible server (moto, 127.0.0.1): Big-Math
local-file sources and `foundry countdown score` read the same rows from s3:// as from a path, and
`--out s3://...` holds the same bytes as the local --out."""

from __future__ import annotations

import json

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
