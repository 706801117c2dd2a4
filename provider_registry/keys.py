"""Client key pairs and JSON Web Key Sets for SMART Backend Services."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

SUPPORTED_ALGORITHMS = ("ES384", "RS384")


class InvalidKeySet(ValueError):
    """A public key set that cannot verify ES384 or RS384 assertions."""


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A new key pair: the private key in PEM for the hospital, the public set for us."""

    kid: str
    private_pem: bytes
    public_jwks: dict[str, Any]


def generate_client_key() -> GeneratedKey:
    """A fresh P-384 key pair for ES384 client assertions."""
    key = ECKey.generate_key("P-384", private=True, auto_kid=True)
    public = key.as_dict(private=False) | {"alg": "ES384", "use": "sig"}
    return GeneratedKey(
        kid=str(key.kid),
        private_pem=key.as_pem(private=True),
        public_jwks={"keys": [public]},
    )


def load_public_jwks(text: str) -> dict[str, Any]:
    """A validated public JWKS from JSON text; private members are refused."""
    try:
        data = json.loads(text)
        keys = data["keys"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidKeySet("not a JSON Web Key Set with a 'keys' array") from exc
    if not keys:
        raise InvalidKeySet("the key set is empty")
    for key in keys:
        if "d" in key:
            raise InvalidKeySet("the key set holds a private key; register only public keys")
        if key.get("kty") not in ("EC", "RSA") or not key.get("kid"):
            raise InvalidKeySet("every key needs kty EC or RSA and a kid")
    try:
        KeySet.import_key_set(data)
    except (ValueError, JoseError) as exc:
        raise InvalidKeySet(f"the key set cannot be loaded: {exc}") from exc
    return {"keys": keys}


def load_private_key(pem: bytes) -> ECKey | RSAKey:
    """A client's private key from PEM, EC P-384 or RSA; its kid is the RFC 7638 thumbprint."""
    key: ECKey | RSAKey
    try:
        key = ECKey.import_key(pem)
    except (ValueError, JoseError):
        key = RSAKey.import_key(pem)
    return type(key).import_key(pem, {"kid": key.thumbprint()})


def key_algorithm(key: ECKey | RSAKey) -> str:
    """The assertion algorithm for a private key."""
    return "ES384" if isinstance(key, ECKey) else "RS384"


def usable_keys(stored: dict[str, Any], now: float) -> dict[str, Any]:
    """A client's stored key set without the keys whose rotation grace period has ended."""
    retire_at = stored.get("retire_at") or {}
    return {"keys": [k for k in stored["keys"] if retire_at.get(k.get("kid"), now + 1) > now]}
