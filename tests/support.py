"""Test helpers: required components, hospitals with keys, claim bundles and tokens."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from fhir_mappings.claim import CareSetting
from fhir_mappings.claim_bundle import ClaimSpec, LineSpec, build_claim_bundle
from gateway.auth.tokens import ASSERTION_TYPE
from gateway.client import sign_assertion
from gateway.db import session_scope
from provider_registry.keys import generate_client_key
from provider_registry.service import register_hospital

IN_CI = os.environ.get("CI", "").lower() == "true"
VALID_CID = "1101700203450"
CLAIM_START = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
CLAIMCON_EXAMPLE_CID = "1330656439244"  # fails its own check digit (SSO-FACTS.md)

DATA_KEY_SETTINGS = ("CLAIMGW_DATA_KEYS", "CLAIMGW_LOOKUP_KEY")
"""Settings a child `claimgw` process keeps from the test's environment: every process on one
database must seal and look people up with the same keys (tests/conftest.py sets them)."""


def require(component: str, why: str) -> None:
    """Skip locally, but fail in CI, when a real component the test needs is missing."""
    message = f"{component} is not available: {why}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Hospital:
    """A registered test hospital and the private key of its API client."""

    hcode: str
    client_id: str
    key_pem: bytes


def add_hospital(engine: Engine, hcode: str = "10661", *, name: str = "Test Hospital") -> Hospital:
    """Register a hospital with a fresh ES384 key pair."""
    key = generate_client_key()
    with session_scope(engine) as session:
        client = register_hospital(
            session, hcode=hcode, name=name, public_jwks=key.public_jwks, client_id=f"test-{hcode}"
        )
    return Hospital(hcode=hcode, client_id=client.client_id, key_pem=key.private_pem)


def token_form(hospital: Hospital, token_url: str, scope: str | None = None) -> dict[str, str]:
    """The form body of a valid client_credentials token request."""
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": sign_assertion(
            client_id=hospital.client_id, key_pem=hospital.key_pem, token_url=token_url
        ),
    }
    if scope:
        form["scope"] = scope
    return form


def claim_spec(hcode: str = "10661", invoice: str = "INV-0001", **changes: Any) -> ClaimSpec:
    """A valid OPD claim for a test hospital; change any field by keyword."""
    start = CLAIM_START
    spec = ClaimSpec(
        hcode=hcode,
        hospital_name="Test Hospital",
        invoice=invoice,
        cid=VALID_CID,
        birth_date=date(1985, 4, 12),
        sex="female",
        setting=CareSetting.OPD,
        start=start,
        end=start + timedelta(minutes=30),
        lines=(
            LineSpec("OPD-VISIT", "Outpatient consultation", Decimal("150"), category="12"),
            LineSpec("LAB-CBC", "Complete blood count", Decimal("90"), category="07"),
            LineSpec("DRUG-PARA", "Paracetamol 500 mg", Decimal("1.5"), Decimal(20), category="03"),
        ),
        diagnoses=("J06.9",),
        seed_uuid="6f1c3a34-59d4-4b8b-9a54-0a5d3f7f2b11",
    )
    return replace(spec, **changes)


def claim_bytes(spec: ClaimSpec | None = None, **changes: Any) -> bytes:
    """A claim bundle as the bytes a hospital would send."""
    return orjson.dumps(build_claim_bundle(spec or claim_spec(**changes)))


def claim_dict(**changes: Any) -> dict[str, Any]:
    """A claim bundle as a dict, to break on purpose."""
    return build_claim_bundle(claim_spec(**changes))


FHIR_HEADERS = {"Content-Type": "application/fhir+json"}


def issues(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(rule, expression) of every issue in an OperationOutcome."""
    assert body["resourceType"] == "OperationOutcome", body
    return [
        (i["details"]["coding"][0]["code"], (i.get("expression") or [""])[0]) for i in body["issue"]
    ]
