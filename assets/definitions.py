"""The one ``Definitions`` of the foundry.

Family modules are the modules of this package that set ``FAMILY``; each contributes its assets
and asset checks. Global policy (resources, IO manager, the main job) is applied here once.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, load_asset_checks_from_modules, load_assets_from_modules

from assets.families import family_modules
from assets.resources import foundry_resources

MAIN_JOB = "foundry_all"
TRAINING_JOB = "training_job"
TRAINING_GROUP = "training"  # minutes of torch even on cpu: its own job, never in `make run`
_INFRA = ("definitions", "families", "resources", "io", "metadata", "llm_resource")


def build_definitions(profile_name: str | None = None, data_root: str | None = None) -> Definitions:
    modules = family_modules(exclude=_INFRA)
    return Definitions(
        assets=load_assets_from_modules(modules),
        asset_checks=load_asset_checks_from_modules(modules),
        jobs=[define_asset_job(MAIN_JOB, selection=AssetSelection.all() - AssetSelection.groups(TRAINING_GROUP),
                               description="Materialize every data asset of every family on the active profile."),
              define_asset_job(TRAINING_JOB, selection=AssetSelection.groups(TRAINING_GROUP),
                               description="The training stage (exports, pretraining, priming, GRPO, evaluation).")],
        resources=foundry_resources(profile_name, data_root),
    )


defs = build_definitions()
