"""Episodes: converting Minari data to the standard, and reading random training batches, against
Minari's own loader on the same data.

The data is recorded here from MuJoCo (HalfCheetah and Reacher, scripted and play sources) into
Minari HDF5 datasets. Then, on the same files:

- convert: our reader + checks + standard Parquet writer, in steps/s and MB/s of Minari input;
  beside it Minari's own full read (``iterate_episodes`` over every episode), the floor of any
  conversion that goes through Minari.
- batches: ``--batches`` batches of ``--batch-size`` random valid steps (observation, action,
  reward, next observation) — ours from the standard steps Parquet (loaded once into arrays),
  Minari's from ``iterate_episodes`` over random episode indices (``sample_episodes`` without
  replacement) plus a random step of each sampled episode (Minari has no
  step-level sampler, so this is how its users build transition batches).

- rlds (``--rlds``): reading a multi-shard RLDS dataset as TFDS writes it (the committed
  ``foundry_two_cameras`` fixture's episodes repeated into 8 shards), ours (wire format, no
  TensorFlow, images kept encoded) against ``tfds`` reading the same files (images decoded, and
  images left encoded with ``SkipDecoding``). ``tfds`` runs where TensorFlow is installed: in this
  interpreter, or in another one given with ``--tfds-python`` (a scratch venv; TensorFlow is not a
  dependency of the project); without either, ours alone is reported and the line says so.

    python benchmarks/episodes.py [--quick]
    python benchmarks/episodes.py --rlds [--tfds-python /tmp/tfds-venv/bin/python]

Prints one table and the ratios; finishes in well under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "episodes" / "rlds" / "foundry_two_cameras" / "1.0.0"

# timed in the interpreter that has tensorflow-datasets; prints one JSON line
TFDS_READ = """
import json, sys, time
import tensorflow_datasets as tfds
path = sys.argv[1]
out = {}
for mode in ("decoded", "encoded"):
    builder = tfds.builder_from_directory(path)
    dec = None
    if mode == "encoded":
        dec = {"steps": {"observation": {k: tfds.decode.SkipDecoding() for k in ("image", "wrist_image", "depth_image")}}}
    t0 = time.perf_counter()
    steps = 0
    for ep in tfds.as_numpy(builder.as_dataset(split="train", shuffle_files=False, decoders=dec)):
        for step in ep["steps"]:
            steps += 1
    out[mode] = [time.perf_counter() - t0, steps]
print(json.dumps(out))
"""


def build_rlds(target: Path, shards: int, per_shard: int) -> int:
    """The fixture's train episodes repeated into ``shards`` shards; dataset_info.json updated to match."""
    from pipelines.episodes.tfrecord import iter_records, write_records

    records = [r for f in sorted(FIXTURE.glob("*-train.tfrecord-*")) for r in iter_records(f)]
    target.mkdir(parents=True)
    for name in ("features.json",):
        shutil.copy(FIXTURE / name, target / name)
    info = json.loads((FIXTURE / "dataset_info.json").read_text())
    info["splits"] = [s for s in info["splits"] if s["name"] == "train"]
    info["splits"][0]["shardLengths"] = [str(per_shard)] * shards
    (target / "dataset_info.json").write_text(json.dumps(info, indent=2))
    for i in range(shards):
        write_records(target / f"{info['name']}-train.tfrecord-{i:05d}-of-{shards:05d}",
                      [records[(i * per_shard + j) % len(records)] for j in range(per_shard)])
    return shards * per_shard


def rlds_main(args) -> None:
    from pipelines.episodes.convert import standardize
    from pipelines.episodes.readers import read_rlds, split_items

    shards, per_shard = (4, 50) if args.quick else (8, 250)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "foundry_two_cameras" / "1.0.0"
        n_eps = build_rlds(root, shards, per_shard)
        mb = _size_mb(root)
        t0 = time.perf_counter()
        items = read_rlds(root)
        t_read = time.perf_counter() - t0
        eps, bad = split_items(items)
        assert len(eps) == n_eps and not bad
        n_steps = sum(e.obs_state.shape[0] for e in eps)
        t0 = time.perf_counter()
        res = standardize(items)
        t_std = time.perf_counter() - t0
        assert res.steps.height == n_steps
        tfds_out = None
        cmd = [args.tfds_python] if args.tfds_python else None
        if cmd is None:
            try:
                import tensorflow_datasets  # noqa: F401

                cmd = [sys.executable]
            except ImportError:
                cmd = None
        if cmd is not None:
            run = subprocess.run([*cmd, "-c", TFDS_READ, str(root)], capture_output=True, text=True, check=True)
            tfds_out = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"rlds data: {n_eps} episodes, {n_steps} steps, {shards} shards, {mb:.1f} MB "
          f"(two 8x8 cameras, 16-bit depth PNG, float depth, ragged, text)")
    print(f"{'stage':<44} {'seconds':>9} {'steps/s':>12} {'MB/s':>8}")
    rows = [("rlds read: ours (wire format, images encoded)", t_read, n_steps),
            ("rlds read+standardize: ours", t_read + t_std, n_steps)]
    if tfds_out:
        for mode, (secs, steps) in tfds_out.items():
            assert steps == n_steps, (mode, steps, n_steps)
            rows.append((f"rlds read: tfds ({'images decoded' if mode == 'decoded' else 'SkipDecoding'})", secs, steps))
    for name, secs, steps in rows:
        print(f"{name:<44} {secs:>9.3f} {steps / secs:>12,.0f} {mb / secs:>8.1f}")
    if tfds_out:
        print(f"ours vs tfds (same files): {tfds_out['encoded'][0] / t_read:.2f}x tfds's time with images encoded, "
              f"{tfds_out['decoded'][0] / t_read:.2f}x with images decoded")
    else:
        print("tfds: not measured (tensorflow-datasets is not installed here; pass --tfds-python)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data (seconds), for CI")
    ap.add_argument("--rlds", action="store_true", help="the RLDS read benchmark instead (ours vs tfds)")
    ap.add_argument("--tfds-python", default=None, help="--rlds: a Python with tensorflow-datasets to time tfds in")
    ap.add_argument("--episodes", type=int, default=None, help="episodes per (task, data source)")
    ap.add_argument("--batches", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()
    if args.rlds:
        return rlds_main(args)
    episodes = args.episodes or (4 if args.quick else 20)
    n_batches = args.batches or (20 if args.quick else 200)
    max_steps = 100 if args.quick else 200

    import numpy as np
    import polars as pl

    from pipelines.episodes.collect import CollectConfig, TaskSpec, collect
    from pipelines.episodes.convert import standardize
    from pipelines.episodes.readers import minari_dataset_dirs, read_minari
    from pipelines.episodes.writers import write_standard

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = CollectConfig(tasks=(TaskSpec("HalfCheetah-v5", max_steps=max_steps), TaskSpec("Reacher-v5", max_steps=50)),
                            data_sources=("scripted", "play"), episodes_per_source=episodes, seed=0)
        t0 = time.perf_counter()
        collect(cfg, tmp / "minari")
        t_collect = time.perf_counter() - t0
        mb_in = _size_mb(tmp / "minari")

        # convert: ours
        t0 = time.perf_counter()
        result = standardize(read_minari(tmp / "minari"))
        write_standard(tmp / "std", result.episodes, result.steps, result.quarantine, result.stats)
        t_ours = time.perf_counter() - t0
        n_steps = result.steps.height
        transitions = int(result.episodes.get_column("length").sum())

        # convert floor: Minari's own loader reading every episode
        import minari

        t0 = time.perf_counter()
        minari_steps = 0
        datasets = [minari.MinariDataset(d / "data") for d in minari_dataset_dirs(tmp / "minari")]
        for ds in datasets:
            for ep in ds.iterate_episodes():
                minari_steps += len(ep.actions)
        t_minari = time.perf_counter() - t0
        assert minari_steps == transitions, (minari_steps, transitions)

        # batches: ours, from the standard Parquet
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        steps = pl.read_parquet(sorted((tmp / "std" / "steps").glob("source=*/part-0.parquet")),
                                columns=["observation_state", "action", "reward", "is_last"])
        # one source width for the batch: HalfCheetah's partitions (obs 17, action 6)
        cheetah = pl.concat([pl.read_parquet(p, columns=["observation_state", "action", "reward", "is_last"])
                             for p in sorted((tmp / "std" / "steps").glob("source=halfcheetah_*/part-0.parquet"))])
        obs = np.asarray(cheetah.get_column("observation_state").to_list(), dtype=np.float32)
        valid = np.flatnonzero(~cheetah.get_column("is_last").to_numpy())
        act = np.asarray(cheetah.get_column("action").to_list(), dtype=object)
        act = np.stack([a if a is not None else [0.0] * 6 for a in act]).astype(np.float32)
        rew = cheetah.get_column("reward").to_numpy()
        t_load_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(n_batches):
            idx = rng.choice(valid, size=args.batch_size)
            batch = (obs[idx], act[idx], rew[idx], obs[idx + 1])
        t_batch_ours = time.perf_counter() - t0
        assert batch[0].shape == (args.batch_size, 17)
        del steps

        # batches: Minari, sample_episodes + one random step each
        cheetah_ds = [ds for ds in datasets if "halfcheetah" in ds.spec.dataset_id]
        minari_batches = max(2, n_batches // 20)  # Minari decodes whole episodes per sample: fewer batches, same rate
        t0 = time.perf_counter()
        for b in range(minari_batches):
            ds = cheetah_ds[b % len(cheetah_ds)]
            # sample_episodes draws without replacement, so a batch larger than the dataset needs indices
            eps = ds.iterate_episodes(episode_indices=rng.integers(ds.total_episodes, size=args.batch_size).tolist())
            o, a, r, o2 = [], [], [], []
            for ep in eps:
                i = rng.integers(len(ep.actions))
                o.append(ep.observations[i]); a.append(ep.actions[i]); r.append(ep.rewards[i]); o2.append(ep.observations[i + 1])
            mbatch = (np.asarray(o), np.asarray(a), np.asarray(r), np.asarray(o2))
        t_batch_minari = time.perf_counter() - t0
        assert mbatch[0].shape == (args.batch_size, 17)

    rows = [
        ("collect (MuJoCo -> Minari)", t_collect, transitions / t_collect, None),
        ("convert: ours (read+check+write)", t_ours, transitions / t_ours, mb_in / t_ours),
        ("read all: Minari iterate_episodes", t_minari, transitions / t_minari, mb_in / t_minari),
        ("batches: ours (load once)", t_load_ours, None, None),
        (f"batches: ours x{n_batches}", t_batch_ours, n_batches * args.batch_size / t_batch_ours, None),
        (f"batches: Minari x{minari_batches}", t_batch_minari, minari_batches * args.batch_size / t_batch_minari, None),
    ]
    print(f"data: {transitions} transitions ({n_steps} standard steps), {mb_in:.1f} MB of Minari HDF5")
    print(f"{'stage':<38} {'seconds':>9} {'steps/s':>12} {'MB/s':>8}")
    for name, secs, sps, mbs in rows:
        print(f"{name:<38} {secs:>9.3f} {'' if sps is None else f'{sps:,.0f}':>12} {'' if mbs is None else f'{mbs:.1f}':>8}")
    print(f"convert vs Minari full read: {t_ours / t_minari:.2f}x the time (ours also checks and writes Parquet)")
    ours_rate = n_batches * args.batch_size / t_batch_ours
    ours_rate_with_load = n_batches * args.batch_size / (t_batch_ours + t_load_ours)
    minari_rate = minari_batches * args.batch_size / t_batch_minari
    print(f"random batches: ours {ours_rate / minari_rate:,.0f}x Minari's steps/s "
          f"({ours_rate_with_load / minari_rate:,.0f}x counting our one-time load of the Parquet)")


if __name__ == "__main__":
    main()
