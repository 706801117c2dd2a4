"""Assemble the intake pipeline from its configured steps."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.claims.service import IntakePipeline
from gateway.metrics import intake_observers
from gateway.metrics.fraud import timed_pricer, timed_scorer
from gateway.pricing import build_pricer
from gateway.scoring import build_scorer
from gateway.settings import Settings


def build_pipeline(settings: Settings, engine: Engine) -> IntakePipeline:
    """Pricing, scoring and observers for a running gateway."""
    return IntakePipeline(
        price=timed_pricer(build_pricer(settings, engine)),
        score=timed_scorer(build_scorer(settings, engine)),
        observers=intake_observers(settings),
    )
