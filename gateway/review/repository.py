"""Queries of the review workbench. Staff see every hospital's pended claims; nothing else here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Integer, and_, func, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gateway.claims.lifecycle import ClaimStatus
from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    ClaimResponseRecord,
    OutboxMessage,
    ReimbursementQueueEntry,
)
from gateway.review.models import DecisionState, ReviewDecision
from provider_registry.models import Hospital

MAX_PERSON_CLAIMS = 200
MARKER_SOURCES = {
    "RANDOM-AUDIT": "random-audit",
    "INFO-RETURNED": "info-returned",
    "PRICING-PEND": "pricing",
}
"""Reason codes that name how a claim reached the queue rather than a fraud signal."""
MAX_PEERS = 2000


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What a reviewer narrowed the queue to."""

    hcode: str | None = None
    reason: str | None = None
    min_amount: Decimal | None = None
    assignee: str | None = None  # a username, or "" for unassigned


@dataclass(frozen=True, slots=True)
class QueueCursor:
    """Where the last page ended, in queue order (expected loss descending, then claim id)."""

    expected_loss: Decimal
    claim_id: str


@dataclass(frozen=True, slots=True)
class HospitalMonth:
    """One hospital's claims and flags in a month."""

    hcode: str
    claims: int
    flagged: int


class ReviewRepository:
    """Pended claims, their locks, decisions and the figures around them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # The queue
    def _queue(self, where: QueueFilter) -> SelectOfScalar[ClaimRecord]:
        query = select(ClaimRecord).where(col(ClaimRecord.status) == ClaimStatus.PENDED_REVIEW)
        if where.hcode:
            query = query.where(col(ClaimRecord.hcode) == where.hcode)
        if where.reason:
            source = MARKER_SOURCES.get(where.reason)
            query = query.where(
                col(ClaimRecord.review_source) == source
                if source
                else col(ClaimRecord.fraud_reasons).contains(where.reason)
            )
        if where.min_amount is not None:
            query = query.where(col(ClaimRecord.total_benefit) >= where.min_amount)
        if where.assignee == "":
            query = query.where(col(ClaimRecord.assignee).is_(None))
        elif where.assignee:
            query = query.where(col(ClaimRecord.assignee) == where.assignee)
        return query

    def queue_page(
        self, where: QueueFilter, *, after: QueueCursor | None, limit: int
    ) -> Sequence[ClaimRecord]:
        """Up to `limit` pended claims after the cursor, riskiest expected loss first."""
        query = self._queue(where)
        if after is not None:
            query = query.where(
                or_(
                    col(ClaimRecord.expected_loss) < after.expected_loss,
                    and_(
                        col(ClaimRecord.expected_loss) == after.expected_loss,
                        col(ClaimRecord.id) > after.claim_id,
                    ),
                )
            )
        query = query.order_by(col(ClaimRecord.expected_loss).desc(), col(ClaimRecord.id))
        return self.session.exec(query.limit(limit)).all()

    def queue_total(self, where: QueueFilter) -> int:
        """How many pended claims match the filter."""
        subquery = self._queue(where).subquery()
        return int(self.session.exec(select(func.count()).select_from(subquery)).one())

    def pended_since(self) -> Sequence[datetime]:
        """When each claim still waiting for a decision was received."""
        waiting = (ClaimStatus.PENDED_REVIEW, ClaimStatus.PENDING_SECOND_APPROVAL)
        query = select(ClaimRecord.created_at).where(col(ClaimRecord.status).in_(waiting))
        return self.session.exec(query).all()

    def hospital_names(self, hcodes: set[str]) -> dict[str, str]:
        """Names of these hospitals by HCODE."""
        if not hcodes:
            return {}
        query = select(Hospital.hcode, Hospital.name).where(col(Hospital.hcode).in_(hcodes))
        return dict(self.session.exec(query).all())

    # One claim
    def claim(self, claim_id: str) -> ClaimRecord | None:
        """Any hospital's claim by id."""
        return self.session.get(ClaimRecord, claim_id)

    def claim_for_update(self, claim_id: str) -> ClaimRecord | None:
        """A claim row-locked until the transaction ends (PostgreSQL; SQLite serializes writers)."""
        query = select(ClaimRecord).where(col(ClaimRecord.id) == claim_id).with_for_update()
        return self.session.exec(query).first()

    def lines(self, claim_id: str) -> Sequence[ClaimLineRecord]:
        """A claim's lines in sequence order."""
        query = (
            select(ClaimLineRecord)
            .where(col(ClaimLineRecord.claim_id) == claim_id)
            .order_by(col(ClaimLineRecord.sequence))
        )
        return self.session.exec(query).all()

    def response(self, claim_id: str) -> ClaimResponseRecord | None:
        """The current ClaimResponse of a claim."""
        query = select(ClaimResponseRecord).where(col(ClaimResponseRecord.claim_id) == claim_id)
        return self.session.exec(query).first()

    def person_claims(self, person: str, since: date) -> Sequence[ClaimRecord]:
        """The claims of a person (by `patient_key`) at every hospital since a day, newest first."""
        query = (
            select(ClaimRecord)
            .where(col(ClaimRecord.patient_key) == person,  col(ClaimRecord.service_date) >= since)
            .order_by(col(ClaimRecord.service_date).desc(), col(ClaimRecord.id))
            .limit(MAX_PERSON_CLAIMS)
        )
        return self.session.exec(query).all()

    def hospital_months(self, since: datetime, until: datetime) -> Sequence[HospitalMonth]:
        """Claims and fraud flags per hospital received in [since, until)."""
        flagged = func.sum(func.cast(col(ClaimRecord.fraud_flagged), Integer))
        query = (
            select(ClaimRecord.hcode, func.count(), flagged)
            .where(col(ClaimRecord.created_at) >= since, col(ClaimRecord.created_at) < until)
            .group_by(col(ClaimRecord.hcode))
        )
        return [HospitalMonth(h, int(n), int(f or 0)) for h, n, f in self.session.exec(query)]

    def peer_claims(
        self, claim_type: str, setting: str, since: datetime
    ) -> Sequence[tuple[Decimal, float | None, int]]:
        """(claimed, fraud score, lines) of recent claims of one kind, the newest first."""
        query = (
            select(
                col(ClaimRecord.id), col(ClaimRecord.total_submitted), col(ClaimRecord.fraud_score)
            )
            .where(
                col(ClaimRecord.claim_type) == claim_type,
                col(ClaimRecord.setting) == setting,
                col(ClaimRecord.created_at) >= since,
            )
            .order_by(col(ClaimRecord.created_at).desc())
            .limit(MAX_PEERS)
        )
        peers = self.session.exec(query).all()
        counts = self._line_counts([claim_id for claim_id, _, _ in peers])
        return [(Decimal(a), s, counts.get(i, 0)) for i, a, s in peers]

    def _line_counts(self, claim_ids: list[str]) -> dict[str, int]:
        if not claim_ids:
            return {}
        query = (
            select(col(ClaimLineRecord.claim_id), func.count())
            .where(col(ClaimLineRecord.claim_id).in_(claim_ids))
            .group_by(col(ClaimLineRecord.claim_id))
        )
        return {claim_id: int(n) for claim_id, n in self.session.exec(query).all()}

    # Locks
    def take_lock(
        self, claim_id: str, *, username: str, now: datetime, until: datetime, force: bool
    ) -> bool:
        """Give the claim's lock to `username` unless someone else holds an unexpired one.

        One conditional UPDATE decides the race: of two reviewers who assign at the same
        moment, the database lets exactly one row update succeed.
        """
        waiting = (ClaimStatus.PENDED_REVIEW, ClaimStatus.PENDING_SECOND_APPROVAL)
        conditions = [col(ClaimRecord.id) == claim_id, col(ClaimRecord.status).in_(waiting)]
        if not force:
            conditions.append(
                or_(
                    col(ClaimRecord.assignee).is_(None),
                    col(ClaimRecord.assignee) == username,
                    col(ClaimRecord.lock_expires_at) < now,
                )
            )
        result = self.session.execute(
            update(ClaimRecord)
            .where(*conditions)
            .values(assignee=username, lock_expires_at=until)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_lock(self, claim_id: str, *, username: str | None) -> bool:
        """Free the claim's lock (only the holder's, unless username is None)."""
        conditions = [col(ClaimRecord.id) == claim_id]
        if username is not None:
            conditions.append(col(ClaimRecord.assignee) == username)
        result = self.session.execute(
            update(ClaimRecord)
            .where(*conditions)
            .values(assignee=None, lock_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # Decisions
    def decisions(self, claim_id: str) -> Sequence[ReviewDecision]:
        """Every decision on a claim, oldest first."""
        query = (
            select(ReviewDecision)
            .where(col(ReviewDecision.claim_id) == claim_id)
            .order_by(col(ReviewDecision.decided_at), col(ReviewDecision.id))
        )
        return self.session.exec(query).all()

    def awaiting_second(self, claim_id: str) -> ReviewDecision | None:
        """The decision of a claim that waits for a second supervisor."""
        query = select(ReviewDecision).where(
            col(ReviewDecision.claim_id) == claim_id,
            col(ReviewDecision.state) == DecisionState.AWAITING_SECOND,
        )
        return self.session.exec(query).first()

    def all_awaiting_second(self) -> Sequence[ReviewDecision]:
        """Every decision waiting for a second supervisor, oldest first."""
        query = (
            select(ReviewDecision)
            .join(ClaimRecord, col(ClaimRecord.id) == col(ReviewDecision.claim_id))
            .where(
                col(ReviewDecision.state) == DecisionState.AWAITING_SECOND,
                col(ClaimRecord.status) == ClaimStatus.PENDING_SECOND_APPROVAL,
            )
            .order_by(col(ReviewDecision.decided_at))
        )
        return self.session.exec(query).all()

    def decided_since(self, since: datetime) -> Sequence[ReviewDecision]:
        """Decisions taken since a moment (stats)."""
        query = select(ReviewDecision).where(col(ReviewDecision.decided_at) >= since)
        return self.session.exec(query.order_by(col(ReviewDecision.decided_at))).all()

    def decision_delays(self, since: datetime) -> Sequence[tuple[datetime, datetime]]:
        """(received, decided) of every decision taken since a moment."""
        query = (
            select(ClaimRecord.created_at, ReviewDecision.decided_at)
            .join(ClaimRecord, col(ClaimRecord.id) == col(ReviewDecision.claim_id))
            .where(col(ReviewDecision.decided_at) >= since)
        )
        return [(r, d) for r, d in self.session.exec(query).all()]

    def final_decisions(self) -> Sequence[tuple[ReviewDecision, ClaimRecord]]:
        """Every decision in force that ends a review, with its claim (labels)."""
        query = (
            select(ReviewDecision, ClaimRecord)
            .join(ClaimRecord, col(ClaimRecord.id) == col(ReviewDecision.claim_id))
            .where(
                col(ReviewDecision.state) == DecisionState.FINAL,
                col(ReviewDecision.decision) != "request_info",
            )
            .order_by(col(ReviewDecision.decided_at), col(ReviewDecision.id))
        )
        return [(d, c) for d, c in self.session.exec(query).all()]

    def requested_info(self, claim_id: str) -> bool:
        """Whether an officer asked the hospital for more information on this claim."""
        query = select(ReviewDecision.id).where(
            col(ReviewDecision.claim_id) == claim_id,
            col(ReviewDecision.decision) == "request_info",
        )
        return self.session.exec(query.limit(1)).first() is not None

    def history(self, claim_id: str) -> Sequence[AuditEvent]:
        """The claim's audit trail, oldest first."""
        query = (
            select(AuditEvent)
            .where(col(AuditEvent.entity_id) == claim_id)
            .order_by(col(AuditEvent.at), col(AuditEvent.id))
        )
        return self.session.exec(query).all()

    def random_audits_on(self, hcode: str, since: datetime, until: datetime) -> int:
        """How many claims of a hospital were drawn for random audit in [since, until)."""
        query = select(func.count()).where(
            col(ClaimRecord.hcode) == hcode,
            col(ClaimRecord.review_source) == "random-audit",
            col(ClaimRecord.created_at) >= since,
            col(ClaimRecord.created_at) < until,
        )
        return int(self.session.exec(query).one())

    # Writes of a decision, staged in the caller's transaction
    def stage(self, *rows: object) -> None:
        """Stage new or changed rows (claim, lines, decision, response, audit, outbox, payment)."""
        for row in rows:
            self.session.add(row)

    def queue_payment(self, entry: ReimbursementQueueEntry) -> None:
        """Put an approved claim on the reimbursement queue (once: claim_id is unique)."""
        self.session.add(entry)

    def notify(self, message: OutboxMessage) -> None:
        """Stage an outbox message for hospitals' subscriptions."""
        self.session.add(message)
