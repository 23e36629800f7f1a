"""Scale-out figures of the engine, in one run:

1. rows/s of the Big-Math per-row steps (decontaminate ... verify_answer, plus the signatures for
   the cross-shard steps) on the sample sources: the local engine in-process, then a Ray cluster
   started here with 1 and with 2 worker CPUs (``pipelines.engine.ray_engine.RayEngine``);
2. peak memory of the streaming path against the whole-frame path on the same input, ten times
   the sample (the fast-path sources, replicated): each path in a fresh process, peak RSS from
   the kernel (VmHWM);
   - whole-frame: read the whole Parquet file, run :func:`pipelines.bigmath.funnel.filter_rows`;
   - streaming: :class:`pipelines.bigmath.distributed.StreamingFunnel`: Parquet record batches
     -> per-row steps (built once, one verification pool for the run) -> exact and near dedup
     against the earlier batches' keys and signatures -> the batch is done (written or dropped);
     held across batches: per row the exact-dedup key, per kept row its MinHash signature and
     LSH band keys; run on 1x and on the 10x input, against the whole-frame path on both;
3. a projection, from the measured CPU seconds per row (this process + the verification
   workers), of core-hours and wall hours for the full Big-Math sources (~1M rows before
   filtering) and, from the behavior scorer's measured CPU seconds per token, for OpenWebMath
   (6.3M documents, 14.7B tokens).

Measured on whatever machine runs it: a shared machine gives lower rows/s than a quiet one, and
CPU seconds per row are the steadier figure to project from.

    python benchmarks/scale.py [--scale 10] [--skip-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BIGMATH_FULL_ROWS = 1_000_000      # Big-Math's sources before filtering (the paper: "over 1M")
OWM_DOCS, OWM_TOKENS = 6_300_000, 14_700_000_000
FAST_SOURCES = ("gsm8k", "mawps", "aqua", "sat_math", "harp_proofs")  # the 10x input: no LaTeX-heavy answers
BATCH_ROWS = 1000  # rows per record batch of the streaming path


def _cpu_seconds() -> float:
    from pipelines.bigmath import verify

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime + verify.WORKER_CPU_SECONDS


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample_rows():
    from pipelines.bigmath.funnel import build_contamination_index, read_all
    from pipelines.config import get_profile

    config = get_profile("sample").bigmath
    rows, quarantined, _ = read_all(config)
    return config, rows, quarantined, build_contamination_index(config)


def rows_per_second(skip_ray: bool) -> tuple[list[dict], float]:
    import dataclasses

    from pipelines.bigmath.distributed import row_outcomes, shard_rows
    from pipelines.engine.local import LocalEngine

    config, rows, _, index = sample_rows()
    shards = shard_rows(rows, 400)
    results = []
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    LocalEngine().map_batches(partial(row_outcomes, config=config, index=index), shards)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    results.append({"engine": f"local in-process (verify pool of {config.verify.workers})", "rows": rows.height,
                    "seconds": round(wall, 1), "rows_per_s": round(rows.height / wall, 1)})
    cpu_per_row = cpu / rows.height
    if not skip_ray:
        from pipelines.engine.ray_engine import RayEngine

        one = dataclasses.replace(config, verify=dataclasses.replace(config.verify, workers=1))
        for workers in (1, 2):
            with RayEngine(num_workers=workers) as engine:
                engine.start()
                t0 = time.perf_counter()
                engine.map_batches(partial(row_outcomes, config=one, index=index), shards)
                wall = time.perf_counter() - t0
            results.append({"engine": f"ray, {workers} worker CPU{'s' if workers > 1 else ''}", "rows": rows.height,
                            "seconds": round(wall, 1), "rows_per_s": round(rows.height / wall, 1)})
    return results, cpu_per_row


def owm_cpu_per_token() -> tuple[float, int, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.owm.config import GPT2_TOKENIZER, SAMPLE_SHARDS
    from pipelines.owm.scorers import BaselineScorer
    from pipelines.owm.select import load_tokenizer

    texts = pa.concat_tables([pq.read_table(p, columns=["text"]) for p in SAMPLE_SHARDS]).column("text").to_pylist()
    tokens = sum(len(e.ids) for e in load_tokenizer(GPT2_TOKENIZER).encode_batch(texts, add_special_tokens=False))
    scorer = BaselineScorer()
    cpu0 = _cpu_seconds()
    scorer.score(texts)
    return (_cpu_seconds() - cpu0) / tokens, len(texts), tokens


# ------------------------------------------------------------------ memory: one fresh process per path


def write_scaled_input(path: Path, scale: int) -> dict:
    """The fast-path sources, ``scale`` times: copy k > 0 of a row gets " (variant k)" on its problem
    and "#k" on its ids, so every copy is a distinct row that each step still has to look at."""
    import polars as pl

    _, rows, _, _ = sample_rows()
    rows = rows.filter(pl.col("source").is_in(FAST_SOURCES))
    parts = [rows] + [rows.with_columns(pl.col("problem") + f" (variant {k})", pl.col("problem_id") + f"#{k}",
                                        pl.col("source_id") + f"#{k}") for k in range(1, scale)]
    big = pl.concat(parts)
    big.write_parquet(path, row_group_size=BATCH_ROWS)
    # the data a path holds at once: the streaming path one record batch (plus what the steps
    # derive from it), the whole-frame path the whole table
    batch_mb = max(big.slice(i, BATCH_ROWS).estimated_size() for i in range(0, big.height, BATCH_ROWS)) / 2**20
    return {"rows": big.height, "input_mb": round(big.estimated_size() / 2**20, 1), "batch_cap_mb": round(batch_mb, 2)}


def run_path(mode: str, path: str) -> dict:
    import polars as pl

    from pipelines.bigmath.distributed import StreamingFunnel
    from pipelines.bigmath.funnel import build_contamination_index, filter_rows
    from pipelines.bigmath.schema import REJECTED_SCHEMA
    from pipelines.config import get_profile
    from pipelines.core import steps
    from pipelines.core.storage import iter_parquet_batches

    # the funnel's per-step timings reset the kernel's peak-RSS mark before every step (to report
    # each step's own peak); here the whole run's peak is the figure, so no resets
    steps._reset_peak_rss = lambda: False
    config = get_profile("sample").bigmath
    index = build_contamination_index(config)
    import datasketch  # noqa: F401  (both paths: imports before the baseline RSS)
    base = _peak_rss_mb()
    t0 = time.perf_counter()
    extra = {}
    if mode == "whole":
        rows = pl.read_parquet(path)
        result = filter_rows(rows, pl.DataFrame(schema=REJECTED_SCHEMA), config)
        kept = result.kept.height
    else:
        kept = 0
        with StreamingFunnel(config, index) as funnel:
            for batch in iter_parquet_batches(path, batch_rows=BATCH_ROWS):
                k, _ = funnel.add(batch)  # a real run writes k and the rejects out here; nothing is kept
                kept += k.height
        extra = {"held_signature_mb": round(funnel.held_bytes() / 2**20, 2), "held_keys": len(funnel.seen)}
    return {"mode": mode, "kept": kept, "seconds": round(time.perf_counter() - t0, 1),
            "peak_rss_mb": round(_peak_rss_mb(), 1), "rss_after_imports_mb": round(base, 1), **extra}


def memory(scale: int) -> tuple[list[dict], dict]:
    out, inputs = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for s, modes in ((1, ("stream", "whole")), (scale, ("stream", "whole"))):
            path = Path(tmp) / f"bigmath_x{s}.parquet"
            inputs[s] = write_scaled_input(path, s)
            for mode in modes:
                proc = subprocess.run([sys.executable, __file__, "--path-mode", mode, "--path", str(path)],
                                      capture_output=True, text=True, check=True, cwd=REPO)
                row = json.loads(proc.stdout.strip().splitlines()[-1])
                row = {"input": f"{s}x", "rows": inputs[s]["rows"], "input_mb": inputs[s]["input_mb"], **row}
                row["over_imports_mb"] = round(row["peak_rss_mb"] - row["rss_after_imports_mb"], 1)
                out.append(row)
    return out, inputs[scale]


def projection(cpu_per_row: float, owm_cpu_per_token: float) -> list[dict]:
    rows = []
    for name, units, per in (("Big-Math sources (~1M rows)", BIGMATH_FULL_ROWS, cpu_per_row),
                             ("OpenWebMath behavior scoring (14.7B tokens, 6.3M docs)", OWM_TOKENS, owm_cpu_per_token)):
        core_h = units * per / 3600
        rows.append({"workload": name, "core_hours": round(core_h, 2),
                     **{f"hours_on_{c}_cores": round(core_h / c, 2) for c in (2, 16, 64)}})
    return rows


def table(rows: list[dict]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--only-memory", action="store_true", help="only the peak-memory table")
    ap.add_argument("--path-mode", choices=("whole", "stream"), help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.path_mode:
        print(json.dumps(run_path(args.path_mode, args.path)))
        return
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared machines give lower rows/s)")
    if not args.only_memory:
        speed, cpu_per_row = rows_per_second(args.skip_ray)
        print("\n## Big-Math per-row steps, sample sources (measured)\n" + table(speed))
    mem, big = memory(args.scale)
    print(f"\n## Peak memory, 1x and {args.scale}x input ({', '.join(FAST_SOURCES)} replicated; measured)\n"
          + table([{k: v for k, v in r.items() if k not in ("held_signature_mb", "held_keys")} for r in mem]))
    cap = big["batch_cap_mb"]
    print(f"memory cap for the data the streaming path holds at once: one record batch of {BATCH_ROWS} rows, "
          f"<= {cap} MB; the {args.scale}x input is {big['input_mb']} MB = {big['input_mb'] / cap:.0f}x that cap")
    for r in mem:
        if r["mode"] == "stream":
            print(f"streaming {r['input']}: held across batches {r['held_keys']} exact-dedup keys and "
                  f"{r['held_signature_mb']} MB of MinHash signatures (kept rows only)")
    if args.only_memory:
        return
    owm_per_token, docs, tokens = owm_cpu_per_token()
    print(f"\nCPU seconds per row (Big-Math per-row steps, sample mix): {cpu_per_row:.5f}")
    print(f"CPU seconds per token (OWM lexical behavior scorer, {docs} sample docs, {tokens} GPT-2 tokens): "
          f"{owm_per_token:.2e}")
    print("\n## Projection (from the per-row/per-token CPU cost above; perfect scaling assumed)\n"
          + table(projection(cpu_per_row, owm_per_token)))


if __name__ == "__main__":
    main()
