"""Eligibility on the service date: roster, section, contributions and route of care."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from fhir_mappings.claim import CareSetting
from fhir_mappings.eligibility import CareRoute, InsuredMember, check_eligibility
from tests.fhir_mappings.test_pricing_factories import CID, PARAMETERS, claim, line

DAY = date(2026, 3, 10)
MEMBER = InsuredMember(
    cid=CID,
    section=33,
    main_hcode="10661",
    coverage_start=date(2020, 1, 1),
    coverage_end=None,
    contribution_months=15,
)


def _check(
    member: InsuredMember | None, *, network: bool = False, **claim_changes: object
) -> tuple[CareRoute | None, str | None]:
    submitted = replace(claim(DAY, line("OPD-VISIT", "150")), **claim_changes)  # type: ignore[arg-type]
    found = check_eligibility(submitted, member, in_main_network=network, parameters=PARAMETERS)
    return found.route, found.denial.code if found.denial else None


@pytest.mark.parametrize(
    ("member", "denial"),
    [
        (None, "not-insured"),
        (replace(MEMBER, section=40), "section-40-no-medical"),
        (replace(MEMBER, contribution_months=2), "insufficient-contributions"),
        (replace(MEMBER, coverage_start=DAY + timedelta(days=1)), "not-covered-on-date"),
        (replace(MEMBER, coverage_end=DAY - timedelta(days=1)), "not-covered-on-date"),
        (replace(MEMBER, death_date=DAY - timedelta(days=1)), "deceased"),
    ],
)
def test_people_without_medical_cover_are_denied(member: InsuredMember | None, denial: str) -> None:
    assert _check(member) == (None, denial)


def test_three_contribution_months_are_enough_and_coverage_dates_are_inclusive() -> None:
    member = replace(
        MEMBER, contribution_months=3, coverage_start=DAY, coverage_end=DAY, death_date=DAY
    )
    assert _check(member) == (CareRoute.MAIN_HOSPITAL, None)


def test_routes_of_care() -> None:
    assert _check(MEMBER, network=True, provider_hcode="23760") == (CareRoute.NETWORK, None)
    assert _check(MEMBER, provider_hcode="11512", has_referral=True) == (CareRoute.REFERRAL, None)
    assert _check(MEMBER, provider_hcode="11512", setting=CareSetting.EMERGENCY) == (
        CareRoute.EMERGENCY_NON_CONTRACTED,
        None,
    )
    assert _check(MEMBER, provider_hcode="11512") == (None, "not-registered-hospital")


def test_claim_without_service_date_is_denied_not_crashed() -> None:
    assert _check(MEMBER, billable_start=None, lines=()) == (None, "service-date-missing")
