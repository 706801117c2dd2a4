"""Which submitted claims wait for a fraud reviewer, and why.

A claim is pended when the fraud model flags it, when pricing cannot settle it, when it
corrects a claim an officer asked more information about, or when it is drawn for random
audit among the claims the model did not flag (so that reviewers' labels also measure what the
model misses). A claim with nothing to pay is never pended: there is nothing to review.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from fhir_mappings.adjudication import Adjudication
from fhir_mappings.claim import SubmittedClaim
from fraud.assessment import FraudAssessment
from gateway.review.models import ReviewSource
from gateway.review.repository import ReviewRepository
from gateway.settings import Settings

BANGKOK = ZoneInfo("Asia/Bangkok")
CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ReviewSelection:
    """Whether intake pends a claim for review, why, and the loss at stake."""

    source: ReviewSource | None
    expected_loss: Decimal

    @property
    def pended(self) -> bool:
        return self.source is not None


def select_for_review(
    session: Session,
    settings: Settings,
    *,
    hcode: str,
    claim: SubmittedClaim,
    adjudication: Adjudication,
    assessment: FraudAssessment,
    corrects: str | None,
    now: datetime,
) -> ReviewSelection:
    """Decide, inside the intake transaction, whether the claim goes to the review queue."""
    expected_loss = (Decimal(str(assessment.score)) * adjudication.benefit).quantize(CENTS)
    repo = ReviewRepository(session)
    if adjudication.benefit <= 0:
        source = None
    elif corrects is not None and repo.requested_info(corrects):
        source = ReviewSource.INFO_RETURNED
    elif assessment.flagged:
        source = ReviewSource.FLAGGED
    elif adjudication.pend_reasons:
        source = ReviewSource.PRICING
    elif drawn_for_audit(settings, hcode, claim.identifier.token()) and _below_cap(
        repo, settings, hcode, now
    ):
        source = ReviewSource.RANDOM_AUDIT
    else:
        source = None
    return ReviewSelection(source, expected_loss)


def drawn_for_audit(settings: Settings, hcode: str, invoice: str) -> bool:
    """A reproducible draw: the same claim is always drawn, or never, at a given rate."""
    if settings.review_audit_rate <= 0:
        return False
    digest = hmac.new(
        settings.review_audit_seed.encode(), f"{hcode}|{invoice}".encode(), hashlib.sha256
    ).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < settings.review_audit_rate


def _below_cap(repo: ReviewRepository, settings: Settings, hcode: str, now: datetime) -> bool:
    """Whether the hospital has room for one more random audit on today's Bangkok date."""
    day = now.astimezone(BANGKOK).date()
    start = datetime.combine(day, time.min, tzinfo=BANGKOK)
    drawn = repo.random_audits_on(hcode, start, start + timedelta(days=1))
    return drawn < settings.review_audit_daily_cap
