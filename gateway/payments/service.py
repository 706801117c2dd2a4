"""Payment runs: close a period's approved claims into one batch per hospital, export, confirm.

Each hospital's batch is written in one transaction (batch, its claims, their new status, the
queue's batched_at, audit events and the outbox event), so a run killed at any moment leaves
whole batches only, and running the period again picks up exactly the claims still unbatched.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from fhir_mappings.payment_reconciliation import (
    UNCATEGORISED,
    Statement,
    StatementLine,
    payment_reconciliation,
)
from gateway.claims.lifecycle import ClaimStatus
from gateway.claims.models import AuditEvent, OutboxMessage
from gateway.db import writer
from gateway.payments.models import BatchStatus, PaymentBatch, PaymentBatchClaim
from gateway.payments.repository import PayableClaim, PaymentRepository

log = structlog.get_logger("claimgw.payments")

BANGKOK = ZoneInfo("Asia/Bangkok")
RECONCILIATION_TOPIC = "payment.reconciliation"
CSV_COLUMNS = ("batch_id", "hcode", "claim_id", "invoice", "service_date", "benefit")
CENT = Decimal("0.01")


class PaymentError(ValueError):
    """A payment request the rules refuse; `kind` is `invalid` or `not-found`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """One batch a run created."""

    batch_id: str
    hcode: str
    claims: int
    amount: Decimal
    category_totals: dict[str, Decimal]

    def as_json(self) -> dict[str, Any]:
        """The batch as the CLI and the API print it."""
        return {
            "batch_id": self.batch_id,
            "hcode": self.hcode,
            "claims": self.claims,
            "amount": str(self.amount),
            "category_totals": {k: str(v) for k, v in sorted(self.category_totals.items())},
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one payment run did."""

    run_id: str
    period: str
    batches: list[BatchSummary] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """`{"run_id", "period", "batches": [...]}`."""
        return {
            "run_id": self.run_id,
            "period": self.period,
            "batches": [b.as_json() for b in self.batches],
        }


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """What confirming a batch did; `already` when it had been confirmed before."""

    batch_id: str
    bank_reference: str
    claims_paid: int
    already: bool

    @property
    def message(self) -> str:
        """One line for people."""
        ref = self.bank_reference
        if self.already:
            return f"batch {self.batch_id} was already confirmed ({ref}); nothing changed"
        return f"batch {self.batch_id} confirmed ({ref}); {self.claims_paid} claims paid"


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """The instants a month `YYYY-MM` spans in Bangkok time, as [start, end)."""
    try:
        first = datetime.strptime(period, "%Y-%m").replace(tzinfo=BANGKOK)
    except ValueError as exc:
        raise PaymentError("invalid", f"period must be YYYY-MM, not {period[:20]!r}") from exc
    following = (first + timedelta(days=32)).replace(day=1)
    return first.astimezone(UTC), following.astimezone(UTC)


def run_payments(
    engine: Engine, *, period: str, actor: str, pause_seconds: float = 0.0
) -> RunResult:
    """Batch every payable claim approved in the period: one batch per hospital."""
    start, end = period_bounds(period)
    result = RunResult(run_id=str(uuid.uuid4()), period=period)
    with Session(engine) as session:
        hcodes = PaymentRepository(session).payable_hcodes(start, end)
    for hcode in hcodes:
        summary = _batch_hospital(
            engine, result.run_id, period, hcode, (start, end), actor, pause_seconds
        )
        if summary is not None:
            result.batches.append(summary)
    log.info("payments.run", run_id=result.run_id, period=period, batches=len(result.batches))
    return result


def _batch_hospital(
    engine: Engine,
    run_id: str,
    period: str,
    hcode: str,
    span: tuple[datetime, datetime],
    actor: str,
    pause_seconds: float,
) -> BatchSummary | None:
    """One hospital's batch, all in one transaction; None when nothing was left to batch."""
    with Session(writer(engine), expire_on_commit=False) as session:
        repo = PaymentRepository(session)
        payable = repo.payable_claims(hcode, *span)
        if not payable:
            return None
        now = datetime.now(UTC)
        batch = PaymentBatch(
            id=str(uuid.uuid4()),
            run_id=run_id,
            period=period,
            hcode=hcode,
            claims=0,
            amount=Decimal(0),
            created_by=actor,
            created_at=now,
        )
        repo.add_batch(batch)
        chosen = _take(repo, batch.id, payable, now)
        if not chosen:
            session.rollback()  # another run took every claim first
            return None
        totals = _category_totals(repo, chosen)
        batch.claims = len(chosen)
        batch.amount = sum((c.amount for c in chosen), Decimal(0))
        batch.category_totals = orjson.dumps({k: str(v) for k, v in totals.items()}).decode()
        session.add(batch)
        _record_batch(session, batch, chosen, actor, now)
        session.flush()
        if pause_seconds:  # test hook: the batch is written but not committed (docs/operations.md)
            time.sleep(pause_seconds)
        session.commit()
    log.info("payments.batch", batch_id=batch.id, hcode=hcode, claims=batch.claims)
    return BatchSummary(batch.id, hcode, batch.claims, batch.amount, totals)


def _take(
    repo: PaymentRepository, batch_id: str, payable: list[PayableClaim], now: datetime
) -> list[PayableClaim]:
    """The claims this batch really gets: won against other runs, and still queued."""
    won = repo.take_claims(batch_id, payable)
    moved = repo.mark_claims_batched(sorted(won), now)
    # A hospital may have cancelled a claim between our read and our update; it leaves the batch.
    if won - moved:
        repo.drop_batch_claims(batch_id, sorted(won - moved))
    return [c for c in payable if c.claim_id in moved]


def _category_totals(repo: PaymentRepository, chosen: list[PayableClaim]) -> dict[str, Decimal]:
    """Benefit by fee category; what lines do not explain (a review adjustment) stays apart."""
    totals: dict[str, Decimal] = {}
    for code, amount in repo.category_line_totals([c.claim_id for c in chosen]).items():
        key = code or UNCATEGORISED
        totals[key] = totals.get(key, Decimal(0)) + amount
    rest = sum((c.amount for c in chosen), Decimal(0)) - sum(totals.values(), Decimal(0))
    if rest:
        totals[UNCATEGORISED] = totals.get(UNCATEGORISED, Decimal(0)) + rest
    return {k: v.quantize(CENT) for k, v in totals.items() if v}


def _record_batch(
    session: Session,
    batch: PaymentBatch,
    chosen: list[PayableClaim],
    actor: str,
    now: datetime,
) -> None:
    detail = orjson.dumps({"batch_id": batch.id}).decode()
    PaymentRepository(session).add_audit(
        [
            _claim_event(c.claim_id, batch.hcode, actor, now, ClaimStatus.BATCHED, detail)
            for c in chosen
        ]
    )
    session.add(_batch_event(batch, "payment.batch_created", actor, now))
    session.add(_reconciliation_event(batch, now))


def _claim_event(
    claim_id: str, hcode: str, actor: str, now: datetime, to: ClaimStatus, detail: str
) -> dict[str, Any]:
    """An audit_events row (a plain dict: a batch writes thousands, model objects cost more)."""
    before = ClaimStatus.QUEUED_FOR_PAYMENT if to is ClaimStatus.BATCHED else ClaimStatus.BATCHED
    return {
        "at": now,
        "actor": actor,
        "hcode": hcode,
        "action": f"claim.{to.value}",
        "entity_type": "Claim",
        "entity_id": claim_id,
        "from_status": before.value,
        "to_status": to.value,
        "detail": detail,
    }


def _batch_event(batch: PaymentBatch, action: str, actor: str, now: datetime) -> AuditEvent:
    return AuditEvent(
        at=now,
        actor=actor,
        hcode=batch.hcode,
        action=action,
        entity_type="PaymentBatch",
        entity_id=batch.id,
        to_status=batch.status,
        detail=orjson.dumps({"claims": batch.claims, "amount": str(batch.amount)}).decode(),
    )


def _reconciliation_event(batch: PaymentBatch, now: datetime) -> OutboxMessage:
    payload = {"reconciliation_id": batch.id, "batch_id": batch.id, "hcode": batch.hcode}
    return OutboxMessage(
        topic=RECONCILIATION_TOPIC, payload=orjson.dumps(payload).decode(), created_at=now
    )


def confirm_batch(engine: Engine, *, batch_id: str, reference: str, actor: str) -> ConfirmResult:
    """Mark a batch and its claims paid by a bank transfer; a second confirm changes nothing."""
    reference = reference.strip()
    if not 0 < len(reference) <= 100:
        raise PaymentError("invalid", "the bank reference must be 1 to 100 characters")
    with Session(writer(engine), expire_on_commit=False) as session:
        repo = PaymentRepository(session)
        batch = repo.batch(batch_id, for_update=True)
        if batch is None:
            raise PaymentError("not-found", f"no payment batch {batch_id[:64]}")
        now = datetime.now(UTC)
        # The conditional update decides between two confirms at once: only one sees `open`.
        if batch.status != BatchStatus.OPEN.value or not repo.confirm(
            batch_id, reference=reference, actor=actor, now=now
        ):
            session.rollback()
            return ConfirmResult(batch_id, batch.bank_reference or reference, 0, already=True)
        paid = repo.mark_claims_paid([c.claim_id for c in repo.batch_claims(batch_id)], now)
        detail = orjson.dumps({"batch_id": batch_id, "bank_reference": reference}).decode()
        repo.add_audit(
            [
                _claim_event(cid, batch.hcode, actor, now, ClaimStatus.PAID, detail)
                for cid in sorted(paid)
            ]
        )
        batch.status = BatchStatus.CONFIRMED.value
        session.add(_batch_event(batch, "payment.confirmed", actor, now))
        session.add(_reconciliation_event(batch, now))
        session.commit()
    log.info("payments.confirmed", batch_id=batch_id, claims=len(paid))
    return ConfirmResult(batch_id, reference, len(paid), already=False)


def list_batches(session: Session, status: str | None = None) -> list[dict[str, Any]]:
    """Every batch (newest first) as plain data."""
    if status is not None and status not in {s.value for s in BatchStatus}:
        raise PaymentError("invalid", "status must be open or confirmed")
    return [batch_json(b) for b in PaymentRepository(session).batches(status)]


def batch_json(batch: PaymentBatch) -> dict[str, Any]:
    """A batch as plain data for the CLI, the API and the page."""
    return {
        "batch_id": batch.id,
        "run_id": batch.run_id,
        "period": batch.period,
        "hcode": batch.hcode,
        "status": batch.status,
        "claims": batch.claims,
        "amount": str(batch.amount),
        "category_totals": orjson.loads(batch.category_totals),
        "created_at": batch.created_at.isoformat(),
        "bank_reference": batch.bank_reference,
        "confirmed_at": batch.confirmed_at.isoformat() if batch.confirmed_at else None,
    }


def get_batch(session: Session, batch_id: str) -> PaymentBatch:
    """A batch by id, or a not-found PaymentError."""
    batch = PaymentRepository(session).batch(batch_id)
    if batch is None:
        raise PaymentError("not-found", f"no payment batch {batch_id[:64]}")
    return batch


def statement(session: Session, batch: PaymentBatch) -> Statement:
    """A batch with its claims, as the pure statement the FHIR and CSV exports are built from."""
    start, end = period_bounds(batch.period)
    lines = tuple(_line(c) for c in PaymentRepository(session).batch_claims(batch.id))
    return Statement(
        batch_id=batch.id,
        hcode=batch.hcode,
        period_start=start.astimezone(BANGKOK).date(),
        period_end=(end.astimezone(BANGKOK) - timedelta(days=1)).date(),
        created=batch.created_at,
        confirmed=batch.confirmed_at,
        bank_reference=batch.bank_reference,
        category_totals={k: Decimal(v) for k, v in orjson.loads(batch.category_totals).items()},
        lines=lines,
    )


def _line(row: PaymentBatchClaim) -> StatementLine:
    return StatementLine(
        claim_id=row.claim_id,
        response_id=row.response_id,
        invoice_system=row.invoice_system,
        invoice=row.invoice,
        service_date=row.service_date,
        amount=row.amount,
    )


def reconciliation(session: Session, batch: PaymentBatch, base_url: str) -> dict[str, Any]:
    """The batch's PaymentReconciliation resource."""
    return payment_reconciliation(statement(session, batch), base_url)


def statement_csv(found: Statement) -> str:
    """The payment statement CSV: batch_id,hcode,claim_id,invoice,service_date,benefit."""
    out = io.StringIO()
    table = csv.writer(out, lineterminator="\n")
    table.writerow(CSV_COLUMNS)
    for line in found.lines:
        table.writerow(
            [
                found.batch_id,
                found.hcode,
                line.claim_id,
                line.invoice,
                _iso(line.service_date),
                str(line.amount.quantize(CENT)),
            ]
        )
    return out.getvalue()


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
