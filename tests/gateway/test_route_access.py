"""Every route of the app against every principal: the table in gateway/access.py is the law.

A route without an entry fails here, so nobody adds a route without deciding who may call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from gateway.access import ANONYMOUS, HOSPITAL, PRINCIPALS, ROUTE_ACCESS, allowed_principals
from gateway.app import create_app
from gateway.settings import Settings
from provider_registry.staff import Role
from tests.conftest import bearer
from tests.gateway.staff_helpers import (
    fast_password_hashing,
    make_staff_user,
    sign_in,
    staff_bearer,
)
from tests.support import Hospital

DUMMY_ID = "00000000-0000-4000-8000-000000000000"
STATIC_SAMPLE = "/site.css"
PARAM = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True)
class Endpoint:
    """One (method, path template) of the app, and a concrete URL to call it on."""

    method: str
    template: str
    url: str

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")


@dataclass
class Caller:
    """A principal with its client: anonymous, a hospital, or a staff role by session/token."""

    name: str
    principal: str
    client: TestClient
    headers: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None


def app_endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, template) the app serves; HEAD is GET's twin and not listed."""
    found: set[Endpoint] = set()
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if isinstance(context.original_route, Mount):
            found.add(Endpoint("GET", path, path + STATIC_SAMPLE))
            continue
        for method in context.methods or set():
            if method != "HEAD":
                found.add(Endpoint(method, path, PARAM.sub(DUMMY_ID, path)))
    return sorted(found, key=_logout_last)


def _logout_last(endpoint: Endpoint) -> tuple[bool, str, str]:
    """POST /logout ends the sessions of the callers, so it is walked last."""
    return (endpoint.template == "/logout", endpoint.template, endpoint.method)


def test_every_route_has_an_access_entry(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'walk.db'}"))
    missing = [
        f"{e.method} {e.template}"
        for e in app_endpoints(app)
        if allowed_principals(e.method, e.template) is None
    ]
    assert not missing, f"routes without an entry in gateway/access.py ROUTE_ACCESS: {missing}"
    assert len(app_endpoints(app)) > 20


def test_the_table_names_only_known_principals() -> None:
    unknown = {key: v - PRINCIPALS for key, v in ROUTE_ACCESS.items() if v - PRINCIPALS}
    assert not unknown
    assert all(ROUTE_ACCESS.values())


@pytest.fixture
def callers(
    app: FastAPI, client: TestClient, hospital: Hospital, monkeypatch: pytest.MonkeyPatch
) -> list[Caller]:
    """Anonymous, a hospital token, and each staff role by session (all routes) and by token
    (JSON routes)."""
    fast_password_hashing(monkeypatch)
    engine = app.state.engine
    callers = [
        Caller("anonymous", ANONYMOUS, TestClient(app, raise_server_exceptions=False)),
        Caller(
            "hospital",
            HOSPITAL,
            client,
            headers={"Authorization": bearer(client, hospital)["Authorization"]},
        ),
    ]
    for role in Role:
        make_staff_user(engine, f"walk-{role.value}", role.value)
        session_client = TestClient(app, raise_server_exceptions=False)
        csrf = sign_in(session_client, f"walk-{role.value}")
        callers.append(
            Caller(
                f"{role.value} (session)", role.value, session_client, {"X-CSRF-Token": csrf}, csrf
            )
        )
        token = staff_bearer(client, f"walk-{role.value}")
        callers.append(
            Caller(
                f"{role.value} (token)",
                role.value,
                TestClient(app, raise_server_exceptions=False),
                token,
            )
        )
    return callers


def _call(caller: Caller, endpoint: Endpoint) -> httpx2.Response:
    headers = dict(caller.headers)
    if endpoint.method in ("GET", "DELETE"):
        return caller.client.request(
            endpoint.method, endpoint.url, headers=headers, follow_redirects=False
        )
    if endpoint.template.startswith(("/fhir", "/api", "/auth")):
        headers["Content-Type"] = (
            "application/fhir+json" if endpoint.template.startswith("/fhir") else "application/json"
        )
        return caller.client.request(
            endpoint.method, endpoint.url, content=b"{}", headers=headers, follow_redirects=False
        )
    form = {"csrf_token": caller.csrf} if caller.csrf else {}
    return caller.client.request(
        endpoint.method, endpoint.url, data=form, headers=headers, follow_redirects=False
    )


def _refused(caller: Caller, response: httpx2.Response) -> bool:
    if response.status_code in (401, 403):
        return True
    to_login = response.headers.get("location", "").startswith("/login?next=")
    return caller.principal == ANONYMOUS and response.status_code == 303 and to_login


def test_every_route_answers_every_principal_as_the_table_says(
    app: FastAPI, callers: list[Caller]
) -> None:
    wrong = []
    for endpoint in app_endpoints(app):
        allowed = allowed_principals(endpoint.method, endpoint.template) or frozenset()
        for caller in callers:
            if caller.name.endswith("(token)") and not endpoint.is_api:
                continue
            response = _call(caller, endpoint)
            refused = _refused(caller, response)
            expected_refusal = caller.principal not in allowed
            if refused != expected_refusal or response.status_code >= 500:
                wrong.append(
                    f"{endpoint.method} {endpoint.template} as {caller.name}: "
                    f"{response.status_code} (allowed: {caller.principal in allowed})"
                )
    assert not wrong, "\n".join(wrong)
