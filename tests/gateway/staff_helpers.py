"""Staff accounts for tests: create users, sign in a TestClient, get staff bearer tokens."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine

from gateway.db import make_engine, session_scope
from gateway.settings import Settings
from provider_registry import staff
from provider_registry.staff import add_staff_user

PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
LOGIN_CSRF_FIELD = re.compile(
    r'action="/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
)


def make_staff_user(
    database_url: str | Engine, username: str, role: str, password: str = PASSWORD
) -> None:
    """Create a staff account directly in the database (a URL or an engine)."""
    engine = (
        make_engine(Settings(database_url=database_url))
        if isinstance(database_url, str)
        else database_url
    )
    try:
        with session_scope(engine) as session:
            add_staff_user(session, username=username, role=role, password=password)
    finally:
        if isinstance(database_url, str):
            engine.dispose()


def csrf_in(html: str) -> str:
    """The first csrf_token hidden field of a page."""
    found = CSRF_FIELD.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def login_csrf_in(html: str) -> str:
    """The csrf_token of the sign-in form (a signed-in page also has the logout form's)."""
    found = LOGIN_CSRF_FIELD.search(html)
    assert found, "no sign-in form on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign a TestClient in through the login form; returns the session's CSRF token."""
    form = client.get("/login")
    assert form.status_code == 200, form.text
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": login_csrf_in(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    home = client.get("/")
    assert home.status_code == 200, home.text
    return csrf_in(home.text)


def staff_bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """An Authorization header with a staff token from POST /api/auth/token."""
    answer = client.post("/api/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with tiny costs, so tests that sign in often stay fast on shared CPUs."""
    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(staff, "password_hasher", cheap)
    monkeypatch.setattr(staff, "_dummy_hash", None)
