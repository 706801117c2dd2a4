"""Claim queries, always narrowed to the acting hospital first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.sql import Select
from sqlmodel import Session, select

from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    ClaimResponseRecord,
    IdempotencyKey,
    OutboxMessage,
    ReimbursementQueueEntry,
)

MAX_SEARCH_RESULTS = 100


class ClaimRepository:
    """A hospital's claims and responses; another hospital's rows are invisible here."""

    def __init__(self, session: Session, hcode: str) -> None:
        self.session = session
        self.hcode = hcode

    def _claims(self) -> Select[tuple[ClaimRecord]]:
        return select(ClaimRecord).where(ClaimRecord.hcode == self.hcode)

    def _responses(self) -> Select[tuple[ClaimResponseRecord]]:
        return select(ClaimResponseRecord).where(ClaimResponseRecord.hcode == self.hcode)

    def get(self, claim_id: str) -> ClaimRecord | None:
        """A claim of this hospital by id."""
        return self.session.exec(self._claims().where(ClaimRecord.id == claim_id)).first()

    def by_invoice(self, system: str, value: str) -> ClaimRecord | None:
        """A claim of this hospital by its invoice identifier."""
        query = self._claims().where(
            ClaimRecord.identifier_system == system, ClaimRecord.identifier_value == value
        )
        return self.session.exec(query).first()

    def search(self, system: str | None, value: str) -> Sequence[ClaimRecord]:
        """Claims of this hospital whose identifier value (and system, when given) match."""
        query = self._claims().where(ClaimRecord.identifier_value == value)
        if system:
            query = query.where(ClaimRecord.identifier_system == system)
        return self.session.exec(query.order_by(ClaimRecord.created_at).limit(MAX_SEARCH_RESULTS)).all()

    def response(self, response_id: str) -> ClaimResponseRecord | None:
        """A ClaimResponse of this hospital by id."""
        query = self._responses().where(ClaimResponseRecord.id == response_id)
        return self.session.exec(query).first()

    def response_for_claim(self, claim_id: str) -> ClaimResponseRecord | None:
        """The ClaimResponse sent for one of this hospital's claims."""
        query = self._responses().where(ClaimResponseRecord.claim_id == claim_id)
        return self.session.exec(query).first()

    def add_intake(
        self,
        *,
        claim: ClaimRecord,
        lines: list[ClaimLineRecord],
        response: ClaimResponseRecord,
        audit: list[AuditEvent],
        outbox: OutboxMessage,
        payment: ReimbursementQueueEntry | None,
    ) -> None:
        """Stage everything one accepted submission writes; the caller commits once."""
        self.session.add(claim)
        self.session.flush()
        self.session.add_all([*lines, response, *audit, outbox])
        if payment is not None:
            self.session.add(payment)


class IdempotencyRepository:
    """A hospital's Idempotency-Key rows."""

    def __init__(self, session: Session, hcode: str) -> None:
        self.session = session
        self.hcode = hcode

    def get(self, key: str) -> IdempotencyKey | None:
        """The row for a key of this hospital."""
        return self.session.get(IdempotencyKey, (self.hcode, key))

    def add(self, row: IdempotencyKey) -> None:
        """Stage a new in-flight key."""
        self.session.add(row)

    def take_over(self, key: str, *, expired_before: datetime, until: datetime) -> bool:
        """Claim an abandoned in-flight key whose lease ran out; False if someone else holds it."""
        result = self.session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.hcode == self.hcode,  # type: ignore[arg-type]
                IdempotencyKey.key == key,  # type: ignore[arg-type]
                IdempotencyKey.state == "in_flight",  # type: ignore[arg-type]
                IdempotencyKey.locked_until < expired_before,  # type: ignore[arg-type]
            )
            .values(locked_until=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def finish(self, key: str, *, status: int, body: str) -> None:
        """Record the answer an in-flight key got."""
        self.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.hcode == self.hcode, IdempotencyKey.key == key)  # type: ignore[arg-type]
            .values(state="done", response_status=status, response_body=body)
        )

    def release(self, key: str) -> None:
        """Forget an in-flight key whose request failed for a reason not worth replaying."""
        row = self.get(key)
        if row is not None and row.state == "in_flight":
            self.session.delete(row)
