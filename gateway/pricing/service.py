"""Eligibility and tariff pricing with the database: roster, schedule, mappings, accumulators.

Runs inside the intake transaction. The insured person's roster row is locked first
(SELECT ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers), so
two claims of one person are priced one after the other and never both spend the same allowance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from fhir_mappings.adjudication import Adjudication
from fhir_mappings.claim import SubmittedClaim
from fhir_mappings.eligibility import InsuredMember, check_eligibility
from fhir_mappings.pricing import (
    DRG_BASE_RATE,
    EMERGENCY_IPD_ENVELOPE,
    EMERGENCY_OPD_ENVELOPE,
    BenefitUse,
    PricingInput,
    deny_every_line,
    price_claim,
)
from fhir_mappings.tariff import (
    BenefitParameters,
    MissingParameter,
    TariffMapping,
    TariffSchedule,
    default_parameter_text,
    default_schedule_text,
    parse_parameter_csv,
    parse_tariff_csv,
)
from gateway.pricing.convert import (
    item_from_record,
    mapping_from_record,
    parameter_from_record,
    use_record,
)
from gateway.pricing.imports import import_benefit_parameters, import_tariff_items
from gateway.pricing.repository import BenefitUseRepository, TariffRepository
from provider_registry.models import InsuredPerson, Ownership
from provider_registry.repository import HospitalRepository, InsuredPersonRepository

log = structlog.get_logger("claimgw.pricing")

HISTORY_YEARS = 6
"""How far back accumulators look: longer than the longest limit window (dentures, 5 years)."""
CLAIM_LEVEL_CODES = (DRG_BASE_RATE, EMERGENCY_OPD_ENVELOPE, EMERGENCY_IPD_ENVELOPE)


@dataclass(frozen=True, slots=True)
class MemberView:
    """The roster entry of a claim's patient and whether the billing hospital is in its network."""

    member: InsuredMember | None
    in_main_network: bool


def price_with_database(
    session: Session, claim: SubmittedClaim, *, parameters: BenefitParameters
) -> Adjudication:
    """Check eligibility and price a claim; stage its benefit uses in the session."""
    try:
        return _price(session, claim, parameters)
    except MissingParameter:
        return deny_every_line(claim, "no-rules-on-date")


def _price(session: Session, claim: SubmittedClaim, parameters: BenefitParameters) -> Adjudication:
    view = _member_view(session, claim)
    eligibility = check_eligibility(
        claim, view.member, in_main_network=view.in_main_network, parameters=parameters
    )
    if not eligibility.covered:
        empty = PricingInput(
            claim=claim,
            eligibility=eligibility,
            schedule=TariffSchedule(()),
            mappings=(),
            history=(),
            parameters=parameters,
        )
        return price_claim(empty).adjudication
    mappings = _mappings_for(session, claim)
    given = PricingInput(
        claim=claim,
        eligibility=eligibility,
        schedule=_schedule_for(session, claim, mappings),
        mappings=mappings,
        history=_history_of(session, claim),
        parameters=parameters,
        ownership=_ownership_of(session, claim.provider_hcode),
    )
    priced = price_claim(given)
    BenefitUseRepository(session).add_all(use_record(claim, use) for use in priced.uses)
    return priced.adjudication


def _ownership_of(session: Session, hcode: str) -> str:
    hospital = HospitalRepository(session).get(hcode)
    return hospital.ownership if hospital is not None else Ownership.PRIVATE.value


def _member_view(session: Session, claim: SubmittedClaim) -> MemberView:
    members = InsuredPersonRepository(session)
    person = members.get_for_update(claim.patient_cid)
    if person is None:
        return MemberView(member=None, in_main_network=False)
    return MemberView(
        member=_member(person),
        in_main_network=members.in_network(person.main_hcode, claim.provider_hcode),
    )


def _member(person: InsuredPerson) -> InsuredMember:
    return InsuredMember(
        cid=person.cid,
        section=person.section,
        main_hcode=person.main_hcode,
        coverage_start=person.coverage_start,
        coverage_end=person.coverage_end,
        contribution_months=person.contribution_months,
        death_date=person.death_date,
    )


def _mappings_for(session: Session, claim: SubmittedClaim) -> list[TariffMapping]:
    records = TariffRepository(session).mappings_of(
        claim.provider_hcode, [line.product_code for line in claim.lines]
    )
    return [mapping_from_record(r) for r in records]


def _schedule_for(
    session: Session, claim: SubmittedClaim, mappings: list[TariffMapping]
) -> TariffSchedule:
    codes = {line.product_code for line in claim.lines} | {m.tariff_code for m in mappings}
    records = TariffRepository(session).items([*codes, *CLAIM_LEVEL_CODES])
    return TariffSchedule(item_from_record(r) for r in records)


def _history_of(session: Session, claim: SubmittedClaim) -> list[BenefitUse]:
    day = claim.service_date or date.today()
    since = day - timedelta(days=366 * HISTORY_YEARS)
    records = BenefitUseRepository(session).live_uses_of(claim.patient_cid, since)
    return [
        BenefitUse(
            group=r.limit_group,
            tariff_code=r.tariff_code,
            service_date=r.service_date,
            amount=r.amount,
            count=r.count,
            encounter=r.encounter_key or "",
        )
        for r in records
    ]


class TariffPricer:
    """The intake pricing step; loads the default schedule into an empty database on first use.

    Benefit parameters are read from the database for every claim (a few rows), so a
    `claimgw tariff params-import` takes effect without a restart; fixed `parameters` (tests)
    override them.
    """

    def __init__(self, engine: Engine, parameters: BenefitParameters | None = None) -> None:
        self.engine = engine
        self.parameters = parameters
        self._schedule_seen = False

    def __call__(self, session: Session, claim: SubmittedClaim) -> Adjudication:
        if not self._schedule_seen:
            added = seed_default_schedule(session) + seed_default_parameters(session)
            self._schedule_seen = added == 0
            if added:
                log.info("tariff.default_schedule_loaded", items=added)
        parameters = self.parameters or stored_parameters(session)
        return price_with_database(session, claim, parameters=parameters)


def stored_parameters(session: Session) -> BenefitParameters:
    """The benefit parameters stored in the database (every version)."""
    return BenefitParameters(
        parameter_from_record(r) for r in TariffRepository(session).parameters()
    )


def seed_default_parameters(session: Session) -> int:
    """Import the shipped benefit parameters if none is stored; how many rows were added."""
    if TariffRepository(session).parameters():
        return 0
    rows, _errors = parse_parameter_csv(default_parameter_text())
    try:
        with session.begin_nested():
            report = import_benefit_parameters(session, rows)
    except IntegrityError:
        return 0
    return report.added


def seed_default_schedule(session: Session) -> int:
    """Import the default schedule if no tariff item is stored; how many items were added.

    Runs in the caller's transaction (inside a savepoint), so on SQLite it needs no second
    writer, and a concurrent first use on PostgreSQL just finds the other's rows.
    """
    if TariffRepository(session).count_items() > 0:
        return 0
    items, _errors = parse_tariff_csv(default_schedule_text())
    try:
        with session.begin_nested():
            report = import_tariff_items(session, items)
    except IntegrityError:
        return 0
    return report.added
