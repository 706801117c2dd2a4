"""Tables of payment runs: batches per hospital and the claims each batch pays."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from gateway.claims.models import MONEY
from provider_registry.models import utcnow


class BatchStatus(StrEnum):
    """A batch is open until finance confirms the bank transfer."""

    OPEN = "open"
    CONFIRMED = "confirmed"


class PaymentBatch(SQLModel, table=True):
    """One hospital's payable claims of one period, closed by one payment run."""

    __tablename__ = "payment_batches"

    id: str = Field(primary_key=True, max_length=36)
    run_id: str = Field(index=True, max_length=36)
    period: str = Field(index=True, max_length=7)
    hcode: str = Field(foreign_key="hospitals.hcode", index=True, max_length=9)
    status: str = Field(default=BatchStatus.OPEN.value, index=True, max_length=16)
    claims: int
    amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    category_totals: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    bank_reference: str | None = Field(default=None, max_length=100)
    confirmed_by: str | None = Field(default=None, max_length=100)
    confirmed_at: datetime | None = None


class PaymentBatchClaim(SQLModel, table=True):
    """A claim paid by a batch; `claim_id` is unique, so no claim is ever in two batches."""

    __tablename__ = "payment_batch_claims"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(foreign_key="payment_batches.id", index=True, max_length=36)
    claim_id: str = Field(foreign_key="claims.id", unique=True, index=True, max_length=36)
    response_id: str | None = Field(default=None, max_length=36)
    invoice_system: str = Field(max_length=200)
    invoice: str = Field(max_length=100)
    service_date: date | None = None
    amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
