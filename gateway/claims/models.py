"""Tables of the claim lifecycle: claims, lines, responses, audit, outbox and queues."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

import gateway.audit.chain  # noqa: F401  (chains every AuditEvent row on flush)
from fhir_mappings import limits
from gateway.security.sealed import SealedText
from provider_registry.models import utcnow

MONEY = Numeric(limits.MONEY_PRECISION, limits.MONEY_SCALE)  # the profile checks the same range


class ClaimRecord(SQLModel, table=True):
    """A stored claim: what was submitted, its decision and where it is in its lifecycle."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("hcode", "identifier_system", "identifier_value", name="uq_claim_invoice"),
        Index("ix_claims_review_queue", "status", "expected_loss", "id"),
        Index("ix_claims_patient_key_service_date", "patient_key", "service_date"),
        # The scorer's per-day counts of a hospital, from the index alone (migration 0011)
        Index("ix_claims_hcode_service_date", "hcode", "service_date", "status", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    # indexed by ix_claims_hcode_service_date, which starts with it
    hcode: str = Field(foreign_key="hospitals.hcode", max_length=9)
    identifier_system: str = Field(max_length=limits.IDENTIFIER_SYSTEM_MAX)
    identifier_value: str = Field(max_length=limits.INVOICE_MAX)
    status: str = Field(index=True, max_length=32)
    claim_type: str = Field(max_length=limits.CLAIM_TYPE_MAX)
    setting: str = Field(max_length=16)
    # The person as a keyed hash (gateway.security.data_key.person_key), never the CID itself
    patient_key: str = Field(max_length=limits.PERSON_KEY_LENGTH)
    service_date: date | None = Field(default=None, index=True)
    total_submitted: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    total_eligible: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    total_benefit: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    outcome: str = Field(max_length=16)
    body_hash: str = Field(max_length=64)
    claim_json: str = Field(sa_column=Column(SealedText("claims.claim_json"), nullable=False))
    bundle_json: str = Field(sa_column=Column(SealedText("claims.bundle_json"), nullable=False))
    related_claim_id: str | None = Field(default=None, max_length=36)
    fraud_score: float | None = None
    fraud_reasons: str | None = Field(default=None, sa_column=Column(Text))
    model_version: str | None = Field(default=None, max_length=64)
    fraud_flagged: bool = False
    # The facts batch fraud training reads (gateway.claims.fraud_facts; migration 0010)
    fact_day: date | None = None
    fact_hour: int | None = None
    fact_age: int | None = None
    fact_sex: str | None = Field(default=None, max_length=16)
    fact_total: float | None = None
    fact_drg: str | None = Field(default=None, max_length=16)
    fact_rw: float | None = None
    fact_adj_rw: float | None = None
    fact_stay_days: float | None = None
    expected_loss: Decimal = Field(default=Decimal(0), sa_column=Column(MONEY, nullable=False))
    review_source: str | None = Field(default=None, max_length=16)
    assignee: str | None = Field(default=None, max_length=64)
    lock_expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class ClaimLineRecord(SQLModel, table=True):
    """One priced line of a stored claim."""

    __tablename__ = "claim_lines"
    __table_args__ = (UniqueConstraint("claim_id", "sequence", name="uq_claim_line_sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claims.id", index=True, max_length=36)
    sequence: int
    product_system: str | None = Field(default=None, max_length=limits.IDENTIFIER_SYSTEM_MAX)
    product_code: str = Field(max_length=limits.PRODUCT_CODE_MAX)
    category_code: str | None = Field(default=None, max_length=limits.CATEGORY_CODE_MAX)
    quantity: Decimal = Field(
        sa_column=Column(Numeric(limits.QUANTITY_PRECISION, limits.QUANTITY_SCALE), nullable=False)
    )
    serviced_date: date | None = None
    submitted: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    eligible: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    benefit: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    reasons: str = Field(default="", max_length=500)
    # The fraud facts' unit price (as billed, not rounded to money): `fraud train --from-db`.
    fact_unit_price: float | None = None


class ClaimResponseRecord(SQLModel, table=True):
    """The ClaimResponse sent for a claim, exactly as sent."""

    __tablename__ = "claim_responses"

    id: str = Field(primary_key=True, max_length=36)
    claim_id: str = Field(foreign_key="claims.id", unique=True, max_length=36)
    hcode: str = Field(index=True, max_length=9)
    outcome: str = Field(max_length=16)
    resource_json: str = Field(
        sa_column=Column(SealedText("claim_responses.resource_json"), nullable=False)
    )
    version_id: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime | None = None


class AuditEvent(SQLModel, table=True):
    """Who did what to which claim, and when; carries no personal data."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=100)
    hcode: str | None = Field(default=None, max_length=9)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(index=True, max_length=36)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # FHIR AuditEvent shape and the hash chain (gateway/audit/chain.py, migration 0008)
    agent_kind: str | None = Field(default=None, max_length=16)  # hospital, staff, os, system
    outcome: str | None = Field(default=None, max_length=8)  # AuditEvent.outcome: 0, 4, 8
    source: str | None = Field(default=None, max_length=64)  # the caller's network address
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class OutboxMessage(SQLModel, table=True):
    """An event to publish after commit; workers claim rows with a lease."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(index=True, max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    delivered_at: datetime | None = Field(default=None, index=True)
    # Delivery state (gateway/notify/worker.py): fanned out to subscribers, next retry, given up.
    fanned_out_at: datetime | None = None
    next_attempt_at: datetime | None = None
    dead_at: datetime | None = Field(default=None, index=True)
    last_error: str | None = Field(default=None, max_length=500)


class ReimbursementQueueEntry(SQLModel, table=True):
    """A payable claim waiting to be batched; one entry per claim, so it is paid once."""

    __tablename__ = "reimbursement_queue"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claims.id", unique=True, max_length=36)
    hcode: str = Field(index=True, max_length=9)
    amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    enqueued_at: datetime = Field(default_factory=utcnow, index=True)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    batched_at: datetime | None = None


class IdempotencyKey(SQLModel, table=True):
    """A client's Idempotency-Key: in flight, then the answer it got."""

    __tablename__ = "idempotency_keys"

    hcode: str = Field(primary_key=True, max_length=9)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    state: str = Field(max_length=16)
    locked_until: datetime
    response_status: int | None = None
    response_body: str | None = Field(
        default=None, sa_column=Column(SealedText("idempotency_keys.response_body"))
    )
    created_at: datetime = Field(default_factory=utcnow, index=True)
