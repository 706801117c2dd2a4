"""Who may claim: hospitals and their API clients."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored moment as timezone-aware UTC: SQLite hands datetimes back naive (stored as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ContractType(StrEnum):
    """A hospital's contract with the SSO."""

    MAIN = "main"
    NETWORK = "network"
    NONE = "none"


class Ownership(StrEnum):
    """Who owns a hospital; decides the SSO's emergency rates at a non-contracted hospital."""

    PUBLIC = "public"
    PRIVATE = "private"


class HospitalBase(SQLModel):
    """The public face of a hospital."""

    hcode: str = Field(primary_key=True, max_length=9)
    name: str = Field(max_length=200)
    contract_type: str = Field(default=ContractType.MAIN.value, max_length=16)
    province: str | None = Field(default=None, max_length=100)
    ownership: str = Field(default=Ownership.PRIVATE.value, max_length=16)
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
    jwks_uri: str | None = Field(default=None, max_length=500)  # keys fetched from the client
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class InsuredPerson(SQLModel, table=True):
    """An SSO insured person on the roster: section, registered main hospital, coverage."""

    __tablename__ = "insured_persons"

    # The person as the gateway's keyed hash of the CID (HMAC-SHA256 under CLAIMGW_LOOKUP_KEY,
    # gateway/security/data_key.py): the roster holds no citizen ID (migration 0012).
    person_key: str = Field(primary_key=True, max_length=64)
    section: int
    main_hcode: str = Field(index=True, max_length=9)
    coverage_start: date
    coverage_end: date | None = None
    contribution_months: int
    death_date: date | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class HospitalNetwork(SQLModel, table=True):
    """A network hospital that gives routine care on behalf of a main contractor hospital."""

    __tablename__ = "hospital_networks"

    main_hcode: str = Field(primary_key=True, max_length=9)
    network_hcode: str = Field(primary_key=True, max_length=9)
    created_at: datetime = Field(default_factory=utcnow)
