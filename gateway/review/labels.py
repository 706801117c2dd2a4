"""Reviewers' final decisions as fraud labels, for training and for measuring the model.

The file is the design's labels CSV (`identifier,label,pattern`); each row is one claim whose
review ended: label 1 when the officer took money away (denied, or adjusted down), 0 when the
claim was approved as priced. A claim decided more than once keeps its latest decision.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from gateway.review.models import Decision, ReviewDecision
from gateway.review.repository import ReviewRepository
from provider_registry.models import as_utc

LABEL_COLUMNS = ("identifier", "label", "pattern")


@dataclass(frozen=True, slots=True)
class ReviewerLabel:
    """One reviewed claim as a label."""

    claim_id: str
    identifier: str
    label: int
    pattern: str
    source: str
    decided_at: datetime
    fraud_score: float | None


def reviewer_labels(session: Session) -> list[ReviewerLabel]:
    """The latest final decision of every reviewed claim, oldest decision first."""
    latest: dict[str, ReviewerLabel] = {}
    for decision, claim in ReviewRepository(session).final_decisions():
        label = int(decision.benefit_after < decision.benefit_before)
        latest[claim.id] = ReviewerLabel(
            claim_id=claim.id,
            identifier=claim.identifier_value,
            label=label,
            pattern=_pattern(decision) if label else "none",
            source="random-audit" if decision.review_source == "random-audit" else "flagged",
            decided_at=as_utc(decision.decided_at),
            fraud_score=claim.fraud_score,
        )
    return list(latest.values())


def write_labels_csv(labels: Iterable[ReviewerLabel], path: Path) -> int:
    """Write the labels file; returns how many rows it holds."""
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABEL_COLUMNS)
        for label in labels:
            writer.writerow((label.identifier, label.label, label.pattern))
            rows += 1
    return rows


def _pattern(decision: ReviewDecision) -> str:
    return "reviewer-denied" if decision.decision == Decision.DENY else "reviewer-adjusted"
