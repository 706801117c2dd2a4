"""Token issuance: verify a hospital client's assertion and grant a short-lived token."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.auth.remote_keys import RemoteKeySets
from gateway.auth.repository import AssertionRepository
from gateway.auth.tokens import (
    ASSERTION_TYPE,
    TokenError,
    granted_scopes,
    issue_access_token,
    unverified_client_id,
    unverified_kid,
    verify_assertion,
)
from gateway.db import writer
from gateway.settings import Settings
from provider_registry.keys import usable_keys
from provider_registry.repository import HospitalRepository

REMOTE_KEYS = RemoteKeySets()  # keys of clients that registered a jwks_uri, per process


def _client_keys(stored: str, jwks_uri: str | None, assertion: str) -> dict[str, Any]:
    """The stored keys still in their grace period, plus those published at the jwks_uri."""
    keys = usable_keys(json.loads(stored), time.time())["keys"]
    if jwks_uri:
        keys = [*keys, *REMOTE_KEYS.keys(jwks_uri, kid=unverified_kid(assertion))]
    return {"keys": keys}


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token and what it grants."""

    access_token: str
    expires_in: int
    scope: str
    client_id: str = ""
    hcode: str = ""


def exchange_assertion(
    engine: Engine,
    *,
    settings: Settings,
    grant_type: str | None,
    assertion_type: str | None,
    assertion: str | None,
    scope: str | None,
) -> IssuedToken:
    """SMART Backend Services client_credentials: a verified, unspent assertion buys a token.

    The signature and every claim are checked on a reading session first; only a valid
    assertion opens a writing transaction (the SQLite write lock) to record its jti.
    """
    if grant_type != "client_credentials":
        raise TokenError("unsupported_grant_type", "grant_type must be client_credentials")
    if assertion_type != ASSERTION_TYPE or not assertion:
        raise TokenError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
    client_id = unverified_client_id(assertion)
    with Session(engine) as session:
        registry = HospitalRepository(session)
        client = registry.get_client(client_id[:64])
        hospital = registry.get(client.hcode) if client else None
    if client is None or hospital is None or not client.active or not hospital.active:
        raise TokenError("invalid_client", "unknown or disabled client")
    verified = verify_assertion(
        assertion,
        jwks=_client_keys(client.jwks, client.jwks_uri, assertion),
        client_id=client_id,
        audiences={settings.token_url},  # never a URL built from the request's Host
        max_lifetime=settings.assertion_max_lifetime_seconds,
    )
    scopes = granted_scopes(scope)
    with Session(writer(engine)) as session:
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
        access_token=token,
        expires_in=settings.token_ttl_seconds,
        scope=" ".join(sorted(scopes)),
        client_id=client_id,
        hcode=client.hcode,
    )
