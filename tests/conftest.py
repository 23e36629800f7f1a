import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DAGSTER_HOME", str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
SAMPLE_MATH = REPO / "data" / "sample" / "math"


@pytest.fixture
def sample_math() -> Path:
    return SAMPLE_MATH
