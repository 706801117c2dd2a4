"""A hospital-side client of the gateway: signs assertions, keeps a token, submits bundles."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt

from gateway.auth.tokens import ASSERTION_TYPE
from provider_registry.keys import key_algorithm, load_private_key

ASSERTION_LIFETIME = 240
REFRESH_MARGIN = 30


def sign_assertion(*, client_id: str, key_pem: bytes, token_url: str) -> str:
    """A SMART Backend Services client assertion, valid for four minutes, with a fresh jti."""
    key = load_private_key(key_pem)
    now = int(time.time())
    algorithm = key_algorithm(key)
    header = {"alg": algorithm, "kid": key.kid, "typ": "JWT"}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(header, claims, key, algorithms=[algorithm])


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
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None
        self._expires = 0.0

    def close(self) -> None:
        self.http.close()

    def token(self) -> str:
        """A valid access token, fetched again shortly before it expires."""
        if self._token is None or time.time() > self._expires - REFRESH_MARGIN:
            config = (
                self.http.get("/fhir/.well-known/smart-configuration").raise_for_status().json()
            )
            token_url = config["token_endpoint"]
            assertion = sign_assertion(
                client_id=self.client_id, key_pem=self.key_pem, token_url=token_url
            )
            response = self.http.post(
                token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion,
                    "scope": "system/Claim.crs system/ClaimResponse.rs",
                },
            )
            if response.status_code != 200:
                raise RuntimeError(f"token refused: {response.text}")
            payload = response.json()
            self._token, self._expires = (
                payload["access_token"],
                time.time() + payload["expires_in"],
            )
        return self._token

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
