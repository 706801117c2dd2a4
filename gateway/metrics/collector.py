"""Gauges computed at scrape time from the database: queues, outbox lag and score drift.

The database is shared by every worker, so whichever worker answers the scrape reports the
same numbers. Results are cached for a few seconds so frequent scrapes stay cheap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gateway.metrics import drift
from gateway.metrics.repository import (
    Backlog,
    outbox_backlog,
    outbox_dead,
    reimbursement_backlog,
    review_backlog,
    score_bins_since,
)

log = structlog.get_logger("claimgw.metrics")
DATABASE_UP_HELP = "Whether the last scrape could query the database (1) or not (0)."
BANGKOK = timezone(timedelta(hours=7))  # no daylight saving time in Thailand


def start_of_day(now: datetime) -> datetime:
    """Midnight in Bangkok of `now`'s Thai calendar day: "today" for the drift window."""
    local = now.astimezone(BANGKOK)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def age_seconds(oldest: datetime | None, now: datetime) -> float:
    """Seconds since `oldest`, 0 for an empty queue."""
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


class DatabaseGauges(Collector):
    """Reimbursement queue, outbox lag and score drift, read from the database when scraped."""

    def __init__(self, engine: Engine, *, cache_seconds: float = 5.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self.cache_seconds:
                self._cached = (now, list(self._read()))
            return list(self._cached[1])

    def _read(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        try:
            with Session(self.engine) as session:
                payments, outbox = reimbursement_backlog(session), outbox_backlog(session)
                dead = outbox_dead(session)
                review = review_backlog(session)
                second = review_backlog(session, awaiting_second=True)
                reference = drift.current_reference()
                since = start_of_day(now)
                bins = score_bins_since(session, reference, since) if reference else None
        except SQLAlchemyError as exc:
            log.warning("metrics.database_unavailable", error=type(exc).__name__)
            yield _gauge("claimgw_database_up", DATABASE_UP_HELP, 0)
            return
        yield _gauge("claimgw_database_up", DATABASE_UP_HELP, 1)
        yield from _queue_gauges(payments, outbox, now)
        yield _gauge(
            "claimgw_outbox_dead_messages",
            "Outbox events dead-lettered after every delivery attempt failed.",
            dead,
        )
        yield from _review_gauges(review, second, now)
        if reference is not None and bins is not None:
            yield from _drift_gauges(reference, bins)


def _review_gauges(review: Backlog, second: Backlog, now: datetime) -> Iterator[Metric]:
    yield _gauge(
        "claimgw_review_queue_claims", "Pended claims waiting for a fraud reviewer.", review.depth
    )
    yield _gauge(
        "claimgw_review_oldest_age_seconds",
        "Age of the oldest claim waiting for a reviewer, since it was received (0 when none).",
        age_seconds(review.oldest, now),
    )
    yield _gauge(
        "claimgw_review_awaiting_second_approval_claims",
        "Denials and large cuts waiting for a second supervisor.",
        second.depth,
    )


def _queue_gauges(payments: Backlog, outbox: Backlog, now: datetime) -> Iterator[Metric]:
    yield _gauge(
        "claimgw_reimbursement_queue_claims",
        "Payable claims waiting to be batched for payment.",
        payments.depth,
    )
    yield _gauge(
        "claimgw_reimbursement_queue_oldest_age_seconds",
        "Age of the oldest claim waiting to be batched (0 when none waits).",
        age_seconds(payments.oldest, now),
    )
    yield _gauge(
        "claimgw_reimbursement_queue_thb",
        "THB of payable claims waiting to be batched.",
        float(payments.amount),
    )
    yield _gauge(
        "claimgw_outbox_pending_messages", "Outbox events not yet delivered.", outbox.depth
    )
    yield _gauge(
        "claimgw_outbox_lag_seconds",
        "Age of the oldest undelivered outbox event (0 when all are delivered).",
        age_seconds(outbox.oldest, now),
    )


def _drift_gauges(reference: drift.ScoreReference, bins: list[int]) -> Iterator[Metric]:
    yield _gauge(
        "claimgw_fraud_drift_sample_claims",
        "Claims scored today (Bangkok day) that the drift index is computed over.",
        sum(bins),
    )
    index = drift.population_stability(reference, bins)
    if index is not None:
        yield _gauge(
            "claimgw_fraud_score_psi",
            "Population stability index of today's fraud scores against training.",
            index,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
