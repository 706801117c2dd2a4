"""Test data for the roster and the tariff: insured people, networks, tariff rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine

from fhir_mappings.tariff import parse_mapping_csv, parse_tariff_csv
from gateway.db import session_scope
from gateway.pricing.imports import import_tariff_items, import_tariff_mappings
from gateway.pricing.service import seed_default_schedule
from gateway.security.data_key import person_key
from provider_registry.models import HospitalNetwork
from provider_registry.roster import RosterRow, upsert_member
from tests.support import VALID_CID

OTHER_CID = "3100600012348"  # valid check digit, synthetic


def insure(engine: Engine, cid: str = VALID_CID, **changes: Any) -> RosterRow:
    """Put a person on the roster: section 33 at 10661, fully contributed, unless changed."""
    values: dict[str, Any] = {
        "cid": cid,
        "section": 33,
        "main_hcode": "10661",
        "coverage_start": date(2015, 1, 1),
        "coverage_end": None,
        "contribution_months": 15,
        "death_date": None,
    }
    row = RosterRow(**{**values, **changes})
    with session_scope(engine) as session:
        upsert_member(session, row, person_key)
    return row


def link_network(engine: Engine, main_hcode: str, network_hcode: str) -> None:
    """Make `network_hcode` part of the network of `main_hcode`."""
    with session_scope(engine) as session:
        session.add(HospitalNetwork(main_hcode=main_hcode, network_hcode=network_hcode))


def load_default_schedule(engine: Engine) -> None:
    """The shipped schedule, as on first use."""
    with session_scope(engine) as session:
        seed_default_schedule(session)


def import_tariff_text(engine: Engine, text: str) -> None:
    """Import tariff rows from CSV text (header included)."""
    items, errors = parse_tariff_csv(text)
    assert not errors, errors
    with session_scope(engine) as session:
        import_tariff_items(session, items)


def import_mapping_text(engine: Engine, text: str) -> None:
    """Import code mappings from CSV text (header included)."""
    mappings, errors = parse_mapping_csv(text)
    assert not errors, errors
    with session_scope(engine) as session:
        import_tariff_mappings(session, mappings)
