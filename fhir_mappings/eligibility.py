"""Eligibility on the service date: who is covered, and through which route of care.

Pure: it takes the insured person's roster entry (or None) and how the billing hospital relates
to their registered main hospital, and answers with a route or a denial reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from fhir_mappings.adjudication import AdjudicationReason
from fhir_mappings.adjudication_reasons import reason
from fhir_mappings.claim import CareSetting, SubmittedClaim
from fhir_mappings.tariff import BenefitParameters

NO_MEDICAL_BENEFIT_SECTIONS = frozenset({40})


@dataclass(frozen=True, slots=True)
class InsuredMember:
    """What the roster says about one insured person."""

    cid: str
    section: int
    main_hcode: str
    coverage_start: date
    coverage_end: date | None
    contribution_months: int
    death_date: date | None = None


class CareRoute(StrEnum):
    """Why this hospital may bill for this person."""

    MAIN_HOSPITAL = "main-hospital"
    NETWORK = "network"
    REFERRAL = "referral"
    EMERGENCY_NON_CONTRACTED = "emergency-non-contracted"


@dataclass(frozen=True, slots=True)
class Eligibility:
    """A route of care for a covered person, or the reason they are not covered."""

    route: CareRoute | None
    section: int | None
    denial: AdjudicationReason | None = None

    @property
    def covered(self) -> bool:
        return self.denial is None


def check_eligibility(
    claim: SubmittedClaim,
    member: InsuredMember | None,
    *,
    in_main_network: bool,
    parameters: BenefitParameters,
) -> Eligibility:
    """Whether `member` is covered for this claim on its service date, and by which route."""
    day = claim.service_date
    if day is None:
        return _denied("service-date-missing", member)
    denial = _coverage_problem(member, day, parameters)
    if denial is not None or member is None:
        return _denied(denial or "not-insured", member)
    route = _route(claim, member, in_main_network)
    if route is None:
        return _denied("not-registered-hospital", member)
    return Eligibility(route=route, section=member.section)


def _coverage_problem(
    member: InsuredMember | None, day: date, parameters: BenefitParameters
) -> str | None:
    if member is None:
        return "not-insured"
    if member.death_date is not None and day > member.death_date:
        return "deceased"
    if day < member.coverage_start or (
        member.coverage_end is not None and day > member.coverage_end
    ):
        return "not-covered-on-date"
    if member.section in NO_MEDICAL_BENEFIT_SECTIONS:
        return "section-40-no-medical"
    if member.contribution_months < parameters.on("min_contribution_months", day):
        return "insufficient-contributions"
    return None


def _route(claim: SubmittedClaim, member: InsuredMember, in_main_network: bool) -> CareRoute | None:
    if claim.provider_hcode == member.main_hcode:
        return CareRoute.MAIN_HOSPITAL
    if in_main_network:
        return CareRoute.NETWORK
    if claim.has_referral:
        return CareRoute.REFERRAL
    if claim.setting is CareSetting.EMERGENCY:
        return CareRoute.EMERGENCY_NON_CONTRACTED
    return None


def _denied(code: str, member: InsuredMember | None) -> Eligibility:
    return Eligibility(route=None, section=member.section if member else None, denial=reason(code))
