"""Scale-out figures of the engine, in one run:

1. rows/s of the Big-Math per-row steps (decontaminate ... verify_answer, plus the signatures for
   the cross-shard steps) on the sample sources: the local engine in-process, then a Ray cluster
   started here with 1 and with 2 worker CPUs (``pipelines.engine.ray_engine.RayEngine``);
2. peak memory of the streaming path against the whole-frame path on the same input, ten times
   the sample (the fast-path sources, replicated): each path in a fresh process, peak RSS from
   the kernel (VmHWM);
   - whole-frame: read the whole Parquet file, run :func:`pipelines.bigmath.funnel.filter_rows`;
   - streaming: Parquet record batches -> per-row steps -> only the outcome columns and
     signatures kept -> cross-shard dedup on signatures;
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


def write_scaled_input(path: Path, scale: int) -> int:
    import polars as pl

    _, rows, _, _ = sample_rows()
    rows = rows.filter(pl.col("source").is_in(FAST_SOURCES))
    big = pl.concat([rows] * scale)
    big.write_parquet(path, row_group_size=1000)
    return big.height


def run_path(mode: str, path: str) -> dict:
    import polars as pl

    from pipelines.bigmath.distributed import OUTCOME_SCHEMA, cross_shard_dedup, row_outcomes
    from pipelines.bigmath.funnel import build_contamination_index, filter_rows
    from pipelines.bigmath.schema import REJECTED_SCHEMA
    from pipelines.config import get_profile
    from pipelines.core.storage import iter_parquet_batches
    from pipelines.engine.local import LocalEngine

    config = get_profile("sample").bigmath
    index = build_contamination_index(config)
    base = _peak_rss_mb()
    t0 = time.perf_counter()
    if mode == "whole":
        rows = pl.read_parquet(path)
        result = filter_rows(rows, pl.DataFrame(schema=REJECTED_SCHEMA), config)
        kept = result.kept.height
    else:
        parts, ids = [], []
        fn = partial(row_outcomes, config=config, index=index)
        batches = iter_parquet_batches(path, batch_rows=1000)
        for batch, out in zip(iter_parquet_batches(path, batch_rows=1000), LocalEngine().map_stream(fn, batches)):
            parts.append(out)  # outcome columns and signatures only; the batch's text is dropped here
            ids.append(batch.select("problem_id", "source"))
        outcome = pl.concat(parts) if parts else pl.DataFrame(schema=OUTCOME_SCHEMA)
        final = cross_shard_dedup(outcome, pl.concat(ids), config.near_dedup)
        kept = final.filter(pl.col("step").is_null()).height
    return {"mode": mode, "kept": kept, "seconds": round(time.perf_counter() - t0, 1),
            "peak_rss_mb": round(_peak_rss_mb(), 1), "rss_after_imports_mb": round(base, 1)}


def memory(scale: int) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bigmath_x.parquet"
        n = write_scaled_input(path, scale)
        for mode in ("whole", "stream"):
            proc = subprocess.run([sys.executable, __file__, "--path-mode", mode, "--path", str(path)],
                                  capture_output=True, text=True, check=True, cwd=REPO)
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["rows"] = n
            out.append(row)
    return out


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
    ap.add_argument("--path-mode", choices=("whole", "stream"), help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.path_mode:
        print(json.dumps(run_path(args.path_mode, args.path)))
        return
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared machines give lower rows/s)")
    speed, cpu_per_row = rows_per_second(args.skip_ray)
    print("\n## Big-Math per-row steps, sample sources (measured)\n" + table(speed))
    mem = memory(args.scale)
    print(f"\n## Peak memory, {args.scale}x input ({', '.join(FAST_SOURCES)} replicated; measured)\n" + table(mem))
    owm_per_token, docs, tokens = owm_cpu_per_token()
    print(f"\nCPU seconds per row (Big-Math per-row steps, sample mix): {cpu_per_row:.5f}")
    print(f"CPU seconds per token (OWM lexical behavior scorer, {docs} sample docs, {tokens} GPT-2 tokens): "
          f"{owm_per_token:.2e}")
    print("\n## Projection (from the per-row/per-token CPU cost above; perfect scaling assumed)\n"
          + table(projection(cpu_per_row, owm_per_token)))


if __name__ == "__main__":
    main()
