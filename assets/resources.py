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


def foundry_resources(profile_name: str | None = None, data_root: str | Path | None = None) -> dict:
    """The resources every asset needs, rooted at the profile's data root: the profile and the
    Parquet IO manager with its DuckDB warehouse file."""
    from assets.io import ParquetWarehouseIOManager
    from assets.llm_resource import LLMResource

    foundry = FoundryResource(profile_name=profile_name or FoundryResource().profile_name,
                              data_root=str(data_root or ""))
    root = foundry.root()
    return {
        "foundry": foundry,
        "io_manager": ParquetWarehouseIOManager(base_dir=str(root / "assets"), duckdb_path=str(root / "foundry.duckdb")),
        "llm": LLMResource(),  # fields empty: the FOUNDRY_LLM_* environment decides, at run time
    }
