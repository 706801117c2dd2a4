"""A hospital-side client of the gateway: signs assertions, keeps a token, submits bundles.

Getting a token needs only the standard library and `cryptography` (the assertion is signed
here, RFC 7515/7518), so `claimgw token` starts fast; httpx is loaded for submitting.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_SCOPE = "system/Claim.crs system/ClaimResponse.rs"
ASSERTION_LIFETIME = 240
REFRESH_MARGIN = 30
ES384_PART_BYTES = 48


class GatewayError(RuntimeError):
    """The gateway could not be reached or refused a token request; the message is one line."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int, length: int | None = None) -> bytes:
    return value.to_bytes(length or max((value.bit_length() + 7) // 8, 1), "big")


def _thumbprint(members: dict[str, str]) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256) of a key's required public members."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def _load_key(pem: bytes) -> tuple[EllipticCurvePrivateKey | RSAPrivateKey, str, str]:
    """A private key from PEM, its algorithm (ES384 or RS384) and its kid (RFC 7638)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1):
        numbers = key.public_key().public_numbers()
        kid = _thumbprint(
            {
                "crv": "P-384",
                "kty": "EC",
                "x": _b64url(_int_bytes(numbers.x, ES384_PART_BYTES)),
                "y": _b64url(_int_bytes(numbers.y, ES384_PART_BYTES)),
            }
        )
        return key, "ES384", kid
    if isinstance(key, rsa.RSAPrivateKey):
        public = key.public_key().public_numbers()
        kid = _thumbprint(
            {"e": _b64url(_int_bytes(public.e)), "kty": "RSA", "n": _b64url(_int_bytes(public.n))}
        )
        return key, "RS384", kid
    raise ValueError("the key must be an EC P-384 or an RSA private key (PEM)")


def _sign(key: EllipticCurvePrivateKey | RSAPrivateKey, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA384())))
        return _int_bytes(r, ES384_PART_BYTES) + _int_bytes(s, ES384_PART_BYTES)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA384())


def sign_assertion(*, client_id: str, key_pem: bytes, token_url: str) -> str:
    """A SMART Backend Services client assertion, valid for four minutes, with a fresh jti."""
    key, algorithm, kid = _load_key(key_pem)
    now = int(time.time())
    header = {"alg": algorithm, "kid": kid, "typ": "JWT"}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
        "jti": str(uuid.uuid4()),
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    return f"{signing_input}.{_b64url(_sign(key, signing_input.encode('ascii')))}"


@dataclass(frozen=True, slots=True)
class SubmitAnswer:
    """What the gateway said to one submission."""

    status: int
    body: dict[str, Any]

    @property
    def outcome(self) -> str | None:
        """ClaimResponse.outcome, when the answer is a response Bundle."""
        try:
            return str(self.body["entry"][0]["resource"]["outcome"])
        except (KeyError, IndexError, TypeError):
            return None

    @property
    def response_id(self) -> str | None:
        try:
            return str(self.body["entry"][0]["resource"]["id"])
        except (KeyError, IndexError, TypeError):
            return None

    @property
    def first_problem(self) -> str | None:
        """The first OperationOutcome issue, in words."""
        if self.body.get("resourceType") != "OperationOutcome":
            return None
        issues = self.body.get("issue") or [{}]
        return str(issues[0].get("diagnostics", ""))


class GatewayClient:
    """One hospital's connection to the gateway."""

    def __init__(
        self, base_url: str, client_id: str, key_path: Path, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.key_pem = key_path.read_bytes()
        self.timeout = timeout
        self._http: httpx.Client | None = None
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    @property
    def http(self) -> httpx.Client:
        """The pooled HTTP client for submissions, made on first use."""
        with self._lock:
            if self._http is None:
                import httpx

                self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout)
            return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def token(self) -> str:
        """A valid access token, fetched again shortly before it expires."""
        if self._token is None or time.time() > self._expires - REFRESH_MARGIN:
            config = self._call("GET", f"{self.base_url}/fhir/.well-known/smart-configuration")
            token_url = str(config["token_endpoint"])
            form = {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": sign_assertion(
                    client_id=self.client_id, key_pem=self.key_pem, token_url=token_url
                ),
                "scope": TOKEN_SCOPE,
            }
            payload = self._call("POST", token_url, form)
            self._token, self._expires = (
                str(payload["access_token"]),
                time.time() + float(payload["expires_in"]),
            )
        return self._token

    def _call(self, method: str, url: str, form: dict[str, str] | None = None) -> dict[str, Any]:
        """One token-endpoint request (standard library); GatewayError in one line otherwise."""
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise GatewayError(f"the gateway's token endpoint {url!r} is not an http(s) URL")
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                found: dict[str, Any] = json.loads(response.read())
                return found
        except urllib.error.HTTPError as exc:
            raise GatewayError(token_refusal(exc.code, exc.read(), exc.reason)) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GatewayError(f"cannot reach the gateway at {self.base_url}: {reason}") from exc

    def submit(
        self, bundle: bytes, *, idempotency_key: str | None = None, operation: str = "$submit"
    ) -> SubmitAnswer:
        """POST one bundle to Claim/$submit (or $validate)."""
        headers = {
            "Authorization": f"Bearer {self.token()}",
            "Content-Type": "application/fhir+json",
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = self.http.post(f"/fhir/Claim/{operation}", content=bundle, headers=headers)
        try:
            body = response.json()
        except ValueError:
            body = {
                "resourceType": "OperationOutcome",
                "issue": [{"diagnostics": response.text[:200]}],
            }
        return SubmitAnswer(status=response.status_code, body=body)


def token_refusal(status: int, body: bytes, reason: str = "") -> str:
    """The gateway's refusal of a token request in one line (OAuth2 error and description)."""
    try:
        found = json.loads(body)
    except ValueError:
        found = None
    if isinstance(found, dict) and found.get("error"):
        detail = f"{found['error']}: {found.get('error_description', '')}".rstrip(": ")
    elif isinstance(found, dict) and found.get("resourceType") == "OperationOutcome":
        detail = str((found.get("issue") or [{}])[0].get("diagnostics") or reason)
    else:
        detail = " ".join(body.decode("utf-8", "replace").split())[:200] or reason
    return f"the gateway refused the token request ({status}): {detail}"
