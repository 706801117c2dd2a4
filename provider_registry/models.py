"""Who may claim: hospitals and their API clients."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class ContractType(StrEnum):
    """A hospital's contract with the SSO."""

    MAIN = "main"
    NETWORK = "network"
    NONE = "none"


class HospitalBase(SQLModel):
    """The public face of a hospital."""

    hcode: str = Field(primary_key=True, max_length=9)
    name: str = Field(max_length=200)
    contract_type: str = Field(default=ContractType.MAIN.value, max_length=16)
    province: str | None = Field(default=None, max_length=100)
    active: bool = True


class Hospital(HospitalBase, table=True):
    """A hospital (Organization) that may bill the SSO, identified by its MOPH HCODE."""

    __tablename__ = "hospitals"

    created_at: datetime = Field(default_factory=utcnow)


class ApiClient(SQLModel, table=True):
    """A hospital's backend client: its public keys verify the token assertions it signs."""

    __tablename__ = "api_clients"

    client_id: str = Field(primary_key=True, max_length=64)
    hcode: str = Field(foreign_key="hospitals.hcode", index=True, max_length=9)
    jwks: str
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
