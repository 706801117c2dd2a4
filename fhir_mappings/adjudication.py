"""Line-by-line adjudication: amounts, reasons and the claim outcome.

Until tariff pricing lands, `accept_as_submitted` is the pricing step: every line is eligible
and payable as billed. The gateway calls pricing through one seam, so the tariff engine plugs in
without touching the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from fhir_mappings.claim import SubmittedClaim


class ClaimOutcome(StrEnum):
    """ClaimResponse.outcome values the gateway answers with."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    QUEUED = "queued"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class AdjudicationReason:
    """A reason code of the project's CodeSystem, in English and Thai."""

    code: str
    display_en: str
    display_th: str


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """What the gateway decided for one line."""

    sequence: int
    submitted: Decimal
    eligible: Decimal
    benefit: Decimal
    reasons: tuple[AdjudicationReason, ...] = ()


@dataclass(frozen=True, slots=True)
class Adjudication:
    """The decision for a whole claim."""

    lines: tuple[LineAdjudication, ...]
    pend_reasons: tuple[AdjudicationReason, ...] = ()

    @property
    def submitted(self) -> Decimal:
        return sum((line.submitted for line in self.lines), Decimal(0))

    @property
    def eligible(self) -> Decimal:
        return sum((line.eligible for line in self.lines), Decimal(0))

    @property
    def benefit(self) -> Decimal:
        return sum((line.benefit for line in self.lines), Decimal(0))

    def outcome(self, *, pended: bool) -> ClaimOutcome:
        """complete when all is payable, partial, error when nothing is; queued when pended.

        A claim with nothing payable is never pended: there is nothing for a reviewer to decide.
        """
        if (pended or self.pend_reasons) and self.benefit > 0:
            return ClaimOutcome.QUEUED
        if self.benefit <= 0 and self.submitted > 0:
            return ClaimOutcome.ERROR
        if self.benefit < self.submitted:
            return ClaimOutcome.PARTIAL
        return ClaimOutcome.COMPLETE


def accept_as_submitted(claim: SubmittedClaim) -> Adjudication:
    """Price every line at what the hospital billed (the placeholder pricing step)."""
    return Adjudication(
        lines=tuple(
            LineAdjudication(
                sequence=line.sequence, submitted=line.net, eligible=line.net, benefit=line.net
            )
            for line in claim.lines
        )
    )
