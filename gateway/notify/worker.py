"""The delivery worker: outbox events become signed rest-hook notifications, at least once.

One outbox row is the unit of work. A worker claims due rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, the single-writer transaction on SQLite) and leases them, so two workers never send
the same row at once. A row is first fanned out: one delivery per listening subscription, with
its body frozen and its id (the `webhook-id`) fixed, so every retry of a delivery sends the same
message under the same id. Deliveries then go out over HTTP outside any transaction; failures
are retried with exponential backoff and jitter, and after `CLAIMGW_DELIVERY_MAX_ATTEMPTS` the
delivery is dead-lettered and its subscription shows `error`. A row with no subscriber is done
at once, so the outbox drains on a gateway nobody listens to.
"""

from __future__ import annotations

import random
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from standardwebhooks import Webhook

from gateway.claims.models import OutboxMessage
from gateway.db import writer
from gateway.metrics.labels import hospital_label
from gateway.notify import metrics
from gateway.notify.destinations import EndpointRefused, Resolver, check_endpoint, resolve
from gateway.notify.models import (
    DeliveryStatus,
    NotificationDelivery,
    SubscriptionRecord,
    SubscriptionStatus,
)
from gateway.notify.notification import notification_bundle
from gateway.notify.repository import (
    EndpointHostRepository,
    OutboxRepository,
    SubscriptionRepository,
)
from gateway.settings import Settings

log = structlog.get_logger("claimgw.worker")

CRITERIA_BY_TOPIC = {
    "claim.adjudicated": "ClaimResponse",
    "claim.reviewed": "ClaimResponse",
    "claim.cancelled": "ClaimResponse",
    "payment.reconciliation": "PaymentReconciliation",
}
BATCH_SIZE = 20


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one HTTP delivery attempt came to."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


def backoff_seconds(attempt: int, *, base: float, cap: float, draw: float | None = None) -> float:
    """The wait after failed attempt number `attempt`: base·2^(attempt-1), capped, half jitter.

    The jitter spreads the retries of many deliveries that failed together (a hospital's
    endpoint was down) so they do not all come back in the same second.
    """
    delay = float(min(cap, base * 2 ** max(0, attempt - 1)))
    share = random.random() if draw is None else draw
    return delay / 2 + delay / 2 * share


class DeliveryWorker:
    """Claims due outbox rows, fans them out to subscriptions and delivers them."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        resolver: Resolver = resolve,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = writer(engine)
        self.settings = settings
        self.resolver = resolver
        self.owner = f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:12]}"
        self.clock = clock or (lambda: datetime.now(UTC))
        self.http = httpx.Client(
            timeout=settings.delivery_timeout_seconds,
            follow_redirects=False,  # a redirect could point anywhere, past the SSRF checks
            transport=transport,
            trust_env=False,  # no proxy from the environment
        )

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.http.close()

    def run_once(self, limit: int = BATCH_SIZE) -> int:
        """Work through the rows due now; how many were claimed."""
        ids = self._claim(limit)
        for outbox_id in ids:
            self._process(outbox_id)
        return len(ids)

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set; sleeps when nothing is due."""
        log.info("worker.started", owner=self.owner)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except SQLAlchemyError as exc:  # database away: wait and try again
                log.warning("worker.database_error", error=type(exc).__name__)
                busy = 0
            if not busy:
                stop.wait(self.settings.delivery_poll_seconds)
        log.info("worker.stopped", owner=self.owner)

    def _claim(self, limit: int) -> list[int]:
        now = self.clock()
        until = now + timedelta(seconds=self.settings.delivery_lease_seconds)
        with Session(self.engine) as session:
            repo = OutboxRepository(session)
            ids = repo.due_ids(now, limit)
            if ids:
                repo.lease(ids, self.owner, until)
            session.commit()
        return ids

    def _process(self, outbox_id: int) -> None:
        if not self._fan_out(outbox_id):
            return
        with Session(self.engine, expire_on_commit=False) as session:
            due = [
                d
                for d in OutboxRepository(session).deliveries(outbox_id)
                if d.status == DeliveryStatus.PENDING.value
                and (d.next_attempt_at is None or d.next_attempt_at <= self.clock())
            ]
        for delivery in due:
            self._deliver(delivery)
        self._settle(outbox_id)

    def _fan_out(self, outbox_id: int) -> bool:
        """Create the row's deliveries once; False when the row is finished or not ours."""
        with Session(self.engine, expire_on_commit=False) as session:
            repo = OutboxRepository(session)
            message = repo.get(outbox_id)
            if message is None or message.lease_owner != self.owner:
                return False  # our lease ran out and another worker has the row now
            if message.fanned_out_at is not None:
                return True
            now = self.clock()
            created = self._deliveries_for(session, message, now)
            message.fanned_out_at = now
            if not created:
                message.delivered_at, message.lease_owner, message.lease_until = now, None, None
            session.add(message)
            session.commit()
            return bool(created)

    def _deliveries_for(
        self, session: Session, message: OutboxMessage, now: datetime
    ) -> list[NotificationDelivery]:
        payload: dict[str, Any] = orjson.loads(message.payload)
        criteria = CRITERIA_BY_TOPIC.get(message.topic)
        hcode = str(payload.get("hcode", ""))
        if criteria is None or not hcode:
            return []
        subscriptions = SubscriptionRepository(session, hcode)
        listening = subscriptions.listening(criteria)
        if not listening:
            return []
        resource = self._resource(session, criteria, hcode, payload)
        if resource is None:
            return []
        created = []
        assert message.id is not None
        for subscription in listening:
            number = subscriptions.next_event_number(subscription.id)
            body = notification_bundle(
                base_url=self.settings.base_url,
                subscription_id=subscription.id,
                criteria=criteria,
                event_number=number,
                at=now,
                resource=resource,
            )
            delivery = NotificationDelivery(
                id=f"msg_{uuid.uuid4().hex}",
                outbox_id=message.id,
                subscription_id=subscription.id,
                hcode=hcode,
                event_number=number,
                body=orjson.dumps(body).decode(),
                created_at=now,
                next_attempt_at=now,
            )
            session.add(delivery)
            created.append(delivery)
        return created

    def _resource(
        self, session: Session, criteria: str, hcode: str, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The current stored resource the event is about (None if it is gone)."""
        if criteria == "ClaimResponse":
            stored = SubscriptionRepository(session, hcode).current_response(
                str(payload.get("claim_id", ""))
            )
            return orjson.loads(stored.resource_json) if stored is not None else None
        from gateway.payments.repository import StatementRepository
        from gateway.payments.service import reconciliation

        batch_id = str(payload.get("reconciliation_id") or payload.get("batch_id") or "")
        batch = StatementRepository(session, hcode).get(batch_id)
        return reconciliation(session, batch, self.settings.base_url) if batch else None

    def _deliver(self, delivery: NotificationDelivery) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            subscription = OutboxRepository(session).subscription(delivery.subscription_id)
            hosts = EndpointHostRepository(session).hosts(delivery.hcode)
        if subscription is None or subscription.deleted_at is not None:
            self._record(delivery, None, cancelled=True)
            return
        attempt = self._send(delivery, subscription, hosts)
        self._record(delivery, attempt)

    def _send(
        self, delivery: NotificationDelivery, subscription: SubscriptionRecord, hosts: list[str]
    ) -> Attempt:
        """One signed POST to the subscription's endpoint, re-checked against SSRF first."""
        try:
            target = check_endpoint(
                subscription.endpoint,
                allowed_hosts=hosts,
                dev=self.settings.env == "dev",
                resolver=self.resolver,
            )
        except EndpointRefused as exc:
            return Attempt(ok=False, error=f"endpoint refused: {exc}")
        headers = _custom_headers(subscription)
        headers |= _signed(subscription.secret, delivery.id, delivery.body, self.clock())
        default_port = 443 if target.scheme == "https" else 80
        headers["Host"] = (
            target.host if target.port == default_port else f"{target.host}:{target.port}"
        )
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            # To the address that was checked, not a fresh DNS answer (no DNS rebinding).
            answer = self.http.post(
                target.pinned_url,
                content=delivery.body.encode(),
                headers=headers,
                extensions=extensions,
            )
        except httpx.HTTPError as exc:
            return Attempt(ok=False, error=f"{type(exc).__name__}: {str(exc)[:200]}")
        if 200 <= answer.status_code < 300:
            return Attempt(ok=True, status_code=answer.status_code)
        return Attempt(ok=False, status_code=answer.status_code, error=f"HTTP {answer.status_code}")

    def _record(
        self, delivery: NotificationDelivery, attempt: Attempt | None, *, cancelled: bool = False
    ) -> None:
        now = self.clock()
        label = hospital_label(delivery.hcode, enabled=self.settings.metrics_hospital_label)
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(NotificationDelivery, delivery.id)
            subscription = session.get(SubscriptionRecord, delivery.subscription_id)
            if row is None or row.status != DeliveryStatus.PENDING.value:
                return
            if cancelled or attempt is None:
                row.status = DeliveryStatus.CANCELLED.value
            elif attempt.ok:
                _delivered(row, subscription, attempt, now)
                metrics.DELIVERED.labels(hcode=label).inc()
            else:
                metrics.FAILED.labels(hcode=label).inc()
                if self._failed(row, subscription, attempt, now):
                    metrics.DEAD.labels(hcode=label).inc()
            session.add(row)
            if subscription is not None:
                session.add(subscription)
            session.commit()

    def _failed(
        self,
        row: NotificationDelivery,
        subscription: SubscriptionRecord | None,
        attempt: Attempt,
        now: datetime,
    ) -> bool:
        """Schedule the retry, or dead-letter the delivery; True when it is dead."""
        row.attempts += 1
        row.last_status_code, row.last_error = attempt.status_code, (attempt.error or "")[:500]
        if row.attempts < self.settings.delivery_max_attempts:
            wait = backoff_seconds(
                row.attempts,
                base=self.settings.delivery_backoff_seconds,
                cap=self.settings.delivery_backoff_max_seconds,
            )
            row.next_attempt_at = now + timedelta(seconds=wait)
            log.info("notification.retry", delivery_id=row.id, attempts=row.attempts, wait=wait)
            return False
        row.status, row.dead_at, row.next_attempt_at = DeliveryStatus.DEAD.value, now, None
        if subscription is not None and subscription.deleted_at is None:
            subscription.status = SubscriptionStatus.ERROR.value
            subscription.error = f"delivery {row.id} failed {row.attempts} times: {row.last_error}"[
                :500
            ]
        log.warning("notification.dead", delivery_id=row.id, hcode=row.hcode)
        return True

    def _settle(self, outbox_id: int) -> None:
        """Finish the row (all delivered, or dead) or schedule it for its next due delivery."""
        now = self.clock()
        with Session(self.engine, expire_on_commit=False) as session:
            repo = OutboxRepository(session)
            message = repo.get(outbox_id)
            if message is None or message.lease_owner != self.owner:
                return
            deliveries = repo.deliveries(outbox_id)
            pending = [d for d in deliveries if d.status == DeliveryStatus.PENDING.value]
            message.attempts = max((d.attempts for d in deliveries), default=0)
            errors = [d.last_error for d in deliveries if d.last_error]
            message.last_error = errors[-1][:500] if errors else None
            if pending:
                message.next_attempt_at = min(d.next_attempt_at or now for d in pending)
            elif any(d.status == DeliveryStatus.DEAD.value for d in deliveries):
                message.dead_at = now
            else:
                message.delivered_at = now
            message.lease_owner, message.lease_until = None, None
            session.add(message)
            session.commit()


def _delivered(
    row: NotificationDelivery,
    subscription: SubscriptionRecord | None,
    attempt: Attempt,
    now: datetime,
) -> None:
    row.attempts += 1
    row.status, row.delivered_at = DeliveryStatus.DELIVERED.value, now
    row.last_status_code, row.next_attempt_at = attempt.status_code, None
    if subscription is not None and subscription.status == SubscriptionStatus.ERROR.value:
        subscription.status, subscription.error = SubscriptionStatus.ACTIVE.value, None


def _custom_headers(subscription: SubscriptionRecord) -> dict[str, str]:
    headers = {}
    for line in orjson.loads(subscription.headers_json):
        name, _, value = str(line).partition(":")
        headers[name.strip()] = value.strip()
    return headers


def _signed(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: id (stable across retries), timestamp, HMAC signature."""
    return {
        "Content-Type": "application/fhir+json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def start_background_worker(engine: Engine, settings: Settings) -> Callable[[], None]:
    """Run a delivery worker in a daemon thread of this process; returns the stop function."""
    worker = DeliveryWorker(engine, settings)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="claimgw-delivery", daemon=True)
    thread.start()

    def shut_down() -> None:
        stop.set()
        thread.join(timeout=settings.delivery_timeout_seconds + 5)
        worker.close()

    return shut_down
