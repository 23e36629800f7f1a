"""``foundry owm score``: one output row per input row, malformed rows kept with a reason."""

import json

import numpy as np
import polars as pl
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.owm.scorers import FeatureConfig, train_classifier
from tests.pipelines.engine.test_storage import BUCKET, s3, s3_endpoint  # noqa: F401 - the moto server fixtures
from tests.pipelines.owm.conftest import MATHY, PROSE, write_jsonl, write_parquet


def test_score_jsonl_and_parquet_one_row_per_row(tmp_path, owm_rows):
    j = write_jsonl(tmp_path / "mine.jsonl", [{"content": MATHY[0]}, "{broken", {"content": 7}, {"content": PROSE[0]}])
    p = write_parquet(tmp_path / "shard.parquet", owm_rows[:10])
    out = tmp_path / "scores.parquet"
    res = CliRunner().invoke(main, ["owm", "score", str(j), "--field", "text=content", "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(out)
    assert got.height == 4 and got.get_column("row").to_list() == [0, 1, 2, 3]
    assert got.get_column("status").to_list() == ["scored", "malformed", "malformed", "scored"]
    assert got.get_column("reason").to_list()[1:3] == ["malformed", "wrong_type"]
    assert "mine.jsonl line 2" in got.get_column("detail")[1]
    assert got.get_column("score_verification")[0] >= 1 and got.get_column("score_verification")[1] is None
    assert got.get_column("scorer_version").str.starts_with("lexical-detector@").all()
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary == {"rows": 4, "scored": 2, "malformed": 2, "reasons": {"malformed": 1, "wrong_type": 1},
                       "scorer_version": got.get_column("scorer_version")[0]}

    out2 = tmp_path / "scores.jsonl"
    res = CliRunner().invoke(main, ["owm", "score", str(p), str(p), "--out", str(out2), "--progress"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in out2.read_text().splitlines()]
    assert len(lines) == 20 and {x["status"] for x in lines} == {"scored"}


def test_score_with_a_trained_classifier(tmp_path, owm_rows):
    cfg = FeatureConfig(n_features=2 ** 10, epochs=3)
    clf = train_classifier([([MATHY[0], PROSE[0]], np.array([[1, 0, 0, 0], [0, 0, 0, 0]]))], cfg)
    model = clf.save(tmp_path / "m.npz")
    p = write_parquet(tmp_path / "shard.parquet", owm_rows[:5])
    out = tmp_path / "s.parquet"
    res = CliRunner().invoke(main, ["owm", "score", str(p), "--scorer", str(model), "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(out)
    assert set(got.get_column("scorer_version")) == {clf.version}
    assert got.get_column("score_backtracking").is_between(0, 1).all()


def test_usage_errors_say_what_to_write(tmp_path, owm_rows):
    p = write_parquet(tmp_path / "shard.parquet", owm_rows[:3])
    run = lambda *a: CliRunner().invoke(main, ["owm", "score", str(p), *a])  # noqa: E731
    res = run("--field", "bogus=x", "--out", str(tmp_path / "o.parquet"))
    assert res.exit_code == 2 and "'bogus' is not one of" in res.output
    res = run("--field", "text=nope", "--out", str(tmp_path / "o.parquet"))
    assert res.exit_code == 1 and "no column 'nope'" in res.output and not (tmp_path / "o.parquet").exists()
    res = run("--scorer", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "o.parquet"))
    assert res.exit_code == 2 and "missing.npz" in res.output
    res = run("--out", str(tmp_path / "o.csv"))
    assert res.exit_code == 2 and ".parquet or .jsonl" in res.output


def test_build_writes_both_corpora_deterministically(tmp_path, owm_rows):
    p = write_parquet(tmp_path / "shard.parquet", owm_rows)
    outs = []
    for name in ("a", "b"):
        res = CliRunner().invoke(main, ["owm", "build", "--shard", str(p), "--budget", "150", "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        outs.append(tmp_path / name)
    assert "60 rows read" in res.output
    for f in ("enriched.parquet", "control.parquet", "rejected.parquet", "stats.json"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    stats = json.loads((outs[0] / "stats.json").read_text())
    e, c, r = (pl.read_parquet(outs[0] / f) for f in ("enriched.parquet", "control.parquet", "rejected.parquet"))
    assert e.height + c.height + r.height == stats["rows_read"] == 60
    assert e.get_column("text").str.contains("Case").all() and c.get_column("text").str.contains("Item").all()
    res = CliRunner().invoke(main, ["owm", "build", "--profile", "full", "--out", str(tmp_path / "f")])
    assert res.exit_code == 2 and "--shard FILE" in res.output


def test_score_reads_and_writes_by_uri(tmp_path, owm_rows, s3):  # noqa: F811 - the moto fixture
    """The same output rows from an s3:// input to an s3:// output as from the local file."""
    j = write_jsonl(tmp_path / "mine.jsonl", [{"content": MATHY[0]}, "{broken", {"content": PROSE[0]}])
    p = tmp_path / "shard.parquet"
    pl.DataFrame({"content": [r["text"] for r in owm_rows[:6]]}).write_parquet(p)
    for f in (j, p):
        s3.pipe(f"{BUCKET}/in/{f.name}", f.read_bytes())
    local_out = tmp_path / "local.parquet"
    res = CliRunner().invoke(main, ["owm", "score", str(j), str(p), "--field", "text=content", "--out", str(local_out)])
    assert res.exit_code == 0, res.output
    uris = [f"s3://{BUCKET}/in/{j.name}", f"s3://{BUCKET}/in/{p.name}"]
    res = CliRunner().invoke(main, ["owm", "score", *uris, "--field", "text=content", "--progress",
                                    "--out", f"s3://{BUCKET}/out/scores.parquet"])
    assert res.exit_code == 0, res.output
    s3.invalidate_cache()
    remote = pl.read_parquet(s3.cat(f"{BUCKET}/out/scores.parquet"))
    local = pl.read_parquet(local_out)
    assert remote.height == local.height == 9
    # the same rows; only the file column differs (the URI as given, not the local path)
    assert remote.drop("file", "detail").equals(local.drop("file", "detail"))
    assert remote.get_column("file").to_list()[:3] == [uris[0]] * 3
    assert "mine.jsonl line 2" in remote.get_column("detail")[1]


def test_a_missing_input_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(main, ["owm", "score", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "o.parquet")])
    assert res.exit_code == 2 and "nope.parquet: no such file" in res.output and not (tmp_path / "o.parquet").exists()
