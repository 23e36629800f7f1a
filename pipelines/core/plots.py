"""Plots written as PNG files (matplotlib, Agg backend, fixed metadata so bytes are stable)."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display; imported when a plot is drawn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (parents made; no Software metadata, so the bytes depend
    only on the figure) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    pyplot().close(fig)
    return path


def funnel_plot(funnel: pl.DataFrame, path: str | Path, title: str = "funnel") -> Path:
    """Bars per step: rows kept (blue) and rejected (orange), labelled with the reasons."""
    plt = pyplot()

    steps = funnel.group_by("step", maintain_order=True).agg(
        pl.col("rows_in").first(), pl.col("rows_kept").first(), pl.col("rows_rejected").first(),
        pl.col("reason").drop_nulls().str.join(", ").alias("reasons"),
    )
    names = steps.get_column("step").to_list()
    kept = steps.get_column("rows_kept").to_list()
    rejected = steps.get_column("rows_rejected").to_list()
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5), dpi=100)
    y = list(range(len(names)))[::-1]
    ax.barh(y, kept, color="#4c72b0", label="kept")
    ax.barh(y, rejected, left=kept, color="#dd8452", label="rejected")
    for yi, k, r in zip(y, kept, rejected):
        if r:
            ax.text(k + r, yi, f" -{r}", va="center", fontsize=8)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("rows")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


def metrics_plot(metrics: pl.DataFrame, path: str | Path, title: str = "training") -> Path:
    """Loss, reward and accuracy per step, one line per stage (only the columns that have values)."""
    plt = pyplot()

    panels = [c for c in ("loss", "reward", "accuracy") if c in metrics.columns and metrics[c].drop_nulls().len()]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(4 * max(len(panels), 1), 3), dpi=100, squeeze=False)
    for ax, col in zip(axes[0], panels):
        for stage in sorted(metrics["stage"].unique().to_list()):
            part = metrics.filter((pl.col("stage") == stage) & pl.col(col).is_not_null()).sort("step")
            if part.height:
                ax.plot(part["step"].to_list(), part[col].to_list(), marker=".", label=stage)
        ax.set_xlabel("step")
        ax.set_title(col)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return save_png(fig, path)
