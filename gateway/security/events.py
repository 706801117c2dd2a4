"""Security events: a structured warning and a counter per kind, for the alert rule.

Kinds are a bounded set (a metric label): token_refused, token_throttled, unauthorized,
forbidden, not_found, throttled, staff_locked, staff_login_failed. Events carry no citizen ID.
"""

from __future__ import annotations

from typing import Final

import structlog
from prometheus_client import Counter

log = structlog.get_logger("claimgw.security")

KINDS: Final = frozenset(
    {
        "token_refused",
        "token_throttled",
        "unauthorized",
        "forbidden",
        "not_found",
        "throttled",
        "staff_locked",
        "staff_login_failed",
    }
)
SECURITY_EVENTS = Counter(
    "claimgw_security_events",
    "Security-relevant refusals: failed token requests, 401/403/404, 429s, lockouts.",
    ["kind"],
)


def security_event(kind: str, **fields: str | int | None) -> None:
    """Log one security event as a structured warning and count it."""
    label = kind if kind in KINDS else "other"
    SECURITY_EVENTS.labels(label).inc()
    log.warning("security." + label, **{k: v for k, v in fields.items() if v is not None})
