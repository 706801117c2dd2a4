"""Payment queries: payable claims, batches and the claims they pay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Insert, and_, exists, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gateway.audit.chain import chain_values
from gateway.claims.lifecycle import ClaimStatus
from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    ClaimResponseRecord,
    ReimbursementQueueEntry,
)
from gateway.payments.models import BatchStatus, PaymentBatch, PaymentBatchClaim

UNDECIDED = (
    ClaimStatus.RECEIVED.value,
    ClaimStatus.ADJUDICATED.value,
    ClaimStatus.PENDED_REVIEW.value,
    ClaimStatus.INFO_REQUESTED.value,
    ClaimStatus.PENDING_SECOND_APPROVAL.value,
)
"""Statuses of a correction still being decided: the claim it corrects waits for it."""


@dataclass(frozen=True, slots=True)
class PayableClaim:
    """A claim a run may batch: approved, queued for payment, not yet batched."""

    claim_id: str
    response_id: str | None
    invoice_system: str
    invoice: str
    service_date: date | None
    amount: Decimal

    def row(self, batch_id: str) -> dict[str, Any]:
        """The payment_batch_claims row of this claim in a batch."""
        return {
            "batch_id": batch_id,
            "claim_id": self.claim_id,
            "response_id": self.response_id,
            "invoice_system": self.invoice_system,
            "invoice": self.invoice,
            "service_date": self.service_date,
            "amount": self.amount,
        }


class PaymentRepository:
    """Payment runs' reads and writes; every query names the hospital or the batch it touches."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def payable_hcodes(self, start: datetime, end: datetime) -> list[str]:
        """Hospitals with a claim approved in [start, end) and not yet batched."""
        query = (
            select(ReimbursementQueueEntry.hcode)
            .where(*_in_period(start, end))
            .distinct()
            .order_by(col(ReimbursementQueueEntry.hcode))
        )
        return list(self.session.exec(query).all())

    def payable_claims(self, hcode: str, start: datetime, end: datetime) -> list[PayableClaim]:
        """A hospital's payable claims of the period, by claim id (the lock order of runs)."""
        correction = aliased(ClaimRecord)
        waits = exists().where(
            col(correction.related_claim_id) == col(ClaimRecord.id),
            col(correction.status).in_(UNDECIDED),
        )
        query = (
            sa_select(
                col(ReimbursementQueueEntry.claim_id),
                col(ClaimResponseRecord.id),
                col(ClaimRecord.identifier_system),
                col(ClaimRecord.identifier_value),
                col(ClaimRecord.service_date),
                col(ReimbursementQueueEntry.amount),
            )
            .join(ClaimRecord, col(ClaimRecord.id) == col(ReimbursementQueueEntry.claim_id))
            .join(
                ClaimResponseRecord,
                col(ClaimResponseRecord.claim_id) == col(ClaimRecord.id),
                isouter=True,
            )
            .where(
                *_in_period(start, end),
                col(ReimbursementQueueEntry.hcode) == hcode,
                col(ClaimRecord.hcode) == hcode,
                col(ClaimRecord.status) == ClaimStatus.QUEUED_FOR_PAYMENT.value,
                ~waits,
            )
            .order_by(col(ReimbursementQueueEntry.claim_id))
        )
        return [PayableClaim(*row) for row in self.session.execute(query).all()]

    def add_batch(self, batch: PaymentBatch) -> None:
        """Stage a new batch row (flushed, so its claims can reference it)."""
        self.session.add(batch)
        self.session.flush()

    def take_claims(self, batch_id: str, claims: Sequence[PayableClaim]) -> set[str]:
        """Put claims in a batch; the ids this batch won (a claim in another batch is skipped).

        Two runs at once may both see a claim as payable. The unique index on
        payment_batch_claims.claim_id lets only one insert through; ON CONFLICT DO NOTHING makes
        the loser skip that claim instead of failing its whole batch. On PostgreSQL the loser's
        insert waits for the winner's transaction and skips once it commits (or takes the claim
        if the winner rolled back). Claims are inserted in claim-id order, so two runs never wait
        on each other in a cycle.
        """
        if not claims:
            return set()
        statement = _insert_ignoring_duplicates(self.session.get_bind().dialect.name)
        returning = statement.returning(PaymentBatchClaim.__table__.c.claim_id)  # type: ignore[attr-defined]
        rows = self.session.execute(returning, [c.row(batch_id) for c in claims]).all()
        return {str(r[0]) for r in rows}

    def mark_claims_batched(self, claim_ids: Sequence[str], now: datetime) -> set[str]:
        """Move still-queued claims to batched; the ids that moved (a cancel may have won)."""
        moved = self._move(claim_ids, ClaimStatus.QUEUED_FOR_PAYMENT, ClaimStatus.BATCHED, now)
        for chunk in _chunks(sorted(moved)):
            self.session.execute(
                update(ReimbursementQueueEntry)
                .where(
                    col(ReimbursementQueueEntry.claim_id).in_(chunk),
                    col(ReimbursementQueueEntry.batched_at).is_(None),
                )
                .values(batched_at=now)
            )
        return moved

    def _move(
        self, claim_ids: Sequence[str], before: ClaimStatus, after: ClaimStatus, now: datetime
    ) -> set[str]:
        """Claims still in `before` moved to `after`, in chunks (SQLite limits parameters)."""
        moved: set[str] = set()
        for chunk in _chunks(sorted(claim_ids)):
            result = self.session.execute(
                update(ClaimRecord)
                .where(col(ClaimRecord.id).in_(chunk), col(ClaimRecord.status) == before.value)
                .values(status=after.value, updated_at=now)
                .returning(col(ClaimRecord.id))
            )
            moved |= {str(r[0]) for r in result.all()}
        return moved

    def add_audit(self, rows: Sequence[dict[str, Any]]) -> None:
        """Claim audit events in one Core insert (a batch writes one per claim), chained."""
        if rows:
            chained = chain_values(self.session, [dict(r) for r in rows])
            self.session.execute(insert(AuditEvent.__table__), chained)  # type: ignore[attr-defined]

    def drop_batch_claims(self, batch_id: str, claim_ids: Sequence[str]) -> None:
        """Take claims out of a batch that is still being written."""
        for row in self.session.exec(
            select(PaymentBatchClaim).where(
                col(PaymentBatchClaim.batch_id) == batch_id,
                col(PaymentBatchClaim.claim_id).in_(list(claim_ids)),
            )
        ).all():
            self.session.delete(row)

    def category_line_totals(self, claim_ids: Sequence[str]) -> dict[str | None, Decimal]:
        """Benefit of these claims' lines by fee category (None for lines without one)."""
        totals: dict[str | None, Decimal] = {}
        for chunk in _chunks(sorted(claim_ids)):
            query = (
                select(ClaimLineRecord.category_code, func.sum(ClaimLineRecord.benefit))
                .where(col(ClaimLineRecord.claim_id).in_(chunk))
                .group_by(col(ClaimLineRecord.category_code))
            )
            for code, amount in self.session.exec(query).all():
                totals[code] = totals.get(code, Decimal(0)) + Decimal(amount or 0)
        return totals

    def batches(self, status: str | None = None) -> Sequence[PaymentBatch]:
        """Every batch, newest first, optionally of one status."""
        query = select(PaymentBatch).order_by(
            col(PaymentBatch.created_at).desc(), col(PaymentBatch.hcode)
        )
        if status is not None:
            query = query.where(col(PaymentBatch.status) == status)
        return self.session.exec(query).all()

    def batch(self, batch_id: str, *, for_update: bool = False) -> PaymentBatch | None:
        """A batch by id, row-locked when asked (PostgreSQL; SQLite serializes writers)."""
        query = select(PaymentBatch).where(col(PaymentBatch.id) == batch_id)
        if for_update:
            query = query.with_for_update()
        return self.session.exec(query).first()

    def batch_claims(self, batch_id: str) -> Sequence[PaymentBatchClaim]:
        """The claims a batch pays, by claim id."""
        query = (
            select(PaymentBatchClaim)
            .where(col(PaymentBatchClaim.batch_id) == batch_id)
            .order_by(col(PaymentBatchClaim.claim_id))
        )
        return self.session.exec(query).all()

    def confirm(self, batch_id: str, *, reference: str, actor: str, now: datetime) -> bool:
        """Mark an open batch confirmed; False if it already was (or is unknown)."""
        result = self.session.execute(
            update(PaymentBatch)
            .where(
                col(PaymentBatch.id) == batch_id,
                col(PaymentBatch.status) == BatchStatus.OPEN.value,
            )
            .values(
                status=BatchStatus.CONFIRMED.value,
                bank_reference=reference,
                confirmed_by=actor,
                confirmed_at=now,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def mark_claims_paid(self, claim_ids: Sequence[str], now: datetime) -> set[str]:
        """Move batched claims to paid; the ids that moved."""
        return self._move(claim_ids, ClaimStatus.BATCHED, ClaimStatus.PAID, now)


class StatementRepository:
    """A hospital's payment statements; another hospital's batches are invisible here."""

    def __init__(self, session: Session, hcode: str) -> None:
        self.session = session
        self.hcode = hcode

    def _batches(self) -> SelectOfScalar[PaymentBatch]:
        return select(PaymentBatch).where(col(PaymentBatch.hcode) == self.hcode)

    def get(self, batch_id: str) -> PaymentBatch | None:
        """A batch of this hospital by id."""
        return self.session.exec(self._batches().where(col(PaymentBatch.id) == batch_id)).first()

    def search(self, conditions: Sequence[Any], limit: int) -> Sequence[PaymentBatch]:
        """Batches of this hospital matching every condition, oldest first."""
        query = self._batches().where(and_(True, *conditions))
        return self.session.exec(query.order_by(col(PaymentBatch.created_at)).limit(limit)).all()


def _in_period(start: datetime, end: datetime) -> tuple[Any, ...]:
    return (
        col(ReimbursementQueueEntry.batched_at).is_(None),
        col(ReimbursementQueueEntry.enqueued_at) >= start,
        col(ReimbursementQueueEntry.enqueued_at) < end,
    )


def _insert_ignoring_duplicates(dialect: str) -> Insert:
    table = PaymentBatchClaim.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["claim_id"])
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["claim_id"])


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
