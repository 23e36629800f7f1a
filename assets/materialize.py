"""Materialize everything: every unpartitioned asset and every partition of every partitioned one,
in dependency order, in the Dagster instance (``$DAGSTER_HOME``), with no daemon. ``make run``.

A Dagster job runs one partitions definition, so ``foundry_all`` cannot hold the partitioned
assets; this walks the asset graph level by level instead: one run for a level's unpartitioned
assets, one run per partition key for its partitioned ones. Every run is recorded in the instance,
so the UI shows them as if launched there. The training group (its own ``training_job``)
and assets tagged ``requires=llm`` with their downstream are left out, as in ``foundry_all``. ``--select a,b`` limits it to some assets (their upstreams must exist);
``--dry-run`` prints the plan.

    python -m assets.materialize [--select KEY,...] [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions, ExecuteInProcessResult, materialize


def _defs() -> Definitions:
    # imported when called: family discovery imports every module of this package, this one included
    from assets.definitions import defs

    return defs


def plan(assets: Sequence, resources: dict,
         selected: set[AssetKey] | None = None) -> list[tuple[list[AssetKey], str | None]]:
    """(asset keys, partition key or None) per run, in an order where upstreams come first."""
    graph = Definitions(assets=list(assets), resources=resources).resolve_asset_graph()
    keys = [k for k in graph.toposorted_asset_keys if graph.get(k).is_materializable]
    level: dict[AssetKey, int] = {}
    for k in keys:  # toposorted: parents already have a level
        level[k] = 1 + max((level[p] for p in graph.get(k).parent_keys if p in level), default=-1)
    runs: list[tuple[list[AssetKey], str | None]] = []
    for lv in range(max(level.values(), default=-1) + 1):
        at = [k for k in keys if level[k] == lv and (selected is None or k in selected)]
        plain = sorted((k for k in at if graph.get(k).partitions_def is None), key=lambda k: k.to_user_string())
        if plain:
            runs.append((plain, None))
        by_pd: dict[str, list[AssetKey]] = {}
        pds = {}
        for k in at:
            pd = graph.get(k).partitions_def
            if pd is not None:
                ident = repr(pd.get_partition_keys())
                by_pd.setdefault(ident, []).append(k)
                pds[ident] = pd
        for ident, group in sorted(by_pd.items()):
            group = sorted(group, key=lambda k: k.to_user_string())
            runs.extend((group, pk) for pk in pds[ident].get_partition_keys())
    return runs


def materialize_all(assets: Sequence, resources: dict, instance: DagsterInstance,
                    selected: set[AssetKey] | None = None, raise_on_error: bool = True, stop_on_failure: bool = True,
                    log=None) -> list[ExecuteInProcessResult]:
    """Run :func:`plan` with ``materialize``; the results in order (stops at the first failed run
    unless ``stop_on_failure`` is False)."""
    runs = plan(assets, resources, selected)
    family_of = {k: a.tags_by_key.get(k, {}).get("family", "") for a in assets for k in getattr(a, "keys", ())}
    results = []
    for i, (keys, partition) in enumerate(runs, 1):
        if log:
            log(f"[{i}/{len(runs)}] {', '.join(k.to_user_string() for k in keys)}"
                + (f" partition={partition}" if partition else ""))
        result = materialize(list(assets), selection=AssetSelection.assets(*keys), partition_key=partition,
                             instance=instance, resources=resources, raise_on_error=raise_on_error,
                             tags={"launched_by": "assets.materialize",
                                   "family": "+".join(sorted({family_of.get(k) or "none" for k in keys}))})
        results.append(result)
        if not result.success and stop_on_failure:
            break
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assets.materialize", description=__doc__.split("\n\n")[0])
    ap.add_argument("--select", help="comma-separated asset keys (default: every asset)")
    ap.add_argument("--dry-run", action="store_true", help="print the runs, launch nothing")
    args = ap.parse_args(argv)
    defs = _defs()
    if args.select:
        selected = {AssetKey(s.strip()) for s in args.select.split(",")}
    else:  # everything but the training stage and what needs an LLM endpoint (as foundry_all)
        from assets.definitions import default_exclusions

        graph = defs.resolve_asset_graph()
        selected = set(graph.get_all_asset_keys()) - set(default_exclusions().resolve(graph))
    assets = list(defs.assets or []) + list(defs.asset_checks or [])
    if args.dry_run:
        for i, (keys, partition) in enumerate(plan(assets, dict(defs.resources or {}), selected), 1):
            print(f"[{i}] {', '.join(k.to_user_string() for k in keys)}" + (f" partition={partition}" if partition else ""))
        return 0
    with DagsterInstance.get() as instance:
        results = materialize_all(assets, dict(defs.resources or {}), instance, selected, raise_on_error=False,
                                  log=lambda line: print(line, flush=True))
    failed = [r for r in results if not r.success]
    if failed:
        print(f"run {failed[0].run_id} failed; see `make ui` -> Runs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
