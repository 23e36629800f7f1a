"""Metadata a person can read in the UI: row counts, a markdown preview, plots."""

from __future__ import annotations

import base64
from pathlib import Path

import polars as pl
from dagster import MetadataValue


def _cell(value, width: int = 80) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def markdown_table(frame: pl.DataFrame, rows: int = 5, columns: list[str] | None = None, width: int = 80) -> str:
    frame = frame.select(columns) if columns else frame
    head = frame.head(rows)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        lines.append("| " + " | ".join(_cell(v, width) for v in row) + " |")
    return "\n".join(lines)


def frame_metadata(frame: pl.DataFrame, preview_columns: list[str] | None = None, rows: int = 5) -> dict:
    return {
        "dagster/row_count": MetadataValue.int(frame.height),
        "preview": MetadataValue.md(markdown_table(frame, rows, preview_columns)),
    }


def image_metadata(png: Path, title: str = "plot") -> dict:
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return {
        f"{title}_path": MetadataValue.path(str(png)),
        title: MetadataValue.md(f"![{title}](data:image/png;base64,{data})"),
    }
