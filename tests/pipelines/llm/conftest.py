"""Every LLM test runs with the loopback-only network guard."""

import pytest

from tests.pipelines.llm.server import loopback_only  # noqa: F401 - a fixture


@pytest.fixture(autouse=True)
def _loopback(loopback_only):
    yield
