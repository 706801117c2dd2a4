"""The typed claim the rest of the gateway works with, mapped from a FHIR bundle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class CareSetting(StrEnum):
    """Where care was given; decides which tariffs and rules apply."""

    OPD = "OPD"
    IPD = "IPD"
    EMERGENCY = "EMERGENCY"


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One billed item of a claim."""

    sequence: int
    product_system: str | None
    product_code: str
    product_display: str | None
    category_code: str | None
    quantity: Decimal
    unit_price: Decimal | None
    net: Decimal
    serviced_date: date | None


@dataclass(frozen=True, slots=True)
class DrgGrouping:
    """The Thai DRG the hospital's grouper assigned to an inpatient case."""

    drg: str
    rw: Decimal | None
    adj_rw: Decimal | None


@dataclass(frozen=True, slots=True)
class ClaimIdentifier:
    """A claim's business identifier: the hospital's invoice number."""

    system: str
    value: str

    def token(self) -> str:
        """The `system|value` search token."""
        return f"{self.system}|{self.value}"


@dataclass(frozen=True, slots=True)
class SubmittedClaim:
    """A claim as the hospital submitted it, checked against the SSO profile."""

    identifier: ClaimIdentifier
    provider_hcode: str
    patient_cid: str
    patient_birth_date: date | None
    patient_sex: str | None
    claim_type: str
    setting: CareSetting
    billable_start: datetime | None
    billable_end: datetime | None
    created: datetime | None
    total: Decimal
    lines: tuple[ClaimLine, ...]
    diagnoses: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    related_claim: ClaimIdentifier | None = None
    has_referral: bool = False
    drg: DrgGrouping | None = None
    admitted: datetime | None = None
    discharged: datetime | None = None
    encounter_key: str | None = None
    """The care episode (Encounter identifier, else its start); childbirth is paid once per one."""
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def service_date(self) -> date | None:
        """The day care started: the billable period's start, else the first line's date."""
        if self.billable_start is not None:
            return self.billable_start.date()
        dates = [line.serviced_date for line in self.lines if line.serviced_date]
        return min(dates) if dates else None
