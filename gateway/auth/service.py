"""Token issuance: verify a hospital client's assertion and grant a short-lived token."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session

from gateway.auth.repository import AssertionRepository
from gateway.auth.tokens import (
    ASSERTION_TYPE,
    TokenError,
    granted_scopes,
    issue_access_token,
    unverified_client_id,
    verify_assertion,
)
from gateway.settings import Settings
from provider_registry.repository import HospitalRepository


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token and what it grants."""

    access_token: str
    expires_in: int
    scope: str


def exchange_assertion(
    session: Session,
    *,
    settings: Settings,
    grant_type: str | None,
    assertion_type: str | None,
    assertion: str | None,
    scope: str | None,
    request_url: str,
) -> IssuedToken:
    """SMART Backend Services client_credentials: a verified, unspent assertion buys a token."""
    if grant_type != "client_credentials":
        raise TokenError("unsupported_grant_type", "grant_type must be client_credentials")
    if assertion_type != ASSERTION_TYPE or not assertion:
        raise TokenError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
    client_id = unverified_client_id(assertion)
    registry = HospitalRepository(session)
    client = registry.get_client(client_id)
    hospital = registry.get(client.hcode) if client else None
    if client is None or hospital is None or not client.active or not hospital.active:
        raise TokenError("invalid_client", "unknown or disabled client")
    verified = verify_assertion(
        assertion,
        jwks=json.loads(client.jwks),
        client_id=client_id,
        audiences={settings.token_url, request_url},
        max_lifetime=settings.assertion_max_lifetime_seconds,
    )
    scopes = granted_scopes(scope)
    if not AssertionRepository(session).spend(
        client_id=client_id, jti=verified.jti, expires_at=verified.expires_at
    ):
        raise TokenError("invalid_client", "this assertion's jti was already used")
    session.commit()
    token = issue_access_token(
        secret=settings.token_secret.get_secret_value(),
        issuer=settings.base_url,
        client_id=client_id,
        hcode=client.hcode,
        scopes=scopes,
        ttl=settings.token_ttl_seconds,
    )
    return IssuedToken(
        access_token=token, expires_in=settings.token_ttl_seconds, scope=" ".join(sorted(scopes))
    )
