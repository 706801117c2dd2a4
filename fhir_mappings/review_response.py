"""A new version of a stored ClaimResponse after an SSO officer's review decision.

The first version is what intake answered (`claim_response`). A review decision changes the
payable amounts line by line, the outcome and the disposition, and adds the officer's message to
the hospital as a `processNote`. The reviewer's internal note is never part of the resource.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from fhir_mappings.adjudication import AdjudicationReason
from fhir_mappings.adjudication_reasons import reason
from fhir_mappings.claim_response import ADJUDICATION_SYSTEM, fhir_money, reason_concept


class ReviewedOutcome(StrEnum):
    """What the hospital is told a review decided."""

    APPROVED = "approved"
    ADJUSTED = "adjusted"
    DENIED = "denied"
    INFO_REQUESTED = "info_requested"


DISPOSITIONS = {
    ReviewedOutcome.APPROVED: "Reviewed by an SSO officer and approved; queued for payment.",
    ReviewedOutcome.ADJUSTED: (
        "Reviewed by an SSO officer; some lines were reduced. The payable part is queued for "
        "payment."
    ),
    ReviewedOutcome.DENIED: "Reviewed by an SSO officer and denied; nothing will be paid.",
    ReviewedOutcome.INFO_REQUESTED: (
        "An SSO officer needs more information before deciding. Send a corrected claim whose "
        "related.claim names this claim's invoice."
    ),
}
REASON_CODES = {
    ReviewedOutcome.APPROVED: "review-approved",
    ReviewedOutcome.ADJUSTED: "review-adjusted",
    ReviewedOutcome.DENIED: "review-denied",
    ReviewedOutcome.INFO_REQUESTED: "review-info-requested",
}


def reviewed_claim_response(
    current: Mapping[str, Any],
    *,
    outcome: ReviewedOutcome,
    line_benefits: Mapping[int, Decimal],
    message_to_hospital: str | None,
    version_id: int,
    at: datetime,
) -> dict[str, Any]:
    """The next version of a ClaimResponse: amounts, outcome, disposition and the message."""
    resource = copy.deepcopy(dict(current))
    code = reason(REASON_CODES[outcome])
    if outcome is not ReviewedOutcome.INFO_REQUESTED:
        _apply_line_benefits(resource, line_benefits, code)
    total = sum(line_benefits.values(), Decimal(0))
    submitted = _total(resource, "submitted")
    resource["outcome"] = _fhir_outcome(outcome, total, submitted)
    resource["disposition"] = DISPOSITIONS[outcome]
    resource["meta"] = {
        **(resource.get("meta") or {}),
        "versionId": str(version_id),
        "lastUpdated": at.isoformat(),
    }
    if outcome is not ReviewedOutcome.INFO_REQUESTED:
        _set_total(resource, "benefit", total)
        _set_payment(resource, total)
    _add_note(resource, code, message_to_hospital)
    return resource


def _fhir_outcome(outcome: ReviewedOutcome, total: Decimal, submitted: Decimal) -> str:
    if outcome is ReviewedOutcome.INFO_REQUESTED:
        return "queued"
    if total <= 0:
        return "error"
    return "complete" if total >= submitted else "partial"


def _apply_line_benefits(
    resource: dict[str, Any], line_benefits: Mapping[int, Decimal], code: AdjudicationReason
) -> None:
    for item in resource.get("item", []):
        benefit = line_benefits.get(int(item["itemSequence"]))
        if benefit is None:
            continue
        before = _amount_of(item["adjudication"], "benefit")
        _set_amount(item["adjudication"], "benefit", benefit)
        if benefit != before:
            item["adjudication"].append(
                {
                    "category": {"coding": [{"system": ADJUDICATION_SYSTEM, "code": "benefit"}]},
                    "reason": reason_concept(code),
                }
            )


def _amount_of(adjudications: list[dict[str, Any]], category: str) -> Decimal:
    for entry in adjudications:
        if _category(entry) == category and "amount" in entry:
            return Decimal(str(entry["amount"]["value"]))
    return Decimal(0)


def _set_amount(adjudications: list[dict[str, Any]], category: str, value: Decimal) -> None:
    for entry in adjudications:
        if _category(entry) == category and "amount" in entry:
            entry["amount"] = fhir_money(value)


def _category(entry: Mapping[str, Any]) -> str:
    return str(entry.get("category", {}).get("coding", [{}])[0].get("code", ""))


def _total(resource: Mapping[str, Any], category: str) -> Decimal:
    return _amount_of(list(resource.get("total", [])), category)


def _set_total(resource: dict[str, Any], category: str, value: Decimal) -> None:
    _set_amount(resource.setdefault("total", []), category, value)


def _set_payment(resource: dict[str, Any], total: Decimal) -> None:
    if total <= 0:
        resource.pop("payment", None)
        return
    resource["payment"] = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/ex-paymenttype",
                    "code": "complete",
                }
            ]
        },
        "amount": fhir_money(total),
    }


def _add_note(resource: dict[str, Any], code: AdjudicationReason, message: str | None) -> None:
    notes = resource.setdefault("processNote", [])
    text = f"{code.display_en} / {code.display_th}"
    if message:
        text = f"{text} — {message}"
    notes.append({"number": len(notes) + 1, "type": "display", "text": text})
