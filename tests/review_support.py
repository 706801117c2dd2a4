"""Helpers for the review tests: staff accounts, staff tokens and pended claims."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.db import session_scope
from gateway.settings import Settings
from provider_registry.staff import StaffRepository, StaffUser, hash_password
from tests.gateway.staff_helpers import PASSWORD, staff_bearer
from tests.support import claim_bytes

STAFF_PASSWORD = PASSWORD
SUBMIT = "/fhir/Claim/$submit"


@cache
def _password_hash() -> str:
    """Hash the shared password once: argon2 is slow on purpose, and tests add many accounts."""
    return hash_password(STAFF_PASSWORD)


def add_staff(engine: Engine, username: str, role: str) -> str:
    """A staff account with the shared test password."""
    with session_scope(engine) as session:
        StaffRepository(session).add(
            StaffUser(username=username, role=role, password_hash=_password_hash())
        )
    return username


class StaffTokens(dict[str, dict[str, str]]):
    """Bearer headers by username, each fetched from /api/auth/token on first use."""

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client

    def __missing__(self, username: str) -> dict[str, str]:
        self[username] = staff_bearer(self.client, username)
        return self[username]


def submit(
    client: TestClient, auth: dict[str, str], invoice: str, **changes: Any
) -> dict[str, Any]:
    """Submit a test claim; the answer's ClaimResponse."""
    answer = client.post(SUBMIT, content=claim_bytes(invoice=invoice, **changes), headers=auth)
    assert answer.status_code == 201, answer.text
    resource: dict[str, Any] = answer.json()["entry"][0]["resource"]
    return resource


def claim_id_of(response: dict[str, Any]) -> str:
    """The Claim id a ClaimResponse answers."""
    return str(response["request"]["reference"]).removeprefix("Claim/")


def review_settings(database_url: str, **changes: Any) -> Settings:
    """Test settings in which every payable claim is drawn for audit, so it reaches the queue."""
    base: dict[str, Any] = {
        "database_url": database_url,
        "base_url": "http://testserver",
        "log_level": "warning",
        "rate_limit": "10000/minute",
        "review_audit_rate": 1.0,
        "review_audit_daily_cap": 1000,
    }
    return Settings(**(base | changes))
