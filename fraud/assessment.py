"""The result of scoring a claim, and the scoring seam of the intake pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fhir_mappings.adjudication import Adjudication
from fhir_mappings.claim import SubmittedClaim


@dataclass(frozen=True, slots=True)
class FraudAssessment:
    """A claim's risk: score in [0, 1], whether it is flagged, why, and by which model."""

    score: float
    flagged: bool
    reasons: tuple[str, ...] = ()
    model_version: str | None = None


class ClaimScorer(Protocol):
    """Anything that scores one adjudicated claim."""

    def __call__(self, claim: SubmittedClaim, adjudication: Adjudication) -> FraudAssessment: ...


def unscored(claim: SubmittedClaim, adjudication: Adjudication) -> FraudAssessment:
    """The scorer used while no rules or model are configured: nothing is flagged."""
    return FraudAssessment(score=0.0, flagged=False, reasons=(), model_version=None)
