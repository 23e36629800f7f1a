"""The release gate: one function, :func:`release_gate`, that the Dagster release assets (as blocking
asset checks) and CI (``scripts/ci_release_gate.py``) both run on a built release directory.

It checks, each as one named outcome:

- ``manifest_verifies``: every file re-hashes to its manifest entry; nothing missing or extra;
- ``loads_with_datasets``: ``datasets.load_dataset(<dir>, <config>)`` gives the manifest's splits and rows;
- ``croissant_valid``: mlcroissant accepts ``croissant.json`` and it describes every config/split. A
  missing mlcroissant is a failure, never a pass: an unchecked release must not look checked;
- ``gx_release_suite``: every released config has a Great Expectations suite registered here, and it
  holds on the rows exactly as released.

A family's suite is added with one line in ``FAMILY_SUITES`` (``"<dataset>/<config>"`` -> expectations
of the family's own validators module). Every allowed value in an expectation comes from a
declaration (the profile's sources, the family's constants, the manifest's row counts), never from
the rows being checked: an allowed set read off the data cannot fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipelines.release.croissant import validate_croissant
from pipelines.release.manifest import read_manifest, verify_release
from pipelines.release.spec import DatasetSpec

CHECK_MANIFEST = "manifest_verifies"
CHECK_LOADS = "loads_with_datasets"
CHECK_CROISSANT = "croissant_valid"
CHECK_GX = "gx_release_suite"

# check name -> what it means (the asset check descriptions the UI shows)
GATE_CHECKS: dict[str, str] = {
    CHECK_MANIFEST: "every file re-hashes to its manifest entry; no file missing or extra",
    CHECK_LOADS: "datasets.load_dataset(<release dir>) gives the manifest's splits and rows",
    CHECK_CROISSANT: "mlcroissant validates croissant.json and it has a record set per config/split "
                     "(a missing mlcroissant fails)",
    CHECK_GX: "every released config has its Great Expectations suite and it holds on the rows as released "
              "(Data Docs HTML)",
}


# ------------------------------------------------------------------ family suites


def _declared_sources(dataset: str, profile) -> list[str]:
    from pipelines.release.registry import REGISTRY

    return [s.name for s in REGISTRY[dataset].sources(profile)]


def _bigmath(profile) -> list:
    from validators import bigmath as rules

    return rules.kept_expectations(_declared_sources("bigmath", profile), profile.bigmath.normalize.max_problem_chars)


def _bigmath_published(profile) -> list:
    """Big-Math's kept suite over the published sources (originals and ``<source>_reformulated``), plus
    the row's method: 'filtered' (set by assets/bigmath_reformulated.py) or a reformulation method."""
    import great_expectations as gx

    from validators import bigmath as rules
    from validators.reformulation import METHODS

    return rules.kept_expectations(_declared_sources("bigmath_published", profile),
                                   profile.bigmath.normalize.max_problem_chars) + [
        gx.expectations.ExpectColumnValuesToBeInSet(column="method", value_set=["filtered", *METHODS])]


def _countdown(which: str) -> Callable[[object], list]:
    def expectations(profile) -> list:
        from pipelines.countdown.config import config_for_profile
        from validators import countdown as rules

        if which == "problems":
            return rules.problems_expectations(config_for_profile(profile.name, seed=profile.seed))
        return rules.traces_expectations() if which == "traces" else rules.priming_expectations()

    return expectations


def _episodes(profile) -> list:
    from validators import episodes as rules

    return rules.episodes_expectations(_declared_sources("episodes", profile))


def _episode_steps(profile) -> list:
    """The steps table as released: ids shaped like the episodes table's, declared sources only, RLDS
    flags always set, discounts in [0, 1]. (The (episode_id, step_index) key is the generic suite's.)"""
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToMatchRegex(column="episode_id", regex=r"^ep_[0-9a-f]{16}$"),
        E.ExpectColumnValuesToBeInSet(column="source", value_set=_declared_sources("episodes", profile)),
        E.ExpectColumnValuesToBeBetween(column="step_index", min_value=0),
        *[E.ExpectColumnValuesToNotBeNull(column=c) for c in ("is_first", "is_last", "is_terminal", "reward")],
        E.ExpectColumnValuesToBeBetween(column="discount", min_value=0, max_value=1),
    ]


def _fspo(which: str) -> Callable[[object], list]:
    def expectations(profile) -> list:
        from pipelines.fspo.config import config_for_profile
        from validators import fspo as rules

        if which == "episodes":
            return rules.episode_expectations(config_for_profile(profile.name, seed=profile.seed).max_episode_tokens)
        return rules.roleplay_expectations() if which == "roleplay" else rules.pairs_expectations()

    return expectations


# "<dataset>/<config>" -> (profile -> the family's own expectations on that config's released rows)
FAMILY_SUITES: dict[str, Callable[[object], list]] = {
    "bigmath/default": _bigmath,
    "bigmath_published/default": _bigmath_published,
    "countdown/problems": _countdown("problems"),
    "countdown/search_traces": _countdown("traces"),
    "countdown/priming": _countdown("priming"),
    "episodes/episodes": _episodes,
    "episodes/steps": _episode_steps,
    **{f"fspo/{c}": _fspo(c) for c in ("review", "elix", "roleplay", "episodes")},
}


def suite_name(spec: DatasetSpec) -> str:
    return f"release_{spec.name}_suite"


def missing_suites(spec: DatasetSpec) -> list[str]:
    """The configs of ``spec`` that have no family suite in ``FAMILY_SUITES``."""
    return [f"{spec.name}/{c.name}" for c in spec.configs if f"{spec.name}/{c.name}" not in FAMILY_SUITES]


def release_expectations(spec: DatasetSpec, profile, rows: int, sources: list[str] | None,
                         columns: list[str] | None = None, id_column: str | tuple[str, ...] | None = None,
                         config: str | None = None) -> list:
    """Generic expectations of a released config/split plus the family's suite for that config.

    ``rows`` is the row count the manifest declares (not the frame's height: that would always hold).
    """
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
    if family is not None:
        out += family(profile)
    return out


# ------------------------------------------------------------------ the checks


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


def croissant_valid(directory: str | Path) -> tuple[bool, dict]:
    """mlcroissant validates ``croissant.json`` (blocking: not installed = failed) and its record sets
    are exactly the manifest's config/splits."""
    import json

    path = Path(directory) / "croissant.json"
    if not path.exists():
        return False, {"message": f"{path}: missing; rebuild the release (`foundry release build`)"}
    ok, message = validate_croissant(path)
    if not ok:
        return False, {"message": message}
    doc = json.loads(path.read_text(encoding="utf-8"))
    have = sorted(r.get("@id", "") for r in doc.get("recordSet", []))
    want = sorted(f"{c}_{s}" for c, splits in read_manifest(directory)["configs"].items() for s in splits)
    if have != want:
        return False, {"message": f"{path}: record sets {have} != the manifest's config/splits {want}; "
                                  f"rebuild the release"}
    return True, {"message": message}


def validate_release(spec: DatasetSpec, profile, directory: str | Path, data_docs_dir: str | Path | None = None,
                     sources: list[str] | None = None) -> tuple[bool, dict]:
    """Every config/split of the release against the generic expectations plus the family's suite
    for that config (``FAMILY_SUITES``); a config without a registered suite fails. Data Docs HTML
    per suite under ``data_docs_dir``."""
    from pipelines.release.manifest import read_split
    from validators.gx import validate_frame

    import polars as pl

    if sources is None:
        sources = [s.name for s in spec.sources(profile)] or None
    manifest = read_manifest(directory)
    results, docs, failed = [], [], []
    for missing in missing_suites(spec):
        failed.append(f"{missing}: no Great Expectations suite registered; add one to FAMILY_SUITES "
                      f"in validators/release.py")
    for cfg in spec.configs:
        for split in cfg.splits:
            rows = read_split(directory, cfg.name, split.name)
            # GX gets pandas; nested struct columns (search trees) are never looked into
            rows = rows.drop([c for c, t in rows.schema.items() if t == pl.Struct or
                              (isinstance(t, pl.List) and isinstance(t.inner, pl.Struct))])
            suite = f"{suite_name(spec)}__{cfg.name}__{split.name}"
            declared = manifest["configs"][cfg.name][split.name]["rows"]
            exps = release_expectations(spec, profile, declared, sources, rows.columns, spec.id_of(cfg), cfg.name)
            ok, meta = validate_frame(rows, suite, exps, data_docs_dir=data_docs_dir)
            results.append(f"### {cfg.name}/{split.name}: {'pass' if ok else 'FAIL'}\n\n{meta['results_markdown']}")
            if "data_docs" in meta:
                docs.append(meta["data_docs"])
            if not ok:
                failed.append(f"{cfg.name}/{split.name}: {meta['failed']}")
    return not failed, {"suites": len(results), "failed": "; ".join(failed) or "none",
                        "data_docs": "\n".join(docs) or "not built", "results_markdown": "\n\n".join(results)}


@dataclass(frozen=True)
class GateOutcome:
    check: str  # one of GATE_CHECKS
    passed: bool
    metadata: dict = field(default_factory=dict)


def release_gate(spec: DatasetSpec, profile, directory: str | Path, *,
                 data_docs_dir: str | Path | None = None) -> list[GateOutcome]:
    """Every check of ``GATE_CHECKS`` on the built release ``directory``, in that order.

    A check that raises (a corrupt Parquet file, an unreadable manifest) is a failed outcome whose
    metadata says why, so every check still runs and reports.
    """
    checks: dict[str, Callable[[], tuple[bool, dict]]] = {
        CHECK_MANIFEST: lambda: manifest_verifies(directory),
        CHECK_LOADS: lambda: loads_with_datasets(directory),
        CHECK_CROISSANT: lambda: croissant_valid(directory),
        CHECK_GX: lambda: validate_release(spec, profile, directory, data_docs_dir=data_docs_dir),
    }
    out = []
    for name, run in checks.items():
        try:
            ok, meta = run()
        except Exception as exc:  # noqa: BLE001 - a broken release fails its check, it does not stop the gate
            ok, meta = False, {"error": f"{directory}: {type(exc).__name__}: {exc}"}
        out.append(GateOutcome(name, bool(ok), meta))
    return out


def gate_failures(spec: DatasetSpec, outcomes: list[GateOutcome]) -> list[str]:
    """One line per failed outcome, naming the dataset, the check and why."""
    lines = []
    for o in outcomes:
        if o.passed:
            continue
        why = o.metadata.get("failed") or o.metadata.get("message") or o.metadata.get("problems") \
            or o.metadata.get("error") or o.metadata.get("report", "")
        lines.append(f"{spec.name}: {o.check} failed: {why}")
    return lines
