"""OWM scoring: documents/s and peak memory on a corpus many times the sample, streaming (record
batches in, rows out as they are scored) vs loading the whole corpus first.

The corpus is the sample's 1,987 documents resampled with replacement (seeded) ``--scale`` times
into one Parquet shard with 1,024-row row groups, like a Hub shard. Each (mode, scorer) runs in a
fresh process so its peak RSS is its own; "over imports" is the peak minus the RSS after the
imports and a warm-up call, i.e. the memory the scoring itself took:

- stream: ``pipelines.owm.scorefile.score_files`` (the ``foundry owm score`` path);
- whole: the same reader with the whole file as one batch -> one ``score`` call -> one output table.

Selection (``--only select``, or after the scoring table): peak memory and CPU seconds of building
both corpora from the same corpus, two-pass (``pipelines.owm.pipeline.build_corpora``: pass 1 keeps
a ledger row per document, pass 2 rereads and scores only the chosen) vs one frame (every scored
document in memory, then ``select_corpora``); the selected sets are compared byte for byte.

Engine (``--only engine``, or after the selection table): documents/s of the streamed scoring
(``pipelines.owm.distributed.stream_scored_on_engine``, the ``owm_scores`` asset's path) on the
``local`` engine in-process and with 2 worker processes, and on a Ray cluster started on this
machine with 1 and 2 worker CPUs, baseline scorer; the scored tables are compared byte for byte.

Scorers: ``baseline`` (the lexical detector) and ``classifier`` (hashed n-grams + linear heads;
trained here on the baseline's own labels for lack of an LLM: its speed and memory are what is
measured, not its quality).

    python benchmarks/owm_scoring.py [--scale 10] [--quick] [--only score|select|engine]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_corpus(path: Path, scale: int, seed: int = 0) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.owm.config import SAMPLE_SHARDS

    sample = pa.concat_tables([pq.read_table(p) for p in SAMPLE_SHARDS])
    idx = np.random.default_rng(seed).integers(0, sample.num_rows, size=sample.num_rows * scale)
    pq.write_table(sample.take(pa.array(idx)), path, row_group_size=1024, compression="zstd")
    return int(idx.size)


def train_stand_in(path: Path) -> None:
    """A classifier on the baseline's labels (no LLM here); saved to ``path``."""
    import numpy as np
    import pyarrow.parquet as pq

    from pipelines.behaviors.detector import BEHAVIORS
    from pipelines.owm.config import SAMPLE_SHARDS
    from pipelines.owm.scorers import BaselineScorer, FeatureConfig, train_classifier

    texts = [t for p in SAMPLE_SHARDS for t in pq.read_table(p, columns=["text"]).column("text").to_pylist()]
    base = BaselineScorer().score(texts)
    y = np.stack([(base[b] > 0).astype(int) for b in BEHAVIORS], axis=1)
    batches = [(texts[i:i + 256], y[i:i + 256]) for i in range(0, len(texts), 256)]
    train_classifier(batches, FeatureConfig(epochs=2)).save(path)


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process from /proc (Linux). Not ru_maxrss: Linux carries
    that high-water mark over from the parent across fork/exec, so every child would report the
    parent's peak."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def select_child(mode: str, corpus: str, out: str) -> None:
    """Both corpora from ``corpus`` with the baseline scorer: ``two_pass`` or ``one_frame``."""
    import hashlib
    import io
    import resource

    from pipelines.owm.config import for_profile
    from pipelines.owm.pipeline import build_corpora, read_scored
    from pipelines.owm.scorers import BaselineScorer
    from pipelines.owm.select import load_tokenizer, select_corpora

    cfg = for_profile("sample").with_(shards=(corpus,), batch_rows=1024)
    scorer = BaselineScorer()
    scorer.score(["warm-up so lazy imports are not counted as work"])
    load_tokenizer(cfg.tokenizer_path).encode("warm-up")
    base = _status_mb("VmRSS")
    cpu0, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if mode == "two_pass":
        sel = build_corpora(cfg, scorer).selection
    else:
        scored, _ = read_scored(cfg, scorer)
        sel = select_corpora(scored, cfg)
    elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    digest = hashlib.sha256()
    for frame in (sel.enriched, sel.control):
        buf = io.BytesIO()
        frame.write_parquet(buf)
        digest.update(buf.getvalue())
    print(json.dumps({"docs": sel.stats["documents_in"], "seconds": elapsed,
                      "cpu_seconds": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
                      "peak_rss_mb": _status_mb("VmHWM"), "work_rss_mb": _status_mb("VmHWM") - base,
                      "selected": sel.stats["documents"], "sets_sha256": digest.hexdigest()[:16]}))


ENGINES = {"local-1": ("local", 1), "local-2": ("local", 2), "ray-1": ("ray", 1), "ray-2": ("ray", 2)}


def engine_child(name: str, corpus: str) -> None:
    """Streamed baseline scoring of ``corpus`` on one engine: docs/s (wall, engine start excluded)."""
    import hashlib
    import io

    import polars as pl

    from pipelines.engine import EngineConfig, make_engine
    from functools import partial

    from pipelines.owm.distributed import stream_scored_on_engine
    from pipelines.owm.pipeline import DOC_SCHEMA, score_frame
    from pipelines.owm.reader import iter_batches
    from pipelines.owm.scorers import BaselineScorer

    kind, workers = ENGINES[name]
    scorer = BaselineScorer()
    engine = make_engine(EngineConfig(kind=kind, num_workers=workers))
    try:
        # a few tiny batches first, so cluster and worker start-up are not counted as scoring
        first = next(iter(iter_batches(corpus, None, 8)))
        engine.map_batches(partial(score_frame, scorer=scorer), [pl.DataFrame(first.kept, schema=DOC_SCHEMA)] * 2 * workers)
        start = time.perf_counter()
        frames = [scored for scored, _ in stream_scored_on_engine([corpus], scorer, engine, batch_rows=1024)]
        elapsed = time.perf_counter() - start
    finally:
        engine.close()
    table = pl.concat(frames, how="vertical")
    buf = io.BytesIO()
    table.write_parquet(buf)
    print(json.dumps({"engine": name, "docs": table.height, "seconds": elapsed,
                      "sha256": hashlib.sha256(buf.getvalue()).hexdigest()[:16]}))


def engine_table(corpus: Path) -> None:
    print(f"\n{'engine':<8} {'docs':>7} {'wall s':>8} {'docs/s':>8}  scored table")
    digests = set()
    for name in ENGINES:
        out = subprocess.run([sys.executable, __file__, "--engine-child", name, str(corpus)],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        digests.add(r["sha256"])
        print(f"{name:<8} {r['docs']:>7} {r['seconds']:>8.1f} {r['docs'] / r['seconds']:>8.0f}  {r['sha256']}")
    print("scored tables " + ("byte-identical on every engine" if len(digests) == 1 else "DIFFER between engines"))
    if len(digests) != 1:
        raise SystemExit("the engines' scored tables differ")


def child(mode: str, scorer_spec: str, corpus: str, out: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.behaviors.detector import BEHAVIORS
    from pipelines.owm.reader import read_all
    from pipelines.owm.scorefile import OUT_SCHEMA, SCORED, score_files
    from pipelines.owm.scorers import load_scorer

    scorer = load_scorer(scorer_spec)
    scorer.score(["warm-up so lazy imports are not counted as work"])
    base = _status_mb("VmRSS")
    start = time.perf_counter()
    if mode == "stream":
        n = score_files([corpus], out, scorer, batch_rows=1024)["rows"]
    else:  # the same reader and output, but every row in memory at once
        docs = read_all([corpus], batch_rows=1 << 30).kept
        scores = scorer.score([d["text"] for d in docs])
        rows = [{"file": corpus, "row": d["row"], "doc_id": d["doc_id"], "status": SCORED, "reason": None, "detail": None,
                 **{f"score_{b}": float(scores[b][i]) for b in BEHAVIORS}, "scorer_version": scorer.version}
                for i, d in enumerate(docs)]
        pq.write_table(pa.Table.from_pylist(rows, schema=OUT_SCHEMA), out, compression="zstd")
        n = len(rows)
    elapsed = time.perf_counter() - start
    print(json.dumps({"docs": n, "seconds": elapsed, "peak_rss_mb": _status_mb("VmHWM"),
                      "work_rss_mb": _status_mb("VmHWM") - base}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=10, help="corpus = sample x SCALE documents (default 10)")
    ap.add_argument("--quick", action="store_true", help="scale 2, for CI")
    ap.add_argument("--only", choices=("score", "select", "engine"), default=None, help="run one of the three tables")
    ap.add_argument("--engine-child", nargs=2, metavar=("ENGINE", "CORPUS"), help=argparse.SUPPRESS)
    ap.add_argument("--child", nargs=4, metavar=("MODE", "SCORER", "CORPUS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine_child:
        engine_child(*args.engine_child)
        return
    if args.child:
        if args.child[0] in ("two_pass", "one_frame"):
            select_child(args.child[0], args.child[2], args.child[3])
        else:
            child(*args.child)
        return
    scale = 2 if args.quick else args.scale
    with tempfile.TemporaryDirectory(prefix="owm-bench-") as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus.parquet"
        n = build_corpus(corpus, scale)
        size_mb = corpus.stat().st_size / 1e6
        print(f"corpus: {n} documents (sample x {scale}), {size_mb:.1f} MB Parquet")
        if args.only in (None, "score"):
            score_table(tmp, corpus)
        if args.only in (None, "select"):
            select_table(tmp, corpus)
        if args.only in (None, "engine"):
            engine_table(corpus)


def select_table(tmp: Path, corpus: Path) -> None:
    print(f"\n{'selection':<10} {'docs':>7} {'wall s':>8} {'CPU s':>7} {'peak RSS MB':>12} {'over imports MB':>16}  sets")
    results = {}
    for mode in ("two_pass", "one_frame"):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "baseline", str(corpus), str(tmp / mode)],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        r = results[mode] = json.loads(out)
        print(f"{mode:<10} {r['docs']:>7} {r['seconds']:>8.1f} {r['cpu_seconds']:>7.1f} {r['peak_rss_mb']:>12.0f} "
              f"{r['work_rss_mb']:>16.0f}  {r['sets_sha256']} {r['selected']}")
    same = results["two_pass"]["sets_sha256"] == results["one_frame"]["sets_sha256"]
    print(f"two-pass selection: {results['two_pass']['work_rss_mb']:.0f} MB over imports vs "
          f"{results['one_frame']['work_rss_mb']:.0f} MB in one frame, CPU "
          f"{results['two_pass']['cpu_seconds'] / results['one_frame']['cpu_seconds']:.2f}x; selected sets "
          f"{'byte-identical' if same else 'DIFFER'}")
    if not same:
        raise SystemExit("the two selections differ")


def score_table(tmp: Path, corpus: Path) -> None:
    model = tmp / "clf.npz"
    train_stand_in(model)
    print(f"{'scorer':<11} {'mode':<7} {'docs/s':>9} {'peak RSS MB':>12} {'over imports MB':>16}")
    results = {}
    for scorer in ("baseline", "classifier"):
        for mode in ("stream", "whole"):
            spec = "baseline" if scorer == "baseline" else str(model)
            out = subprocess.run([sys.executable, __file__, "--child", mode, spec, str(corpus), str(tmp / f"{scorer}-{mode}.parquet")],
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            results[(scorer, mode)] = r
            print(f"{scorer:<11} {mode:<7} {r['docs'] / r['seconds']:>9.0f} {r['peak_rss_mb']:>12.0f} {r['work_rss_mb']:>16.0f}")
    for scorer in ("baseline", "classifier"):
        s, w = results[(scorer, "stream")], results[(scorer, "whole")]
        print(f"{scorer}: streaming needs {s['work_rss_mb']:.0f} MB over imports vs {w['work_rss_mb']:.0f} MB loading whole, "
              f"speed {(s['docs'] / s['seconds']) / (w['docs'] / w['seconds']):.2f}x")


if __name__ == "__main__":
    main()
