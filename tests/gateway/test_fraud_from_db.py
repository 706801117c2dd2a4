"""`claimgw fraud train --from-db`: claims submitted through the API train a model (SQLite, PG).

The gateway stores each claim's fraud facts at intake (`claims.fact_*`, migration 0010);
training from the database reads those columns and `claim_lines`, never the bundles. The
stored facts must be the facts of the submitted bundle, so that a model trained from the
database sees the same features as one trained from the file of the same claims.
"""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from fraud.batch import LineIndex, featurise_columns, learn_norms_batch
from fraud.columnar import ClaimColumns, from_facts
from fraud.facts import facts_from_bundle
from fraud.synth import FraudRates, SynthHospital, generate_bundles
from gateway.claims.fraud_facts import FraudFactsRepository
from gateway.cli.main import app
from gateway.db import session_scope
from gateway.security.data_key import person_key
from gateway.settings import get_settings
from provider_registry.roster import upsert_member
from provider_registry.roster_synthetic import roster_for_bundles
from tests.support import Hospital

SUBMIT = "/fhir/Claim/$submit"
HCODE = "10661"


def _bundles() -> list[bytes]:
    made = generate_bundles(
        claims=120,
        seed=19,
        hospitals=[SynthHospital(HCODE, "From-DB Hospital")],
        end=date(2026, 11, 1),
        days=25,
        rates=FraudRates().scaled(20),  # repeat visits and duplicates: history features matter
    )
    return [orjson.dumps(b) for b in made]


def _facts_of(cols: ClaimColumns, row: int) -> tuple[object, ...]:
    f = cols.facts(row)
    return (
        f.identifier,
        f.hcode,
        f.day,
        f.hour,
        f.setting,
        f.age,
        f.sex,
        f.total,
        f.drg,
        f.rw,
        f.adj_rw,
        f.stay_days,
        f.codes,
        f.quantities,
        f.unit_prices,
    )


def test_claims_submitted_through_the_api_train_a_model_from_their_stored_facts(
    client: TestClient,
    auth: dict[str, str],
    engine: Engine,
    hospital: Hospital,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bodies = _bundles()
    with session_scope(engine) as session:
        for row in roster_for_bundles(orjson.loads(b) for b in bodies):
            upsert_member(session, row, person_key)
    accepted = []
    for body in bodies:
        answer = client.post(SUBMIT, content=body, headers=auth)
        assert answer.status_code in (200, 201, 202, 422), answer.text
        if answer.status_code < 300:
            accepted.append(facts_from_bundle(orjson.loads(body)))
    assert len(accepted) >= 100

    with Session(engine) as session:
        stored = FraudFactsRepository(session).columns()
    submitted = from_facts(accepted)
    assert len(stored) == len(submitted)
    assert [_facts_of(stored, i) for i in range(len(stored))] == [
        _facts_of(submitted, i) for i in range(len(submitted))
    ]
    # The person is the keyed hash, never the citizen ID, and keeps the same grouping.
    assert not set(stored.person.tolist()) & set(submitted.person.tolist())
    assert len(set(stored.person.tolist())) == len({f.cid for f in accepted})

    # Same facts, same features: norms and every feature of every claim, bit for bit.
    norms = learn_norms_batch(submitted, LineIndex.of(submitted))
    assert learn_norms_batch(stored, LineIndex.of(stored)).as_dict() == norms.as_dict()
    from_db, from_file = featurise_columns(stored, norms), featurise_columns(submitted, norms)
    assert np.array_equal(from_db.x, from_file.x, equal_nan=True)

    monkeypatch.setenv("CLAIMGW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["fraud", "train", "--from-db", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert trained["claims"] == len(accepted)
    assert trained["artefact_bytes"] > 0
    assert trained["version"].startswith("fwa-")
    assert not math.isnan(trained["threshold"]["risk"])
    for f in accepted:
        assert f.cid not in result.output


def test_a_database_without_claims_gives_empty_columns(engine: Engine) -> None:
    """No stored claim: empty columns (and `fraud train --from-db` says it needs 50), no error."""
    with Session(engine) as session:
        stored = FraudFactsRepository(session).columns()
    assert len(stored) == 0
    assert stored.offsets.tolist() == [0]
