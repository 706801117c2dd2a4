"""JSON shapes of the review API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from gateway.review.models import Decision


class ReasonOut(BaseModel):
    """Why a claim was flagged, in words a reviewer reads."""

    code: str
    text_en: str
    text_th: str


class QueueItem(BaseModel):
    """One pended claim in the queue."""

    claim_id: str
    hcode: str
    hospital_name: str | None
    received_at: datetime
    service_date: date | None
    claimed: Decimal
    benefit: Decimal
    risk: float
    expected_loss: Decimal
    reasons: list[ReasonOut]
    assignee: str | None
    age_hours: float
    sla_due_at: datetime
    source: str | None


class QueuePage(BaseModel):
    """A page of the queue, riskiest expected loss first."""

    items: list[QueueItem]
    next_cursor: str | None
    total: int


class LineOut(BaseModel):
    """A claim line as priced, with what review changed."""

    sequence: int
    code: str
    display: str | None
    quantity: Decimal
    submitted: Decimal
    eligible: Decimal
    benefit: Decimal
    reasons: list[str]


class PatientOut(BaseModel):
    """The patient, masked: the first digit and the last four of the citizen ID."""

    masked_cid: str
    birth_date: str | None
    gender: str | None


class PersonClaim(BaseModel):
    """One of the person's claims at any hospital."""

    claim_id: str
    hcode: str
    service_date: date | None
    claim_type: str
    status: str
    claimed: Decimal
    benefit: Decimal
    risk: float | None
    this_claim: bool


class HospitalProfile(BaseModel):
    """How the claim's hospital compares with its peers this month."""

    hcode: str
    name: str | None
    month: str
    claims: int
    flagged: int
    flag_rate: float | None
    rank: int | None
    hospitals: int


class PeerPosition(BaseModel):
    """Where the claim sits among recent claims of the same kind on one feature."""

    feature: str
    label_en: str
    label_th: str
    value: float
    percentile: float
    peers: int
    peer_values: list[float]


class HistoryEntry(BaseModel):
    """An assignment, decision or status change of the claim."""

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None = None


class DecisionOut(BaseModel):
    """A decision as recorded."""

    id: int
    reviewer: str
    decision: str
    state: str
    note: str
    message_to_hospital: str | None
    benefit_before: Decimal
    benefit_after: Decimal
    decided_at: datetime
    second_reviewer: str | None
    second_approved: bool | None
    second_note: str | None


class ClaimDetail(BaseModel):
    """Everything a reviewer needs to decide one claim."""

    claim_id: str
    invoice: str
    hcode: str
    hospital_name: str | None
    status: str
    source: str | None
    claim_type: str
    setting: str
    received_at: datetime
    service_date: date | None
    claimed: Decimal
    eligible: Decimal
    benefit: Decimal
    risk: float | None
    expected_loss: Decimal
    model_version: str | None
    reasons: list[ReasonOut]
    lines: list[LineOut]
    patient: PatientOut
    person_claims: list[PersonClaim]
    hospital: HospitalProfile
    peer_positions: list[PeerPosition]
    bundle: dict[str, Any]
    claim_response: dict[str, Any] | None
    decisions: list[DecisionOut]
    earlier_notes: list[DecisionOut]
    history: list[HistoryEntry]
    assignee: str | None
    lock_expires_at: datetime | None
    sla_due_at: datetime


class AssignRequest(BaseModel):
    """Take a claim's lock; a supervisor may name another reviewer."""

    assignee: str | None = Field(default=None, max_length=64)


class LockOut(BaseModel):
    """Who holds a claim's lock, until when."""

    assignee: str | None
    lock_expires_at: datetime | None


class LineBenefit(BaseModel):
    """The payable amount a reviewer sets for one line."""

    sequence: int = Field(ge=1, le=100_000)
    benefit: Decimal = Field(max_digits=14, decimal_places=2)


class DecisionRequest(BaseModel):
    """A reviewer's decision on a claim they hold."""

    decision: Decision
    note: str = Field(max_length=4000)
    message_to_hospital: str | None = Field(default=None, max_length=2000)
    lines: list[LineBenefit] = Field(default_factory=list, max_length=1000)


class DecisionResult(BaseModel):
    """Where a decision left the claim."""

    claim_id: str
    status: str
    benefit: Decimal
    needs_second_approval: bool


class SecondApprovalRequest(BaseModel):
    """A second supervisor's word on a large denial or adjustment."""

    approve: bool
    note: str = Field(max_length=4000)


class Interval(BaseModel):
    """A share with its 95% Wilson interval."""

    events: int
    trials: int
    rate: float | None
    low: float | None
    high: float | None


class AuditMonth(BaseModel):
    """What reviewers' labels say about the model in one month."""

    month: str
    miss_rate: Interval
    flag_precision: Interval
    estimated_recall: float | None


class ReviewerDay(BaseModel):
    """How many final decisions one reviewer took on one day."""

    reviewer: str
    day: date
    decisions: int


class AwaitingSecond(BaseModel):
    """A decision that waits for a second supervisor."""

    claim_id: str
    hcode: str
    reviewer: str
    decision: str
    benefit_before: Decimal
    benefit_after: Decimal
    decided_at: datetime


class ReviewStats(BaseModel):
    """The supervisor's view of the review work."""

    backlog_by_age: dict[str, int]
    sla_hours: int
    sla_breached_waiting: int
    sla_breached_decided: int
    decisions_per_reviewer_per_day: list[ReviewerDay]
    second_approvals_decided: int
    second_approvals_overturned: int
    overturn_rate: float | None
    awaiting_second_approval: list[AwaitingSecond]
    audit_by_month: list[AuditMonth]
