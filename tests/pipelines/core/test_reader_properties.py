"""Property tests (Hypothesis) for the shared readers: hostile JSONL lines and Parquet rows never raise,
and every input line is accounted for (rows + quarantined = lines), through the Big-Math and
reformulate readers too. Fixed seed, bounded examples: part of the normal test run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.bigmath.normalize import normalize_source
from pipelines.bigmath.reformulate_cli import read_rows
from pipelines.bigmath.sources import SourceRows, SourceSpec
from pipelines.core.io import read_records

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_surrogate = st.integers(0xD800, 0xDFFF).map(lambda c: f'"x \\u{c:04x} y"')
_scalars = st.one_of(
    st.integers(-10**30, 10**30).map(str),
    st.integers(4290, 4400).map(lambda n: "9" * n),        # around Python's int-str limit
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: json.dumps(f)),
    st.text(max_size=40).map(json.dumps),
    _surrogate,
    st.sampled_from(["true", "false", "null", "1e999", "-0", "NaN", "Infinity", '""', '"\\u0000"']),
)
_depth = st.integers(1, 120)
_nested = st.tuples(_depth, st.sampled_from(["[", '{"k":'])).map(
    lambda t: t[1] * t[0] + "1" + ("]" if t[1] == "[" else "}") * t[0])
_value = st.one_of(_scalars, _nested)
_object = st.lists(st.tuples(st.sampled_from(["q", "a", "opts", "problem", "answer", "x", "\\ud800"]), _value),
                   max_size=5).map(lambda kv: "{" + ", ".join(f'"{k}": {v}' for k, v in kv) + "}")
_text_line = st.one_of(_object, _value, st.text(max_size=60)).map(lambda s: s.encode("utf-8", "surrogatepass"))
_byte_line = st.binary(max_size=80)
_line = st.one_of(_text_line, _text_line, _byte_line).map(lambda b: b.replace(b"\n", b" "))
_file = st.tuples(st.booleans(), st.lists(_line, min_size=1, max_size=12))


def _write(tmp: Path, bom: bool, lines: list[bytes]) -> tuple[Path, int]:
    path = tmp / "in.jsonl"
    data = (b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    expected = sum(1 for line in data.removeprefix(b"\xef\xbb\xbf").split(b"\n")[:-1] if line.strip())
    return path, expected


@SETTINGS
@given(_file)
def test_hostile_jsonl_never_raises_and_every_line_is_accounted_for(case):
    bom, lines = case
    with tempfile.TemporaryDirectory() as tmp:
        path, expected = _write(Path(tmp), bom, lines)
        recs = read_records(path)
        assert len(recs) == expected
        assert len({r.source_id for r in recs}) == expected
        for r in recs:
            assert (r.record is None) != (r.error is None)
            if r.error:
                assert "in.jsonl line" in r.error
            else:
                json.dumps(r.record).encode("utf-8")  # whatever is kept is valid, encodable Unicode

        spec = SourceSpec("hostile", files=(str(path),), fields={"problem": "q", "answer": "a"})
        kept, quarantined = normalize_source(SourceRows(spec, recs, "rev", [str(path)]))
        assert kept.height + quarantined.height == expected
        assert set(quarantined["reason"].to_list()) <= {"malformed"}

        frame, bad = read_rows([path], {"problem": "q", "answer": "a", "options": "opts"})
        assert frame.height + len(bad) == expected


_cell = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-10**6, 10**6))


@SETTINGS
@given(st.lists(st.tuples(st.text(max_size=30), _cell, st.integers(-(2**62), 2**62)), min_size=1, max_size=20))
def test_parquet_rows_that_do_not_convert_are_quarantined_one_by_one(rows):
    table = pa.table({"q": [r[0] for r in rows], "a": pa.array([r[1] for r in rows], pa.int64()),
                      "when": pa.array([r[2] for r in rows], pa.timestamp("us"))})  # most are past year 9999
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.parquet"
        pq.write_table(table, path)
        recs = read_records(path)
        assert [r.source_id for r in recs] == [str(i) for i in range(len(rows))]
        spec = SourceSpec("hostile", files=(str(path),), fields={"problem": "q", "answer": "a"})
        kept, quarantined = normalize_source(SourceRows(spec, recs, "rev", [str(path)]))
        assert kept.height + quarantined.height == len(rows)
