"""Fixtures shared by the gateway's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from gateway.settings import get_settings


@pytest.fixture
def claimgw(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner of the `claimgw` CLI in this process, on the test's database."""
    monkeypatch.setenv("CLAIMGW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
