"""Fraud scoring inside `$submit`, on SQLite and PostgreSQL, with a promoted model version."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from fraud.facts import facts_from_bundle
from fraud.model import FraudModel
from fraud.norms import learn_norms
from fraud.providers import ProviderClaim, rank_hospitals
from fraud.scoring import parse_reasons
from fraud.synth import default_network, generate_history
from fraud.training import featurise, train_model
from gateway.claims.models import ClaimRecord
from gateway.db import session_scope
from gateway.metrics import drift
from gateway.scoring.active import ActiveModelScorer
from gateway.scoring.repository import ClaimHistoryRepository
from gateway.scoring.service import register_model
from tests.provider_registry.factories import insure
from tests.support import claim_bytes, claim_spec

SUBMIT = "/fhir/Claim/$submit"


@pytest.fixture(scope="module")
def small_model() -> FraudModel:
    items = generate_history(
        claims=1500, seed=31, hospitals=default_network(), end=date(2026, 10, 31), days=45
    )
    history = featurise(facts_from_bundle(i.bundle) for i in items)
    return train_model(history, mode="percentile", value=99.0, seed=1, version="fwa-http-1")


def _promote(engine: Engine, model: FraudModel) -> None:
    with session_scope(engine) as session:
        register_model(session, model=model, promote=True, by="test")


def _stored(engine: Engine) -> list[ClaimRecord]:
    with Session(engine) as session:
        return list(session.exec(select(ClaimRecord).order_by(col(ClaimRecord.created_at))).all())


def test_without_a_promoted_model_claims_are_not_scored(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    assert client.post(SUBMIT, content=claim_bytes(), headers=auth).status_code == 201
    assert (
        client.post(SUBMIT, content=claim_bytes(invoice="INV-0002"), headers=auth).status_code
        == 201
    )
    assert {(r.status, r.model_version) for r in _stored(engine)} == {("queued_for_payment", None)}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["model"] == "none"


def test_duplicate_claim_is_pended_with_reasons_and_model_version(
    client: TestClient, auth: dict[str, str], engine: Engine, small_model: FraudModel
) -> None:
    insure(engine)
    _promote(engine, small_model)
    first = client.post(SUBMIT, content=claim_bytes(), headers=auth)
    copy = client.post(SUBMIT, content=claim_bytes(invoice="INV-0002"), headers=auth)
    assert first.status_code == copy.status_code == 201
    assert copy.json()["entry"][0]["resource"]["outcome"] == "queued"
    original, duplicate = _stored(engine)
    assert duplicate.status == "pended_review"
    assert duplicate.model_version == "fwa-http-1"
    parsed = parse_reasons(duplicate.fraud_reasons)
    assert "DUP-EXACT" in [code for code, _, _ in parsed]
    assert all(en and th for _, en, th in parsed)
    assert original.fraud_score is not None
    assert original.fraud_score < duplicate.fraud_score  # type: ignore[operator]
    assert client.get("/readyz").json()["checks"]["model"] == "ok"


def test_every_pended_claim_has_a_reason(
    client: TestClient, auth: dict[str, str], engine: Engine, small_model: FraudModel
) -> None:
    insure(engine)
    _promote(engine, small_model)
    base = claim_spec()
    for n in range(6):
        spec = replace(
            base,
            invoice=f"INV-1{n:03d}",
            lines=base.lines[:1]
            + tuple(replace(line, quantity=line.quantity * (n + 1)) for line in base.lines[1:]),
        )
        assert client.post(SUBMIT, content=claim_bytes(spec), headers=auth).status_code == 201
    pended = [r for r in _stored(engine) if r.status == "pended_review"]
    assert pended
    for record in pended:
        reasons = parse_reasons(record.fraud_reasons)
        assert reasons
        assert all(code and en and th for code, en, th in reasons)


def test_promoting_another_version_switches_the_scorer_without_restart(
    engine: Engine, small_model: FraudModel
) -> None:
    scorer = ActiveModelScorer(refresh_seconds=0)

    def active() -> str | None:
        with Session(engine) as session:
            model = scorer.current(session).model
            return model.version if model else None

    assert active() is None
    _promote(engine, small_model)
    assert active() == "fwa-http-1"
    _promote(engine, replace(small_model, version="fwa-http-2"))
    assert active() == "fwa-http-2"


def test_stored_claims_feed_training_history_and_provider_ranking(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    for n in range(3):
        client.post(SUBMIT, content=claim_bytes(invoice=f"INV-2{n:03d}"), headers=auth)
    with Session(engine) as session:
        repo = ClaimHistoryRepository(session)
        facts = [facts_from_bundle(orjson.loads(b)) for b in repo.bundles(chunk=2)]
        day = facts[0].day
        first = day.replace(day=1)
        period = repo.period_claim_facts(first, day)
        window = repo.hospital_claims("10661", first, day)
        prior = repo.person_claims(facts[0].cid, day, (day, 2**62))
    norms = learn_norms([f for f, _, _ in period])
    ranked = rank_hospitals(
        [ProviderClaim(f.hcode, norms.price_alert(f), flagged) for f, flagged, _ in period],
        baseline=norms.alert_rate,
    )
    assert [f.identifier for f in facts] == ["INV-2000", "INV-2001", "INV-2002"]
    assert [r["hcode"] for r in ranked] == ["10661"]
    assert ranked[0]["claims"] == 3
    assert [(f.codes, f.unit_prices) for f in window] == [(f.codes, f.unit_prices) for f in facts]
    assert len(prior) == 3
    assert len({p.signature for p in prior}) == 1
    assert prior[0].signature == facts[0].signature


def test_promoted_model_publishes_its_training_distribution_for_drift(
    client: TestClient, auth: dict[str, str], engine: Engine, small_model: FraudModel
) -> None:
    distribution = small_model.meta["score_distribution"]
    assert abs(sum(distribution["proportions"]) - 1) < 1e-9
    assert len(distribution["proportions"]) == len(distribution["edges"]) + 1
    insure(engine)
    _promote(engine, small_model)
    try:
        assert client.post(SUBMIT, content=claim_bytes(), headers=auth).status_code == 201
        reference = drift.current_reference()
        assert reference is not None
        assert reference.model_version == "fwa-http-1"
        scrape = client.get("/metrics").text
        assert "claimgw_fraud_drift_sample_claims" in scrape
    finally:
        drift.clear_reference()
