"""A synthetic roster for claim bundles: every patient insured at the hospital that billed them.

`claimgw demo` and `claimgw member roster-from-claims` use it so that generated claims meet
eligible people. A small, deterministic share of patients is made ineligible (section 40, too
few contributions, coverage ended) so the demo shows denials too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from fhir_mappings import systems
from provider_registry.roster import RosterRow

DEMO_COVERAGE_START = date(2015, 1, 1)
FULL_CONTRIBUTIONS = 15


def roster_for_bundles(
    bundles: Iterable[dict[str, Any]], *, ineligible_percent: int = 0
) -> list[RosterRow]:
    """One roster row per distinct patient CID in the bundles, registered at its first biller."""
    seen: dict[str, RosterRow] = {}
    for cid, hcode in _patients(bundles):
        if cid not in seen:
            seen[cid] = _row(cid, hcode, ineligible_percent)
    return list(seen.values())


def _patients(bundles: Iterable[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for bundle in bundles:
        resources = [e.get("resource") or {} for e in bundle.get("entry") or []]
        cid = _identifier(resources, "Patient", systems.CID_SYSTEM)
        hcode = _identifier(resources, "Organization", systems.HCODE_SYSTEM)
        if cid and hcode:
            yield cid, hcode


def _identifier(resources: list[dict[str, Any]], kind: str, system: str) -> str | None:
    for resource in resources:
        if resource.get("resourceType") != kind:
            continue
        for ident in resource.get("identifier") or []:
            if ident.get("system") == system and ident.get("value"):
                return str(ident["value"])
    return None


def _row(cid: str, hcode: str, ineligible_percent: int) -> RosterRow:
    bucket = int(hashlib.sha256(cid.encode()).hexdigest(), 16) % 100
    section, months, end = 33, FULL_CONTRIBUTIONS, None
    if bucket < ineligible_percent:
        kind = bucket % 3
        section = 40 if kind == 0 else 33
        months = 1 if kind == 1 else FULL_CONTRIBUTIONS
        end = date(2020, 12, 31) if kind == 2 else None
    return RosterRow(
        cid=cid,
        section=section,
        main_hcode=hcode,
        coverage_start=DEMO_COVERAGE_START,
        coverage_end=end,
        contribution_months=months,
        death_date=None,
    )
