import pytest

from tests.pipelines.release.toy import register_toy_suites


@pytest.fixture(autouse=True)
def _toy_suites(monkeypatch):
    """The toy dataset's GX suites are registered for every release test (the gate requires one per config)."""
    register_toy_suites(monkeypatch)
