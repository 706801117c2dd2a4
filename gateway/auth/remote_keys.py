"""Client keys published at a registered `jwks_uri`, fetched and cached per process.

A client that registered a jwks_uri can rotate keys on its own: the gateway re-reads the set at
most every `ttl` seconds, and once sooner (at most every `retry` seconds) when an assertion
names a kid it has not seen. Prod accepts only https URIs.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from gateway.auth.tokens import TokenError
from provider_registry.keys import InvalidKeySet, load_public_jwks


class RemoteKeySets:
    """A per-process cache of JWKS fetched from clients' jwks_uri."""

    def __init__(self, *, ttl: float = 300, retry: float = 30, timeout: float = 3) -> None:
        self.ttl, self.retry, self.timeout = ttl, retry, timeout
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def keys(self, uri: str, *, kid: str | None, now: float | None = None) -> list[dict[str, Any]]:
        """The keys at `uri`, from the cache while fresh and while it knows `kid`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            cached = self._sets.get(uri)
        if cached is not None:
            fetched_at, jwks = cached
            known = kid is None or any(k.get("kid") == kid for k in jwks["keys"])
            if now - fetched_at < (self.ttl if known else self.retry):
                return list(jwks["keys"])
        jwks = self._fetch(uri)
        with self._lock:
            self._sets[uri] = (now, jwks)
        return list(jwks["keys"])

    def _fetch(self, uri: str) -> dict[str, Any]:
        try:
            answer = httpx.get(uri, timeout=self.timeout, follow_redirects=False)
            answer.raise_for_status()
            return load_public_jwks(answer.text)
        except (httpx.HTTPError, InvalidKeySet) as exc:
            raise TokenError("invalid_client", f"jwks_uri not usable: {exc}"[:200]) from exc
