"""The tariff schedule, code mappings and benefit parameters, kept per process.

They change only when someone imports a new version, yet pricing needs them for every claim.
Each claim reads the tables' revision (the newest row id of each: index ends, read in the same
statement as the claim's roster row); while it is unchanged the process reuses what it loaded,
and the first claim after an import reloads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session

from fhir_mappings.tariff import BenefitParameters, TariffMapping, TariffSchedule
from gateway.pricing.convert import item_from_record, mapping_from_record, parameter_from_record
from gateway.pricing.repository import PricingRevision, TariffRepository

MAX_HOSPITALS = 512
"""Hospitals whose mappings one process keeps; past that the longest-kept one is dropped."""


@dataclass(slots=True)
class _Loaded:
    """What one revision of the tables holds; mappings are loaded one hospital at a time."""

    revision: PricingRevision
    schedule: TariffSchedule
    parameters: BenefitParameters
    mappings: dict[str, dict[str, tuple[TariffMapping, ...]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PricingTables:
    """The reference data one claim is priced with, all of one revision."""

    schedule: TariffSchedule
    parameters: BenefitParameters
    _mappings: dict[str, tuple[TariffMapping, ...]]

    def mappings_for(self, local_codes: Iterable[str]) -> list[TariffMapping]:
        """The hospital's mappings of these local codes, named systems before '' (any)."""
        return [m for code in sorted(set(local_codes)) for m in self._mappings.get(code, ())]


class TariffCache:
    """Per-process copies of the pricing tables, checked against the database on every claim.

    Safe to share between the threads of one worker: a reload builds a new snapshot and swaps
    it in, so a claim never sees a half-built one; two threads may both reload after an import,
    which costs a read, not a wrong price.
    """

    def __init__(self, max_hospitals: int = MAX_HOSPITALS) -> None:
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._max_hospitals = max_hospitals

    def tables(self, session: Session, hcode: str, revision: PricingRevision) -> PricingTables:
        """The schedule, parameters and `hcode`'s mappings as of `revision`, read by the caller
        in this transaction (see PricingRepository.start)."""
        repo = TariffRepository(session)
        loaded = self._loaded
        if loaded is None or loaded.revision != revision:
            # Read after the revision: on PostgreSQL a newer import may slip in between, which
            # only makes the next claim reload again.
            loaded = _Loaded(
                revision=revision,
                schedule=TariffSchedule(item_from_record(r) for r in repo.items()),
                parameters=BenefitParameters(parameter_from_record(r) for r in repo.parameters()),
            )
            self._loaded = loaded
        mappings = loaded.mappings.get(hcode)
        if mappings is None:
            mappings = _by_local_code(mapping_from_record(r) for r in repo.hospital_mappings(hcode))
            with self._lock:
                if len(loaded.mappings) >= self._max_hospitals:
                    loaded.mappings.pop(next(iter(loaded.mappings)))
                loaded.mappings[hcode] = mappings
        return PricingTables(loaded.schedule, loaded.parameters, mappings)


def _by_local_code(mappings: Iterable[TariffMapping]) -> dict[str, tuple[TariffMapping, ...]]:
    grouped: dict[str, list[TariffMapping]] = {}
    for mapping in mappings:
        grouped.setdefault(mapping.local_code, []).append(mapping)
    return {code: tuple(found) for code, found in grouped.items()}
