"""Cheap aggregate queries behind the scrape-time gauges (no personal data leaves here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from gateway.claims.models import ClaimRecord, OutboxMessage, ReimbursementQueueEntry
from gateway.metrics.drift import ScoreReference


@dataclass(frozen=True, slots=True)
class Backlog:
    """How many rows wait, since when, and (for money) how much."""

    depth: int
    oldest: datetime | None
    amount: Decimal = Decimal(0)


def reimbursement_backlog(session: Session) -> Backlog:
    """Payable claims not yet batched into a payment run."""
    row = session.exec(
        select(
            func.count(),
            func.min(ReimbursementQueueEntry.enqueued_at),
            func.coalesce(func.sum(ReimbursementQueueEntry.amount), 0),
        ).where(col(ReimbursementQueueEntry.batched_at).is_(None))
    ).one()
    return Backlog(depth=int(row[0]), oldest=row[1], amount=Decimal(row[2]))


def outbox_backlog(session: Session) -> Backlog:
    """Outbox events still to deliver (neither delivered nor dead-lettered)."""
    row = session.exec(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            col(OutboxMessage.delivered_at).is_(None), col(OutboxMessage.dead_at).is_(None)
        )
    ).one()
    return Backlog(depth=int(row[0]), oldest=row[1])


def review_backlog(session: Session, *, awaiting_second: bool = False) -> Backlog:
    """Claims waiting for a reviewer (or, with awaiting_second, for a second supervisor)."""
    status = "pending_second_approval" if awaiting_second else "pended_review"
    row = session.exec(
        select(func.count(), func.min(ClaimRecord.created_at)).where(
            col(ClaimRecord.status) == status
        )
    ).one()
    return Backlog(depth=int(row[0]), oldest=row[1])


def outbox_dead(session: Session) -> int:
    """Outbox events given up on after every delivery attempt (`claimgw outbox list --dead`)."""
    query = select(func.count()).where(col(OutboxMessage.dead_at).is_not(None))
    return int(session.exec(query).one())


def score_bins_since(session: Session, reference: ScoreReference, since: datetime) -> list[int]:
    """Claims scored since `since` per reference bin (by the reference's model, if it names one)."""
    score = col(ClaimRecord.fraud_score)
    if not reference.edges:
        bucket = case((score.is_not(None), 0), else_=0)
    else:
        bucket = case(
            *[(score < edge, i) for i, edge in enumerate(reference.edges)],
            else_=len(reference.edges),
        )
    query = (
        select(bucket, func.count())
        .where(col(ClaimRecord.created_at) >= since)
        .where(score.is_not(None))
        .group_by(bucket)
    )
    if reference.model_version is not None:
        query = query.where(col(ClaimRecord.model_version) == reference.model_version)
    counts = [0] * (len(reference.edges) + 1)
    for index, count in session.exec(query).all():
        counts[int(index)] = int(count)
    return counts
