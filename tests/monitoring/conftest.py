"""Fixtures for monitoring tests: Debian's promtool."""

from __future__ import annotations

import pytest

from tests.monitoring.live import binary


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of promtool; fails in CI and skips locally when it is missing."""
    return binary("promtool")
