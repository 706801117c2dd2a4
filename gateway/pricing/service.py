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
    BenefitUse,
    PricingInput,
    deny_every_line,
    price_claim,
)
from fhir_mappings.tariff import (
    BenefitParameters,
    MissingParameter,
    TariffSchedule,
    default_parameter_text,
    default_schedule_text,
    parse_parameter_csv,
    parse_tariff_csv,
)
from gateway.pricing.cache import PricingTables, TariffCache
from gateway.pricing.convert import parameter_from_record, use_record
from gateway.pricing.imports import import_benefit_parameters, import_tariff_items
from gateway.pricing.repository import (
    BenefitUseRepository,
    PricingMember,
    PricingRepository,
    TariffRepository,
)
from provider_registry.models import Ownership

log = structlog.get_logger("claimgw.pricing")

HISTORY_YEARS = 6
"""How far back accumulators look: longer than the longest limit window (dentures, 5 years)."""


@dataclass(frozen=True, slots=True)
class MemberView:
    """The roster entry of a claim's patient, whether the billing hospital is in its network, and
    that hospital's ownership."""

    member: InsuredMember | None
    in_main_network: bool
    ownership: str = Ownership.PRIVATE.value


def price_with_database(
    session: Session,
    claim: SubmittedClaim,
    *,
    member: PricingMember | None,
    tables: PricingTables,
    parameters: BenefitParameters | None = None,
) -> Adjudication:
    """Check eligibility and price a claim; write its benefit uses in the session's transaction.

    `member` is the patient's locked roster row (PricingRepository.start), `tables` the cached
    schedule, mappings and parameters; `parameters` override the stored ones (tests).
    """
    try:
        view = _member_view(member, claim.patient_cid)
        return _price(session, claim, view, tables, parameters or tables.parameters)
    except MissingParameter:
        return deny_every_line(claim, "no-rules-on-date")


def _price(
    session: Session,
    claim: SubmittedClaim,
    view: MemberView,
    tables: PricingTables,
    parameters: BenefitParameters,
) -> Adjudication:
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
    given = PricingInput(
        claim=claim,
        eligibility=eligibility,
        schedule=tables.schedule,
        mappings=tables.mappings_for(line.product_code for line in claim.lines),
        history=_history_of(session, claim),
        parameters=parameters,
        ownership=view.ownership,
    )
    priced = price_claim(given)
    BenefitUseRepository(session).add_all(use_record(claim, use) for use in priced.uses)
    return priced.adjudication


def _member_view(found: PricingMember | None, cid: str) -> MemberView:
    if found is None:
        return MemberView(member=None, in_main_network=False)
    member = InsuredMember(
        cid=cid,
        section=found.section,
        main_hcode=found.main_hcode,
        coverage_start=found.coverage_start,
        coverage_end=found.coverage_end,
        contribution_months=found.contribution_months,
        death_date=found.death_date,
    )
    return MemberView(
        member=member,
        in_main_network=found.in_main_network,
        ownership=found.hospital_ownership or Ownership.PRIVATE.value,
    )


def _history_of(session: Session, claim: SubmittedClaim) -> list[BenefitUse]:
    day = claim.service_date or date.today()
    since = day - timedelta(days=366 * HISTORY_YEARS)
    rows = BenefitUseRepository(session).live_uses_of(claim.patient_cid, since)
    return [
        BenefitUse(
            group=group,
            tariff_code=code,
            service_date=served,
            amount=amount,
            count=count,
            encounter=encounter or "",
        )
        for group, code, served, amount, count, encounter in rows
    ]


class TariffPricer:
    """The intake pricing step; loads the default schedule into an empty database on first use.

    The schedule, mappings and benefit parameters are cached per process and checked against
    the tables' revision on every claim (gateway/pricing/cache.py), so a `claimgw tariff import`
    or `params-import` takes effect on the next claim without a restart; fixed `parameters`
    (tests) override the stored ones.
    """

    def __init__(self, engine: Engine, parameters: BenefitParameters | None = None) -> None:
        self.engine = engine
        self.parameters = parameters
        self._schedule_seen = False
        self._tables = TariffCache()

    def __call__(self, session: Session, claim: SubmittedClaim) -> Adjudication:
        if not self._schedule_seen:
            added = seed_default_schedule(session) + seed_default_parameters(session)
            self._schedule_seen = added == 0
            if added:
                log.info("tariff.default_schedule_loaded", items=added)
        start = PricingRepository(session).start(claim.patient_cid, claim.provider_hcode)
        tables = self._tables.tables(session, claim.provider_hcode, start.revision)
        return price_with_database(
            session, claim, member=start.member, tables=tables, parameters=self.parameters
        )


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
