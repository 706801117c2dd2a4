"""Issue 10: each finding of the security review, with the test that proves it is fixed."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import Engine, text
from sqlmodel import Session

from gateway.app import create_app
from gateway.claims.models import ClaimRecord
from gateway.db import make_engine, session_scope
from gateway.security.data_key import person_key
from gateway.security.secrets import dev_token_secret
from gateway.settings import DEFAULT_TOKEN_SECRET, Settings
from provider_registry.service import disable_hospital
from tests.conftest import bearer
from tests.support import VALID_CID, Hospital, claim_bytes, claim_dict, issues, token_form

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _forged(secret: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": "http://testserver", "sub": "x", "exp": now + 60, "iat": now} | claims
    return jwt.encode({"alg": "HS256"}, body, OctKey.import_key(secret))


# 1. known default secret
def test_dev_server_generates_its_secret_into_var_mode_600(tmp_path: Path) -> None:
    settings = Settings(secrets_dir=str(tmp_path / "var"))
    secret, said = dev_token_secret(settings) or ("", "")
    path = tmp_path / "var" / "token_secret"
    assert secret != DEFAULT_TOKEN_SECRET
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "generated" in said
    again, said_again = dev_token_secret(settings) or ("", "")
    assert again == secret
    assert "read from" in said_again


def test_prod_refuses_the_default_secret_without_printing_it() -> None:
    with pytest.raises(ValueError, match="CLAIMGW_TOKEN_SECRET") as caught:
        Settings(env="prod", token_secret="short-but-secret-value")
    assert "short-but-secret-value" not in str(caught.value)


@pytest.mark.parametrize(
    "claims",
    [
        {"hcode": None, "scope": "system/Claim.crs"},
        {"hcode": 10661, "scope": "system/Claim.crs"},
        {"hcode": "10661", "scope": ["system/Claim.crs"]},
        {"exp": "soon", "hcode": "10661", "scope": "system/Claim.crs"},
    ],
)
def test_forged_or_malformed_tokens_are_401(
    client: TestClient, settings: Settings, claims: dict[str, Any]
) -> None:
    token = _forged(settings.token_secret.get_secret_value(), **claims)
    answer = client.get("/fhir/Claim/x", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_token_signed_with_the_source_secret_fails_on_a_dev_server(tmp_path: Path) -> None:
    settings = Settings(secrets_dir=str(tmp_path / "var"))
    secret, _ = dev_token_secret(settings) or ("", "")
    forged = _forged(DEFAULT_TOKEN_SECRET, hcode="10661", scope="system/Claim.crs")
    served = Settings(database_url=f"sqlite:///{tmp_path}/x.db", token_secret=secret)
    with TestClient(create_app(served), raise_server_exceptions=False) as client:
        answer = client.get("/fhir/Claim/x", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401


# 2. aud only from CLAIMGW_BASE_URL
def test_audience_built_from_the_host_header_is_refused(
    client: TestClient, hospital: Hospital
) -> None:
    form = token_form(hospital, "http://evil.example/auth/token")
    answer = client.post("/auth/token", data=form, headers={"Host": "evil.example"})
    assert answer.status_code == 401


# 3. deep nesting
def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"url": "http://x", "valueString": "leaf"}
    for _ in range(levels):
        node = {"url": "http://x", "extension": [node]}
    return node


@pytest.mark.parametrize("route", ["/fhir/Claim/$validate", "/fhir/Claim/$submit"])
def test_deep_nesting_is_refused_before_parsing(
    client: TestClient, auth: dict[str, str], route: str
) -> None:
    bundle = claim_dict()
    bundle["entry"][0]["resource"]["extension"] = [_deep(150)]
    answer = client.post(route, content=json.dumps(bundle).encode(), headers=auth)
    assert answer.status_code == 400
    assert ("json-too-deep", "Bundle") in issues(answer.json())


# 4. values that fit SQLite but not PostgreSQL
@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"invoice": "I" * 150}, "identifier-too-long"),
        ({"invoice": "INV\x00-1"}, "character-forbidden"),
    ],
)
def test_values_beyond_a_column_are_422_or_400_not_503(
    client: TestClient, auth: dict[str, str], changes: dict[str, Any], rule: str
) -> None:
    answer = client.post("/fhir/Claim/$submit", content=claim_bytes(**changes), headers=auth)
    assert answer.status_code in (400, 422), answer.text
    assert rule in [r for r, _ in issues(answer.json())]


def test_an_amount_of_1e15_is_out_of_range(client: TestClient, auth: dict[str, str]) -> None:
    bundle = claim_dict()
    bundle["entry"][0]["resource"]["total"]["value"] = 1e15
    answer = client.post("/fhir/Claim/$submit", content=orjson.dumps(bundle), headers=auth)
    assert answer.status_code == 422
    assert "value-out-of-range" in [r for r, _ in issues(answer.json())]


@pytest.mark.parametrize("path", ["/fhir/Claim/a%00b", "/fhir/Claim?identifier=a%00b"])
def test_a_nul_byte_in_an_id_or_search_is_400(
    client: TestClient, auth: dict[str, str], path: str
) -> None:
    assert client.get(path, headers=auth).status_code == 400


@pytest.mark.parametrize(  # SQLite stores any length: only PostgreSQL raises a DataError
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_data_error_is_never_an_outage(client: TestClient, engine: Engine) -> None:
    app = client.app
    assert isinstance(app, FastAPI)

    @app.get("/fhir/_probe")
    def probe() -> None:
        with Session(engine) as session:
            session.execute(text("SELECT CAST('12345678901234567' AS varchar(13))::numeric(2,0)"))

    answer = client.get("/fhir/_probe")
    assert answer.status_code == 422
    assert answer.json()["resourceType"] == "OperationOutcome"


# 5. look-alike invoices
@pytest.mark.parametrize(
    ("invoice", "named"),
    [("\u04057-0000008", "U+0405 CYRILLIC"), ("S7-0000\u200b008", "U+200B ZERO WIDTH SPACE")],
)
def test_look_alike_invoices_are_422_naming_the_character(
    client: TestClient, auth: dict[str, str], invoice: str, named: str
) -> None:
    answer = client.post("/fhir/Claim/$submit", content=claim_bytes(invoice=invoice), headers=auth)
    assert answer.status_code == 422
    assert named in answer.text


def test_full_width_invoice_is_the_same_claim(client: TestClient, auth: dict[str, str]) -> None:
    first = client.post(
        "/fhir/Claim/$submit", content=claim_bytes(invoice="S7-0000008"), headers=auth
    )
    assert first.status_code == 201
    wide = client.post(
        "/fhir/Claim/$submit", content=claim_bytes(invoice="Ｓ７-0000008"), headers=auth
    )
    assert wide.status_code in (200, 422)  # a replay or a duplicate: never a second claim
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert len(session.query(ClaimRecord).all()) == 1


# 6. citizen ID with dashes
def test_citizen_id_with_dashes_is_stored_as_13_digits(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    dashed = f"{VALID_CID[0]}-{VALID_CID[1:5]}-{VALID_CID[5:10]}-{VALID_CID[10:12]}-{VALID_CID[12]}"
    answer = client.post("/fhir/Claim/$submit", content=claim_bytes(cid=dashed), headers=auth)
    assert answer.status_code == 201, answer.text
    with Session(engine) as session:
        stored = session.query(ClaimRecord).one()
    assert stored.patient_key == person_key(VALID_CID)  # the same person as without dashes
    assert VALID_CID in answer.text  # the ClaimResponse's patient, as 13 digits
    assert dashed not in answer.text


# 8. /auth/token
def test_invalid_assertion_takes_no_write(
    client: TestClient, hospital: Hospital, engine: Engine
) -> None:
    form = token_form(hospital, "http://testserver/auth/token")
    form["client_assertion"] = form["client_assertion"][:-8] + "AAAAAAAA"
    assert client.post("/auth/token", data=form).status_code == 401
    with Session(engine) as session:
        assert session.execute(text("SELECT count(*) FROM used_assertions")).scalar() == 0


def test_unknown_and_known_clients_get_the_same_answer(
    client: TestClient, hospital: Hospital
) -> None:
    ghost = Hospital(hcode="00000", client_id="nobody", key_pem=hospital.key_pem)
    unknown = client.post("/auth/token", data=token_form(ghost, "http://testserver/auth/token"))
    bad = token_form(hospital, "http://testserver/auth/token")
    bad["client_assertion"] = bad["client_assertion"][:-8] + "AAAAAAAA"
    known = client.post("/auth/token", data=bad)
    assert unknown.status_code == known.status_code == 401
    assert unknown.json() == known.json()


def test_token_requests_are_limited_per_address(database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=database_url, base_url="http://testserver", token_rate_limit="3/minute"
    )
    engine = make_engine(settings)
    with TestClient(create_app(settings, engine=engine)) as client:
        codes = [client.post("/auth/token", data={"grant_type": "x"}).status_code for _ in range(4)]
    engine.dispose()
    assert codes == [400, 400, 400, 429]


def test_database_outage_on_token_is_an_oauth_error(tmp_path: Path, hospital: Hospital) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/missing/dir/x.db", base_url="http://testserver"
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        answer = client.post(
            "/auth/token", data=token_form(hospital, "http://testserver/auth/token")
        )
    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["retry-after"]


# 9. disable takes effect within seconds
def test_disabling_a_hospital_stops_its_live_token(
    client: TestClient, hospital: Hospital, engine: Engine, settings: Settings
) -> None:
    headers = bearer(client, hospital)
    assert client.get("/fhir/Claim?identifier=x", headers=headers).status_code == 200
    with session_scope(engine) as session:
        disable_hospital(session, hcode=hospital.hcode)
    time.sleep(settings.client_status_seconds + 0.1)
    assert client.get("/fhir/Claim?identifier=x", headers=headers).status_code == 401


# 11. /metrics and the API docs in prod
PROD = {"env": "prod", "token_secret": "a-production-secret-of-forty-characters!"}


def test_prod_metrics_need_the_bearer_token_and_docs_are_off(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/p.db", metrics_token="m-token", **PROD)  # type: ignore[arg-type]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert (
            client.get("/metrics", headers={"Authorization": "Bearer m-token"}).status_code == 200
        )
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404


def test_docs_when_on_are_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/assets/init.js").status_code == 200


# 12. small ones
def test_fhir_answers_are_not_cached_and_carry_security_headers(
    client: TestClient, auth: dict[str, str]
) -> None:
    answer = client.get("/fhir/Claim?identifier=x", headers=auth)
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


def test_a_claim_with_too_many_items_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    bundle = claim_dict()
    item = bundle["entry"][0]["resource"]["item"][0]
    bundle["entry"][0]["resource"]["item"] = [item | {"sequence": i + 1} for i in range(1001)]
    answer = client.post("/fhir/Claim/$validate", content=orjson.dumps(bundle), headers=auth)
    assert answer.status_code == 422
    assert "too-many-items" in [r for r, _ in issues(answer.json())]


def test_generated_private_key_file_is_created_0600(tmp_path: Path) -> None:
    from gateway.security.secrets import write_private_file

    old = os.umask(0)
    try:
        assert write_private_file(tmp_path / "k.pem", b"secret")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the probe is SQLite's
def test_readyz_is_not_ready_while_sqlite_writes_are_locked(
    client: TestClient, settings: Settings
) -> None:
    import sqlite3

    assert client.get("/readyz").status_code == 200  # the pool holds a connection, as in use
    holder = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"].get("database_writes") == "locked", answer.json()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.get("/readyz").json()["checks"]["database_writes"] == "ok"


def test_unscored_claims_are_not_counted_as_scored(
    client: TestClient, auth: dict[str, str]
) -> None:
    from prometheus_client import REGISTRY

    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"hcode": "10661"}) or 0.0

    scored, unscored = (
        value("claimgw_fraud_scored_claims_total"),
        value("claimgw_fraud_unscored_claims_total"),
    )
    answer = client.post("/fhir/Claim/$submit", content=claim_bytes(invoice="U-1"), headers=auth)
    assert answer.status_code == 201
    assert value("claimgw_fraud_scored_claims_total") == scored
    assert value("claimgw_fraud_unscored_claims_total") == unscored + 1


# 9. re-enabling is its own command; key rotation with a grace period
def test_hospital_add_does_not_re_enable_a_disabled_hospital(engine: Engine) -> None:
    from provider_registry.keys import generate_client_key
    from provider_registry.service import RegistryError, register_hospital, set_hospital_active

    key = generate_client_key()
    with session_scope(engine) as session:
        register_hospital(session, hcode="10661", name="H", public_jwks=key.public_jwks)
        set_hospital_active(session, hcode="10661", active=False)
    with pytest.raises(RegistryError, match="hospital enable"), session_scope(engine) as session:
        register_hospital(
            session, hcode="10661", name="H", public_jwks=key.public_jwks, add_client=True
        )
    with session_scope(engine) as session:
        assert set_hospital_active(session, hcode="10661", active=True).active


@pytest.mark.parametrize(("grace", "old_works"), [(3600, True), (0, False)])
def test_rotated_key_keeps_the_old_one_for_the_grace_period(
    client: TestClient, engine: Engine, hospital: Hospital, grace: int, old_works: bool
) -> None:
    from provider_registry.keys import generate_client_key
    from provider_registry.service import rotate_client_key

    new = generate_client_key()
    with session_scope(engine) as session:
        rotate_client_key(
            session,
            client_id=hospital.client_id,
            public_jwks=new.public_jwks,
            grace_seconds=grace,
            now=time.time() - 1,
        )
    rotated = Hospital(hcode=hospital.hcode, client_id=hospital.client_id, key_pem=new.private_pem)
    url = "http://testserver/auth/token"
    assert client.post("/auth/token", data=token_form(rotated, url)).status_code == 200
    old = client.post("/auth/token", data=token_form(hospital, url)).status_code
    assert (old == 200) is old_works


def test_validate_is_limited_per_hospital(database_url: str) -> None:
    from tests.support import add_hospital

    settings = Settings(
        database_url=database_url, base_url="http://testserver", validate_rate_limit="2/minute"
    )
    engine = make_engine(settings)
    hospital = add_hospital(engine, "10661")
    with TestClient(create_app(settings, engine=engine)) as client:
        headers = bearer(client, hospital)
        codes = [
            client.post("/fhir/Claim/$validate", content=claim_bytes(), headers=headers).status_code
            for _ in range(3)
        ]
        submitted = client.post("/fhir/Claim/$submit", content=claim_bytes(), headers=headers)
    engine.dispose()
    assert codes == [200, 200, 429]
    assert submitted.status_code == 201  # the $validate limit does not touch intake


def test_admin_commands_are_audited_with_the_os_user(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from gateway.audit.trail import os_user, search_events
    from gateway.cli.main import app as cli
    from gateway.settings import get_settings

    monkeypatch.setenv("CLAIMGW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    key = tmp_path / "k.pem"
    add = ["hospital", "add", "--hcode", "10661", "--name", "H", "--generate-key", str(key)]
    assert runner.invoke(cli, add).exit_code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert runner.invoke(cli, ["hospital", "disable", "--hcode", "10661"]).exit_code == 0
    assert runner.invoke(cli, ["hospital", "enable", "--hcode", "10661"]).exit_code == 0
    get_settings.cache_clear()
    engine = make_engine(Settings(database_url=database_url))
    with Session(engine) as session:
        actions = [e.action for e in search_events(session, user=os_user())]
    engine.dispose()
    assert actions == ["hospital.enable", "hospital.disable", "hospital.add"]


def test_keys_published_at_a_registered_jwks_uri_are_used(
    client: TestClient, engine: Engine, hospital: Hospital
) -> None:
    import http.server
    import threading

    from provider_registry.keys import generate_client_key
    from provider_registry.service import register_jwks_uri

    published = generate_client_key()
    body = orjson.dumps(published.public_jwks)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_port}/jwks.json"
        with session_scope(engine) as session:
            register_jwks_uri(session, client_id=hospital.client_id, uri=uri, require_https=False)
        own = Hospital(
            hcode=hospital.hcode, client_id=hospital.client_id, key_pem=published.private_pem
        )
        url = "http://testserver/auth/token"
        assert client.post("/auth/token", data=token_form(own, url)).status_code == 200
        assert client.post("/auth/token", data=token_form(hospital, url)).status_code == 200
    finally:
        server.shutdown()
    with pytest.raises(Exception, match="https"), session_scope(engine) as session:
        register_jwks_uri(session, client_id=hospital.client_id, uri=uri, require_https=True)
