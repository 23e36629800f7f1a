"""The one ``Definitions`` of the foundry.

Family modules are the modules of this package that set ``FAMILY``; each contributes its assets
and asset checks. Global policy (resources, IO manager, the main job) is applied here once.
"""

from __future__ import annotations

import importlib
import pkgutil

from dagster import AssetSelection, Definitions, define_asset_job, load_asset_checks_from_modules, load_assets_from_modules

import assets as assets_package
from assets.io import ParquetWarehouseIOManager
from assets.resources import FoundryResource

MAIN_JOB = "foundry_all"
_INFRA = {"definitions", "resources", "io", "metadata"}


def family_modules() -> list:
    mods = []
    for info in sorted(pkgutil.iter_modules(assets_package.__path__), key=lambda i: i.name):
        if info.name in _INFRA or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"assets.{info.name}")
        if getattr(mod, "FAMILY", None):
            mods.append(mod)
    return mods


def build_definitions(profile_name: str | None = None, data_root: str | None = None) -> Definitions:
    foundry = FoundryResource(profile_name=profile_name or FoundryResource().profile_name, data_root=data_root or "")
    root = foundry.root()
    modules = family_modules()
    return Definitions(
        assets=load_assets_from_modules(modules),
        asset_checks=load_asset_checks_from_modules(modules),
        jobs=[define_asset_job(MAIN_JOB, selection=AssetSelection.all(),
                               description="Materialize every asset of every family on the active profile.")],
        resources={
            "foundry": foundry,
            "io_manager": ParquetWarehouseIOManager(base_dir=str(root / "assets"),
                                                    duckdb_path=str(root / "foundry.duckdb")),
        },
    )


defs = build_definitions()
