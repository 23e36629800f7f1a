"""Precision, recall and PR-AUC of scorers against held-back LLM labels, and a PR-curve plot."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np


def is_heldout(doc_id: str, seed: int, fraction: float) -> bool:
    """A stable split by id (not by position), so adding documents never moves old ones."""
    h = int(hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()[:8], 16)
    return h < fraction * 0xFFFFFFFF


def binary_metrics(y_true: Sequence[int], scores: Sequence[float], threshold: float) -> dict:
    from sklearn.metrics import average_precision_score, precision_score, recall_score

    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=float)
    pred = (s >= threshold).astype(int)
    positives = int(y.sum())
    return {
        "n": int(y.size), "positives": positives, "threshold": threshold,
        "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
        "recall": round(float(recall_score(y, pred, zero_division=0)), 4),
        # undefined without a positive and a negative: None, never a made-up number
        "pr_auc": round(float(average_precision_score(y, s)), 4) if 0 < positives < y.size else None,
    }


def compare_scorers(y: dict[str, np.ndarray], scored: dict[str, dict[str, np.ndarray]],
                    thresholds: dict[str, float]) -> dict[str, dict[str, dict]]:
    """``{scorer: {behavior: metrics}}`` on the same held-back documents."""
    return {name: {b: binary_metrics(y[b], scores[b], thresholds[name]) for b in y}
            for name, scores in scored.items()}


def pr_plot(y: dict[str, np.ndarray], scored: dict[str, dict[str, np.ndarray]], path: str | Path,
            title: str = "OWM behavior scorers vs held-back LLM labels") -> Path:
    """One panel per behavior, one precision-recall curve per scorer (PNG, stable bytes)."""
    from sklearn.metrics import precision_recall_curve

    from pipelines.core.plots import pyplot, save_png

    plt = pyplot()

    behaviors = list(y)
    fig, axes = plt.subplots(1, len(behaviors), figsize=(3.2 * len(behaviors), 3.2), dpi=100, squeeze=False)
    for ax, b in zip(axes[0], behaviors):
        for name, scores in scored.items():
            if 0 < int(np.sum(y[b])) < len(y[b]):
                p, r, _ = precision_recall_curve(y[b], scores[b])
                ax.step(r, p, where="post", label=name)
        ax.set_title(b, fontsize=9)
        ax.set_xlabel("recall", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_xlim(0, 1.0)
    axes[0][0].set_ylabel("precision", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
