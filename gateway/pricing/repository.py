"""Queries for the tariff schedule, code mappings and benefit use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from gateway.claims.lifecycle import ClaimStatus
from gateway.claims.models import ClaimRecord
from gateway.pricing.models import (
    BenefitParameterRecord,
    BenefitUseRecord,
    TariffItemRecord,
    TariffMappingRecord,
)

RELEASED_STATUSES = (
    ClaimStatus.CANCELLED.value,
    ClaimStatus.REJECTED.value,
    ClaimStatus.DENIED.value,
)


class TariffRepository:
    """The tariff schedule and every hospital's code mappings."""

    def __init__(self, session: Session) -> None:
        self.session = session

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

    def mappings_of(self, hcode: str, local_codes: Iterable[str]) -> Sequence[TariffMappingRecord]:
        """A hospital's mappings for some of its local codes."""
        query = select(TariffMappingRecord).where(
            TariffMappingRecord.hcode == hcode,
            col(TariffMappingRecord.local_code).in_(sorted(set(local_codes))),
        )
        return self.session.exec(query.order_by(col(TariffMappingRecord.local_system).desc())).all()

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

    def live_uses_of(self, cid: str, since: date) -> Sequence[BenefitUseRecord]:
        """Uses on or after `since` by claims that are not cancelled, rejected or denied."""
        claim_of_use = and_(
            col(ClaimRecord.hcode) == col(BenefitUseRecord.hcode),
            col(ClaimRecord.identifier_system) == col(BenefitUseRecord.identifier_system),
            col(ClaimRecord.identifier_value) == col(BenefitUseRecord.identifier_value),
        )
        query = (
            select(BenefitUseRecord)
            .join(ClaimRecord, claim_of_use)
            .where(
                BenefitUseRecord.patient_cid == cid,
                BenefitUseRecord.service_date >= since,
                col(ClaimRecord.status).not_in(RELEASED_STATUSES),
            )
        )
        return self.session.exec(query).all()

    def add_all(self, uses: Iterable[BenefitUseRecord]) -> None:
        """Stage the uses of the claim being stored (committed with it, or not at all)."""
        self.session.add_all(list(uses))
