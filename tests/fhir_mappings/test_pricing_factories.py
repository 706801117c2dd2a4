"""Typed claims and pricing inputs for the pure pricing tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from fhir_mappings import systems
from fhir_mappings.claim import CareSetting, ClaimIdentifier, ClaimLine, DrgGrouping, SubmittedClaim
from fhir_mappings.eligibility import CareRoute, Eligibility
from fhir_mappings.pricing import BenefitUse, PricedClaim, PricingInput, price_claim
from fhir_mappings.tariff import (
    BenefitParameters,
    TariffSchedule,
    default_parameters,
    default_schedule_text,
    parse_tariff_csv,
)

THAI = ZoneInfo("Asia/Bangkok")
PARAMETERS = default_parameters()
DEFAULT_ITEMS, _ = parse_tariff_csv(default_schedule_text())
SCHEDULE = TariffSchedule(DEFAULT_ITEMS)
MAIN = Eligibility(route=CareRoute.MAIN_HOSPITAL, section=33)
EMERGENCY = Eligibility(route=CareRoute.EMERGENCY_NON_CONTRACTED, section=33)
CID = "1101700203450"


def line(
    code: str, net: str, quantity: str = "1", sequence: int = 1, day: date | None = None
) -> ClaimLine:
    """A line billed in the project's tariff codes."""
    return ClaimLine(
        sequence=sequence,
        product_system=systems.TARIFF_SYSTEM,
        product_code=code,
        product_display=None,
        category_code=None,
        quantity=Decimal(quantity),
        unit_price=None,
        net=Decimal(net),
        serviced_date=day,
    )


def claim(
    day: date,
    *lines: ClaimLine,
    setting: CareSetting = CareSetting.OPD,
    stay_days: int = 0,
    drg: DrgGrouping | None = None,
    invoice: str = "INV-1",
    encounter: str | None = None,
) -> SubmittedClaim:
    """A claim starting at 09:00 on `day`; lines are renumbered in order."""
    start = datetime.combine(day, time(9), THAI)
    end = start + timedelta(days=stay_days, minutes=30)
    numbered = tuple(
        ClaimLine(**{**{f: getattr(x, f) for f in x.__slots__}, "sequence": i})  # type: ignore[attr-defined]
        for i, x in enumerate(lines, start=1)
    )
    admitted = start if stay_days or setting is not CareSetting.OPD else None
    return SubmittedClaim(
        identifier=ClaimIdentifier(systems.invoice_system("10661"), invoice),
        provider_hcode="10661",
        patient_cid=CID,
        patient_birth_date=date(1985, 1, 1),
        patient_sex="female",
        claim_type="professional",
        setting=setting,
        billable_start=start,
        billable_end=end,
        created=end,
        total=sum((x.net for x in lines), Decimal(0)),
        lines=numbered,
        drg=drg,
        admitted=admitted,
        discharged=end if admitted else None,
        encounter_key=encounter,
    )


def price(
    submitted: SubmittedClaim,
    history: Sequence[BenefitUse] = (),
    *,
    eligibility: Eligibility = MAIN,
    schedule: TariffSchedule = SCHEDULE,
    ownership: str = "private",
    parameters: BenefitParameters = PARAMETERS,
) -> PricedClaim:
    """Price a claim against the default schedule and parameters."""
    return price_claim(
        PricingInput(
            claim=submitted,
            eligibility=eligibility,
            schedule=schedule,
            mappings=(),
            history=history,
            parameters=parameters,
            ownership=ownership,
        )
    )


def benefits(priced: PricedClaim) -> list[Decimal]:
    """The benefit of each line."""
    return [x.benefit for x in priced.adjudication.lines]


def reasons(priced: PricedClaim) -> list[list[str]]:
    """The reason codes of each line."""
    return [[r.code for r in x.reasons] for x in priced.adjudication.lines]
