"""Queries for the tariff schedule, code mappings and benefit use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, bindparam, func, insert, text, update
from sqlalchemy import select as select_columns
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import Session, SQLModel, col, select

from gateway.claims.lifecycle import ClaimStatus
from gateway.claims.models import ClaimRecord
from gateway.pricing.models import (
    BenefitParameterRecord,
    BenefitUseRecord,
    TariffItemRecord,
    TariffMappingRecord,
)
from gateway.security.data_key import person_key
from provider_registry.models import Hospital, HospitalNetwork, InsuredPerson

RELEASED_STATUSES = (
    ClaimStatus.CANCELLED.value,
    ClaimStatus.REJECTED.value,
    ClaimStatus.DENIED.value,
)

UseRow = tuple[str, str, date, Decimal, int, str | None]
"""limit group, tariff code, service date, amount, count, encounter key"""

# The statements intake runs for every claim are built once, in Core: building an ORM select
# per call cost ten times the query itself (issue 12).
_USES = BenefitUseRecord.__table__  # type: ignore[attr-defined]
_CLAIMS = ClaimRecord.__table__  # type: ignore[attr-defined]


def _newest_id(model: type[SQLModel]) -> ScalarSelect[int | None]:
    table = model.__table__  # type: ignore[attr-defined]
    return select_columns(func.max(table.c.id)).scalar_subquery()


REVISION = select_columns(
    _newest_id(TariffItemRecord),
    _newest_id(TariffMappingRecord),
    _newest_id(BenefitParameterRecord),
)
LIVE_USES = (
    select_columns(
        _USES.c.limit_group,
        _USES.c.tariff_code,
        _USES.c.service_date,
        _USES.c.amount,
        _USES.c.count,
        _USES.c.encounter_key,
    )
    .join(
        _CLAIMS,
        and_(
            _CLAIMS.c.hcode == _USES.c.hcode,
            _CLAIMS.c.identifier_system == _USES.c.identifier_system,
            _CLAIMS.c.identifier_value == _USES.c.identifier_value,
        ),
    )
    .where(
        _USES.c.patient_key == bindparam("patient_key"),
        _USES.c.service_date >= bindparam("since"),
        # `!=` per status, not NOT IN: an expanding IN is rendered again on every execution
        *(_CLAIMS.c.status != status for status in RELEASED_STATUSES),
    )
)


@dataclass(frozen=True, slots=True)
class PricingRevision:
    """Where the tariff tables stand: a cache built at one revision is stale at another."""

    items: int | None
    mappings: int | None
    parameters: int | None


@dataclass(frozen=True, slots=True)
class PricingMember:
    """A claim's patient on the roster (row-locked) and the billing hospital's relation to it."""

    person_key: str
    section: int
    main_hcode: str
    coverage_start: date
    coverage_end: date | None
    contribution_months: int
    death_date: date | None
    in_main_network: bool
    hospital_ownership: str | None  # None: the billing hospital is not registered


@dataclass(frozen=True, slots=True)
class PricingStart:
    """What pricing reads first: the member (None: not on the roster) and the tables' revision."""

    member: PricingMember | None
    revision: PricingRevision


_PERSON = InsuredPerson.__table__  # type: ignore[attr-defined]
_NETWORK = HospitalNetwork.__table__  # type: ignore[attr-defined]
_HOSPITAL = Hospital.__table__  # type: ignore[attr-defined]
PRICING_START = (
    select_columns(
        _PERSON.c.person_key,
        _PERSON.c.section,
        _PERSON.c.main_hcode,
        _PERSON.c.coverage_start,
        _PERSON.c.coverage_end,
        _PERSON.c.contribution_months,
        _PERSON.c.death_date,
        select_columns(_NETWORK.c.network_hcode)
        .where(
            _NETWORK.c.main_hcode == _PERSON.c.main_hcode,
            _NETWORK.c.network_hcode == bindparam("hcode"),
        )
        .exists(),
        select_columns(_HOSPITAL.c.ownership)
        .where(_HOSPITAL.c.hcode == bindparam("hcode"))
        .scalar_subquery(),
        *REVISION.selected_columns,
    )
    .where(_PERSON.c.person_key == bindparam("person_key"))
    .with_for_update(of=_PERSON)
)


class PricingRepository:
    """The reads that begin pricing a claim, in as few round trips as they allow."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def start(self, cid: str, hcode: str) -> PricingStart:
        """The roster entry row-locked (on PostgreSQL only that row, FOR UPDATE OF),
        whether `hcode` is in the network of the person's main hospital, `hcode`'s ownership,
        and the tariff tables' revision: one round trip where there were four."""
        found = self.session.connection().execute(
            PRICING_START, {"person_key": person_key(cid), "hcode": hcode}
        )
        row = found.first()
        if row is None:  # not on the roster: the revision alone (the rules still apply)
            return PricingStart(None, TariffRepository(self.session).revision())
        member = PricingMember(
            person_key=row.person_key,
            section=row.section,
            main_hcode=row.main_hcode,
            coverage_start=row.coverage_start,
            coverage_end=row.coverage_end,
            contribution_months=row.contribution_months,
            death_date=row.death_date,
            in_main_network=bool(row[7]),
            hospital_ownership=row[8],
        )
        return PricingStart(member, PricingRevision(*row[9:12]))


class TariffRepository:
    """The tariff schedule and every hospital's code mappings."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def revision(self) -> PricingRevision:
        """The newest row id of items, mappings and parameters: one read of three index ends.

        Imports give every new or changed version a new, higher id (`renumber`), so a process
        that cached the schedule sees a moved revision on its next claim.
        """
        row = self.session.connection().execute(REVISION).one()
        return PricingRevision(items=row[0], mappings=row[1], parameters=row[2])

    def hospital_mappings(self, hcode: str) -> Sequence[TariffMappingRecord]:
        """Every mapping of one hospital, by local code, the named systems before '' (any)."""
        query = select(TariffMappingRecord).where(TariffMappingRecord.hcode == hcode)
        return self.session.exec(
            query.order_by(
                col(TariffMappingRecord.local_code),
                col(TariffMappingRecord.local_system).desc(),
                col(TariffMappingRecord.valid_from).desc(),
            )
        ).all()

    def renumber(self, model: type[SQLModel], row_id: int) -> None:
        """Move a changed version to the next id, so that `revision` moves with it.

        PostgreSQL takes the id from the column's sequence (later inserts never collide);
        SQLite's next rowid is max + 1, which no other writer can take while this one writes.
        """
        table = model.__table__  # type: ignore[attr-defined]
        if self.session.get_bind().dialect.name == "postgresql":
            next_id: object = text(f"nextval(pg_get_serial_sequence('{table.name}', 'id'))")
        else:
            next_id = select(func.max(table.c.id) + 1).scalar_subquery()
        self.session.execute(update(table).where(table.c.id == row_id).values(id=next_id))

    def count_items(self) -> int:
        """How many tariff item versions are stored."""
        return int(self.session.exec(select(func.count()).select_from(TariffItemRecord)).one())

    def items(self, codes: Iterable[str] | None = None) -> Sequence[TariffItemRecord]:
        """Every version of the given codes (or of all codes), by code and start date."""
        query = select(TariffItemRecord)
        if codes is not None:
            query = query.where(col(TariffItemRecord.code).in_(sorted(set(codes))))
        return self.session.exec(
            query.order_by(col(TariffItemRecord.code), col(TariffItemRecord.valid_from))
        ).all()

    def item_version(self, code: str, valid_from: date) -> TariffItemRecord | None:
        """One version of an item by its key."""
        query = select(TariffItemRecord).where(
            TariffItemRecord.code == code, TariffItemRecord.valid_from == valid_from
        )
        return self.session.exec(query).first()

    def all_mappings(self) -> Sequence[TariffMappingRecord]:
        """Every mapping, by hospital and local code."""
        query = select(TariffMappingRecord).order_by(
            TariffMappingRecord.hcode, TariffMappingRecord.local_code
        )
        return self.session.exec(query).all()

    def mapping_version(
        self, hcode: str, system: str, code: str, valid_from: date
    ) -> TariffMappingRecord | None:
        """One mapping by its key."""
        query = select(TariffMappingRecord).where(
            TariffMappingRecord.hcode == hcode,
            TariffMappingRecord.local_system == system,
            TariffMappingRecord.local_code == code,
            TariffMappingRecord.valid_from == valid_from,
        )
        return self.session.exec(query).first()

    def parameters(self) -> Sequence[BenefitParameterRecord]:
        """Every version of every benefit parameter, by name and start date."""
        query = select(BenefitParameterRecord).order_by(
            col(BenefitParameterRecord.name), col(BenefitParameterRecord.valid_from)
        )
        return self.session.exec(query).all()

    def parameter_version(self, name: str, valid_from: date) -> BenefitParameterRecord | None:
        """One version of a benefit parameter by its key."""
        query = select(BenefitParameterRecord).where(
            BenefitParameterRecord.name == name, BenefitParameterRecord.valid_from == valid_from
        )
        return self.session.exec(query).first()

    def add(self, record: TariffItemRecord | TariffMappingRecord | BenefitParameterRecord) -> None:
        """Stage a new or changed row."""
        self.session.add(record)


class BenefitUseRepository:
    """What a person's live claims spent against each limit group."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def live_uses_of(self, cid: str, since: date) -> Sequence[UseRow]:
        """Uses on or after `since` by claims that are not cancelled, rejected or denied.

        Plain rows, not ORM objects: a person's history can be long and is only read.
        """
        self.session.flush()  # a Core read skips autoflush: a withdrawn original must not count
        found = self.session.connection().execute(
            LIVE_USES, {"patient_key": person_key(cid), "since": since}
        )
        return found.tuples().all()

    def add_all(self, uses: Iterable[BenefitUseRecord]) -> None:
        """Write the uses of the claim being stored in one statement (committed with it, or not
        at all); a Core insert, so the ORM's unit of work has nothing left to flush."""
        table = BenefitUseRecord.__table__  # type: ignore[attr-defined]
        values = [
            {c.name: getattr(use, c.name) for c in table.columns if c.name != "id"} for use in uses
        ]
        if values:
            self.session.connection().execute(insert(table), values)
