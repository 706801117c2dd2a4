"""Short-lived bearer tokens for staff scripts, distinct from hospital tokens in every way.

They are signed with a key derived from the token secret for staff only, carry their own
`typ`, issuer and audience, and no `hcode` or `scope`, so a hospital route refuses them and
a staff route refuses a hospital token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from gateway.auth.tokens import TokenError

STAFF_TOKEN_TYPE = "staff+jwt"
STAFF_AUDIENCE = "claimgw-staff"
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class StaffClaims:
    """Whom a valid staff token speaks for; the role is re-read from the account."""

    username: str
    role: str


def staff_issuer(base_url: str) -> str:
    """The issuer of staff tokens: the staff token endpoint, not the hospital one."""
    return f"{base_url.rstrip('/')}/api/auth/token"


def _key(secret: str) -> OctKey:
    derived = hmac.new(secret.encode(), b"claimgw staff bearer token", hashlib.sha256).digest()
    return OctKey.import_key(derived)


def issue_staff_token(*, secret: str, base_url: str, username: str, role: str, ttl: int) -> str:
    """An HS256 token for one staff user, valid `ttl` seconds."""
    now = int(time.time())
    claims = {
        "iss": staff_issuer(base_url),
        "aud": STAFF_AUDIENCE,
        "sub": username,
        "role": role,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode({"alg": ALGORITHM, "typ": STAFF_TOKEN_TYPE}, claims, _key(secret))


def read_staff_token(token: str, *, secret: str, base_url: str) -> StaffClaims:
    """The claims of a genuine, unexpired staff token; TokenError otherwise."""
    try:
        decoded = jwt.decode(token, _key(secret), algorithms=[ALGORITHM])
    except (JoseError, ValueError) as exc:
        raise TokenError("invalid_token", "the access token is not valid") from exc
    claims = decoded.claims
    valid = (
        decoded.header.get("typ") == STAFF_TOKEN_TYPE
        and claims.get("iss") == staff_issuer(base_url)
        and claims.get("aud") == STAFF_AUDIENCE
        and isinstance(claims.get("exp"), int)
        and isinstance(claims.get("sub"), str)
        and isinstance(claims.get("role"), str)
    )
    if not valid:
        raise TokenError("invalid_token", "the access token is not valid")
    if claims["exp"] <= time.time():
        raise TokenError("invalid_token", "the access token has expired")
    return StaffClaims(username=claims["sub"], role=claims["role"])
