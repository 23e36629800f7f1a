"""Big-Math funnel vs a per-row ``datasets.map`` implementation of the same filters.

Both run on the same rows: the sample profile's normalized rows resampled to ``--scale`` times
their number (with a row-number suffix so resampled copies are distinct problems). Each side
runs in its own process so peak memory (ru_maxrss, plus its worker processes) is its own. The
script prints the speed ratio and both peaks, and checks both sides reject the same rows for the
same reasons.

    python benchmarks/bigmath_funnel.py [--scale 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import queue
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def scaled_rows(scale: int):
    import polars as pl

    from pipelines.bigmath.funnel import read_all
    from pipelines.config import get_profile

    rows, quarantined, _ = read_all(get_profile("sample").bigmath)
    parts = []
    for k in range(scale):
        if k == 0:
            parts.append(rows)
        else:  # distinct problems (a suffix), same answers: every filter still has work to do
            parts.append(rows.with_columns(pl.col("problem") + f" (variant {k})", pl.col("source_id") + f"#{k}"))
    return pl.concat(parts), quarantined


def run_funnel_side(scale: int, workers: int, out):
    from pipelines.bigmath.funnel import VerifyConfig, filter_rows
    from pipelines.config import get_profile
    from dataclasses import replace

    rows, quarantined = scaled_rows(scale)
    cfg = replace(get_profile("sample").bigmath, verify=VerifyConfig(workers=workers))
    start = time.perf_counter()
    result = filter_rows(rows, quarantined, cfg)
    elapsed = time.perf_counter() - start
    reasons = dict(sorted(result.rejected.group_by("reason").len().iter_rows()))
    out.put({"seconds": elapsed, "rows": rows.height, "kept": result.kept.height, "reasons": reasons,
             "peak_mb": _peak_mb()})


def run_map_side(scale: int, workers: int, out):
    """The straightforward way: one Python function per row through datasets.map."""
    import datasets

    from pipelines.bigmath import reasons as R
    from pipelines.bigmath import signals
    from pipelines.bigmath.dedup import NearDedupConfig, dedup_key, shingles
    from pipelines.bigmath.funnel import build_contamination_index
    from pipelines.bigmath.verify import VerifyItem, check_item
    from pipelines.config import get_profile
    from datasketch import MinHash, MinHashLSH

    rows, _ = scaled_rows(scale)
    cfg = get_profile("sample").bigmath
    index = build_contamination_index(cfg)
    lang = signals.LanguageDetector(min_confidence=cfg.language_min_confidence)
    proof_sources = {s.name for s in cfg.sources if s.proof_source}
    nd = NearDedupConfig()
    lsh = MinHashLSH(threshold=nd.threshold, num_perm=nd.num_perm)
    seen: set[int] = set()
    sigs: dict[str, MinHash] = {}
    ds = datasets.Dataset.from_list(rows.to_dicts())
    start = time.perf_counter()

    def classify(row, idx):
        p, a = row["problem"], row["answer"]
        reason = None
        if index.flags([p])[0][0]:
            reason = R.CONTAMINATED
        elif signals.has_hyperlink(p):
            reason = R.HYPERLINK
        elif signals.is_multiple_choice(p, row["options"], a):
            reason = R.MULTIPLE_CHOICE
        elif row["source"] in proof_sources or signals.is_proof(p):
            reason = R.PROOF
        elif signals.is_yes_no(p, a):
            reason = R.YES_NO
        elif signals.is_true_false(p, a):
            reason = R.TRUE_FALSE
        elif signals.is_multi_part(p, a):
            reason = R.MULTI_PART
        elif signals.needs_figure(p):
            reason = R.FIGURE
        elif lang.is_non_english(p)[0]:
            reason = R.NON_ENGLISH
        elif a is None or not a.strip() or a.strip().lower() in ("none", "n/a", "null", "nan", "\\boxed{}"):
            reason = R.MISSING_ANSWER
        else:
            o = check_item(VerifyItem(a, row["solution"] if row["answer_origin"] == "column" else None), 5)
            if not o.parsed:
                reason = R.UNPARSEABLE_ANSWER
            elif o.agrees is False:
                reason = R.ANSWER_MISMATCH
        if reason is None:
            k = dedup_key(p)
            if k in seen:
                reason = R.DUPLICATE
            else:
                seen.add(k)
                m = MinHash(num_perm=nd.num_perm, seed=nd.seed)
                m.update_batch(list(shingles(p, nd.shingle_size)))
                if any(m.jaccard(sigs[c]) >= nd.threshold for c in lsh.query(m)):
                    reason = R.NEAR_DUPLICATE
                else:
                    lsh.insert(str(idx), m)
                    sigs[str(idx)] = m
        return {"reason": reason}

    features = ds.features.copy()
    features["reason"] = datasets.Value("string")
    labelled = ds.map(classify, with_indices=True, load_from_cache_file=False, keep_in_memory=True, features=features)
    kept = labelled.filter(lambda r: r["reason"] is None, keep_in_memory=True)
    elapsed = time.perf_counter() - start
    counts: dict[str, int] = {}
    for r in labelled["reason"]:
        if r is not None:
            counts[r] = counts.get(r, 0) + 1
    out.put({"seconds": elapsed, "rows": len(ds), "kept": len(kept), "reasons": dict(sorted(counts.items())),
             "peak_mb": _peak_mb()})


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + children) / 1024, 1)


def measure(target, scale: int, workers: int) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(scale, workers, q))
    p.start()
    while True:
        try:
            result = q.get(timeout=1)
            break
        except queue.Empty:
            if not p.is_alive():
                raise SystemExit(f"{target.__name__} died (exit code {p.exitcode}) without a result")
    p.join()
    return result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=3, help="resample the sample rows this many times")
    ap.add_argument("--workers", type=int, default=2, help="verification processes of the funnel")
    args = ap.parse_args(argv)
    funnel = measure(run_funnel_side, args.scale, args.workers)
    baseline = measure(run_map_side, args.scale, args.workers)
    same = funnel["reasons"] == baseline["reasons"] and funnel["kept"] == baseline["kept"]
    report = {
        "rows": funnel["rows"],
        "funnel_seconds": round(funnel["seconds"], 2),
        "datasets_map_seconds": round(baseline["seconds"], 2),
        "speedup_ratio": round(baseline["seconds"] / funnel["seconds"], 2),
        "funnel_peak_mb": funnel["peak_mb"],
        "datasets_map_peak_mb": baseline["peak_mb"],
        "memory_ratio": round(baseline["peak_mb"] / funnel["peak_mb"], 2),
        "same_result": same,
    }
    print(json.dumps(report, indent=2))
    if not same:
        print("results differ:", json.dumps({"funnel": funnel["reasons"], "map": baseline["reasons"]}), file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
