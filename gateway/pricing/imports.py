"""Importing tariff items and code mappings: idempotent upserts keyed by version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from fhir_mappings.tariff import BenefitParameter, TariffItem, TariffMapping
from gateway.pricing.convert import mapping_values, parameter_values, record_values
from gateway.pricing.models import BenefitParameterRecord, TariffItemRecord, TariffMappingRecord
from gateway.pricing.repository import TariffRepository


@dataclass(slots=True)
class ImportReport:
    """How many rows an import added, changed or found unchanged."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0


def import_tariff_items(session: Session, items: Iterable[TariffItem]) -> ImportReport:
    """Upsert tariff item versions by (code, valid_from)."""
    repo, report = TariffRepository(session), ImportReport()
    for item in items:
        found = repo.item_version(item.code, item.valid_from)
        _upsert(repo, report, found, TariffItemRecord, record_values(item))
    return report


def import_tariff_mappings(session: Session, mappings: Iterable[TariffMapping]) -> ImportReport:
    """Upsert code mappings by (hcode, local_system, local_code, valid_from)."""
    repo, report = TariffRepository(session), ImportReport()
    for mapping in mappings:
        found = repo.mapping_version(
            mapping.hcode, mapping.local_system, mapping.local_code, mapping.valid_from
        )
        _upsert(repo, report, found, TariffMappingRecord, mapping_values(mapping))
    return report


def import_benefit_parameters(
    session: Session, parameters: Iterable[BenefitParameter]
) -> ImportReport:
    """Upsert benefit parameter versions by (name, valid_from)."""
    repo, report = TariffRepository(session), ImportReport()
    for parameter in parameters:
        found = repo.parameter_version(parameter.name, parameter.valid_from)
        _upsert(repo, report, found, BenefitParameterRecord, parameter_values(parameter))
    return report


Version = TariffItemRecord | TariffMappingRecord | BenefitParameterRecord


def _upsert(
    repo: TariffRepository,
    report: ImportReport,
    found: Version | None,
    model: type[Version],
    values: dict[str, object],
) -> None:
    """Add a new version, update a changed one, or leave an identical one; count which."""
    if found is None:
        repo.add(model(**values))  # type: ignore[arg-type]
        report.added += 1
    elif _changed(found, values):
        _change(repo, found, model, values)
        report.updated += 1
    else:
        report.unchanged += 1
    repo.session.flush()


def _change(
    repo: TariffRepository, found: Version, model: type[Version], values: dict[str, object]
) -> None:
    """Update a version in place, then move it to a new id: pricing caches key on the newest."""
    for name, value in values.items():
        setattr(found, name, value)
    repo.add(found)
    repo.session.flush()
    assert found.id is not None
    repo.renumber(model, found.id)
    repo.session.expunge(found)  # its identity (the old id) is gone


def _changed(record: object, values: dict[str, object]) -> bool:
    return any(getattr(record, name) != value for name, value in values.items())
