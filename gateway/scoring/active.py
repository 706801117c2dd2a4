"""The gateway's scorer: follows the promoted model version without a restart."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from fhir_mappings.adjudication import Adjudication
from fhir_mappings.claim import SubmittedClaim
from fraud.assessment import FraudAssessment, unscored
from fraud.model import FraudModel, load_model
from fraud.scoring import OnlineScorer, StandingCache
from gateway.metrics import drift
from gateway.scoring.repository import ClaimHistoryRepository, ModelRegistry, RosterRepository

log = structlog.get_logger("claimgw.scoring")


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """The model in use and whether the roster can back the roster rules."""

    model: FraudModel | None
    roster_available: bool


def publish_drift_reference(model: FraudModel | None) -> None:
    """Export score drift against the training distribution stored with the model version."""
    distribution = model.meta.get("score_distribution") if model is not None else None
    if model is None or not distribution:
        drift.clear_reference()
        return
    drift.set_reference(
        drift.ScoreReference(
            edges=tuple(distribution["edges"]),
            proportions=tuple(distribution["proportions"]),
            model_version=model.version,
        )
    )


class ActiveModelScorer:
    """Scores with the active version; re-checks which one is active at most every few seconds.

    Each hospital's price standing (its claims of the 28 days before a claim's day) is read
    once per hospital and day and kept until another version is loaded.

    It reads through the caller's session (the intake transaction), never a connection of its
    own: a request that held one connection while waiting for a second could exhaust the pool.
    """

    def __init__(self, *, refresh_seconds: float = 5.0) -> None:
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._loaded = LoadedModel(None, False)
        self._checked_at = float("-inf")
        self._standing = StandingCache()

    def current(self, session: Session) -> LoadedModel:
        """The loaded model, refreshed when the check interval has passed."""
        now = time.monotonic()
        if now - self._checked_at >= self.refresh_seconds:
            with self._lock:
                if now - self._checked_at >= self.refresh_seconds:
                    self._refresh(session)
                    self._checked_at = now
        return self._loaded

    def _refresh(self, session: Session) -> None:
        try:
            with session.begin_nested():
                registry = ModelRegistry(session)
                version = registry.active_version()
                model = self._loaded.model
                if version is None:
                    model = None
                    drift.clear_reference()
                elif model is None or model.version != version:
                    row = registry.get(version)
                    model = load_model(row.artefact) if row else None
                    self._standing = StandingCache()
                    publish_drift_reference(model)
                    log.info("fraud.model.loaded", version=version)
                self._loaded = LoadedModel(model, RosterRepository(session).has_members())
        except (SQLAlchemyError, ValueError) as exc:
            log.warning("fraud.model.refresh_failed", error=type(exc).__name__)

    def __call__(
        self, session: Session, claim: SubmittedClaim, adjudication: Adjudication
    ) -> FraudAssessment:
        loaded = self.current(session)
        if loaded.model is None:
            return unscored(claim, adjudication)
        # One repository per claim serves history and roster: its `prepare` reads both at once
        reads = ClaimHistoryRepository(session)
        roster = reads if loaded.roster_available else None
        scorer = OnlineScorer(loaded.model, reads, roster, standing_cache=self._standing)
        return scorer(claim, adjudication)
