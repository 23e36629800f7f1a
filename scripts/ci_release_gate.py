#!/usr/bin/env python
"""CI quality gate of releases: build the sample release of every registered dataset, then check it.

For each dataset (default: every one in ``pipelines/release/registry.py`` whose family is
importable) this script

1. gets the family's tables: from the warehouse when they are materialized (``--tables warehouse``),
   else by running the family's pipeline functions directly (``--tables pipeline``; ``auto`` picks);
2. builds the release into ``--out`` with a throw-away ledger (CI never touches real ledgers);
3. runs the release gate, ``validators.release.release_gate`` (the same function the Dagster
   release assets run as blocking asset checks): the manifest verifies, every config loads with
   ``datasets.load_dataset``, mlcroissant validates the Croissant file (mlcroissant missing is a
   failure), and every config's Great Expectations suite holds on the rows as released, with Data
   Docs HTML under ``<out>/gx_docs``;

and exits 1 when any check fails (an expectation, a hash, a load, Croissant), 0 otherwise.

    python scripts/ci_release_gate.py                       # all datasets, auto tables
    python scripts/ci_release_gate.py --dataset bigmath --tables pipeline --out var/ci_release
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def gate(spec, frames, profile, out: Path, log=print) -> list[str]:
    """Build one release, then run the release gate on it (``validators.release.release_gate``, the
    same function the Dagster release assets run as blocking checks); returns the failures."""
    from pipelines.release.build import build_release
    from pipelines.release.versions import ReleaseRefused
    from validators import release as gates

    target = out / spec.name / f"v{spec.version}"
    try:
        result = build_release(spec, frames, spec.version, target, ledger_dir=Path(tempfile.mkdtemp(prefix="ledger.")),
                               profile=profile)
    except (ReleaseRefused, KeyError, ValueError) as exc:
        return [f"{spec.name}: build failed: {exc}"]
    log(f"[{spec.name}] built {target}: {result.rows}")
    outcomes = gates.release_gate(spec, profile, target, data_docs_dir=out / "gx_docs")
    for o in outcomes:
        detail = {k: v for k, v in o.metadata.items() if k not in ("results_markdown", "report")}
        log(f"[{spec.name}] {o.check}: {'pass' if o.passed else 'FAIL'} {detail}")
    return gates.gate_failures(spec, outcomes)


def tables_for(spec, profile, mode: str, log=print) -> dict:
    from pipelines.release.warehouse import read_assets

    if mode in ("auto", "warehouse"):
        try:
            frames = read_assets(profile.data_root, spec.assets())
            log(f"[{spec.name}] tables from the warehouse {profile.data_root}")
            return frames
        except FileNotFoundError:
            if mode == "warehouse":
                raise
    if spec.produce is None:
        raise LookupError(f"{spec.name}: not materialized and the spec has no produce(); "
                          f"materialize it (make run) or give the spec a produce()")
    log(f"[{spec.name}] running the family pipeline (no warehouse tables)")
    return spec.produce(profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", action="append", help="dataset name (repeatable); default: all registered")
    parser.add_argument("--tables", choices=["auto", "warehouse", "pipeline"], default="auto")
    parser.add_argument("--out", default=None, help="where to build (default: a temp directory)")
    parser.add_argument("--data-root", default=None, help="warehouse data root (default: the profile's)")
    args = parser.parse_args(argv)

    from pipelines.config import get_profile
    from pipelines.release.registry import REGISTRY

    profile = get_profile(data_root=args.data_root)
    out = Path(args.out or tempfile.mkdtemp(prefix="release_gate."))
    names = args.dataset or sorted(REGISTRY)
    failures: list[str] = []
    skipped: list[str] = []
    for name in names:
        if name not in REGISTRY:
            failures.append(f"{name}: not a registered dataset (known: {', '.join(sorted(REGISTRY))})")
            continue
        spec = REGISTRY[name]
        try:
            frames = tables_for(spec, profile, args.tables)
        except LookupError as exc:  # only reachable for specs without produce(): say so, loudly
            skipped.append(str(exc))
            print(f"SKIP {exc}")
            continue
        except Exception as exc:  # a family that cannot produce its tables fails the gate, with why
            failures.append(f"{name}: cannot get tables: {type(exc).__name__}: {exc}")
            continue
        failures += gate(spec, frames, profile, out)
    print(f"release gate: {len(names)} dataset(s), {len(skipped)} skipped, {len(failures)} failure(s); output in {out}")
    for s in skipped:
        print(f"SKIPPED {s}")
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
