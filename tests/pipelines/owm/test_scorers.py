"""Baseline and classifier scorers: versions, streaming training, save/load, determinism."""

import numpy as np
import pytest

from pipelines.behaviors.detector import BEHAVIORS
from pipelines.owm.scorers import BaselineScorer, ClassifierScorer, FeatureConfig, load_scorer, train_classifier
from tests.pipelines.owm.conftest import MATHY, PROSE

SMALL = FeatureConfig(n_features=2 ** 12, epochs=8, seed=0)


def _batches():
    texts = [MATHY[i % 4] + f" n{i}" for i in range(40)] + [PROSE[i % 4] + f" n{i}" for i in range(40)]
    y = np.array([[1, 1, 1, 1]] * 40 + [[0, 0, 0, 0]] * 40)
    order = np.random.default_rng(1).permutation(80)
    texts, y = [texts[i] for i in order], y[order]
    return [(texts[i:i + 16], y[i:i + 16]) for i in range(0, 80, 16)]


def test_baseline_counts_and_version():
    s = BaselineScorer()
    out = s.score([MATHY[0], PROSE[0]])
    assert out["verification"][0] >= 1 and all(out[b][1] == 0 for b in BEHAVIORS)
    assert s.version.startswith("lexical-detector@") and s.version == BaselineScorer().version
    assert load_scorer("baseline").version == s.version


def test_classifier_learns_saves_and_loads(tmp_path):
    clf = train_classifier(_batches(), SMALL, labelling_model="m")
    scores = clf.score(["Let me verify by plugging it back in and double-check.", "The lobster lives in the sea."])
    assert scores["verification"][0] > 0.5 > scores["verification"][1]
    path = clf.save(tmp_path / "clf.npz")
    again = load_scorer(str(path))
    assert again.version == clf.version and again.labelling_model == "m"
    np.testing.assert_allclose(again.score([PROSE[1]])["backtracking"], clf.score([PROSE[1]])["backtracking"])


def test_same_labels_and_seed_give_the_same_version_and_bytes(tmp_path):
    a = train_classifier(_batches(), SMALL)
    b = train_classifier(_batches(), SMALL)
    assert a.version == b.version
    assert a.save(tmp_path / "a.npz").read_bytes() == b.save(tmp_path / "b.npz").read_bytes()
    c = train_classifier(_batches(), SMALL.__class__(n_features=2 ** 12, epochs=8, seed=1))
    assert c.version != a.version  # the seed is part of the model's identity


def test_a_bad_model_file_names_the_file(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"nope")
    with pytest.raises(ValueError, match="x.npz: not an OWM classifier file"):
        ClassifierScorer.load(tmp_path / "x.npz")


def test_training_needs_labels():
    with pytest.raises(ValueError, match="annotate a sample first"):
        train_classifier([], SMALL)
