import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.ray_clusters"]  # session-wide Ray clusters for the engine tests (started only when used)

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DAGSTER_HOME", str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
SAMPLE_MATH = REPO / "data" / "sample" / "math"


@pytest.fixture
def sample_math() -> Path:
    return SAMPLE_MATH
