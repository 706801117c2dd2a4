"""Tables of the review workbench: every decision a reviewer or supervisor took on a claim."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from gateway.claims.models import MONEY
from provider_registry.models import utcnow


class Decision(StrEnum):
    """What a reviewer may decide on a pended claim."""

    APPROVE = "approve"
    DENY = "deny"
    ADJUST = "adjust"
    REQUEST_INFO = "request_info"


class DecisionState(StrEnum):
    """Where a decision stands: in force, waiting for a second supervisor, or sent back."""

    FINAL = "final"
    AWAITING_SECOND = "awaiting_second"
    OVERTURNED = "overturned"


class ReviewSource(StrEnum):
    """Why a claim is in the review queue."""

    FLAGGED = "flagged"
    RANDOM_AUDIT = "random-audit"
    INFO_RETURNED = "info-returned"
    PRICING = "pricing"  # pricing pended it (an implausible DRG), not the fraud model


class ReviewDecision(SQLModel, table=True):
    """One decision on a pended claim; the internal note never leaves the SSO."""

    __tablename__ = "review_decisions"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claims.id", index=True, max_length=36)
    hcode: str = Field(index=True, max_length=9)
    reviewer: str = Field(index=True, max_length=64)
    decision: str = Field(max_length=16)
    state: str = Field(max_length=16)
    note: str = Field(sa_column=Column(Text, nullable=False))
    message_to_hospital: str | None = Field(default=None, sa_column=Column(Text))
    lines_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    benefit_before: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    benefit_after: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    review_source: str = Field(default=ReviewSource.FLAGGED.value, max_length=16)
    decided_at: datetime = Field(default_factory=utcnow, index=True)
    second_reviewer: str | None = Field(default=None, max_length=64)
    second_approved: bool | None = None
    second_note: str | None = Field(default=None, sa_column=Column(Text))
    second_at: datetime | None = None
