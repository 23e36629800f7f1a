"""``foundry bigmath filter --stream``: the same kept.parquet, rejected.parquet and funnel.json
(timings aside) as the whole-file path, byte for byte, from record batches of at most N rows."""

import json

import polars as pl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines.bigmath import distributed
from pipelines.bigmath.sources import SourceSpec, iter_raw_records, iter_source_batches, load_source
from pipelines.cli import main
from pipelines.core.io import read_records
from tests.pipelines.engine.test_storage import s3, s3_endpoint  # noqa: F401 - the moto server fixtures


def _filter(files, fields, out, *extra):
    args = ["bigmath", "filter", *map(str, files), *(a for f in fields for a in ("--field", f)),
            "--workers", "1", "--out", str(out), *extra]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    report = json.loads((out / "funnel.json").read_text())
    timings = report.pop("timings")  # machine facts; their steps differ between the two paths
    assert timings
    return {"kept.parquet": (out / "kept.parquet").read_bytes(),
            "rejected.parquet": (out / "rejected.parquet").read_bytes(), "report": report}


def _both(tmp_path, files, fields, batch_rows, *extra):
    whole = _filter(files, fields, tmp_path / "whole", *extra)
    stream = _filter(files, fields, tmp_path / f"stream{batch_rows}", "--stream", "--batch-rows", str(batch_rows), *extra)
    return whole, stream


@pytest.mark.parametrize("batch_rows", [97, 4096])
def test_stream_equals_whole_file_on_sample_sources(tmp_path, sample_math, batch_rows):
    # two files in one source (source_id prefixed by file name), an answer column in one and boxed
    # answers in the other, a Parquet evaluation set: every step of the funnel sees rows
    evals = tmp_path / "eval.parquet"
    rows = [json.loads(l) for l in (sample_math / "math500_test.jsonl").read_text().splitlines()[:15]]
    pl.DataFrame({"question": [r["problem"] for r in rows]}).write_parquet(evals)
    files = [sample_math / "math500_test.jsonl", sample_math / "ocw_test.jsonl"]
    whole, stream = _both(tmp_path, files, ["problem=problem", "answer=answer", "solution=solution"], batch_rows,
                          "--eval-set", str(evals), "--eval-field", "problem=question")
    assert stream == whole
    report = whole["report"]
    assert report["rejected_by_reason"]["contaminated"] == 15 and report["kept"] > 300
    assert report["rows_in"] == 772 and report["kept"] + report["rejected"] == 772
    rejected = pl.read_parquet(tmp_path / "whole" / "rejected.parquet")
    # the defined order: rejects grouped by step in funnel order, input order within a step
    steps = [s["step"] for s in report["steps"]]
    order = rejected.get_column("step").to_list()
    assert order == sorted(order, key=steps.index)


def test_stream_equals_whole_file_with_options_and_gsm8k_answers(tmp_path, sample_math):
    whole, stream = _both(tmp_path, [sample_math / "aqua_test.jsonl"],
                          ["problem=question", "options=options", "answer=correct", "solution=rationale"], 50,
                          "--answer-from", "option")
    assert stream == whole and whole["report"]["rows_in"] == 254


def _hostile_jsonl(path, n=60):
    lines = []
    for i in range(n):
        if i == 7:
            lines.append("{not json")                                # malformed mid-batch
        elif i == 11:
            lines.append("")                                         # blank: not a row
        elif i == 13:
            lines.append("[1, 2]")                                   # not an object
        elif i == 17:
            lines.append(json.dumps({"a": "no problem field"}))       # quarantined by normalize
        elif i == 19:
            lines.append(json.dumps({"q": "What is 5 + 5?", "a": "10"}))  # exact copy of row 3 below
        else:
            j = 5 if i == 3 else i
            lines.append(json.dumps({"q": f"What is {j} + {j}? Give the sum of {j} and {j}.", "a": str(2 * j)}))
    data = ("\n".join(lines) + "\n").encode()
    data = data.replace(b'"a": "40"', b'"a": "\xff40"')  # one line that is not UTF-8
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("batch_rows", [1, 5, 8, 1000])
def test_stream_equals_whole_file_on_hostile_rows(tmp_path, batch_rows):
    jsonl = _hostile_jsonl(tmp_path / "mine.jsonl")
    parquet = tmp_path / "more.parquet"
    pl.DataFrame({"q": [f"Compute {i} times 3." for i in range(25)] + [None, "Compute 2 + 2."],
                  "a": [str(3 * i) for i in range(25)] + ["1", "4"]}).write_parquet(parquet, row_group_size=4)
    whole, stream = _both(tmp_path, [jsonl, parquet], ["problem=q", "answer=a"], batch_rows)
    assert stream == whole
    rejected = pl.read_parquet(tmp_path / "whole" / "rejected.parquet")
    malformed = rejected.filter(pl.col("reason") == "malformed")
    details = malformed.get_column("detail").to_list()
    assert any("mine.jsonl line 8: invalid JSON" in d for d in details)  # names file and line
    assert any("mine.jsonl line 21: not UTF-8" in d for d in details)
    assert malformed.height == 5 and rejected.get_column("step").head(5).to_list() == ["normalize"] * 5
    assert "duplicate" in whole["report"]["rejected_by_reason"]


def test_reader_batches_are_bounded_and_equal_read_records(tmp_path):
    jsonl = _hostile_jsonl(tmp_path / "h.jsonl", n=203)
    parquet = tmp_path / "p.parquet"
    pl.DataFrame({"q": [f"row {i}" for i in range(1000)]}).write_parquet(parquet, row_group_size=300)
    for path in (jsonl, parquet):
        batches = list(iter_raw_records(path, 64))
        assert max(len(b) for b in batches) <= 64 and len(batches) >= 3
        assert [r for b in batches for r in b] == read_records(path)


def test_source_batches_equal_load_source(tmp_path):
    a, b = _hostile_jsonl(tmp_path / "a.jsonl", n=30), _hostile_jsonl(tmp_path / "b.jsonl", n=12)
    spec = SourceSpec("mine", fields={"problem": "q"}, files=(str(a), str(b)))
    whole = load_source(spec)
    batches = list(iter_source_batches(spec, 7))
    assert batches[0].records == []  # the revision comes first, before any row
    assert all(s.revision == whole.revision and len(s.records) <= 7 for s in batches)
    assert [r for s in batches for r in s.records] == whole.records


def test_stream_feeds_the_funnel_batches_of_at_most_n_rows(tmp_path, monkeypatch):
    """The bound on memory, not timed: the funnel is given batches of at most --batch-rows rows, and
    no whole-file reader is called on the streaming path."""
    n = 50
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"q": f"What is {i} plus {i + 1}? Answer with a number.", "a": str(2 * i + 1)}) + "\n"
                            for i in range(1234)))
    sizes = []
    add = distributed.StreamingFunnel.add

    def counting_add(self, batch):
        sizes.append(batch.height)
        return add(self, batch)

    def no_whole_file(*a, **k):
        raise AssertionError("the streaming path read a whole file")

    monkeypatch.setattr(distributed.StreamingFunnel, "add", counting_add)
    for target in ("pipelines.core.io.read_records", "pipelines.core.io._read_jsonl_records",
                   "pipelines.core.io._read_parquet_records", "pipelines.core.storage.read_records_and_digest",
                   "pipelines.bigmath.sources.load_source", "pipelines.bigmath.funnel.load_source"):
        monkeypatch.setattr(target, no_whole_file)
    res = CliRunner().invoke(main, ["bigmath", "filter", str(path), "--field", "problem=q", "--field", "answer=a",
                                    "--workers", "1", "--stream", "--batch-rows", str(n), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert sum(sizes) == 1234 and max(sizes) <= n and len(sizes) == -(-1234 // n)
    kept = pq.ParquetFile(tmp_path / "o" / "kept.parquet")
    assert kept.metadata.num_rows == json.loads((tmp_path / "o" / "funnel.json").read_text())["kept"]


def test_row_groups_do_not_depend_on_batches(tmp_path):
    from pipelines.bigmath.cli import RowGroupWriter

    frame = pl.DataFrame({"x": list(range(10_000))})
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    with RowGroupWriter(one, {"x": pl.Int64}, row_group_rows=4096) as w:
        w.write(frame)
    with RowGroupWriter(many, {"x": pl.Int64}, row_group_rows=4096) as w:
        for start in range(0, frame.height, 333):
            w.write(frame.slice(start, 333))
    assert one.read_bytes() == many.read_bytes()
    meta = pq.ParquetFile(many).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [4096, 4096, 1808]


def test_batch_rows_needs_stream_and_unreadable_file_is_named(tmp_path):
    res = CliRunner().invoke(main, ["bigmath", "filter", "x.jsonl", "--field", "problem=q", "--batch-rows", "5",
                                    "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "--stream" in res.output
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"nope")
    res = CliRunner().invoke(main, ["bigmath", "filter", str(bad), "--field", "problem=q", "--stream",
                                    "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "broken.parquet" in res.output and not (tmp_path / "o").exists()


def test_stream_from_and_to_s3_equals_local_whole_file(s3, tmp_path):  # noqa: F811 - the moto server fixture
    from pipelines.core import storage
    from tests.pipelines.engine.test_storage import BUCKET

    path = _hostile_jsonl(tmp_path / "mine.jsonl", n=30)
    storage.filesystem(f"s3://{BUCKET}")[0].pipe(f"{BUCKET}/stream/mine.jsonl", path.read_bytes())
    local = _filter([path], ["problem=q", "answer=a"], tmp_path / "out")
    out = f"s3://{BUCKET}/stream/out"
    res = CliRunner().invoke(main, ["bigmath", "filter", f"s3://{BUCKET}/stream/mine.jsonl", "--field", "problem=q",
                                    "--field", "answer=a", "--workers", "1", "--stream", "--batch-rows", "4", "--out", out])
    assert res.exit_code == 0, res.output
    for name in ("kept.parquet", "rejected.parquet"):
        assert storage.read_bytes(f"{out}/{name}") == local[name]
    report = json.loads(storage.read_bytes(f"{out}/funnel.json"))
    report.pop("timings")
    assert report == local["report"]
