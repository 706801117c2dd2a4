"""Online scoring with history read from the database gives the batch scores (SQLite, PostgreSQL).

The gateway scores a claim before storing it, so every stored claim is earlier: a claim scored
online against the database must get the score and reasons batch scoring gives it at its
position in arrival order. The hospital standing cache is re-checked by per-day stamps, so a
late claim for an earlier day is seen by the next day's standing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import orjson
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from fraud.audit import score_claims
from fraud.facts import ClaimFacts, facts_from_bundle
from fraud.history import MemoryHistory
from fraud.model import FraudModel
from fraud.rules import Enrollment, MemoryRoster
from fraud.scoring import OnlineScorer, ScoredClaim, StandingCache
from fraud.synth import (
    FraudRates,
    SynthHospital,
    default_network,
    generate_bundles,
    generate_history,
)
from fraud.training import featurise, train_model
from gateway.auth.tokens import AccessGrant
from gateway.claims.service import ClaimIntake, IntakePipeline
from gateway.db import session_scope
from gateway.pricing import build_pricer
from gateway.scoring.repository import ClaimHistoryRepository
from gateway.security.data_key import person_key
from gateway.settings import Settings
from provider_registry.roster import RosterRow, upsert_member
from provider_registry.roster_synthetic import roster_for_bundles
from tests.support import Hospital

HCODE = "10661"


@pytest.fixture(scope="module")
def model() -> FraudModel:
    items = generate_history(
        claims=1500, seed=31, hospitals=default_network(), end=date(2026, 10, 31), days=45
    )
    history = featurise(facts_from_bundle(i.bundle) for i in items)
    return train_model(history, mode="percentile", value=99.0, seed=1, version="fwa-history-1")


@pytest.fixture(scope="module")
def bundles() -> list[bytes]:
    made = generate_bundles(
        claims=90,
        seed=77,
        hospitals=[SynthHospital(HCODE, "History Hospital")],
        end=date(2026, 11, 1),
        days=20,
        rates=FraudRates().scaled(30),  # duplicates and repeat visits: history features matter
    )
    return [orjson.dumps(b) for b in made]


def test_online_scores_from_the_database_equal_batch_scores(
    engine: Engine,
    settings: Settings,
    hospital: Hospital,
    model: FraudModel,
    bundles: list[bytes],
) -> None:
    rows = roster_for_bundles(orjson.loads(b) for b in bundles)
    with session_scope(engine) as session:
        for row in rows:
            upsert_member(session, row, person_key)
    roster = MemoryRoster({r.cid: _enrollment(r) for r in rows})
    intake = ClaimIntake(engine, settings, IntakePipeline(price=build_pricer(settings, engine)))
    grant = AccessGrant(client_id="test", hcode=HCODE, scopes=frozenset())
    facts = [facts_from_bundle(orjson.loads(b)) for b in bundles]
    batch = score_claims(model, facts, roster)
    cache = StandingCache()
    online = []
    stored = 50
    for body in bundles[:stored]:
        intake.submit(grant=grant, body=body, idempotency_key=None)
    for body, f in zip(bundles[stored:], facts[stored:], strict=True):
        with Session(engine) as session:
            reads = ClaimHistoryRepository(session)  # history and roster, as the gateway does
            scorer = OnlineScorer(model, reads, reads, standing_cache=cache)
            online.append(scorer.score_facts(f))
        intake.submit(grant=grant, body=body, idempotency_key=None)
    assert [_outcome(s) for s in online] == [_outcome(s) for s in batch[stored:]]
    assert len({f.day for f in facts[stored:]}) > 3  # several days: standings cached and reused


def _enrollment(row: RosterRow) -> Enrollment:
    return Enrollment(
        row.section, row.main_hcode, row.coverage_start, row.coverage_end, row.death_date
    )


def _outcome(scored: ScoredClaim) -> tuple[object, ...]:
    return scored.score, scored.model_score, scored.evidence, scored.reasons


def _late(facts: ClaimFacts, day: date, n: int) -> ClaimFacts:
    return replace(facts, day=day, identifier=f"LATE-{n}")


def test_a_late_claim_for_an_earlier_day_reaches_the_next_standing(model: FraudModel) -> None:
    items = generate_bundles(
        claims=120,
        seed=5,
        hospitals=[SynthHospital(HCODE, "History Hospital")],
        end=date(2026, 11, 1),
        days=30,
    )
    facts = [facts_from_bundle(b) for b in items]
    history = MemoryHistory()
    history.extend(facts[:-1])
    cache = StandingCache()
    last = facts[-1]
    OnlineScorer(model, history, standing_cache=cache).standing(last)
    for n in range(3):
        history.add(_late(facts[n], last.day - timedelta(days=2), n))
    following = _late(last, last.day + timedelta(days=1), 99)
    cached = OnlineScorer(model, history, standing_cache=cache).standing(following)
    fresh = OnlineScorer(model, history).standing(following)
    assert cached == fresh
    assert cached[1] == sum(1 for _ in history.hospital_claims(HCODE, *_window(following.day)))


def _window(day: date) -> tuple[date, date]:
    return day - timedelta(days=28), day - timedelta(days=1)
