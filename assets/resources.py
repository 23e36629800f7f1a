"""Resources: the profile (inputs, sizes, data root) and the warehouse, from config and environment."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource

from pipelines.config import Profile, get_profile


class FoundryResource(ConfigurableResource):
    """Which profile runs (``sample`` or ``full``) and where outputs live."""

    profile_name: str = os.environ.get("FOUNDRY_PROFILE", "sample")
    data_root: str = ""

    def profile(self) -> Profile:
        return get_profile(self.profile_name, self.data_root or None)

    def root(self) -> Path:
        return self.profile().data_root

    def artifact_dir(self, family: str) -> Path:
        """A directory for files an asset writes besides its table (plots, reports)."""
        path = self.root() / "artifacts" / family
        path.mkdir(parents=True, exist_ok=True)
        return path


class TrainingResource(ConfigurableResource):
    """The training stage's profile: ``cpu`` (tiny model built in code) or ``gpu`` (``model_path``, a
    local model directory); ``owm_corpus_dir`` points continued pretraining at a `foundry owm build`
    output instead of the Countdown search traces."""

    profile: str = "cpu"
    model_path: str = ""
    owm_corpus_dir: str = ""

    def config(self, seed: int = 0):
        from pipelines.training.config import config_for_profile

        return config_for_profile(self.profile, seed=seed, model_path=self.model_path or None)


def foundry_resources(profile_name: str | None = None, data_root: str | Path | None = None) -> dict:
    """The resources every asset needs, rooted at the profile's data root: the profile and the
    Parquet IO manager with its DuckDB warehouse file."""
    from assets.io import ParquetWarehouseIOManager

    foundry = FoundryResource(profile_name=profile_name or FoundryResource().profile_name,
                              data_root=str(data_root or ""))
    root = foundry.root()
    return {
        "foundry": foundry,
        "training": TrainingResource(),
        "io_manager": ParquetWarehouseIOManager(base_dir=str(root / "assets"), duckdb_path=str(root / "foundry.duckdb")),
    }
