"""Releases: one Hub-ready, versioned directory per published dataset, gated by the family's checks.

Every dataset declared in ``pipelines/release/registry.py`` whose asset tables exist in this code
location gets an asset ``release_<dataset>``. It takes the family's tables as inputs, so when a
blocking check of those tables fails in a run (schema, row conservation, the family's Great
Expectations suite, ...) the release is not built. The directory goes to
``<data root>/releases/<profile>/<dataset>/v<version>/`` with the ledger of built versions beside it.
The built directory then passes the release gate, ``validators.release.release_gate`` (the function
CI's ``scripts/ci_release_gate.py`` runs too): manifest, ``datasets`` load, Croissant (mlcroissant,
blocking) and every config's GX suite, each a blocking asset check.
"""

from pathlib import Path

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.families import family_modules
from assets.io import register_view
from assets.metadata import asset_surface, image_metadata
from assets.resources import FoundryResource
from pipelines.release.build import FUNNEL_PLOT, build_release
from pipelines.release.registry import REGISTRY
from pipelines.release.spec import DatasetSpec
from pipelines.release.versions import ReleaseRefused
from validators import release as gates
from validators.common import to_check_result

FAMILY = "release"
GROUP = "release"

# the release gate's checks: one list, shared with CI (scripts/ci_release_gate.py)
CHECK_MANIFEST, CHECK_LOADS, CHECK_CROISSANT, CHECK_GX = (gates.CHECK_MANIFEST, gates.CHECK_LOADS, gates.CHECK_CROISSANT,
                                                          gates.CHECK_GX)


class ReleaseConfig(Config):
    """Launch-time choice of version; empty = the version declared in the registry."""

    version: str = ""


def release_key(spec: DatasetSpec) -> AssetKey:
    return AssetKey(f"release_{spec.name}")


def release_dir(foundry: FoundryResource, spec: DatasetSpec, version: str) -> Path:
    profile = foundry.profile()
    return profile.data_root / "releases" / profile.name / spec.name / f"v{version}"


def ledger_dir(foundry: FoundryResource, spec: DatasetSpec) -> Path:
    profile = foundry.profile()
    return profile.data_root / "releases" / profile.name / spec.name / "ledger"


def _readable(meta: dict) -> dict:
    """Check metadata for the UI: the per-expectation table as markdown."""
    return {k: MetadataValue.md(v) if k == "results_markdown" else v for k, v in meta.items()}


def build_release_asset(spec: DatasetSpec) -> AssetsDefinition:
    """The release asset of ``spec``: inputs are every table it names (so their blocking checks gate it)."""
    key = release_key(spec)
    ins = {name: AssetIn(key=AssetKey(name)) for name in spec.assets()}

    @asset(
        key=key, group_name=GROUP, ins=ins, **asset_surface(FAMILY, "release", {"parquet", "huggingface"}),
        description=f"{spec.pretty_name}: the Hub-ready release directory (README card, Parquet shards per config "
                    f"and split, manifest.json with SHA-256 per file, croissant.json, CHANGELOG.md) built from "
                    f"{', '.join(spec.assets())}. A built version is immutable; publish it with "
                    f"`foundry release publish`.",
        check_specs=[AssetCheckSpec(name, asset=key, blocking=True, description=description)
                     for name, description in gates.GATE_CHECKS.items()],
    )
    def _release(context: AssetExecutionContext, config: ReleaseConfig, foundry: FoundryResource, **tables):
        profile = foundry.profile()
        version = config.version or spec.version
        out = release_dir(foundry, spec, version)
        try:
            result = build_release(spec, tables, version, out, ledger_dir=ledger_dir(foundry, spec), profile=profile)
        except ReleaseRefused as exc:
            raise Failure(description=str(exc)) from exc
        manifest = result.manifest
        context.log.info(f"{spec.name} {version} -> {out} ({'reproduced' if result.reproduced else 'new version'})")

        outcomes = gates.release_gate(spec, profile, out, data_docs_dir=foundry.artifact_dir("gx_docs"))
        metadata = {
            "path": MetadataValue.path(str(out)),
            "version": MetadataValue.text(version),
            "content_hash": MetadataValue.text(manifest["content_hash"]),
            "dagster/row_count": MetadataValue.int(manifest["rows"]),
            "rows_per_split": MetadataValue.json(result.rows),
            "licenses": MetadataValue.json(manifest["licenses"]),
            "reproduced": MetadataValue.bool(result.reproduced),
            "card": MetadataValue.md((out / "README.md").read_text(encoding="utf-8").split("\n---\n", 1)[-1][:20000]),
        }
        if (out / FUNNEL_PLOT).exists():
            metadata.update(image_metadata(out / FUNNEL_PLOT, "funnel_plot"))
        views = []
        for config_dir in sorted(p for p in (out / "data").iterdir() if p.is_dir()):
            name = f"{key.path[-1]}__{config_dir.name}"  # the released rows, queryable by name
            register_view(foundry.root() / "foundry.duckdb", name, config_dir / "*.parquet", hive=False)
            views.append(name)
        metadata["duckdb_views"] = MetadataValue.text(", ".join(views))
        return MaterializeResult(metadata=metadata, check_results=[
            to_check_result(o.check, (o.passed, _readable(o.metadata)), asset_key=key) for o in outcomes])

    return _release


def _available_tables() -> set[str]:
    """Asset names defined by the other family modules of this package, so a release only exists
    for a family whose assets are in this code location."""
    names: set[str] = set()
    exclude = ("definitions", "families", "resources", "io", "metadata", "llm_resource", __name__.rsplit(".", 1)[-1])
    for mod in family_modules(exclude=exclude):
        for value in vars(mod).values():
            if isinstance(value, AssetsDefinition):
                names.update(k.to_user_string() for k in value.keys)
    return names


def _release_assets() -> dict[str, AssetsDefinition]:
    available = _available_tables()
    out = {}
    for spec in REGISTRY.values():
        if not set(spec.assets()) <= available:
            continue  # the family is not in this code location yet
        out[spec.name] = build_release_asset(spec)
    return out


RELEASE_ASSETS = _release_assets()
globals().update({f"release_{name}": a for name, a in RELEASE_ASSETS.items()})
