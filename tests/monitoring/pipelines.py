"""Intake pipelines for metric tests: the real wiring with a transparent stand-in fraud model."""

from __future__ import annotations

from sqlmodel import Session

from fhir_mappings.adjudication import Adjudication
from fhir_mappings.claim import SubmittedClaim
from fraud.assessment import FraudAssessment
from gateway.claims.service import IntakePipeline, Pricer
from gateway.metrics import intake_observers
from gateway.metrics.fraud import timed_pricer, timed_scorer
from gateway.settings import Settings

TEST_MODEL = "test-amount-rule-1"


def amount_scorer(
    session: Session, claim: SubmittedClaim, adjudication: Adjudication
) -> FraudAssessment:
    """The bigger the bill, the riskier: score = THB / 1000, flagged from 0.5."""
    score = min(1.0, float(adjudication.submitted) / 1000)
    flagged = score >= 0.5
    return FraudAssessment(
        score=score,
        flagged=flagged,
        model_version=TEST_MODEL,
        reasons=("high-amount",) if flagged else (),
    )


def metered_pipeline(settings: Settings, price: Pricer) -> IntakePipeline:
    """The pipeline as build_pipeline wires it (timers, observers), scored by the amount rule."""
    return IntakePipeline(
        price=timed_pricer(price),
        score=timed_scorer(amount_scorer),
        observers=intake_observers(settings),
    )
