"""What the UI shows about an asset: its surface (kinds, owners, tags) and metadata a person can read
(row counts, a markdown preview, plots, the column schema).

Every family declares its assets with ``**asset_surface(FAMILY, stage)`` so the catalog can be
filtered by family and stage the same way for all of them; new families do the same."""

from __future__ import annotations

import base64
from pathlib import Path

import polars as pl
from dagster import AutomationCondition, MetadataValue, TableColumn, TableSchema

OWNERS = ["team:foundry"]
# kinds every warehouse table has: a Polars frame written as Parquet with a DuckDB view over it
TABLE_KINDS = frozenset({"polars", "parquet", "duckdb"})


def asset_surface(family: str, stage: str, kinds: set[str] | frozenset[str] = TABLE_KINDS,
                  automate: bool = True) -> dict:
    """Keyword arguments for ``@asset`` / ``AssetOut``: ``kinds`` (the UI's icons; no legacy
    ``compute_kind``), ``owners``, ``tags`` (``family``, ``stage``) and, unless ``automate`` is
    False, an automation condition so the asset follows its upstreams when the automation sensor
    is on (``eager``: materialize after any upstream changes, never while one is missing or running)."""
    out = {"kinds": set(kinds), "owners": list(OWNERS), "tags": {"family": family, "stage": stage}}
    if automate:
        out["automation_condition"] = AutomationCondition.eager()
    return out


def column_schema(frame: pl.DataFrame) -> MetadataValue:
    """``dagster/column_schema`` from the Polars schema, so the catalog lists every column and type."""
    return MetadataValue.table_schema(TableSchema(columns=[TableColumn(name, str(dtype))
                                                           for name, dtype in frame.schema.items()]))


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


def selected_only(context, events):
    """Yield only the outputs and check results of the assets selected in this run, so a
    subsettable multi-asset (``can_subset=True``) computed once writes just what was asked for."""
    from dagster import AssetCheckResult, Output

    selected = context.selected_asset_keys
    by_output = {key: name for name, key in context.assets_def.keys_by_output_name.items()}
    names = {by_output[k] for k in selected if k in by_output}
    for event in events:
        if isinstance(event, Output) and event.output_name not in names:
            continue
        if isinstance(event, AssetCheckResult) and event.asset_key is not None and event.asset_key not in selected:
            continue
        yield event
