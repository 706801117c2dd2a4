"""Staff sign-in over HTTP: the login page, session cookie, CSRF, logout, idle timeout, tokens."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from gateway.access import ROUTE_ACCESS
from gateway.app import create_app
from gateway.claims.models import AuditEvent
from gateway.db import session_scope
from gateway.settings import Settings
from gateway.staff.deps import StaffApi, StaffPage
from gateway.staff.models import StaffSession
from gateway.staff.sessions import SESSION_COOKIE
from provider_registry.models import utcnow
from provider_registry.staff import disable_staff_user
from tests.gateway.staff_helpers import (
    PASSWORD,
    fast_password_hashing,
    login_csrf_in,
    make_staff_user,
    sign_in,
    staff_bearer,
)

ECHO = "/api/staff-test/echo"
ECHO_PAGE = "/staff-test/echo"


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_password_hashing(monkeypatch)


@pytest.fixture
def staff_app(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The real app plus two POST routes guarded by StaffApi and StaffPage, for reviewers."""

    @app.post(ECHO)
    def echo(principal: StaffApi) -> dict[str, str]:
        return {"username": principal.username, "via": principal.via}

    @app.post(ECHO_PAGE)
    def echo_page(principal: StaffPage) -> dict[str, str]:
        return {"username": principal.username}

    monkeypatch.setitem(ROUTE_ACCESS, ("POST", ECHO), frozenset({"reviewer"}))
    monkeypatch.setitem(ROUTE_ACCESS, ("POST", ECHO_PAGE), frozenset({"reviewer"}))
    app.state.route_templates = None
    return app


@pytest.fixture
def staff_client(staff_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(staff_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def rita(engine: Engine) -> str:
    make_staff_user(engine, "rita", "reviewer")
    return "rita"


def _audit(engine: Engine) -> list[tuple[str, str, dict[str, object]]]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "StaffUser")
            .order_by(col(AuditEvent.id))
        ).all()
    return [(r.action, r.entity_id, json.loads(r.detail)) for r in rows]


def _login_post(client: TestClient, username: str, password: str, **extra: str) -> httpx2.Response:
    form = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": login_csrf_in(form.text)}
    return client.post("/login", data=data | extra, follow_redirects=False)


def test_login_page_is_a_labelled_form_with_security_headers(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<label class="label" for="username">' in page.text
    assert '<label class="label" for="password">' in page.text
    assert 'name="csrf_token"' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    css = client.get("/static/site.css")
    assert css.status_code == 200
    assert "Loma" in css.text
    assert css.headers["x-content-type-options"] == "nosniff"
    assert client.get("/static/htmx.min.js").status_code == 200


def test_signing_in_sets_an_httponly_lax_session_cookie_and_goes_to_next(
    client: TestClient, rita: str, engine: Engine
) -> None:
    answer = _login_post(client, "rita", PASSWORD, next="/review?hcode=10661")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/review?hcode=10661"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags
    token = cookie.split(";")[0].split("=", 1)[1]
    with Session(engine) as session:
        stored = session.exec(select(StaffSession)).one()
    assert stored.username == "rita"
    assert stored.id != token
    home = client.get("/")
    assert home.status_code == 200
    assert 'data-testid="signed-in-user">rita<' in home.text


def test_session_cookie_is_secure_behind_https(settings: Settings, engine: Engine) -> None:
    make_staff_user(engine, "rita", "reviewer")
    app = create_app(
        settings.model_copy(update={"base_url": "https://claims.example"}), engine=engine
    )
    with TestClient(app, base_url="https://testserver") as client:
        answer = _login_post(client, "rita", PASSWORD)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_next_must_be_a_path_on_this_site(client: TestClient, rita: str, target: str) -> None:
    answer = _login_post(client, "rita", PASSWORD, next=target)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


def test_login_without_its_csrf_token_is_refused(client: TestClient, rita: str) -> None:
    client.get("/login")
    answer = client.post(
        "/login", data={"username": "rita", "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 400
    assert 'data-testid="error-summary"' in answer.text
    assert "expired" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    forged = client.post(
        "/login",
        data={"username": "rita", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 400


def test_errors_are_shown_next_to_the_fields_and_summarised(client: TestClient, rita: str) -> None:
    empty = _login_post(client, "", "")
    assert empty.status_code == 400
    assert 'href="#username"' in empty.text
    assert 'href="#password"' in empty.text
    assert 'id="username-error"' in empty.text
    assert 'id="password-error"' in empty.text
    wrong = _login_post(client, "rita", "not the password")
    assert wrong.status_code == 400
    assert "The username or password is not right." in wrong.text
    assert 'value="rita"' in wrong.text
    assert "not the password" not in wrong.text


def test_locked_disabled_and_unknown_accounts_get_the_wrong_password_answer(
    client: TestClient, rita: str, engine: Engine
) -> None:
    make_staff_user(engine, "dora", "reviewer")
    with session_scope(engine) as session:
        disable_staff_user(session, username="dora")
    wrong = _login_post(client, "rita", "not the password")
    for _ in range(4):
        _login_post(client, "rita", "not the password")
    answers = [
        _login_post(client, "rita", PASSWORD),  # locked now
        _login_post(client, "dora", PASSWORD),  # disabled
        _login_post(client, "nobody", PASSWORD),  # unknown
    ]
    error = wrong.text.split('id="error-summary-title"')[1].split("</ul>")[0]
    for answer in answers:
        assert answer.status_code == 400
        assert answer.text.split('id="error-summary-title"')[1].split("</ul>")[0] == error


def test_sign_ins_failures_and_lockouts_are_audited(
    client: TestClient, rita: str, engine: Engine
) -> None:
    sign_in(client, "rita")
    for _ in range(5):
        _login_post(client, "rita", "not the password")
    events = _audit(engine)
    actions = [a for a, _, _ in events]
    assert actions == ["staff.login"] + ["staff.login_failed"] * 5 + ["staff.locked"]
    assert all(user == "rita" for _, user, _ in events)
    assert str(events[0][2]["source"]).startswith("web ")
    assert all(
        "not the password" not in json.dumps(d) and PASSWORD not in json.dumps(d)
        for *_, d in events
    )


def test_logout_ends_the_session_on_the_server(
    client: TestClient, rita: str, engine: Engine
) -> None:
    csrf = sign_in(client, "rita")
    cookie = client.cookies[SESSION_COOKIE]
    refused = client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token: the session stays
    assert client.get("/", follow_redirects=False).status_code == 200
    answer = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    assert f'{SESSION_COOKIE}=""' in answer.headers["set-cookie"]
    with Session(engine) as session:
        assert session.exec(select(StaffSession)).all() == []
    replay = TestClient(client.app, cookies={SESSION_COOKIE: cookie})
    again = replay.get("/", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/login?next=/"
    assert [a for a, _, _ in _audit(engine)][-1] == "staff.logout"


def test_an_idle_session_expires_and_activity_renews_it(
    client: TestClient, rita: str, engine: Engine
) -> None:
    sign_in(client, "rita")
    now = utcnow()
    with session_scope(engine) as session:
        session.execute(
            update(StaffSession).values(
                last_seen_at=now - timedelta(hours=7, minutes=59),
                expires_at=now + timedelta(minutes=1),
            )
        )
    assert client.get("/", follow_redirects=False).status_code == 200
    with Session(engine) as session:
        renewed = session.exec(select(StaffSession)).one()
    assert renewed.expires_at > now + timedelta(hours=7, minutes=59)
    with session_scope(engine) as session:
        session.execute(update(StaffSession).values(expires_at=now - timedelta(seconds=1)))
    answer = client.get("/review", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/review"


def test_session_posts_need_the_csrf_token(staff_client: TestClient, rita: str) -> None:
    csrf = sign_in(staff_client, "rita")
    assert staff_client.post(ECHO).status_code == 403
    assert staff_client.post(ECHO, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    ok = staff_client.post(ECHO, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert ok.json() == {"username": "rita", "via": "session"}
    assert staff_client.post(ECHO_PAGE, data={"csrf_token": "wrong"}).status_code == 403
    assert staff_client.post(ECHO_PAGE, data={"csrf_token": csrf}).status_code == 200


def test_staff_token_endpoint_answers_a_short_bearer_token(
    staff_client: TestClient, rita: str
) -> None:
    answer = staff_client.post("/api/auth/token", data={"username": "rita", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 900
    assert answer.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    echoed = staff_client.post(ECHO, headers=headers)  # a token needs no CSRF token
    assert echoed.json() == {"username": "rita", "via": "token"}
    wrong = staff_client.post("/api/auth/token", data={"username": "rita", "password": "nope"})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    grant = staff_client.post(
        "/api/auth/token", data={"username": "rita", "password": PASSWORD, "grant_type": "x"}
    )
    assert grant.json()["error"] == "unsupported_grant_type"


def test_a_staff_token_is_useless_on_fhir_routes(client: TestClient, rita: str) -> None:
    headers = staff_bearer(client, "rita")
    for answer in (
        client.get("/fhir/Claim", params={"identifier": "x|y"}, headers=headers),
        client.get("/fhir/ClaimResponse/00000000-0000-0000-0000-000000000000", headers=headers),
        client.post("/fhir/Claim/$submit", content=b"{}", headers=headers),
    ):
        assert answer.status_code == 401
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_hospital_token_is_useless_on_staff_routes(
    staff_client: TestClient, auth: dict[str, str]
) -> None:
    api = staff_client.post(ECHO, headers=auth)
    assert api.status_code == 403
    assert api.json()["resourceType"] == "OperationOutcome"
    page = staff_client.get("/", headers=auth, follow_redirects=False)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")


def test_a_wrong_role_is_refused(staff_client: TestClient, engine: Engine) -> None:
    make_staff_user(engine, "fin", "finance")
    assert staff_client.post(ECHO, headers=staff_bearer(staff_client, "fin")).status_code == 403
    csrf = sign_in(staff_client, "fin")
    page = staff_client.post(ECHO_PAGE, data={"csrf_token": csrf})
    assert page.status_code == 403
    assert "may not use this page" in page.text


def test_disabling_a_user_stops_its_session_and_token(
    staff_client: TestClient, rita: str, engine: Engine
) -> None:
    headers = staff_bearer(staff_client, "rita")
    sign_in(staff_client, "rita")
    with session_scope(engine) as session:
        disable_staff_user(session, username="rita")
    assert staff_client.get("/", follow_redirects=False).status_code == 303
    assert staff_client.post(ECHO, headers=headers).status_code == 401


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x"},  # no hcode, no scope
        {"sub": "x", "hcode": "10661"},  # no scope
        {"hcode": "10661", "scope": "system/Claim.crs"},  # no sub
        {"sub": "x", "hcode": 10661, "scope": "system/Claim.crs"},  # hcode not a string
    ],
)
def test_a_token_missing_hospital_claims_is_401_not_500(
    client: TestClient, settings: Settings, claims: dict[str, object]
) -> None:
    now = int(time.time())
    token = jwt.encode(
        {"alg": "HS256"},
        {"iss": settings.base_url, "exp": now + 60, "iat": now, **claims},
        OctKey.import_key(settings.token_secret.get_secret_value()),
    )
    answer = client.get("/fhir/Claim", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_signing_in_again_replaces_the_old_session(
    client: TestClient, rita: str, engine: Engine
) -> None:
    sign_in(client, "rita")
    first = client.cookies[SESSION_COOKIE]
    sign_in(client, "rita")
    assert client.cookies[SESSION_COOKIE] != first
    with Session(engine) as session:
        assert len(session.exec(select(StaffSession)).all()) == 1


def test_staff_tokens_live_at_most_fifteen_minutes() -> None:
    with pytest.raises(ValueError, match="less than or equal to 900"):
        Settings(staff_token_ttl_seconds=901)


def test_api_explorer_and_json_keep_their_own_headers(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "content-security-policy" not in docs.headers  # Swagger UI needs its CDN script
    assert docs.headers["x-frame-options"] == "DENY"
    health = client.get("/healthz")
    assert health.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in health.headers
