"""`claimgw outbox list|retry` and `claimgw hospital endpoint` as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import structlog
from click.testing import Result
from sqlalchemy import Engine

from gateway.claims.models import OutboxMessage
from gateway.db import session_scope
from gateway.settings import get_settings
from tests.support import Hospital


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """`claimgw` in this process."""
    from typer.testing import CliRunner

    from gateway.cli.main import app

    monkeypatch.setenv("CLAIMGW_DATABASE_URL", database_url)
    monkeypatch.setenv("CLAIMGW_LOG_LEVEL", "warning")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()
    structlog.reset_defaults()


def test_a_dead_message_is_listed_and_retried(
    cli: Callable[..., Result], engine: Engine, hospital: Hospital
) -> None:
    with session_scope(engine) as session:
        dead = OutboxMessage(
            topic="claim.adjudicated",
            payload='{"claim_id": "x", "hcode": "10661"}',
            attempts=10,
            dead_at=datetime.now(UTC),
            last_error="HTTP 500",
        )
        session.add(dead)
        session.flush()
        dead_id = dead.id
    listed = json.loads(cli("outbox", "list", "--dead", "--json").stdout)
    assert [(m["id"], m["hcode"], m["last_error"]) for m in listed] == [
        (dead_id, "10661", "HTTP 500")
    ]
    assert json.loads(cli("outbox", "list", "--json").stdout) == []
    retried = cli("outbox", "retry", str(dead_id))
    assert retried.exit_code == 0, retried.output
    assert json.loads(cli("outbox", "list", "--dead", "--json").stdout) == []
    assert [m["id"] for m in json.loads(cli("outbox", "list", "--json").stdout)] == [dead_id]
    assert cli("outbox", "retry", "999999").exit_code == 1


def test_hospital_endpoint_allow_list(cli: Callable[..., Result], hospital: Hospital) -> None:
    def hosts(*args: str) -> list[str]:
        answer = cli("hospital", "endpoint", "--hcode", hospital.hcode, *args, "--json")
        assert answer.exit_code == 0, answer.output
        found: list[str] = json.loads(answer.stdout)["hosts"]
        return found

    assert hosts() == []
    assert hosts("--allow", "Hooks.Example.org") == ["hooks.example.org"]
    assert hosts("--allow", "127.0.0.1") == ["127.0.0.1", "hooks.example.org"]
    assert hosts("--allow", "hooks.example.org", "--remove") == ["127.0.0.1"]
    refused = cli("hospital", "endpoint", "--hcode", hospital.hcode, "--allow", "http://x/")
    assert refused.exit_code == 1
    assert cli("hospital", "endpoint", "--hcode", "99999").exit_code == 1
