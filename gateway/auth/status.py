"""Whether a client and its hospital are still enabled, re-read from the database every few s.

Access tokens live up to 300 s; without this, `claimgw hospital disable` would take that long
to bite. Each process re-reads a client's row at most every `client_status_seconds` (2 s by
default, at most 5), so a disable reaches every process within that time.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine
from sqlmodel import Session

from provider_registry.models import ApiClient, Hospital


class ClientStatus:
    """A short per-process cache of client/hospital `active` flags."""

    def __init__(self, engine: Engine, ttl_seconds: float) -> None:
        self.engine = engine
        self.ttl = ttl_seconds
        self._seen: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def active(self, client_id: str) -> bool:
        """Whether the client and its hospital are enabled (at most `ttl` seconds old)."""
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(client_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        enabled = self._read(client_id)
        with self._lock:
            self._seen[client_id] = (now + self.ttl, enabled)
        return enabled

    def _read(self, client_id: str) -> bool:
        with Session(self.engine) as session:
            client = session.get(ApiClient, client_id)
            hospital = session.get(Hospital, client.hcode) if client else None
            return bool(client and client.active and hospital and hospital.active)
