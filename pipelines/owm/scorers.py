"""Scorers give every document one score per behavior, and say which version scored it.

- :class:`BaselineScorer`: the lexical detector (``pipelines/behaviors/detector.py``), score = the
  number of cue sentences; no model, no LLM. Its version hashes the detector's source, so an edit
  to the cue lists is a new version.
- :class:`ClassifierScorer`: one linear head per behavior on hashed word (1-2) and character (3-5)
  n-grams, trained with streaming ``SGDClassifier.partial_fit`` on LLM labels; score = P(yes).
  Saved as one ``.npz`` file (weights + the feature config as JSON); its version is a content
  hash of both, so the same labels and seed give the same version on every machine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from pipelines.behaviors import detector
from pipelines.behaviors.detector import BEHAVIORS, detect_behaviors

BASELINE = "baseline"
MODEL_FORMAT = 1


class BaselineScorer:
    kind = BASELINE
    labelling_model = None  # no LLM behind it

    def __init__(self) -> None:
        source = Path(detector.__file__).read_bytes()
        self.version = "lexical-detector@" + hashlib.sha256(source).hexdigest()[:12]

    def score(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        counts = [detect_behaviors(t).as_dict() for t in texts]
        return {b: np.array([c[b] for c in counts], dtype=np.float64) for b in BEHAVIORS}


@dataclass(frozen=True)
class FeatureConfig:
    n_features: int = 2 ** 18
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    alpha: float = 1e-5   # SGD L2 strength
    seed: int = 0
    epochs: int = 5

    def as_json(self) -> str:
        return json.dumps({"n_features": self.n_features, "word_ngrams": list(self.word_ngrams),
                           "char_ngrams": list(self.char_ngrams), "alpha": self.alpha, "seed": self.seed,
                           "epochs": self.epochs, "format": MODEL_FORMAT}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FeatureConfig":
        v = json.loads(text)
        return cls(n_features=v["n_features"], word_ngrams=tuple(v["word_ngrams"]), char_ngrams=tuple(v["char_ngrams"]),
                   alpha=v["alpha"], seed=v["seed"], epochs=v["epochs"])


def featurize(texts: Sequence[str], cfg: FeatureConfig):
    """Sparse hashed features; stateless, so any batch of any corpus featurizes the same way."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import HashingVectorizer

    common = dict(n_features=cfg.n_features, alternate_sign=False, norm="l2", dtype=np.float32)
    words = HashingVectorizer(analyzer="word", ngram_range=cfg.word_ngrams, **common)
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=cfg.char_ngrams, **common)
    return hstack([words.transform(texts), chars.transform(texts)], format="csr")


class ClassifierScorer:
    kind = "classifier"

    def __init__(self, cfg: FeatureConfig, coef: np.ndarray, intercept: np.ndarray,
                 behaviors: Sequence[str], labelling_model: str | None):
        self.cfg = cfg
        self.coef = np.asarray(coef, dtype=np.float64)            # (behaviors, 2 * n_features)
        self.intercept = np.asarray(intercept, dtype=np.float64)  # (behaviors,)
        self.behaviors = tuple(behaviors)
        self.labelling_model = labelling_model
        h = hashlib.sha256()
        h.update(self._meta_json().encode())
        h.update(np.ascontiguousarray(self.coef).tobytes())
        h.update(np.ascontiguousarray(self.intercept).tobytes())
        self.version = "owm-clf@" + h.hexdigest()[:12]

    def _meta_json(self) -> str:
        return json.dumps({"config": json.loads(self.cfg.as_json()), "behaviors": list(self.behaviors),
                           "labelling_model": self.labelling_model}, sort_keys=True)

    def score(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        if not len(texts):
            return {b: np.zeros(0) for b in self.behaviors}
        logits = featurize(texts, self.cfg) @ self.coef.T + self.intercept
        probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
        return {b: probs[:, i] for i, b in enumerate(self.behaviors)}

    def save(self, path: str | Path) -> Path:
        """One file; deterministic bytes (npz entries carry a fixed 1980 timestamp)."""
        from pipelines.core.io import atomic_write_bytes
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, coef=self.coef.astype(np.float64), intercept=self.intercept,
                            meta=np.frombuffer(self._meta_json().encode(), dtype=np.uint8))
        return atomic_write_bytes(buf.getvalue(), path)

    @classmethod
    def load(cls, path: str | Path) -> "ClassifierScorer":
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                return cls(FeatureConfig.from_json(json.dumps(meta["config"])), z["coef"], z["intercept"],
                           meta["behaviors"], meta.get("labelling_model"))
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: not an OWM classifier file ({type(exc).__name__}: {exc}); "
                             f"train one with pipelines.owm.scorers.train_classifier") from exc


def train_classifier(batches: Iterable[tuple[Sequence[str], np.ndarray]], cfg: FeatureConfig,
                     behaviors: Sequence[str] = BEHAVIORS, labelling_model: str | None = None) -> ClassifierScorer:
    """Stream ``(texts, labels)`` batches (labels: rows x behaviors, 0/1) through ``partial_fit``.

    The batches are materialized once as sparse features (small: LLM-labelled samples), then fed
    ``epochs`` times in a seeded order.
    """
    from sklearn.linear_model import SGDClassifier

    feats = [(featurize(list(t), cfg), np.asarray(y)) for t, y in batches if len(t)]
    heads = [SGDClassifier(loss="log_loss", alpha=cfg.alpha, random_state=cfg.seed) for _ in behaviors]
    rng = np.random.default_rng(cfg.seed)
    for _ in range(cfg.epochs):
        for bi in rng.permutation(len(feats)):
            x, y = feats[bi]
            for i, head in enumerate(heads):
                head.partial_fit(x, y[:, i], classes=np.array([0, 1]))
    width = 2 * cfg.n_features
    if not feats:
        raise ValueError("no labelled documents to train on; annotate a sample first")
    coef = np.vstack([h.coef_.reshape(-1)[:width] for h in heads])
    intercept = np.array([float(h.intercept_[0]) for h in heads])
    return ClassifierScorer(cfg, coef, intercept, behaviors, labelling_model)


def load_scorer(spec: str | None):
    """``baseline`` (or None) -> the lexical detector; a path -> a saved classifier."""
    if spec in (None, "", BASELINE):
        return BaselineScorer()
    return ClassifierScorer.load(spec)
