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
