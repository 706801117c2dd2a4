"""The fraud model registry: every trained version, its frozen artefact and which one is active."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from provider_registry.models import utcnow


class FraudModelVersion(SQLModel, table=True):
    """A trained model version; the artefact holds frozen parameters only, never claim rows."""

    __tablename__ = "fraud_models"

    version: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    active: bool = Field(default=False, index=True)
    promoted_at: datetime | None = None
    promoted_by: str | None = Field(default=None, max_length=100)
    threshold_mode: str = Field(max_length=32)
    threshold_value: float
    threshold_risk: float
    training_first_day: date | None = None
    training_last_day: date | None = None
    training_claims: int = 0
    rules_version: str = Field(max_length=32)
    metadata_json: str = Field(sa_column=Column(Text, nullable=False))
    artefact_sha256: str = Field(max_length=64)
    artefact_bytes: int = 0
    artefact: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
