"""Running a Great Expectations 1.x suite on a frame (handed to GX as pandas).

GX reads pandas reliably but not Polars, so frames are converted at this boundary. An ephemeral
context keeps runs hermetic; :func:`build_data_docs` writes the HTML report when a human wants it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import polars as pl

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _pandas(frame: pl.DataFrame):
    # nested list columns become Python lists; GX expectations here never look inside them
    return frame.to_pandas(use_pyarrow_extension_array=False)


def validate_frame(frame: pl.DataFrame, suite_name: str, expectations: Sequence, data_docs_dir: str | Path | None = None):
    """Validate ``frame`` against ``expectations`` (GX expectation objects).

    Returns (success, metadata) where metadata lists each expectation and whether it held.
    """
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)  # quiet logs
    source = context.data_sources.add_pandas(name=f"{suite_name}_source")
    asset = source.add_dataframe_asset(name=f"{suite_name}_frame")
    batch_def = asset.add_batch_definition_whole_dataframe(f"{suite_name}_batch")
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for exp in expectations:
        suite.add_expectation(exp)
    batch = batch_def.get_batch(batch_parameters={"dataframe": _pandas(frame)})
    result = batch.validate(suite)
    rows = []
    for r in result.results:
        cfg = r.expectation_config
        col = cfg.kwargs.get("column", "")
        rows.append({"expectation": cfg.type, "column": col, "success": bool(r.success),
                     "unexpected": (r.result or {}).get("unexpected_count")})
    failed = [f"{r['expectation']}({r['column']})" for r in rows if not r["success"]]
    table = "\n".join(["| expectation | column | success | unexpected |", "|---|---|---|---|"] +
                      [f"| {r['expectation']} | {r['column']} | {r['success']} | {r['unexpected']} |" for r in rows])
    meta = {"suite": suite_name, "expectations": len(rows), "failed": ", ".join(failed) or "none",
            "results_markdown": table}
    if data_docs_dir is not None:
        meta["data_docs"] = str(build_data_docs(context, result, suite_name, data_docs_dir))
    return bool(result.success), meta


def build_data_docs(context, result, suite_name: str, out_dir: str | Path) -> Path:
    """Render the validation result as a static HTML page (GX's own renderer)."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    document = ValidationResultsPageRenderer().render(result)
    html = DefaultJinjaPageView().render(document)
    out = Path(out_dir) / f"{suite_name}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
