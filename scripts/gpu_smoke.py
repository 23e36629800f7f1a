"""GPU smoke test of the training stage: a few steps of every stage, then tokens/s and peak memory.

    python scripts/gpu_smoke.py --model /models/Qwen2.5-0.5B            # on a GPU machine (bf16)
    python scripts/gpu_smoke.py --model /models/Qwen2.5-0.5B --vllm     # GRPO generation through vLLM
    python scripts/gpu_smoke.py --device cpu --tiny                     # the code path, on CPU, in seconds

Data comes from the repository (Countdown problems and a priming set generated here, GSM8K sample
rows for Big-Math), so it needs no network and no upstream run. Prints one JSON line per stage
(stage, steps, seconds, tokens, tokens_per_s, peak_gpu_mem_gib) and a table at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _data(n_problems: int):
    import polars as pl

    from pipelines.bigmath.answers import split_gsm8k
    from pipelines.countdown.config import CountdownConfig
    from pipelines.countdown.priming import build_priming_sets
    from pipelines.countdown.problems import build_problems, generate_candidates
    from pipelines.training.exports import BIGMATH_INSTRUCTION

    cd = CountdownConfig(n_problems=max(n_problems * 4, 60), priming_rows=max(n_problems, 8))
    problems = build_problems(generate_candidates(cd), cd)[0]
    priming = build_priming_sets(problems, cd, sets=("empty_thinking",))[0]
    gsm = pl.read_ndjson(REPO / "data" / "sample" / "math" / "gsm8k_test.jsonl").head(n_problems)
    math_rows = [{"prompt": q + BIGMATH_INSTRUCTION, "answer": split_gsm8k(a)[1]}
                 for q, a in zip(gsm["question"], gsm["answer"])]
    train = problems.filter(pl.col("split") == "train").head(n_problems)
    cd_rows = [{"prompt": q, "target": t, "numbers": n} for q, t, n in zip(train["query"], train["target"], train["numbers"])]
    texts = [q + c for q, c in zip(priming["query"], priming["completion"])]
    return problems, texts, list(zip(priming["query"], priming["completion"])), cd_rows, math_rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="a local model directory (gpu profile)")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--tiny", action="store_true", help="the cpu profile's tiny Llama instead of --model")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--vllm", action="store_true", help="GRPO generation with vLLM (colocate)")
    ap.add_argument("--out", help="run directory (default: a temp dir)")
    a = ap.parse_args(argv)

    import torch
    import trl  # noqa: F401 - imported before timing so the first stage's seconds are training, not imports

    from pipelines.training.config import cpu_config, gpu_config
    from pipelines.training.runs import evaluate_countdown, evaluation_summary, run_stage

    if a.tiny:
        cfg = cpu_config()
    elif a.model:
        cfg = gpu_config(a.model)
    else:
        ap.error("give --model DIR (a local model directory) or --tiny")
    cfg = cfg.with_(device=a.device, use_vllm=a.vllm, eval_problems=4, eval_max_new_tokens=64 if not a.tiny else 16,
                    stages={k: replace(v, max_steps=a.steps, save_every=a.steps,
                                       batch_size=min(v.batch_size, 8),
                                       max_length=min(v.max_length, 1024),
                                       max_completion_length=min(v.max_completion_length, 128))
                            for k, v in cfg.stages.items()})
    if a.device == "cuda" and not torch.cuda.is_available():
        ap.error("no CUDA device visible; use --device cpu --tiny to exercise the code path")
    problems, texts, pairs, cd_rows, math_rows = _data(n_problems=16)
    root = Path(a.out or tempfile.mkdtemp(prefix="foundry_gpu_smoke_"))
    rows = []

    def measure(stage, fn):
        if a.device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        result = fn()
        secs = time.perf_counter() - t
        peak = torch.cuda.max_memory_allocated() / 2 ** 30 if a.device == "cuda" else None
        tokens = getattr(result, "tokens_seen", 0)
        row = {"stage": stage, "steps": getattr(result, "global_step", 0), "seconds": round(secs, 2),
               "tokens": tokens, "tokens_per_s": round(tokens / secs, 1) if secs else None,
               "peak_gpu_mem_gib": None if peak is None else round(peak, 2)}
        print(json.dumps(row), flush=True)
        rows.append(row)
        return result

    tok_texts = texts + [r["prompt"] for r in cd_rows + math_rows]
    pre = measure("pretrain", lambda: run_stage("pretrain", cfg, root / "pretrain", texts=texts,
                                                tokenizer_texts=tok_texts))
    pri = measure("priming", lambda: run_stage("priming", cfg, root / "priming", base_dir=pre.final_dir, pairs=pairs))
    grpo = measure("grpo_countdown", lambda: run_stage("grpo_countdown", cfg, root / "grpo_countdown",
                                                       base_dir=pri.final_dir, rl_rows=cd_rows))
    measure("grpo_bigmath", lambda: run_stage("grpo_bigmath", cfg, root / "grpo_bigmath", base_dir=pre.final_dir,
                                              rl_rows=math_rows))
    summary = {}

    def evaluate():
        summary.update(evaluation_summary(evaluate_countdown(grpo.final_dir, problems, cfg)))
        return None

    measure("evaluation", evaluate)
    print(f"\n{'stage':<16}{'steps':>6}{'seconds':>10}{'tokens':>10}{'tokens/s':>12}{'peak GPU GiB':>14}")
    for r in rows:
        peak = "n/a" if r["peak_gpu_mem_gib"] is None else f"{r['peak_gpu_mem_gib']:.2f}"
        print(f"{r['stage']:<16}{r['steps']:>6}{r['seconds']:>10.2f}{r['tokens']:>10}{str(r['tokens_per_s']):>12}{peak:>14}")
    print(f"evaluation: {json.dumps(summary)}\nrun directory: {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
