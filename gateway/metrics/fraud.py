"""The active fraud model version as an info-style gauge, and timers for intake steps."""

from __future__ import annotations

import threading
import time

from sqlmodel import Session

from fhir_mappings.adjudication import Adjudication
from fhir_mappings.claim import SubmittedClaim
from fraud.assessment import FraudAssessment
from gateway.claims.service import Pricer, Scorer
from gateway.metrics import instruments as m
from gateway.metrics.labels import code_label

_lock = threading.Lock()
_shown: str | None = None


def show_active_model(version: str) -> None:
    """Mark `version` as the model this process scores with (and the previous one as not)."""
    global _shown
    label = code_label(version.lower())
    with _lock:
        if label == _shown:
            return
        if _shown is not None:
            m.FRAUD_MODEL.labels(_shown).set(0)
        m.FRAUD_MODEL.labels(label).set(1)
        _shown = label


def timed_scorer(score: Scorer) -> Scorer:
    """The scorer, observing its latency in claimgw_fraud_scoring_duration_seconds."""

    def scored(
        session: Session, claim: SubmittedClaim, adjudication: Adjudication
    ) -> FraudAssessment:
        started = time.perf_counter()
        try:
            return score(session, claim, adjudication)
        finally:
            m.SCORING_LATENCY.observe(time.perf_counter() - started)

    return scored


def timed_pricer(price: Pricer) -> Pricer:
    """The pricer, observing its latency in claimgw_pricing_duration_seconds."""

    def priced(session: Session, claim: SubmittedClaim) -> Adjudication:
        started = time.perf_counter()
        try:
            return price(session, claim)
        finally:
            m.PRICING_LATENCY.observe(time.perf_counter() - started)

    return priced
