"""Thai DRG plausibility: does the stay fit the adjRW the hospital's grouper reported?

An implausible case is pended for an officer with a reason; it never fails the claim.
"""

from __future__ import annotations

from datetime import date

from fhir_mappings.adjudication import AdjudicationReason
from fhir_mappings.adjudication_reasons import reason
from fhir_mappings.claim import SubmittedClaim
from fhir_mappings.tariff import BenefitParameters


def drg_pend_reasons(
    claim: SubmittedClaim, parameters: BenefitParameters
) -> tuple[AdjudicationReason, ...]:
    """Why a DRG case needs an officer's look, or () when adjRW and stay are plausible."""
    grouping = claim.drg
    day = claim.service_date
    if grouping is None or day is None:
        return ()
    if grouping.adj_rw is None:
        return (reason("drg-adjrw-missing"),)
    low, high = parameters.on("drg_adjrw_min", day), parameters.on("drg_adjrw_max", day)
    if not low <= grouping.adj_rw <= high:
        return (reason("drg-adjrw-out-of-range"),)
    if not _stay_fits(claim, day, parameters):
        return (reason("drg-los-implausible"),)
    return ()


def _stay_fits(claim: SubmittedClaim, day: date, parameters: BenefitParameters) -> bool:
    start, end = claim.admitted or claim.billable_start, claim.discharged or claim.billable_end
    if start is None or end is None or end < start:
        return False
    stay = (end.date() - start.date()).days
    if stay > parameters.on("drg_los_max_days", day):
        return False
    grouping = claim.drg
    assert grouping is not None
    assert grouping.adj_rw is not None
    if grouping.rw is None or stay > parameters.on("drg_short_stay_days", day):
        return True
    tolerance = parameters.on("drg_adjrw_over_rw_tolerance", day)
    return grouping.adj_rw <= grouping.rw * (1 + tolerance)
