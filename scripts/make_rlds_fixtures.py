"""Write the RLDS test fixtures with real TensorFlow Datasets, and what ``tfds`` reads back.

NOT run in CI and NOT a project dependency: it needs ``tensorflow`` and ``tensorflow-datasets``,
installed in a scratch environment outside the repo::

    python3 -m venv /tmp/tfds-venv
    /tmp/tfds-venv/bin/pip install tensorflow-cpu tensorflow-datasets
    /tmp/tfds-venv/bin/python scripts/make_rlds_fixtures.py tests/fixtures/episodes/rlds

For each fixture it builds a small RLDS dataset with a ``GeneratorBasedBuilder`` (so the shards,
``dataset_info.json`` and ``features.json`` are exactly what TFDS writes), then reads every episode
back with ``tfds`` and dumps the values to ``expected.json`` beside the shards, keyed by
``tfds_id`` (``<shard file>__<record index>``). Images are recorded decoded (dtype, shape, sha256 of
the pixel bytes) and encoded (sha256 of the stored PNG/JPEG bytes); floats as float32 values written
exactly (repr of the float64 widening).

Fixtures:
- ``two_cameras``: ``image`` + ``wrist_image`` (two cameras), a 16-bit ``depth_image`` (PNG),
  a float ``depth`` tensor, a ragged step feature (``Sequence`` of ``(2,)`` tensors), ``language_instruction`` text,
  reward 1.0 on the last step only, discount 1.0 everywhere as stored, train + val, 4 shards each.
- ``openx_variants``: RT-1 style dict action (``world_vector``, ``rotation_delta``,
  ``gripper_closedness_action``), ``observation/natural_language_instruction``,
  ``observation/proprio``, a ``(None,)`` tensor with ``encoding='bytes'``, 3 shards.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

H = W = 8


def _episode(rng: np.random.Generator, n: int, variant: str) -> dict:
    steps = []
    for t in range(n):
        last = t == n - 1
        step = {
            "reward": np.float32(1.0 if last else 0.0),
            "discount": np.float32(1.0),
            "is_first": t == 0, "is_last": last, "is_terminal": last and variant == "two_cameras",
        }
        if variant == "two_cameras":
            step["observation"] = {
                "image": rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
                "wrist_image": rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
                "depth_image": rng.integers(0, 65536, (H, W, 1), dtype=np.uint16),
                "depth": rng.normal(size=(4, 4)).astype(np.float32),
                "state": rng.normal(size=(3,)).astype(np.float32),
                "contacts": rng.normal(size=(int(rng.integers(0, 4)), 2)).astype(np.float32),
            }
            step["action"] = rng.uniform(-1, 1, (7,)).astype(np.float32)
            step["language_instruction"] = "put the red block in the bowl"
        else:
            step["observation"] = {
                "image": rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
                "proprio": rng.normal(size=(5,)).astype(np.float32),
                "natural_language_instruction": "pick coke can",
                "natural_language_embedding": rng.normal(size=(4,)).astype(np.float32),
                "joint_torques": rng.normal(size=(int(rng.integers(1, 4)),)).astype(np.float32),
            }
            step["action"] = {
                "world_vector": rng.uniform(-0.05, 0.05, (3,)).astype(np.float32),
                "rotation_delta": rng.uniform(-0.1, 0.1, (3,)).astype(np.float32),
                "gripper_closedness_action": rng.uniform(-1, 1, (1,)).astype(np.float32),
                "terminate_episode": np.asarray([0, 1, 0] if not last else [1, 0, 0], dtype=np.int32),
            }
        steps.append(step)
    return {"steps": steps, "episode_metadata": {"file_path": f"/data/{variant}/ep{rng.integers(1000)}.npy"}}


def _features(variant: str):
    f = tfds.features
    scalars = {"reward": f.Scalar(dtype=np.float32), "discount": f.Scalar(dtype=np.float32),
               "is_first": f.Scalar(dtype=np.bool_), "is_last": f.Scalar(dtype=np.bool_),
               "is_terminal": f.Scalar(dtype=np.bool_)}
    if variant == "two_cameras":
        step = {
            "observation": f.FeaturesDict({
                "image": f.Image(shape=(H, W, 3), dtype=np.uint8, encoding_format="png"),
                "wrist_image": f.Image(shape=(H, W, 3), dtype=np.uint8, encoding_format="png"),
                "depth_image": f.Image(shape=(H, W, 1), dtype=np.uint16, encoding_format="png"),
                "depth": f.Tensor(shape=(4, 4), dtype=np.float32),
                "state": f.Tensor(shape=(3,), dtype=np.float32),
                # variable-length per step: TFDS stores it ragged (flat values + row lengths)
                "contacts": f.Sequence(f.Tensor(shape=(2,), dtype=np.float32)),
            }),
            "action": f.Tensor(shape=(7,), dtype=np.float32),
            "language_instruction": f.Text(),
            **scalars,
        }
    else:
        step = {
            "observation": f.FeaturesDict({
                "image": f.Image(shape=(H, W, 3), dtype=np.uint8, encoding_format="jpeg"),
                "proprio": f.Tensor(shape=(5,), dtype=np.float32),
                "natural_language_instruction": f.Text(),
                "natural_language_embedding": f.Tensor(shape=(4,), dtype=np.float32),
                "joint_torques": f.Tensor(shape=(None,), dtype=np.float32, encoding="bytes"),
            }),
            "action": f.FeaturesDict({
                "world_vector": f.Tensor(shape=(3,), dtype=np.float32),
                "rotation_delta": f.Tensor(shape=(3,), dtype=np.float32),
                "gripper_closedness_action": f.Tensor(shape=(1,), dtype=np.float32),
                "terminate_episode": f.Tensor(shape=(3,), dtype=np.int32),
            }),
            **scalars,
        }
    return f.FeaturesDict({"steps": f.Dataset(step), "episode_metadata": f.FeaturesDict({"file_path": f.Text()})})


def _builder_class(variant: str, splits: dict[str, tuple[int, int]]):
    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=_features(variant), description=f"foundry {variant}")

    def _split_generators(self, dl_manager):
        return {name: self._generate_examples(seed, count) for name, (seed, count) in splits.items()}

    def _generate_examples(self, seed, count):
        rng = np.random.default_rng(seed)
        for i in range(count):
            yield f"{seed}_{i}", _episode(rng, int(rng.integers(2, 6)), variant)

    # TFDS names the dataset from the class name: FoundryTwoCameras -> foundry_two_cameras
    cls_name = "Foundry" + "".join(p.capitalize() for p in variant.split("_"))
    return type(cls_name, (tfds.core.GeneratorBasedBuilder,), {
        "VERSION": tfds.core.Version("1.0.0"), "RELEASE_NOTES": {"1.0.0": "test fixture"}, "_info": _info,
        "_split_generators": _split_generators, "_generate_examples": _generate_examples, "__module__": "foundry"})


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    arr = np.asarray(value)
    if arr.dtype.kind in "SO":
        return [b.decode("utf-8") for b in arr.reshape(-1).tolist()] if arr.ndim else arr.item().decode("utf-8")
    if arr.dtype.kind == "f":
        return {"dtype": str(arr.dtype), "shape": list(arr.shape), "values": [float(x) for x in arr.reshape(-1)]}
    return {"dtype": str(arr.dtype), "shape": list(arr.shape), "values": [int(x) for x in arr.reshape(-1)]}


def _step_json(step: dict, image_keys: set[str], prefix: str = "") -> dict:
    out = {}
    for k, v in step.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_step_json(v, image_keys, f"{key}/"))
        elif key in image_keys:
            arr = np.asarray(v)
            out[key] = {"image": True, "dtype": str(arr.dtype), "shape": list(arr.shape),
                        "sha256": hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()}
        else:
            out[key] = _jsonable(v)
    return out


def build(variant: str, splits: dict[str, tuple[int, int]], shards: int, out: Path) -> Path:
    image_keys = {"observation/image", "observation/wrist_image", "observation/depth_image"}
    with tempfile.TemporaryDirectory() as tmp:
        builder = _builder_class(variant, splits)(data_dir=tmp)
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(num_shards=shards))
        version_dir = Path(builder.data_dir)
        expected = {"tfds_version": tfds.__version__, "episodes": {}}
        for split in splits:
            ds = builder.as_dataset(split=split, shuffle_files=False, read_config=tfds.ReadConfig(add_tfds_id=True))
            # a second pass with the images left encoded: the bytes TFDS stored, to compare ours byte for byte
            present = {k.split("/", 1)[1] for k in image_keys if k.split("/", 1)[1] in
                       builder.info.features["steps"]["observation"].keys()}
            raw_ds = builder.as_dataset(split=split, shuffle_files=False, read_config=tfds.ReadConfig(add_tfds_id=True),
                                        decoders={"steps": {"observation": {k: tfds.decode.SkipDecoding()
                                                                            for k in present}}})
            encoded = {}
            for ep in tfds.as_numpy(raw_ds):
                encoded[ep["tfds_id"].decode()] = [{f"observation/{k}": hashlib.sha256(s["observation"][k]).hexdigest()
                                                    for k in present} for s in ep["steps"]]
            for ep in tfds.as_numpy(ds):
                tid = ep["tfds_id"].decode()
                steps = [_step_json(s, image_keys) for s in ep["steps"]]
                for step, shas in zip(steps, encoded[tid]):
                    for k, sha in shas.items():
                        step[k]["encoded_sha256"] = sha
                expected["episodes"][tid] = {
                    "steps": steps,
                    "episode_metadata": _jsonable(ep["episode_metadata"]),
                    "return": float(sum(float(s["reward"]) for s in ep["steps"])),
                }
        target = out / f"foundry_{variant}" / "1.0.0"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(version_dir, target)
        (target / "expected.json").write_text(json.dumps(expected, sort_keys=True, separators=(",", ":")) + "\n")
    return target


def main(out: str) -> None:
    root = Path(out)
    print(build("two_cameras", {"train": (0, 6), "val": (100, 4)}, 4, root))
    print(build("openx_variants", {"train": (7, 5)}, 3, root))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/episodes/rlds")
