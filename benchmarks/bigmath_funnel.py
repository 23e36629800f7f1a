"""Big-Math funnel vs math-verify in one process and vs a per-row ``datasets.map``, side by side.

Four ratios, each side in its own process (so peak memory, ru_maxrss plus its worker
processes, is its own):

1. verification of numeric answers (the sample answers the fast path decides): items/s of the
   funnel's verification against math-verify called in one process, item by item (target >= 10x);
2. verification of LaTeX answers (the rest, each distinct (answer, final answer) once): the
   funnel's worker pool (``--workers``, worker start-up included) against math-verify in one
   process (target >= 1.8x on 2 cores); also "warm": the fork server started before the clock, as
   the single-process side imports math-verify before its clock;
3. the cheap signals + dedup steps (decontamination, rule signals, language, exact and near
   dedup) of the funnel against the same filters as one Python function per row through
   ``datasets.map`` (target >= 20x), on the sample rows resampled ``--scale`` times (a suffix
   makes the copies distinct problems; both sides build the evaluation index, load the language
   model and import datasketch before their clock; each side ``--repeat`` times, alternating, each
   run in a fresh process, medians reported); also "warm": each side has run once over the rows
   before its clock (memory touched, caches filled, as a process that has run a batch already);
4. the whole funnel against the whole per-row ``datasets.map`` (with math-verify per row), on
   the sample rows as they are.

Both sides of 3 and 4 must reject the same rows for the same reasons (``same_result``).

    python benchmarks/bigmath_funnel.py [--scale 3] [--workers 2] [--repeat 3]
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


def run_funnel_side(scale: int, workers: int, out, cheap: bool = False, warm: bool = False):
    """The funnel; ``cheap``: only its signal + dedup steps (no answer checks); ``warm`` (with
    ``cheap``): the steps run once over the rows before the clock, then are built afresh and timed."""
    from pipelines.bigmath.funnel import VerifyConfig, build_contamination_index, build_steps, filter_rows
    from pipelines.config import get_profile
    from pipelines.core.steps import run_steps
    from dataclasses import replace

    rows, quarantined = scaled_rows(scale)
    cfg = replace(get_profile("sample").bigmath, verify=VerifyConfig(workers=workers))
    if cheap:
        # the same set-up the map side does before its clock: the evaluation index, the language
        # model, the datasketch import (LSH parameters)
        import datasketch  # noqa: F401

        index = build_contamination_index(cfg)

        def cheap_steps():
            return [s for s in build_steps(cfg, index) if s.name not in ("missing_answer", "verify_answer")]

        if warm:
            run_steps(rows, cheap_steps())
        steps = cheap_steps()
    start, cpu0 = time.perf_counter(), time.process_time()
    if cheap:
        kept, rejected, funnel = run_steps(rows, steps)
    else:
        result = filter_rows(rows, quarantined, cfg)
        kept, rejected, funnel = result.kept, result.rejected.filter(pl_col_reason_not_malformed()), result.funnel
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    reasons = dict(sorted(rejected.group_by("reason").len().iter_rows()))
    out.put({"seconds": elapsed, "cpu_seconds": cpu, "rows": rows.height, "kept": kept.height, "reasons": reasons,
             "peak_mb": _peak_mb(), "timings": funnel.timings_dicts()})


def pl_col_reason_not_malformed():
    import polars as pl

    return pl.col("reason") != "malformed"  # read-time rejects: the map side starts after reading too


def run_funnel_cheap(scale: int, workers: int, out):
    run_funnel_side(scale, workers, out, cheap=True)


def run_map_cheap(scale: int, workers: int, out):
    run_map_side(scale, workers, out, verify=False)


def run_funnel_cheap_warm(scale: int, workers: int, out):
    run_funnel_side(scale, workers, out, cheap=True, warm=True)


def run_map_cheap_warm(scale: int, workers: int, out):
    run_map_side(scale, workers, out, verify=False, warm=True)


def run_map_side(scale: int, workers: int, out, verify: bool = True, warm: bool = False):
    """The straightforward way: one Python function per row through datasets.map; ``warm``: one
    whole pass over the rows before the clock, then the dedup state emptied and the pass timed."""
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
    state: dict = {}

    def fresh_state():
        state.update(lsh=MinHashLSH(threshold=nd.threshold, num_perm=nd.num_perm), seen=set(), sigs={})

    fresh_state()
    ds = datasets.Dataset.from_list(rows.to_dicts())

    def classify(row, idx):
        p, a = row["problem"], row["answer"]
        reason = None
        score, name = index.match(p)  # the per-row call (``flags`` is the batched one: slow for one row)
        if name is not None and score >= index.config.min_overlap:
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
        elif not verify:
            pass
        elif a is None or not a.strip() or a.strip().lower() in ("none", "n/a", "null", "nan", "\\boxed{}"):
            reason = R.MISSING_ANSWER
        else:
            # no SIGALRM timeout: its verdict would depend on the load (issue 10), and the sample has no hang
            o = check_item(VerifyItem(a, row["solution"] if row["answer_origin"] == "column" else None), None)
            if o.timed_out:
                reason = R.VERIFY_TIMEOUT
            elif not o.parsed:
                reason = R.UNPARSEABLE_ANSWER
            elif o.agrees is False:
                reason = R.ANSWER_MISMATCH
        if reason is None:
            seen, lsh, sigs = state["seen"], state["lsh"], state["sigs"]
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
    if warm:
        ds.map(classify, with_indices=True, load_from_cache_file=False, keep_in_memory=True, features=features)
        fresh_state()
    start, cpu0 = time.perf_counter(), time.process_time()
    labelled = ds.map(classify, with_indices=True, load_from_cache_file=False, keep_in_memory=True, features=features)
    kept = labelled.filter(lambda r: r["reason"] is None, keep_in_memory=True)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    counts: dict[str, int] = {}
    for r in labelled["reason"]:
        if r is not None:
            counts[r] = counts.get(r, 0) + 1
    out.put({"seconds": elapsed, "cpu_seconds": cpu, "rows": len(ds), "kept": len(kept),
             "reasons": dict(sorted(counts.items())), "peak_mb": _peak_mb()})


def verification_items(kind: str):
    """The sample's answers as the funnel's verify step sees them: ``numeric`` (the fast path
    decides them) or ``latex`` (the rest, each distinct (answer, final answer) once)."""
    from pipelines.bigmath.fastpath import decide
    from pipelines.bigmath.verify import VerifyItem, final_answer_of

    rows, _ = scaled_rows(1)
    items = [VerifyItem(a, s if origin == "column" else None)
             for a, s, origin in rows.select("answer", "solution", "answer_origin").iter_rows() if a and a.strip()]
    decided = decide(items).decided
    if kind == "numeric":
        return [it for it, d in zip(items, decided) if d]
    seen, out = set(), []
    for it, d in zip(items, decided):
        key = (it.answer, final_answer_of(it.solution))
        if not d and key not in seen:
            seen.add(key)
            out.append(it)
    return out


def run_verify_funnel_warm(kind: str, workers: int, out):
    """As :func:`run_verify_funnel`, with the fork server already started (math-verify imported
    before the clock, as the single-process side imports it before its clock)."""
    run_verify_funnel(kind, workers, out, warm=True)


def run_verify_funnel(kind: str, workers: int, out, warm: bool = False):
    from pipelines.bigmath.fastpath import verify_with_fast_path

    from pipelines.bigmath import verify as V

    items = verification_items(kind)
    if warm:
        V.verify_answers([V.VerifyItem("\\frac{1}{2}", None)], workers=1)  # starts the fork server
        V.WORKER_CPU_SECONDS = 0.0
    cpu0, start = _cpu_s(), time.perf_counter()
    outcomes, fast = verify_with_fast_path(items, workers=workers)  # worker start-up included
    elapsed, cpu = time.perf_counter() - start, _cpu_s() - cpu0
    # workers come from a fork server (not children of this process): they report their own CPU,
    # and the fork server's one import of math-verify is measured in a fresh interpreter
    cpu += V.WORKER_CPU_SECONDS + (_import_cpu_s() if fast < len(items) and not warm else 0.0)
    out.put({"seconds": elapsed, "cpu_seconds": cpu, "items": len(items), "fast_path": fast, "peak_mb": _peak_mb(),
             "verdicts": [(o.parsed, o.agrees) for o in outcomes]})


def plain_math_verify(item, timeout_s=None):
    """The baseline: what one writes with math-verify alone (same answer cleaning as the funnel):
    parse the answer, parse the solution's final answer, compare."""
    from math_verify import parse, verify

    from pipelines.bigmath.verify import VerifyOutcome, _as_latex, _is_words, final_answer_of

    if not item.answer:
        return VerifyOutcome(False, None, "no answer")
    if _is_words(item.answer):
        return VerifyOutcome(False, None, "answer is words, not a mathematical value")
    try:
        gold = parse(_as_latex(item.answer), parsing_timeout=timeout_s)
    except Exception as exc:
        return VerifyOutcome(False, None, f"parse error: {type(exc).__name__}")
    if not gold:
        return VerifyOutcome(False, None, "math-verify found no expression")
    stated = final_answer_of(item.solution)
    if stated is None:
        return VerifyOutcome(True, None)
    try:
        pred = parse(_as_latex(stated), parsing_timeout=timeout_s)
        if not pred:
            return VerifyOutcome(True, None, "solution's final answer not parseable")
        same = verify(gold, pred, timeout_seconds=timeout_s)
    except Exception as exc:
        return VerifyOutcome(True, None, f"compare error: {type(exc).__name__}")
    return VerifyOutcome(True, bool(same), None if same else f"solution says {stated[:200]!r}")


def _import_cpu_s() -> float:
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", "import math_verify, pipelines.bigmath.verify"], check=True,
                   cwd=str(Path(__file__).resolve().parents[1]))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_verify_single(kind: str, workers: int, out):
    """math-verify in one process, item by item (imported before the clock starts)."""
    import math_verify  # noqa: F401

    items = verification_items(kind)
    cpu0, start = _cpu_s(), time.perf_counter()
    outcomes = [plain_math_verify(it) for it in items]
    elapsed, cpu = time.perf_counter() - start, _cpu_s() - cpu0
    out.put({"seconds": elapsed, "cpu_seconds": cpu, "items": len(items), "peak_mb": _peak_mb(),
             "verdicts": [(o.parsed, o.agrees) for o in outcomes]})


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + children) / 1024, 1)


def measure(target, arg, workers: int) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(arg, workers, q))
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


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _median_run(runs: list[dict]) -> dict:
    """The run whose wall seconds are the median (the lower middle one for an even count)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


def _ratio(slow: float, fast: float) -> float:
    return round(slow / fast, 2) if fast > 0 else float("inf")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=3, help="resample the sample rows this many times (signals + dedup)")
    ap.add_argument("--workers", type=int, default=2, help="verification processes of the funnel")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side of the signals + dedup ratio (medians reported)")
    ap.add_argument("--only", choices=("verify", "latex"), help="only the verification ratios (or only the LaTeX one)")
    args = ap.parse_args(argv)
    report: dict = {"cpu_count": mp.cpu_count(), "workers": args.workers}
    for kind, target in (("numeric", 10.0), ("latex", 1.8)):
        if args.only == "latex" and kind != "latex":
            continue
        ours = measure(run_verify_funnel, kind, args.workers)
        single = measure(run_verify_single, kind, args.workers)
        report[f"verify_{kind}"] = {
            "items": ours["items"], "fast_path_items": ours["fast_path"],
            "funnel_items_per_s": round(ours["items"] / ours["seconds"], 1),
            "math_verify_single_items_per_s": round(single["items"] / single["seconds"], 1),
            "ratio": _ratio(single["seconds"], ours["seconds"]), "target": target,
            # CPU seconds (worker processes included) do not depend on what else the machine runs;
            # cpu_bound_ratio is the ratio an otherwise idle machine with `workers` cores would show
            "funnel_cpu_seconds": round(ours["cpu_seconds"], 2),
            "math_verify_single_cpu_seconds": round(single["cpu_seconds"], 2),
            # (an estimate: the pool's CPU, parent included, split evenly over the workers)
            "cpu_bound_ratio": _ratio(single["cpu_seconds"],
                                      ours["cpu_seconds"] / (args.workers if ours["fast_path"] < ours["items"] else 1)),
            "same_verdicts": ours["verdicts"] == single["verdicts"],
        }
        if kind == "latex":  # the pool without its one-time start (the fork server importing math-verify)
            warm = measure(run_verify_funnel_warm, kind, args.workers)
            report[f"verify_{kind}"].update({
                "warm_funnel_items_per_s": round(warm["items"] / warm["seconds"], 1),
                "warm_ratio": _ratio(single["seconds"], warm["seconds"]),
                "warm_funnel_cpu_seconds": round(warm["cpu_seconds"], 2),
                "warm_cpu_bound_ratio": _ratio(single["cpu_seconds"], warm["cpu_seconds"] / args.workers),
                "warm_same_verdicts": warm["verdicts"] == single["verdicts"],
            })
    if args.only:
        print(json.dumps(report, indent=2))
        return report
    # a second or so against ten: one run of each is at the mercy of the machine's moment, so each
    # side runs --repeat times, alternating, each run in a fresh process; medians are reported
    cheap_runs, map_runs = [], []
    for _ in range(args.repeat):
        cheap_runs.append(measure(run_funnel_cheap, args.scale, args.workers))
        map_runs.append(measure(run_map_cheap, args.scale, args.workers))
    cheap, cheap_map = _median_run(cheap_runs), _median_run(map_runs)
    warm_runs, warm_map_runs = [], []
    for _ in range(args.repeat):
        warm_runs.append(measure(run_funnel_cheap_warm, args.scale, args.workers))
        warm_map_runs.append(measure(run_map_cheap_warm, args.scale, args.workers))
    warm, warm_map = _median_run(warm_runs), _median_run(warm_map_runs)
    report["signals_dedup"] = {
        "rows": cheap["rows"], "runs": args.repeat, "funnel_seconds": round(cheap["seconds"], 2),
        "datasets_map_seconds": round(cheap_map["seconds"], 2),
        "ratio": _ratio(cheap_map["seconds"], cheap["seconds"]), "target": 20.0,
        "funnel_seconds_all": [round(r["seconds"], 2) for r in cheap_runs],
        "datasets_map_seconds_all": [round(r["seconds"], 2) for r in map_runs],
        # both sides run in one process: their CPU seconds do not depend on what else the machine runs
        "funnel_cpu_seconds": round(_median([r["cpu_seconds"] for r in cheap_runs]), 2),
        "datasets_map_cpu_seconds": round(_median([r["cpu_seconds"] for r in map_runs]), 2),
        "cpu_ratio": _ratio(_median([r["cpu_seconds"] for r in map_runs]), _median([r["cpu_seconds"] for r in cheap_runs])),
        "same_result": all(c["reasons"] == m["reasons"] and c["kept"] == m["kept"]
                           for c in cheap_runs for m in map_runs),
        "funnel_step_seconds": {t["step"]: t["seconds"] for t in cheap["timings"]},
        # warm: each side ran once over the same rows before its clock (memory touched, caches
        # filled, as in a process that has already run a batch), dedup state emptied
        "warm_funnel_seconds": round(warm["seconds"], 2), "warm_datasets_map_seconds": round(warm_map["seconds"], 2),
        "warm_ratio": _ratio(warm_map["seconds"], warm["seconds"]),
        "warm_funnel_seconds_all": [round(r["seconds"], 2) for r in warm_runs],
        "warm_datasets_map_seconds_all": [round(r["seconds"], 2) for r in warm_map_runs],
        "warm_same_result": all(c["reasons"] == m["reasons"] and c["kept"] == m["kept"]
                                for c in warm_runs + cheap_runs for m in warm_map_runs),
        "warm_funnel_step_seconds": {t["step"]: t["seconds"] for t in warm["timings"]},
    }
    funnel = measure(run_funnel_side, 1, args.workers)
    baseline = measure(run_map_side, 1, args.workers)
    report["whole_funnel"] = {
        "rows": funnel["rows"], "funnel_seconds": round(funnel["seconds"], 2),
        "datasets_map_seconds": round(baseline["seconds"], 2),
        "ratio": _ratio(baseline["seconds"], funnel["seconds"]),
        "funnel_peak_mb": funnel["peak_mb"], "datasets_map_peak_mb": baseline["peak_mb"],
        "same_result": funnel["reasons"] == baseline["reasons"] and funnel["kept"] == baseline["kept"],
        "funnel_step_seconds": {t["step"]: t["seconds"] for t in funnel["timings"]},
    }
    print(json.dumps(report, indent=2))
    for part in ("signals_dedup", "whole_funnel"):
        if not report[part]["same_result"]:
            print(f"{part}: results differ", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
