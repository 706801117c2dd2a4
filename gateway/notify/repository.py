"""Notification queries: subscriptions (narrowed to a hospital), allow-lists, deliveries, outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gateway.claims.models import ClaimResponseRecord, OutboxMessage
from gateway.notify.models import (
    DeliveryStatus,
    EndpointHost,
    NotificationDelivery,
    SubscriptionRecord,
    SubscriptionStatus,
)

MAX_SUBSCRIPTIONS = 100


class SubscriptionRepository:
    """A hospital's live subscriptions; another hospital's are invisible here."""

    def __init__(self, session: Session, hcode: str) -> None:
        self.session = session
        self.hcode = hcode

    def _subscriptions(self) -> SelectOfScalar[SubscriptionRecord]:
        return select(SubscriptionRecord).where(
            col(SubscriptionRecord.hcode) == self.hcode,
            col(SubscriptionRecord.deleted_at).is_(None),
        )

    def get(self, subscription_id: str) -> SubscriptionRecord | None:
        """A live subscription of this hospital by id."""
        query = self._subscriptions().where(col(SubscriptionRecord.id) == subscription_id)
        return self.session.exec(query).first()

    def list(self) -> Sequence[SubscriptionRecord]:
        """This hospital's live subscriptions, oldest first."""
        query = self._subscriptions().order_by(col(SubscriptionRecord.created_at))
        return self.session.exec(query.limit(MAX_SUBSCRIPTIONS)).all()

    def count(self) -> int:
        """How many live subscriptions this hospital has."""
        query = select(func.count()).where(
            col(SubscriptionRecord.hcode) == self.hcode,
            col(SubscriptionRecord.deleted_at).is_(None),
        )
        return int(self.session.exec(query).one())

    def listening(self, criteria: str) -> Sequence[SubscriptionRecord]:
        """Live subscriptions of this hospital to one kind of resource (active or in error)."""
        query = self._subscriptions().where(
            col(SubscriptionRecord.criteria) == criteria,
            col(SubscriptionRecord.status) != SubscriptionStatus.OFF.value,
        )
        return self.session.exec(query.order_by(col(SubscriptionRecord.id))).all()

    def add(self, record: SubscriptionRecord) -> None:
        """Stage a new subscription."""
        self.session.add(record)

    def next_event_number(self, subscription_id: str) -> int:
        """Count one more event for a subscription, atomically; its number."""
        self.session.execute(
            update(SubscriptionRecord)
            .where(col(SubscriptionRecord.id) == subscription_id)
            .values(events_since_start=SubscriptionRecord.events_since_start + 1)
        )
        query = select(SubscriptionRecord.events_since_start).where(
            col(SubscriptionRecord.id) == subscription_id
        )
        return int(self.session.exec(query).one())

    def current_response(self, claim_id: str) -> ClaimResponseRecord | None:
        """The stored ClaimResponse of one of this hospital's claims."""
        query = select(ClaimResponseRecord).where(
            col(ClaimResponseRecord.claim_id) == claim_id,
            col(ClaimResponseRecord.hcode) == self.hcode,
        )
        return self.session.exec(query).first()


class EndpointHostRepository:
    """The hosts each hospital may use as notification endpoints."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def hosts(self, hcode: str) -> list[str]:
        """A hospital's allowed hosts."""
        query = select(EndpointHost.host).where(col(EndpointHost.hcode) == hcode)
        return sorted(self.session.exec(query).all())

    def allow(self, hcode: str, host: str) -> None:
        """Add a host to a hospital's allow-list (idempotent)."""
        if self.session.get(EndpointHost, (hcode, host)) is None:
            self.session.add(EndpointHost(hcode=hcode, host=host))

    def remove(self, hcode: str, host: str) -> bool:
        """Take a host off a hospital's allow-list; False if it was not there."""
        found = self.session.get(EndpointHost, (hcode, host))
        if found is not None:
            self.session.delete(found)
        return found is not None


class OutboxRepository:
    """Outbox rows and their deliveries, for the worker and the `outbox` commands."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def due_ids(self, now: datetime, limit: int) -> list[int]:
        """Ids of rows ready for work: not done, not dead, due, lease free; row-locked.

        On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several workers pick disjoint rows at
        once; on SQLite the caller's write transaction (BEGIN IMMEDIATE) is the single-writer
        lease, and SQLAlchemy leaves the FOR UPDATE clause out.
        """
        query = (
            select(OutboxMessage.id)
            .where(
                col(OutboxMessage.delivered_at).is_(None),
                col(OutboxMessage.dead_at).is_(None),
                or_(
                    col(OutboxMessage.next_attempt_at).is_(None),
                    col(OutboxMessage.next_attempt_at) <= now,
                ),
                or_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) < now),
            )
            .order_by(col(OutboxMessage.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [int(i) for i in self.session.exec(query).all() if i is not None]

    def lease(self, ids: Sequence[int], owner: str, until: datetime) -> None:
        """Hold rows for one worker until `until` (the HTTP calls happen outside a transaction)."""
        self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(ids)))
            .values(lease_owner=owner, lease_until=until)
        )

    def get(self, outbox_id: int) -> OutboxMessage | None:
        """An outbox row by id."""
        return self.session.get(OutboxMessage, outbox_id)

    def deliveries(self, outbox_id: int) -> Sequence[NotificationDelivery]:
        """Every delivery of an outbox row."""
        query = select(NotificationDelivery).where(col(NotificationDelivery.outbox_id) == outbox_id)
        return self.session.exec(query.order_by(col(NotificationDelivery.id))).all()

    def subscription(self, subscription_id: str) -> SubscriptionRecord | None:
        """A subscription by id, deleted or not."""
        return self.session.get(SubscriptionRecord, subscription_id)

    def messages(self, *, dead: bool, limit: int) -> Sequence[OutboxMessage]:
        """Pending (or dead-lettered) outbox rows, oldest first."""
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if dead:
            query = query.where(col(OutboxMessage.dead_at).is_not(None))
        else:
            query = query.where(
                col(OutboxMessage.delivered_at).is_(None), col(OutboxMessage.dead_at).is_(None)
            )
        return self.session.exec(query.limit(limit)).all()

    def revive(self, outbox_id: int, now: datetime) -> int:
        """Give a dead-lettered row and its dead deliveries a fresh set of attempts."""
        self.session.execute(
            update(NotificationDelivery)
            .where(
                col(NotificationDelivery.outbox_id) == outbox_id,
                col(NotificationDelivery.status) == DeliveryStatus.DEAD.value,
            )
            .values(
                status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, dead_at=None
            )
        )
        result = self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == outbox_id, col(OutboxMessage.delivered_at).is_(None))
            .values(dead_at=None, next_attempt_at=now, lease_until=None, lease_owner=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def dead_count(self) -> int:
        """Outbox rows given up on."""
        query = select(func.count()).where(col(OutboxMessage.dead_at).is_not(None))
        return int(self.session.exec(query).one())
