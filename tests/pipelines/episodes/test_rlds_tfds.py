"""The RLDS reader against datasets written by real TensorFlow Datasets (issue 16).

The fixtures under ``tests/fixtures/episodes/rlds`` were written by ``scripts/make_rlds_fixtures.py``
with ``tensorflow-datasets`` in a scratch environment; ``expected.json`` beside the shards is what
``tfds`` itself reads back, keyed by ``tfds_id``. TensorFlow is not needed here.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.episodes.convert import standardize
from pipelines.episodes.readers import RLDSLayoutError, decode_feature, read_rlds, split_items
from pipelines.episodes.schema import episode_row

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "episodes" / "rlds"
NAMES = ("two_cameras", "openx_variants")


def fixture_dir(name: str) -> Path:
    return FIXTURES / f"foundry_{name}" / "1.0.0"


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / f"foundry_{name}" / "1.0.0"
    shutil.copytree(fixture_dir(name), target)
    (target / "expected.json").unlink()
    return target


def _expected(name: str) -> dict:
    return json.loads((fixture_dir(name) / "expected.json").read_text())["episodes"]


def _pixels_sha(data: bytes, shape: list[int]) -> str:
    from PIL import Image

    arr = np.asarray(Image.open(io.BytesIO(data)))
    return hashlib.sha256(np.ascontiguousarray(arr.reshape(shape)).tobytes()).hexdigest()


def _array(spec: dict) -> np.ndarray:
    return np.asarray(spec["values"], dtype=spec["dtype"]).reshape(spec["shape"])


def _ours_by_step(ep) -> list[dict]:
    """Every step value the reader kept, keyed like the TFDS spec (``observation/state``)."""
    n = ep.obs_state.shape[0]
    actions = np.concatenate([ep.actions, np.asarray(ep.final_action).reshape(1, -1)])
    rewards = np.concatenate([ep.rewards, [ep.final_reward]])
    out = []
    for t in range(n):
        step: dict = {"reward": rewards[t], "discount": ep.discounts[t], "action": actions[t],
                      "is_first": t == 0, "is_last": t == n - 1, "is_terminal": ep.terminated and t == n - 1}
        col = 0
        for key, width in ep.obs_layout:
            step[f"observation/{key}"] = ep.obs_state[t, col:col + width]
            col += width
        if ep.obs_images is not None:
            step[ep.metadata["image_key"]] = ep.obs_images[t]
        for entry in ep.step_features[t]:
            step[entry["key"]] = decode_feature(entry)
        out.append(step)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_value_equals_what_tfds_reads_back(name):
    expected = _expected(name)
    eps, bad = split_items(read_rlds(fixture_dir(name)))
    assert not bad
    assert sorted(e.source_id.replace("#", "__") for e in eps) == sorted(expected)
    compared = 0
    for ep in eps:
        want = expected[ep.source_id.replace("#", "__")]
        ours = _ours_by_step(ep)
        assert len(ours) == len(want["steps"])
        for got, exp in zip(ours, want["steps"]):
            action_keys = sorted(k for k in exp if k.startswith("action/"))
            if action_keys:  # a dict action is concatenated in declared-key order, as action_layout says
                layout = dict((k, w) for k, w in ep.metadata["action_layout"])
                exp = {**exp, "action": {"dtype": "float64", "shape": [sum(layout.values())], "values": [
                    v for k in action_keys for v in exp[k]["values"]]}}
                assert [k for k, _ in ep.metadata["action_layout"]] == [k.split("/", 1)[1] for k in action_keys]
            for key, value in exp.items():
                if key.startswith("action/"):
                    continue
                if isinstance(value, dict) and value.get("image"):
                    # the encoded bytes are TFDS's own; decoded, PNG pixels are byte-equal to what tfds
                    # decodes (JPEG decoders may round differently, so JPEG is held to its stored bytes)
                    assert hashlib.sha256(got[key]).hexdigest() == value["encoded_sha256"], key
                    if got[key].startswith(b"\x89PNG"):
                        assert _pixels_sha(got[key], value["shape"]) == value["sha256"], key
                elif isinstance(value, str):
                    text = got[key] if key in got else ep.language_instruction
                    assert text == value, key
                elif isinstance(value, dict):
                    want_arr = _array(value)
                    got_arr = np.asarray(got[key]).reshape(want_arr.shape).astype(want_arr.dtype)
                    np.testing.assert_array_equal(got_arr, want_arr, err_msg=key)
                    compared += 1
                else:
                    raise AssertionError(f"unexpected expected value for {key}: {value!r}")
        assert episode_row(ep)["return"] == pytest.approx(want["return"], abs=0)
        assert ep.metadata["file_path"] == [want["episode_metadata"]["file_path"]]
    assert compared > 50


def test_last_step_values_are_the_sources_and_flagged_invalid():
    items = read_rlds(fixture_dir("two_cameras"))
    res = standardize(items)
    assert res.quarantine.height == 0
    last = res.steps.filter(pl.col("is_last"))
    assert last.get_column("action").null_count() == 0          # the source's last action, kept
    assert last.get_column("reward").to_list() == [1.0] * last.height
    assert last.get_column("discount").to_list() == [1.0] * last.height  # as stored, not generated
    assert res.steps.get_column("rlds_invalid").to_list() == res.steps.get_column("is_last").to_list()
    assert res.episodes.get_column("return").to_list() == [1.0] * res.episodes.height


def test_cameras_depth_and_ragged_are_kept_by_declared_type():
    (ep, *_), _ = split_items(read_rlds(fixture_dir("two_cameras")))
    assert ep.metadata["image_key"] == "observation/image"
    kinds = {f["key"]: f["kind"] for f in ep.step_features[0]}
    assert kinds == {"observation/wrist_image": "image", "observation/depth_image": "depth",
                     "observation/depth": "depth", "observation/contacts": "ragged", "language_instruction": "text"}
    assert ep.obs_layout == [("state", 3)]  # the float depth map is not flattened into the state


def test_source_identity_from_dataset_info_and_splits_told_apart():
    eps, _ = split_items(read_rlds(fixture_dir("two_cameras")))
    assert {e.source for e in eps} == {"foundry_two_cameras"}
    assert {e.metadata["split"] for e in eps} == {"train", "val"}
    assert {e.metadata["version"] for e in eps} == {"1.0.0"}
    val, _ = split_items(read_rlds(fixture_dir("two_cameras"), split="val"))
    assert len(val) == 4 and {e.metadata["split"] for e in val} == {"val"}


def test_several_versions_under_one_directory_are_refused(tmp_path):
    copy_fixture("two_cameras", tmp_path)
    shutil.copytree(tmp_path / "foundry_two_cameras" / "1.0.0", tmp_path / "foundry_two_cameras" / "1.1.0")
    with pytest.raises(RLDSLayoutError, match="pass one version directory"):
        read_rlds(tmp_path / "foundry_two_cameras")
    result = CliRunner().invoke(__import__("pipelines.cli", fromlist=["main"]).main,
                                ["episodes", "convert", str(tmp_path / "foundry_two_cameras"), "--from", "rlds",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "pass one version directory" in result.output


def test_validate_fails_when_a_return_disagrees_with_its_steps(tmp_path):
    from pipelines.cli import main

    out = tmp_path / "std"
    runner = CliRunner()
    ok = runner.invoke(main, ["episodes", "convert", str(fixture_dir("two_cameras")), "--from", "rlds", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert runner.invoke(main, ["episodes", "validate", str(out)]).exit_code == 0
    part = next((out / "episodes").rglob("*.parquet"))
    eps = pl.read_parquet(part)
    eps.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(0.0).otherwise(pl.col("return")).alias("return")) \
       .write_parquet(part)
    bad = runner.invoke(main, ["episodes", "validate", str(out)])
    assert bad.exit_code == 1 and "FAIL  returns_match" in bad.output


def test_validate_fails_when_the_rlds_invalid_flag_disagrees_with_is_last(tmp_path):
    from pipelines.cli import main

    out = tmp_path / "std"
    runner = CliRunner()
    assert runner.invoke(main, ["episodes", "convert", str(fixture_dir("openx_variants")), "--from", "rlds",
                                "--out", str(out)]).exit_code == 0
    part = next((out / "steps").rglob("*.parquet"))
    steps = pl.read_parquet(part)
    steps.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(True).otherwise(pl.col("rlds_invalid"))
                       .alias("rlds_invalid")).write_parquet(part)
    bad = runner.invoke(main, ["episodes", "validate", str(out)])
    assert bad.exit_code == 1 and "FAIL  flags" in bad.output


def test_a_feature_class_the_reader_cannot_map_is_kept_raw_and_reported(tmp_path):
    root = copy_fixture("two_cameras", tmp_path)
    spec = json.loads((root / "features.json").read_text())
    obs = spec["featuresDict"]["features"]["steps"]["sequence"]["feature"]["featuresDict"]["features"]["observation"]
    depth = obs["featuresDict"]["features"]["depth"]
    obs["featuresDict"]["features"]["depth"] = {"pythonClassName": "my_lab.features.PointCloud", "pointCloud": {}}
    (root / "features.json").write_text(json.dumps(spec))
    eps, bad = split_items(read_rlds(root))
    assert not bad
    ref, _ = split_items(read_rlds(fixture_dir("two_cameras")))
    for ep, r in zip(eps, ref):
        assert ep.metadata["unmapped_keys"] == ["steps/observation/depth"]
        (raw,) = [f for f in ep.step_features[0] if f["key"] == "observation/depth"]
        assert raw["kind"] == "raw" and "PointCloud" in raw["spec"]
        want = np.concatenate([decode_feature(f) for fs in r.step_features for f in fs if f["key"] == "observation/depth"])
        np.testing.assert_array_equal(np.frombuffer(raw["data"], "<f4").reshape(want.shape), want)
    assert depth["tensor"]["dtype"] == "float32"
