"""The intake observer: what hospitals send, the money, and the fraud signal."""

from __future__ import annotations

from fhir_mappings.adjudication import Adjudication, ClaimOutcome, LineAdjudication
from fhir_mappings.claim import SubmittedClaim
from fhir_mappings.problems import Problem
from fraud.assessment import FraudAssessment
from gateway.metrics import instruments as m
from gateway.metrics.fraud import show_active_model
from gateway.metrics.labels import claim_type_label, code_label, hospital_label

UNSPECIFIED_REASON = "unspecified"


class IntakeMetrics:
    """Records each intake decision after its commit; never raises into intake."""

    def __init__(self, *, hospital_label: bool) -> None:
        self.hospital_label = hospital_label

    def accepted(
        self,
        claim: SubmittedClaim,
        adjudication: Adjudication,
        assessment: FraudAssessment,
        outcome: ClaimOutcome,
    ) -> None:
        """A new claim was stored."""
        hcode = hospital_label(claim.provider_hcode, enabled=self.hospital_label)
        setting = claim.setting.value
        m.CLAIMS.labels(claim_type_label(claim.claim_type), setting, outcome.value, hcode).inc()
        m.SUBMITTED_THB.labels(setting, hcode).inc(float(adjudication.submitted))
        m.ELIGIBLE_THB.labels(setting, hcode).inc(float(adjudication.eligible))
        m.BENEFIT_THB.labels(setting, hcode).inc(float(adjudication.benefit))
        for line in adjudication.lines:
            record_line_denial(line)
        record_assessment(assessment, hcode)

    def replayed(self, claim: SubmittedClaim) -> None:
        """A replay; counted as a `duplicate` bundle by the HTTP middleware."""

    def refused(self, problems: list[Problem], status: int) -> None:
        """A bundle broke rules: count each problem by its rule id."""
        for found in problems:
            m.PROBLEMS.labels(code_label(found.rule)).inc()


def record_line_denial(line: LineAdjudication) -> None:
    """Count the reasons of a line that is not paid in full."""
    if line.benefit >= line.submitted:
        return
    codes = [r.code for r in line.reasons] or [UNSPECIFIED_REASON]
    for code in codes:
        m.LINE_DENIALS.labels(code_label(code)).inc()


def record_assessment(assessment: FraudAssessment, hcode: str) -> None:
    """The score, the flag and the model that produced them; unscored claims only as such."""
    if assessment.model_version is None:  # no promoted model: not a score of 0 (issue 10, 13)
        m.FRAUD_UNSCORED.labels(hcode).inc()
        return
    m.FRAUD_SCORE.observe(min(max(assessment.score, 0.0), 1.0))
    m.FRAUD_SCORED.labels(hcode).inc()
    if assessment.flagged:
        m.FRAUD_FLAGGED.labels(hcode).inc()
    if assessment.model_version:
        show_active_model(assessment.model_version)
