"""Importing tariff items and code mappings: idempotent upserts keyed by version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from fhir_mappings.tariff import TariffItem, TariffMapping
from gateway.pricing.convert import record_values
from gateway.pricing.models import TariffItemRecord, TariffMappingRecord
from gateway.pricing.repository import TariffRepository


@dataclass(frozen=True, slots=True)
class ImportReport:
    """How many rows an import added, changed or found unchanged."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0


def import_tariff_items(session: Session, items: Iterable[TariffItem]) -> ImportReport:
    """Upsert tariff item versions by (code, valid_from)."""
    repo, added, updated, unchanged = TariffRepository(session), 0, 0, 0
    for item in items:
        values = record_values(item)
        record = repo.item_version(item.code, item.valid_from)
        if record is None:
            repo.add(TariffItemRecord(**values))  # type: ignore[arg-type]
            added += 1
        elif _changed(record, values):
            for name, value in values.items():
                setattr(record, name, value)
            repo.add(record)
            updated += 1
        else:
            unchanged += 1
        session.flush()
    return ImportReport(added=added, updated=updated, unchanged=unchanged)


def import_tariff_mappings(session: Session, mappings: Iterable[TariffMapping]) -> ImportReport:
    """Upsert code mappings by (hcode, local_system, local_code, valid_from)."""
    repo, added, updated, unchanged = TariffRepository(session), 0, 0, 0
    for mapping in mappings:
        values = {
            "hcode": mapping.hcode,
            "local_system": mapping.local_system,
            "local_code": mapping.local_code,
            "tariff_code": mapping.tariff_code,
            "valid_from": mapping.valid_from,
            "valid_to": mapping.valid_to,
            "source": mapping.source,
        }
        record = repo.mapping_version(
            mapping.hcode, mapping.local_system, mapping.local_code, mapping.valid_from
        )
        if record is None:
            repo.add(TariffMappingRecord(**values))  # type: ignore[arg-type]
            added += 1
        elif _changed(record, values):
            for name, value in values.items():
                setattr(record, name, value)
            repo.add(record)
            updated += 1
        else:
            unchanged += 1
        session.flush()
    return ImportReport(added=added, updated=updated, unchanged=unchanged)


def _changed(record: object, values: dict[str, object]) -> bool:
    return any(getattr(record, name) != value for name, value in values.items())
