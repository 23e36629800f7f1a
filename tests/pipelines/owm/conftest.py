"""Fixtures for the OWM tests: tiny OpenWebMath-shaped files written inline."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.pipelines.llm.server import loopback_only  # noqa: F401 - a fixture for the LLM tests

SCHEMA = pa.schema([("text", pa.string()), ("url", pa.string()), ("date", pa.string()), ("metadata", pa.string())])


def write_parquet(path: Path, rows: list[dict], row_group_size: int = 64) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path, row_group_size=row_group_size)
    return path


def write_jsonl(path: Path, lines: list) -> Path:
    """``lines``: dicts (dumped as JSON) or raw bytes/str written as they are."""
    with open(path, "wb") as fh:
        for line in lines:
            if isinstance(line, dict):
                line = json.dumps(line)
            fh.write(line if isinstance(line, bytes) else line.encode("utf-8"))
            fh.write(b"\n")
    return path


MATHY = [
    "Solve x^2 = 4. We get x = 2. Let me verify: plugging it back in gives 4. That checks out.",
    "First, we need to find the roots. Then we bound the sum. Working backwards from the target value 10, we need 5.",
    "I tried induction but that doesn't work. Let's go back and try a different approach with generating functions.",
    "To verify the identity, substitute back into the original equation and double-check the signs.",
]
PROSE = [
    "The European lobster lives in the eastern Atlantic Ocean and is prized as food.",
    "The cathedral was completed in the thirteenth century and restored after the war.",
    "The band released its second album in 1994 to favourable reviews from critics.",
    "The river flows north through the valley before it joins the sea near the old port.",
]


@pytest.fixture
def owm_rows() -> list[dict]:
    rows = []
    for i in range(60):
        text = MATHY[i % 4] + f" Case {i}." if i % 2 == 0 else PROSE[i % 4] + f" Item {i}."
        rows.append({"text": text, "url": f"https://example.org/{i}", "date": "2024-01-01",
                     "metadata": json.dumps({"i": i})})
    return rows
