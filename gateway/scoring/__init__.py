"""Fraud scoring inside the intake pipeline, with the active model version."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.claims.service import Scorer
from gateway.scoring.active import ActiveModelScorer
from gateway.settings import Settings

MODEL_REFRESH_SECONDS = 5.0


def build_scorer(settings: Settings, engine: Engine) -> Scorer:
    """The scoring step of intake: rules plus the promoted model; unscored until one is promoted."""
    return ActiveModelScorer(refresh_seconds=MODEL_REFRESH_SECONDS)
