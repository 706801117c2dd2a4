"""Staff accounts: argon2 hashes, lockout after 5 failures, disabled accounts, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pwdlib import PasswordHash
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.db import make_engine, session_scope, writer
from gateway.settings import Settings
from provider_registry import staff
from provider_registry.staff import (
    LOCKOUT,
    LoginRefused,
    Role,
    StaffError,
    StaffRepository,
    add_staff_user,
    authenticate,
    disable_staff_user,
    list_staff_users,
    set_staff_password,
    unlock_staff_user,
)
from tests.gateway.staff_helpers import fast_password_hashing

PASSWORD = "correct horse battery staple"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_password_hashing(monkeypatch)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=database_url))
    yield engine
    engine.dispose()


@pytest.fixture
def rita(engine: Engine) -> str:
    with session_scope(engine) as session:
        add_staff_user(session, username="rita", role="reviewer", password=PASSWORD)
    return "rita"


class Clock:
    """A settable clock for lockout windows."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _login(
    engine: Engine,
    password: str,
    *,
    clock: Clock | None = None,
    events: list[tuple[str, str, dict[str, Any]]] | None = None,
    username: str = "rita",
) -> str:
    """Sign in; the refusal reason, or "ok"."""
    sink = None if events is None else (lambda a, u, d: events.append((a, u, d)))
    with Session(writer(engine), expire_on_commit=False) as session:
        try:
            authenticate(
                session,
                username=username,
                password=password,
                source="test",
                clock=clock or Clock(),
                audit=sink,
            )
        except LoginRefused as refused:
            return refused.reason
    return "ok"


def _user(engine: Engine, username: str = "rita") -> Any:
    with Session(engine) as session:
        return StaffRepository(session).get(username)


def test_the_production_hasher_is_argon2id_at_recommended_cost() -> None:
    hashed = PasswordHash.recommended().hash(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert isinstance(staff.password_hasher, PasswordHash)


def test_password_is_stored_as_an_argon2id_hash(engine: Engine, rita: str) -> None:
    user = _user(engine)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert (user.role, user.active, user.failed_logins) == (Role.REVIEWER.value, True, 0)
    assert _login(engine, PASSWORD) == "ok"
    assert _user(engine).last_login_at is not None


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("bob", "reviewer", "short-pass", "at least 12 characters"),
        ("Bob Smith", "reviewer", PASSWORD, "username"),
        ("bob", "janitor", PASSWORD, "role must be one of"),
        ("rita", "auditor", PASSWORD, "already exists"),
    ],
)
def test_account_rules_are_enforced(
    engine: Engine, rita: str, username: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(StaffError, match=message), session_scope(engine) as session:
        add_staff_user(session, username=username, role=role, password=password)


def test_five_failures_in_a_row_lock_the_account_for_fifteen_minutes(
    engine: Engine, rita: str
) -> None:
    clock, events = Clock(), list[tuple[str, str, dict[str, Any]]]()
    for _ in range(4):
        assert _login(engine, "wrong password!", clock=clock, events=events) == "wrong-password"
    assert _user(engine).locked_until is None
    assert _login(engine, "wrong password!", clock=clock, events=events) == "wrong-password"
    assert _user(engine).locked_until == START + LOCKOUT
    assert [a for a, _, _ in events].count("staff.locked") == 1
    clock.now = START + LOCKOUT - timedelta(seconds=1)
    assert _login(engine, PASSWORD, clock=clock, events=events) == "locked"
    clock.now = START + LOCKOUT + timedelta(seconds=1)
    assert _login(engine, PASSWORD, clock=clock, events=events) == "ok"
    assert (_user(engine).locked_until, _user(engine).failed_logins) == (None, 0)
    actions = [a for a, _, _ in events]
    assert actions == ["staff.login_failed"] * 5 + [
        "staff.locked",
        "staff.login_failed",
        "staff.login",
    ]
    assert all(PASSWORD not in repr(d) and "wrong password" not in repr(d) for _, _, d in events)


def test_a_success_resets_the_failure_count(engine: Engine, rita: str) -> None:
    for _ in range(4):
        _login(engine, "wrong password!")
    assert _login(engine, PASSWORD) == "ok"
    for _ in range(4):
        _login(engine, "wrong password!")
    assert _user(engine).locked_until is None
    assert _user(engine).failed_logins == 4


def test_disabled_and_unknown_accounts_are_refused_like_a_wrong_password(
    engine: Engine, rita: str
) -> None:
    with session_scope(engine) as session:
        disable_staff_user(session, username="rita")
    assert _login(engine, PASSWORD) == "disabled"
    assert _login(engine, PASSWORD, username="nobody") == "unknown-user"
    assert _login(engine, PASSWORD, username="x" * 500) == "unknown-user"
    assert _user(engine).failed_logins == 0  # only wrong passwords of live accounts count


def test_unlock_and_new_password_lift_a_lockout(engine: Engine, rita: str) -> None:
    clock = Clock()
    for _ in range(5):
        _login(engine, "wrong password!", clock=clock)
    assert _login(engine, PASSWORD, clock=clock) == "locked"
    with session_scope(engine) as session:
        unlock_staff_user(session, username="rita")
    assert _login(engine, PASSWORD, clock=clock) == "ok"
    for _ in range(5):
        _login(engine, "wrong password!", clock=clock)
    with session_scope(engine) as session:
        set_staff_password(session, username="rita", password="another long password")
    assert _login(engine, "another long password", clock=clock) == "ok"
    assert _login(engine, PASSWORD, clock=clock) == "wrong-password"


def test_listing_never_shows_a_hash(engine: Engine, rita: str) -> None:
    with session_scope(engine) as session:
        add_staff_user(session, username="alice", role="admin", password=PASSWORD)
    with Session(engine) as session:
        users = list_staff_users(session)
    assert [(u.username, u.role) for u in users] == [("alice", "admin"), ("rita", "reviewer")]
    assert not any(hasattr(u, "password_hash") for u in users)
