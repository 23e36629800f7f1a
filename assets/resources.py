"""Resources: the profile (inputs, sizes, data root), the warehouse IO manager and the LLM endpoint.

Every field is plain config the launchpad shows; nothing here reads the environment at import
time. Empty fields are resolved when a run starts: ``profile`` from ``FOUNDRY_PROFILE`` (else
``sample``), ``data_root`` from ``FOUNDRY_DATA_ROOT`` (else ``var/``), the LLM fields from
``FOUNDRY_LLM_*`` (see ``assets/llm_resource.py``).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

from dagster import ConfigurableResource
from pydantic import Field

from pipelines.config import Profile, get_profile


class ProfileName(Enum):
    """The profiles the launchpad offers: ``sample`` (files in the repo, no network) or ``full`` (Hub)."""

    SAMPLE = "sample"
    FULL = "full"


class FoundryResource(ConfigurableResource):
    """Which profile runs (``sample`` or ``full``) and where outputs live."""

    profile_name: Optional[ProfileName] = Field(
        default=None, description="sample (files in the repository) or full (Hub sources); "
                                  "empty = FOUNDRY_PROFILE at run time, else sample")
    data_root: str = Field(default="", description="where tables, the DuckDB file and artifacts go; "
                                                   "empty = FOUNDRY_DATA_ROOT at run time, else var/")

    def profile(self) -> Profile:
        """The profile object, resolved now (run time), not when the code location was loaded."""
        name = self.profile_name.value if self.profile_name is not None else None
        return get_profile(name, self.data_root or None)

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
    """The resources every asset needs: the profile, the Parquet IO manager with its DuckDB
    warehouse file (both rooted at the profile's data root, resolved at run time) and the LLM."""
    from assets.engine_resource import EngineResource
    from assets.io import ParquetWarehouseIOManager
    from assets.llm_resource import LLMResource

    foundry = FoundryResource(profile_name=ProfileName(profile_name) if profile_name else None,
                              data_root=str(data_root or ""))
    return {
        "foundry": foundry,
        "io_manager": ParquetWarehouseIOManager(foundry=foundry),
        "llm": LLMResource(),
        "engine": EngineResource(),  # local unless configured (FOUNDRY_ENGINE=ray, RAY_ADDRESS)
        "training": TrainingResource(),
    }
