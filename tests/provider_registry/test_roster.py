"""Roster rows: validation, masking, idempotent upsert and the synthetic roster for claims."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlalchemy import text as text_sql
from sqlmodel import Session

from fhir_mappings.claim_bundle import build_claim_bundle
from gateway.security.data_key import person_key
from provider_registry.models import InsuredPerson
from provider_registry.roster import RosterError, RosterRow, import_roster, read_roster
from provider_registry.roster_synthetic import roster_for_bundles
from tests.support import VALID_CID, claim_spec

HEADER = "cid,section,main_hcode,coverage_start,coverage_end,contribution_months,death_date"


def _one(row: str) -> RosterRow | RosterError:
    return next(read_roster(f"{HEADER}\n{row}\n"))


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("123,33,10661,2015-01-01,,15,", "citizen ID *** is invalid (length)"),
        (f"{VALID_CID},33,1066,2015-01-01,,15,", "main_hcode must be 5 or 9 digits"),
        (f"{VALID_CID},33,10661,2015-01-01,,16,", "contribution_months must be 0 to 15"),
        (f"{VALID_CID},33,10661,2015-01-01,,x,", "contribution_months is not a whole number"),
        (f"{VALID_CID},33,10661,,,15,", "coverage_start is empty"),
        (
            f"{VALID_CID},33,10661,2015-01-01,2014-01-01,15,",
            "coverage_end is before coverage_start",
        ),
        (f"{VALID_CID},33,10661,2015-01-01,,15,05/01/2026", "death_date is not an ISO 8601 date"),
    ],
)
def test_bad_roster_rows_say_why(row: str, reason: str) -> None:
    found = _one(row)
    assert isinstance(found, RosterError)
    assert found.row == 1
    assert found.reason.startswith(reason)
    assert VALID_CID not in found.reason


def test_good_row_is_typed() -> None:
    assert _one(f"{VALID_CID},39,10661,2015-01-01,2030-01-01,3,") == RosterRow(
        cid=VALID_CID,
        section=39,
        main_hcode="10661",
        coverage_start=date(2015, 1, 1),
        coverage_end=date(2030, 1, 1),
        contribution_months=3,
        death_date=None,
    )


def test_import_upserts_by_the_cids_keyed_hash(engine: Engine) -> None:
    text = f"{HEADER}\n{VALID_CID},33,10661,2015-01-01,,15,\n"
    with Session(engine) as session:
        first = import_roster(session, read_roster(text), key_of=person_key)
        session.commit()
        again = import_roster(session, read_roster(text.replace(",15,", ",2,")), key_of=person_key)
        session.commit()
        person = session.get(InsuredPerson, person_key(VALID_CID))
    assert (first.added, again.updated) == (1, 1)
    assert person is not None
    assert person.contribution_months == 2
    with engine.connect() as conn:  # the roster stores no citizen ID
        stored = [
            str(v) for row in conn.execute(text_sql("SELECT * FROM insured_persons")) for v in row
        ]
    assert VALID_CID not in " ".join(stored)


def test_synthetic_roster_insures_patients_at_their_hospital_with_some_ineligible() -> None:
    bundles = [build_claim_bundle(claim_spec())]
    assert roster_for_bundles(bundles) == [
        RosterRow(
            cid=VALID_CID,
            section=33,
            main_hcode="10661",
            coverage_start=date(2015, 1, 1),
            coverage_end=None,
            contribution_months=15,
            death_date=None,
        )
    ]
    everyone_ineligible = roster_for_bundles(bundles, ineligible_percent=100)[0]
    assert (
        everyone_ineligible.section,
        everyone_ineligible.contribution_months,
        everyone_ineligible.coverage_end,
    ) != (33, 15, None)
