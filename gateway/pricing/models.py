"""Tables of the tariff schedule, hospitals' code mappings and benefit use (accumulators)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from provider_registry.models import utcnow

MONEY = Numeric(14, 2)


class TariffItemRecord(SQLModel, table=True):
    """One version of an SSO tariff item, in force from valid_from to valid_to."""

    __tablename__ = "tariff_items"
    __table_args__ = (UniqueConstraint("code", "valid_from", name="uq_tariff_item_version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, max_length=64)
    name_th: str = Field(max_length=300)
    name_en: str = Field(max_length=300)
    fee_category: str = Field(default="", max_length=16)
    price: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    unit: str = Field(max_length=16)
    limit_amount: Decimal | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    limit_count: int | None = None
    limit_period: str | None = Field(default=None, max_length=16)
    limit_period_n: int = 1
    limit_group: str | None = Field(default=None, max_length=64)
    sections: str = Field(max_length=32)
    settings: str = Field(max_length=64)
    valid_from: date
    valid_to: date | None = None
    source: str = Field(sa_column=Column(Text, nullable=False))
    confidence: str = Field(default="L", max_length=4)
    illustrative: bool = False
    imported_at: datetime = Field(default_factory=utcnow)


class TariffMappingRecord(SQLModel, table=True):
    """A hospital's own code taken to an SSO tariff item; local_system '' matches any system."""

    __tablename__ = "tariff_mappings"
    __table_args__ = (
        UniqueConstraint(
            "hcode", "local_system", "local_code", "valid_from", name="uq_tariff_mapping"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    hcode: str = Field(index=True, max_length=9)
    local_system: str = Field(default="", max_length=200)
    local_code: str = Field(max_length=64)
    tariff_code: str = Field(max_length=64)
    valid_from: date
    valid_to: date | None = None
    source: str = Field(sa_column=Column(Text, nullable=False))
    imported_at: datetime = Field(default_factory=utcnow)


class BenefitUseRecord(SQLModel, table=True):
    """Benefit a claim spent against a limit group; summed into a person's accumulators.

    Rows belong to a claim by its business key and count only while that claim is live (not
    cancelled, rejected or denied), so cancelling or correcting a claim releases them.
    """

    __tablename__ = "benefit_uses"

    id: int | None = Field(default=None, primary_key=True)
    # The person as a keyed hash (gateway.security.data_key.person_key), never the CID itself
    patient_key: str = Field(index=True, max_length=64)
    hcode: str = Field(max_length=9)
    identifier_system: str = Field(max_length=200)
    identifier_value: str = Field(max_length=100)
    limit_group: str = Field(max_length=64)
    tariff_code: str = Field(max_length=64)
    service_date: date
    amount: Decimal = Field(sa_column=Column(MONEY, nullable=False))
    count: int
    encounter_key: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow)


class BenefitParameterRecord(SQLModel, table=True):
    """One version of a named benefit-rule number (e.g. the emergency window in hours)."""

    __tablename__ = "benefit_parameters"
    __table_args__ = (UniqueConstraint("name", "valid_from", name="uq_benefit_parameter_version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=64)
    value: Decimal = Field(sa_column=Column(Numeric(14, 4), nullable=False))
    valid_from: date
    valid_to: date | None = None
    source: str = Field(sa_column=Column(Text, nullable=False))
    confidence: str = Field(default="L", max_length=4)
    imported_at: datetime = Field(default_factory=utcnow)
