"""SMART Backend Services: assertions in, short-lived scoped tokens out; everything else refused."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine

from gateway.audit.trail import search_events
from gateway.auth.tokens import ASSERTION_TYPE
from gateway.client import sign_assertion
from gateway.db import session_scope
from provider_registry.keys import load_private_key
from provider_registry.service import disable_hospital, register_hospital
from tests.conftest import bearer
from tests.support import Hospital, add_hospital, claim_bytes, token_form

TOKEN_URL = "http://testserver/auth/token"


def _assertion(hospital: Hospital, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": hospital.client_id,
        "sub": hospital.client_id,
        "aud": TOKEN_URL,
        "exp": now + 240,
        "jti": str(uuid.uuid4()),
    } | claims
    key = load_private_key(hospital.key_pem)
    return jwt.encode({"alg": "ES384", "kid": key.kid}, body, key, algorithms=["ES384"])


def _post(client: TestClient, assertion: str, **form: str) -> Any:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    } | form
    return client.post("/auth/token", data=data)


def test_discovery_advertises_token_endpoint_scopes_and_algorithms(client: TestClient) -> None:
    config = client.get("/fhir/.well-known/smart-configuration").json()
    assert config["token_endpoint"] == TOKEN_URL
    assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
    assert "system/Claim.crs" in config["scopes_supported"]
    metadata = client.get("/fhir/metadata").json()
    assert metadata["fhirVersion"] == "4.3.0"
    uris = metadata["rest"][0]["security"]["extension"][0]["extension"]
    assert {"url": "token", "valueUri": TOKEN_URL} in uris


def test_es384_assertion_buys_a_token_of_at_most_300_seconds(
    client: TestClient, hospital: Hospital
) -> None:
    answer = client.post("/auth/token", data=token_form(hospital, TOKEN_URL))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 300
    assert body["scope"] == (
        "system/Claim.crs system/ClaimResponse.rs "
        "system/PaymentReconciliation.rs system/Subscription.cruds"
    )
    assert answer.headers["cache-control"] == "no-store"


def test_rs384_keys_work_too(client: TestClient, engine: Engine) -> None:
    key = RSAKey.generate_key(2048, auto_kid=True)
    public = key.as_dict(private=False) | {"alg": "RS384"}
    with session_scope(engine) as session:
        register_hospital(
            session,
            hcode="12345",
            name="RSA Hospital",
            public_jwks={"keys": [public]},
            client_id="rsa-client",
        )
    assertion = sign_assertion(
        client_id="rsa-client", key_pem=key.as_pem(private=True), token_url=TOKEN_URL
    )
    assert _post(client, assertion).status_code == 200


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "https://elsewhere.example/token"}, "aud"),
        ({"exp": int(time.time()) + 3600}, "at most"),
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"sub": "someone-else"}, "iss and sub"),
        ({"jti": ""}, "jti"),
        ({"iat": int(time.time()) + 10_000}, "iat is in the future"),
        ({"nbf": int(time.time()) + 10_000}, "nbf is in the future"),
        ({"iat": "yesterday"}, "iat must be a number"),
    ],
)
def test_bad_assertions_are_invalid_client(
    client: TestClient, engine: Engine, hospital: Hospital, claims: dict[str, Any], reason: str
) -> None:
    answer = _post(client, _assertion(hospital, **claims))
    assert answer.status_code == 401
    assert answer.json() == REFUSED  # one answer for every refused client
    assert reason in _last_refusal_reason(engine)  # the reason is in the audit trail


REFUSED = {"error": "invalid_client", "error_description": "client authentication failed"}


def _last_refusal_reason(engine: Engine) -> str:
    with session_scope(engine) as session:
        rows = search_events(session, user="unauthenticated")
        return str(json.loads(rows[0].detail)["reason"])


def test_replayed_assertion_is_refused(
    client: TestClient, engine: Engine, hospital: Hospital
) -> None:
    assertion = _assertion(hospital)
    assert _post(client, assertion).status_code == 200
    again = _post(client, assertion)
    assert again.status_code == 401
    assert "already used" in _last_refusal_reason(engine)


def test_assertion_signed_by_another_key_is_refused(
    client: TestClient, engine: Engine, hospital: Hospital
) -> None:
    impostor = add_hospital(engine, "99999")
    forged = Hospital(hcode=hospital.hcode, client_id=hospital.client_id, key_pem=impostor.key_pem)
    answer = _post(client, _assertion(forged))
    assert answer.status_code == 401


def test_unknown_client_disabled_hospital_and_bad_grant(
    client: TestClient, engine: Engine, hospital: Hospital
) -> None:
    ghost = Hospital(hcode="00000", client_id="nobody", key_pem=hospital.key_pem)
    assert _post(client, _assertion(ghost)).status_code == 401
    assert (
        _post(client, _assertion(hospital), grant_type="password").json()["error"]
        == "unsupported_grant_type"
    )
    assert _post(client, "not-a-jwt").status_code == 401
    with session_scope(engine) as session:
        disable_hospital(session, hcode=hospital.hcode)
    assert _post(client, _assertion(hospital)).status_code == 401


def test_scopes_are_narrowed_to_what_was_asked(client: TestClient, hospital: Hospital) -> None:
    answer = _post(client, _assertion(hospital), scope="system/ClaimResponse.rs")
    assert answer.json()["scope"] == "system/ClaimResponse.rs"
    assert (
        _post(client, _assertion(hospital), scope="system/Patient.rs").json()["error"]
        == "invalid_scope"
    )


def test_claim_routes_need_a_bearer_token(client: TestClient) -> None:
    for method, path in [
        ("post", "/fhir/Claim/$submit"),
        ("get", "/fhir/Claim/x"),
        ("get", "/fhir/ClaimResponse?request=Claim/x"),
    ]:
        answer = getattr(client, method)(path, headers={"Authorization": "Bearer garbage"})
        assert answer.status_code == 401
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_read_only_token_cannot_submit(client: TestClient, hospital: Hospital) -> None:
    headers = bearer(client, hospital, scope="system/ClaimResponse.rs")
    answer = client.post("/fhir/Claim/$submit", content=claim_bytes(), headers=headers)
    assert answer.status_code == 403
    assert "system/Claim.c" in answer.json()["issue"][0]["diagnostics"]
