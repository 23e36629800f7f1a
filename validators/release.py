"""Quality gates of releases: the manifest verifies, the shards load, and each published dataset's
Great Expectations suite holds on the rows exactly as released.

A family's suite is added with one line in ``FAMILY_SUITES`` (dataset name -> expectations of the
family's own validators module); every release also gets the generic expectations below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pipelines.release.manifest import read_manifest, verify_release
from pipelines.release.spec import DatasetSpec


def _bigmath(profile) -> list:
    from validators import bigmath as rules

    return rules.kept_expectations([s.name for s in profile.bigmath.sources], profile.bigmath.normalize.max_problem_chars)


def _countdown(which: str) -> Callable[[object], list]:
    def expectations(profile) -> list:
        from pipelines.countdown.config import config_for_profile
        from validators import countdown as rules

        if which == "problems":
            return rules.problems_expectations(config_for_profile(profile.name, seed=profile.seed))
        return rules.traces_expectations() if which == "traces" else rules.priming_expectations()

    return expectations


# "<dataset>/<config>" -> (profile -> the family's own expectations on that config's released rows)
def _episodes(profile) -> list:
    from pipelines.release.registry import _episode_sources
    from validators import episodes as rules

    return rules.episodes_expectations([s.name for s in _episode_sources(profile)])


FAMILY_SUITES: dict[str, Callable[[object], list]] = {
    "episodes/episodes": _episodes,
    "bigmath/default": _bigmath,
    "countdown/problems": _countdown("problems"),
    "countdown/search_traces": _countdown("traces"),
    "countdown/priming": _countdown("priming"),
}


def suite_name(spec: DatasetSpec) -> str:
    return f"release_{spec.name}_suite"


def release_expectations(spec: DatasetSpec, profile, rows: int, sources: list[str] | None,
                         columns: list[str] | None = None, id_column: str | tuple[str, ...] | None = None,
                         config: str | None = None) -> list:
    """Generic expectations of a released config/split plus the family's own suite."""
    import great_expectations as gx

    E = gx.expectations
    key = id_column or spec.id_column
    out = [E.ExpectTableRowCountToEqual(value=rows)]
    if isinstance(key, str):
        out += [E.ExpectColumnValuesToNotBeNull(column=key), E.ExpectColumnValuesToBeUnique(column=key)]
    else:
        out += [E.ExpectColumnValuesToNotBeNull(column=c) for c in key]
        out.append(E.ExpectCompoundColumnsToBeUnique(column_list=list(key)))
    if spec.source_column and sources and (columns is None or spec.source_column in columns):
        out.append(E.ExpectColumnValuesToBeInSet(column=spec.source_column, value_set=sources))
    family = FAMILY_SUITES.get(f"{spec.name}/{config or spec.default_config().name}")
    if family is not None and profile is not None:
        out += family(profile)
    return out


def manifest_verifies(directory: str | Path) -> tuple[bool, dict]:
    report = verify_release(directory)
    return report.ok, {"files_checked": report.checked, "report": "\n".join(report.lines())}


def loads_with_datasets(directory: str | Path) -> tuple[bool, dict]:
    """``datasets.load_dataset(<dir>)`` of every config gives the manifest's splits and row counts."""
    import datasets

    manifest = read_manifest(directory)
    problems, seen = [], {}
    for config, splits in manifest["configs"].items():
        try:
            ds = datasets.load_dataset(str(directory), config)
        except Exception as exc:  # datasets raises many types; report it as a failed check
            problems.append(f"{config}: {type(exc).__name__}: {exc}")
            continue
        got = {name: d.num_rows for name, d in ds.items()}
        want = {name: s["rows"] for name, s in splits.items()}
        seen[config] = got
        if got != want:
            problems.append(f"{config}: loaded {got}, manifest says {want}")
    return not problems, {"loaded": str(seen), "problems": "\n".join(problems) or "none"}


def validate_release(spec: DatasetSpec, profile, directory: str | Path, data_docs_dir: str | Path | None = None,
                     sources: list[str] | None = None) -> tuple[bool, dict]:
    """Every config/split of the release against the generic expectations plus the family's suite
    for that config (``FAMILY_SUITES``); Data Docs HTML per suite under ``data_docs_dir``."""
    from pipelines.release.manifest import read_split
    from validators.gx import validate_frame

    import polars as pl

    results, docs, failed = [], [], []
    for cfg in spec.configs:
        for split in cfg.splits:
            rows = read_split(directory, cfg.name, split.name)
            # GX gets pandas; nested struct columns (search trees) are never looked into
            rows = rows.drop([c for c, t in rows.schema.items() if t == pl.Struct or
                              (isinstance(t, pl.List) and isinstance(t.inner, pl.Struct))])
            suite = f"{suite_name(spec)}__{cfg.name}__{split.name}"
            exps = release_expectations(spec, profile, rows.height, sources, rows.columns, spec.id_of(cfg), cfg.name)
            ok, meta = validate_frame(rows, suite, exps, data_docs_dir=data_docs_dir)
            results.append(f"### {cfg.name}/{split.name}: {'pass' if ok else 'FAIL'}\n\n{meta['results_markdown']}")
            if "data_docs" in meta:
                docs.append(meta["data_docs"])
            if not ok:
                failed.append(f"{cfg.name}/{split.name}: {meta['failed']}")
    return not failed, {"suites": len(results), "failed": "; ".join(failed) or "none",
                        "data_docs": "\n".join(docs) or "not built", "results_markdown": "\n\n".join(results)}
