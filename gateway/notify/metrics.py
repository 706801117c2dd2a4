"""Counters of notification delivery (the outbox gauges are read from the database)."""

from __future__ import annotations

from prometheus_client import Counter

from gateway.metrics import instruments  # noqa: F401  (turns off `_created` series first)

DELIVERED = Counter(
    "claimgw_notifications_delivered",
    "Notifications a hospital's endpoint acknowledged with a 2xx.",
    ["hcode"],
)
FAILED = Counter(
    "claimgw_notifications_failed",
    "Delivery attempts that failed (refused endpoint, network error or non-2xx answer).",
    ["hcode"],
)
DEAD = Counter(
    "claimgw_notifications_dead",
    "Notifications given up on after CLAIMGW_DELIVERY_MAX_ATTEMPTS attempts (dead-lettered).",
    ["hcode"],
)
