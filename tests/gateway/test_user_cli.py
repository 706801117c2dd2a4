"""`claimgw user` as an administrator runs it, on SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from gateway.claims.models import AuditEvent
from gateway.cli.main import app
from gateway.db import make_engine, session_scope, writer
from gateway.settings import Settings, get_settings
from gateway.staff.models import StaffSession
from gateway.staff.sessions import start_session
from provider_registry.staff import LoginRefused, StaffRepository, authenticate
from tests.gateway.staff_helpers import fast_password_hashing

PASSWORD = "a long enough password"


@pytest.fixture
def claimgw(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    fast_password_hashing(monkeypatch)
    monkeypatch.setenv("CLAIMGW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=database_url))
    yield engine
    engine.dispose()


def _run(runner: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["user", *args], input=stdin)
    return result.exit_code, result.output


def _signs_in(engine: Engine, username: str, password: str) -> bool:
    with Session(writer(engine)) as session:
        try:
            authenticate(session, username=username, password=password, source="test")
        except LoginRefused:
            return False
    return True


def _audit(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    return [(r.actor, r.action, r.entity_id) for r in rows]


def test_add_reads_the_password_from_stdin_and_lists_the_user(
    claimgw: CliRunner, engine: Engine
) -> None:
    code, output = _run(
        claimgw,
        "add",
        "--username",
        "rita",
        "--role",
        "reviewer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, output
    assert PASSWORD not in output
    code, output = _run(claimgw, "list", "--json")
    assert code == 0
    [listed] = json.loads(output)
    assert (listed["username"], listed["role"], listed["active"]) == ("rita", "reviewer", True)
    assert "password_hash" not in listed
    assert _signs_in(engine, "rita", PASSWORD)
    assert (getpass.getuser(), "staff.user_added", "rita") in _audit(engine)


def test_add_prompts_twice_without_echo(claimgw: CliRunner, engine: Engine) -> None:
    code, output = _run(
        claimgw, "add", "--username", "sam", "--role", "supervisor", stdin=f"{PASSWORD}\n" * 2
    )
    assert code == 0, output
    assert PASSWORD not in output
    assert _signs_in(engine, "sam", PASSWORD)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--username", "rita", "--role", "reviewer"), "short\n", "at least 12 characters"),
        (("--username", "rita", "--role", "janitor"), PASSWORD + "\n", "role must be one of"),
        (("--username", "Rita Smith", "--role", "reviewer"), PASSWORD + "\n", "username"),
    ],
)
def test_add_refuses_bad_input(
    claimgw: CliRunner, engine: Engine, args: tuple[str, ...], stdin: str, message: str
) -> None:
    code, output = _run(claimgw, "add", *args, "--password-stdin", stdin=stdin)
    assert code == 1
    assert message in output
    with Session(engine) as session:
        assert StaffRepository(session).list() == []


def test_disable_ends_sessions_and_sign_ins(claimgw: CliRunner, engine: Engine) -> None:
    _run(
        claimgw,
        "add",
        "--username",
        "rita",
        "--role",
        "reviewer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    with session_scope(engine) as session:
        start_session(session, username="rita", idle=timedelta(hours=8))
    code, _ = _run(claimgw, "disable", "--username", "rita")
    assert code == 0
    assert not _signs_in(engine, "rita", PASSWORD)
    with Session(engine) as session:
        assert session.exec(select(StaffSession)).all() == []
    assert (getpass.getuser(), "staff.user_disabled", "rita") in _audit(engine)
    code, _ = _run(claimgw, "enable", "--username", "rita")
    assert code == 0
    assert _signs_in(engine, "rita", PASSWORD)


def test_set_password_and_unlock(claimgw: CliRunner, engine: Engine) -> None:
    _run(
        claimgw,
        "add",
        "--username",
        "rita",
        "--role",
        "reviewer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    for _ in range(5):
        _signs_in(engine, "rita", "not the password")
    assert not _signs_in(engine, "rita", PASSWORD)  # locked
    code, _ = _run(claimgw, "unlock", "--username", "rita")
    assert code == 0
    assert _signs_in(engine, "rita", PASSWORD)
    code, output = _run(
        claimgw,
        "set-password",
        "--username",
        "rita",
        "--password-stdin",
        stdin="another long password\n",
    )
    assert code == 0, output
    assert "another long password" not in output
    assert _signs_in(engine, "rita", "another long password")
    assert not _signs_in(engine, "rita", PASSWORD)
    actions = [a for _, a, _ in _audit(engine) if not a.startswith("staff.login")]
    assert actions == ["staff.user_added", "staff.unlocked", "staff.password_set"]


def test_changing_an_unknown_user_fails_cleanly(claimgw: CliRunner) -> None:
    for command in ("disable", "unlock"):
        code, output = _run(claimgw, command, "--username", "nobody")
        assert code == 1
        assert "no user 'nobody'" in output
