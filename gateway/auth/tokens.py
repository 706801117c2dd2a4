"""Client assertions (RS384/ES384, SMART Backend Services) and the gateway's access tokens."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from provider_registry.keys import SUPPORTED_ALGORITHMS

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SUPPORTED_SCOPES = (
    "system/Claim.crs",
    "system/ClaimResponse.rs",
    "system/PaymentReconciliation.rs",
    "system/Subscription.cruds",
)
ACCESS_TOKEN_ALGORITHM = "HS256"
CLOCK_SKEW_SECONDS = 60
MALFORMED = (JoseError, ValueError, TypeError, KeyError, AttributeError, IndexError)


class TokenError(ValueError):
    """A token request or access token the gateway refuses; `error` is the OAuth2 code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    """A client assertion whose signature and claims checked out."""

    client_id: str
    jti: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """Who a valid access token speaks for and what it may do."""

    client_id: str
    hcode: str
    scopes: frozenset[str]

    def allows(self, resource: str, action: str) -> bool:
        """Whether a SMART v2 scope grants `action` (c, r, u, d or s) on `resource`."""
        for scope in self.scopes:
            context, _, rest = scope.partition("/")
            name, _, actions = rest.partition(".")
            if context == "system" and name in (resource, "*") and action in actions:
                return True
        return False


def unverified_client_id(assertion: str) -> str:
    """The iss of an assertion, read before its signature is checked to find the client's keys."""
    try:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise ValueError
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
        return str(claims["iss"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("invalid_client", "client_assertion is not a signed JWT") from exc


def unverified_kid(assertion: str) -> str | None:
    """The kid in an assertion's header, read only to pick which published key set to refresh."""
    try:
        header = assertion.split(".")[0]
        data = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        kid = data.get("kid") if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None
    return kid if isinstance(kid, str) else None


def verify_assertion(
    assertion: str,
    *,
    jwks: dict[str, Any],
    client_id: str,
    audiences: set[str],
    max_lifetime: int,
    now: float | None = None,
) -> VerifiedAssertion:
    """Check an assertion's signature, iss/sub, aud, exp (at most max_lifetime ahead) and jti."""
    now = time.time() if now is None else now
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(assertion, keys, algorithms=SUPPORTED_ALGORITHMS)
    except MALFORMED as exc:
        raise TokenError("invalid_client", f"assertion signature not verified: {exc}") from exc
    claims = token.claims
    _require(isinstance(claims, dict), "the assertion's claims are not an object")
    _require(
        claims.get("iss") == client_id and claims.get("sub") == client_id,
        "iss and sub must both be the client_id",
    )
    aud = claims.get("aud")
    aud_values = set(aud) if isinstance(aud, list) else {aud}
    _require(bool(aud_values & audiences), "aud must be the token endpoint URL")
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        raise TokenError("invalid_client", "exp is required")
    _require(exp > now, "the assertion has expired")
    _require(exp <= now + max_lifetime + 5, f"exp may be at most {max_lifetime} s ahead")
    _check_issued_window(claims, now=now, max_lifetime=max_lifetime)
    jti = claims.get("jti")
    _require(isinstance(jti, str) and 0 < len(jti) <= 200, "a unique jti is required")
    return VerifiedAssertion(client_id=client_id, jti=str(jti), expires_at=int(exp))


def _check_issued_window(claims: dict[str, Any], *, now: float, max_lifetime: int) -> None:
    """iat and nbf, when present, are numbers within the clock skew of now (issue 10, 10)."""
    for name in ("iat", "nbf"):
        value = claims.get(name)
        if value is None:
            continue
        _require(
            isinstance(value, int | float) and not isinstance(value, bool),
            f"{name} must be a number",
        )
        _require(value <= now + CLOCK_SKEW_SECONDS, f"{name} is in the future")
    iat = claims.get("iat")
    if iat is not None:
        _require(iat >= now - max_lifetime - CLOCK_SKEW_SECONDS, "iat is too old")


def _require(condition: bool, description: str) -> None:
    if not condition:
        raise TokenError("invalid_client", description)


def granted_scopes(requested: str | None) -> frozenset[str]:
    """The scopes to grant: those requested that the gateway supports (all when none asked)."""
    if not requested:
        return frozenset(SUPPORTED_SCOPES)
    asked = set(requested.split())
    granted = {s for s in asked if s in SUPPORTED_SCOPES or _narrows_supported(s)}
    if not granted:
        raise TokenError(
            "invalid_scope", f"none of the scopes is offered; use {' '.join(SUPPORTED_SCOPES)}"
        )
    return frozenset(granted)


def _narrows_supported(scope: str) -> bool:
    context, _, rest = scope.partition("/")
    name, _, actions = rest.partition(".")
    for offered in SUPPORTED_SCOPES:
        o_name, _, o_actions = offered.partition("/")[2].partition(".")
        if context == "system" and name == o_name and actions and set(actions) <= set(o_actions):
            return True
    return False


def issue_access_token(
    *, secret: str, issuer: str, client_id: str, hcode: str, scopes: frozenset[str], ttl: int
) -> str:
    """A short-lived HS256 access token naming the client, its hospital and its scopes."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": client_id,
        "hcode": hcode,
        "scope": " ".join(sorted(scopes)),
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode({"alg": ACCESS_TOKEN_ALGORITHM}, claims, OctKey.import_key(secret))


def read_access_token(token: str, *, secret: str, issuer: str) -> AccessGrant:
    """The grant an access token carries, if it is genuine and unexpired."""
    try:
        decoded = jwt.decode(token, OctKey.import_key(secret), algorithms=[ACCESS_TOKEN_ALGORITHM])
    except MALFORMED as exc:  # any forged or malformed token is a 401, never a 500
        raise TokenError("invalid_token", "the access token is not valid") from exc
    claims = decoded.claims
    if not isinstance(claims, dict):
        raise TokenError("invalid_token", "the access token is not valid")
    if claims.get("iss") != issuer or not isinstance(claims.get("exp"), int):
        raise TokenError("invalid_token", "the access token is not valid")
    if claims["exp"] <= time.time():
        raise TokenError("invalid_token", "the access token has expired")
    if not all(isinstance(claims.get(name), str) for name in ("sub", "hcode", "scope")):
        raise TokenError("invalid_token", "the access token is not a hospital token")
    return AccessGrant(
        client_id=claims["sub"],
        hcode=claims["hcode"],
        scopes=frozenset(claims["scope"].split()),
    )
