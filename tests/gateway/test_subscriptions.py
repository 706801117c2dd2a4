"""Subscription over HTTP: create, read, list, delete, scoped to the hospital; SSRF refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.subscription import Subscription
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.db import session_scope
from gateway.notify.destinations import (
    EndpointRefused,
    address_allowed,
    check_endpoint,
    normalise_host,
)
from gateway.notify.service import SECRET_EXTENSION, allow_host
from gateway.settings import Settings
from tests.conftest import bearer
from tests.support import Hospital

HOSTS = ("127.0.0.1", "10.0.0.5", "169.254.169.254", "localhost", "hooks.example.org")


def resource(endpoint: str, **changes: Any) -> bytes:
    body: dict[str, Any] = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "claim decisions",
        "criteria": "ClaimResponse",
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
        },
    }
    for key, value in changes.items():
        if key.startswith("channel_"):
            body["channel"][key.removeprefix("channel_")] = value
        else:
            body[key] = value
    return orjson.dumps(body)


@pytest.fixture
def allowed(engine: Engine, hospital: Hospital, other_hospital: Hospital) -> None:
    with session_scope(engine) as session:
        for hcode in (hospital.hcode, other_hospital.hcode):
            for host in HOSTS:
                allow_host(session, hcode=hcode, host=host)


def create(client: TestClient, auth: dict[str, str], endpoint: str, **changes: Any) -> Any:
    return client.post("/fhir/Subscription", content=resource(endpoint, **changes), headers=auth)


def test_a_hospital_manages_its_own_subscriptions_only(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], allowed: None
) -> None:
    answer = create(client, auth, "http://127.0.0.1:9/hook")
    assert answer.status_code == 201, answer.text
    created = answer.json()
    Subscription.model_validate(created)
    secret = [e["valueString"] for e in created["extension"] if e["url"] == SECRET_EXTENSION]
    assert secret[0].startswith("whsec_")
    assert answer.headers["location"].endswith(f"/fhir/Subscription/{created['id']}")
    assert created["status"] == "active"
    url = f"/fhir/Subscription/{created['id']}"
    read = client.get(url, headers=auth).json()
    assert "extension" not in read  # the secret is shown once
    assert read["channel"]["endpoint"] == "http://127.0.0.1:9/hook"
    listed = client.get("/fhir/Subscription", headers=auth).json()
    assert [e["resource"]["id"] for e in listed["entry"]] == [created["id"]]
    assert client.get(url, headers=other_auth).status_code == 404
    assert client.delete(url, headers=other_auth).status_code == 404
    assert client.get("/fhir/Subscription", headers=other_auth).json()["total"] == 0
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404


def test_subscriptions_need_a_token_with_the_scope(
    client: TestClient, hospital: Hospital, allowed: None
) -> None:
    assert client.get("/fhir/Subscription").status_code == 401
    claims_only = bearer(client, hospital, "system/Claim.crs")
    assert create(client, claims_only, "http://127.0.0.1:9/").status_code == 403
    assert client.get("/fhir/Subscription", headers=claims_only).status_code == 403


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"criteria": "Claim"}, 422),
        ({"channel_type": "websocket"}, 422),
        ({"channel_payload": "application/json"}, 422),
        ({"channel_header": ["webhook-signature: forged"]}, 422),
        ({"channel_header": ["no colon"]}, 422),
        ({"criteria": ["ClaimResponse"]}, 400),
        ({"resourceType": "Claim"}, 400),
    ],
)
def test_unsupported_subscriptions_are_refused(
    client: TestClient, auth: dict[str, str], allowed: None, changes: dict[str, Any], status: int
) -> None:
    answer = create(client, auth, "http://127.0.0.1:9/", **changes)
    assert answer.status_code == status, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_body_that_is_not_json_is_400(client: TestClient, auth: dict[str, str]) -> None:
    answer = client.post("/fhir/Subscription", content=b"{", headers=auth)
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://hooks.invalid.example/hook",  # not on the allow-list
        "http://user:pw@127.0.0.1/hook",
        "ftp://127.0.0.1/hook",
    ],
)
def test_endpoints_inside_the_network_are_refused(
    client: TestClient, auth: dict[str, str], allowed: None, endpoint: str
) -> None:
    answer = create(client, auth, endpoint)
    assert answer.status_code == 422, answer.text
    assert answer.json()["issue"][0]["expression"] == ["Subscription.channel.endpoint"]


@pytest.fixture
def prod_client(database_url: str, engine: Engine) -> Iterator[TestClient]:
    settings = Settings(
        env="prod",
        token_secret="a-production-secret-of-forty-characters!",
        database_url=database_url,
        base_url="http://testserver",
        log_level="warning",
        rate_limit="10000/minute",
    )
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


@pytest.mark.parametrize(
    "endpoint",
    ["https://localhost/hook", "https://127.0.0.1/hook", "http://hooks.example.org/hook"],
)
def test_prod_refuses_loopback_and_plain_http(
    prod_client: TestClient, hospital: Hospital, allowed: None, endpoint: str
) -> None:
    auth = bearer(prod_client, hospital)
    answer = create(prod_client, auth, endpoint)
    assert answer.status_code == 422, answer.text


def fake_dns(*addresses: str) -> Any:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "addresses",
    [("10.1.2.3",), ("93.184.216.34", "192.168.1.1"), ("::ffff:127.0.0.1",), ("fd00::1",)],
)
def test_a_host_resolving_to_any_private_address_is_refused(addresses: tuple[str, ...]) -> None:
    with pytest.raises(EndpointRefused):
        check_endpoint(
            "https://hooks.example.org/h",
            allowed_hosts=["hooks.example.org"],
            dev=False,
            resolver=fake_dns(*addresses),
        )


def test_a_public_host_is_pinned_to_the_address_that_was_checked() -> None:
    found = check_endpoint(
        "https://Hooks.Example.org:8443/h?x=1",
        allowed_hosts=["hooks.example.org"],
        dev=False,
        resolver=fake_dns("93.184.216.34"),
    )
    assert found.pinned_url == "https://93.184.216.34:8443/h?x=1"
    assert found.host == "hooks.example.org"


def test_dev_allows_127_0_0_1_but_not_other_loopback() -> None:
    assert address_allowed("127.0.0.1", dev=True)
    assert not address_allowed("127.0.0.1", dev=False)
    assert not address_allowed("127.0.0.2", dev=True)
    assert not address_allowed("::1", dev=True)


def test_allow_list_entries_are_host_names() -> None:
    assert normalise_host(" Hooks.Example.ORG. ") == "hooks.example.org"
    for bad in ("http://x", "a/b", "", "host:443"):
        with pytest.raises(EndpointRefused):
            normalise_host(bad)
