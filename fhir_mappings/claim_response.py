"""ClaimResponse resources: the gateway's answer to a submitted claim."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from fhir_mappings import systems
from fhir_mappings.adjudication import Adjudication, AdjudicationReason, ClaimOutcome
from fhir_mappings.claim import SubmittedClaim

ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"
PROJECT_ADJUDICATION_SYSTEM = f"{systems.PROJECT_BASE}/CodeSystem/adjudication-amount"

DISPOSITIONS = {
    ClaimOutcome.COMPLETE: "All lines are payable as priced; the claim is queued for payment.",
    ClaimOutcome.PARTIAL: (
        "Some lines were reduced or denied; the payable part is queued for payment."
    ),
    ClaimOutcome.QUEUED: "The claim is pended for review by an SSO officer before payment.",
    ClaimOutcome.ERROR: "No line is payable; nothing will be paid for this claim.",
}


def claim_response(
    *,
    response_id: str,
    claim_id: str,
    claim: SubmittedClaim,
    adjudication: Adjudication,
    outcome: ClaimOutcome,
    created: datetime,
    base_url: str,
) -> dict[str, Any]:
    """The ClaimResponse for an adjudicated claim, line by line, with totals and payment."""
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": response_id,
        "identifier": [{"system": claim.identifier.system, "value": claim.identifier.value}],
        "status": "active",
        "type": {"coding": [{"system": systems.CLAIM_TYPE_SYSTEM, "code": claim.claim_type}]},
        "use": "claim",
        "patient": {"identifier": {"system": systems.CID_SYSTEM, "value": claim.patient_cid}},
        "created": created.isoformat(),
        "insurer": {"display": "Social Security Office (สำนักงานประกันสังคม)"},
        "requestor": {
            "identifier": {"system": systems.HCODE_SYSTEM, "value": claim.provider_hcode}
        },
        "request": {"reference": f"Claim/{claim_id}"},
        "outcome": outcome.value,
        "disposition": _disposition(outcome, adjudication),
        "item": [_item(line) for line in adjudication.lines],
        "total": _totals(adjudication),
    }
    if outcome in (ClaimOutcome.COMPLETE, ClaimOutcome.PARTIAL):
        resource["payment"] = {
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/ex-paymenttype",
                        "code": "complete",
                    }
                ]
            },
            "amount": fhir_money(adjudication.benefit),
        }
    if adjudication.pend_reasons:
        resource["processNote"] = [
            {"number": i + 1, "type": "display", "text": f"{r.display_en} / {r.display_th}"}
            for i, r in enumerate(adjudication.pend_reasons)
        ]
    return resource


def _disposition(outcome: ClaimOutcome, adjudication: Adjudication) -> str:
    """The outcome in plain words, naming each distinct reason once (clerks act on these)."""
    reasons = {r.code: r for line in adjudication.lines for r in line.reasons}
    reasons |= {r.code: r for r in adjudication.pend_reasons}
    if not reasons:
        return DISPOSITIONS[outcome]
    named = "; ".join(f"{r.display_en} ({code})" for code, r in reasons.items())
    return f"{DISPOSITIONS[outcome]} Reasons: {named}"


def response_bundle(claim_response_resource: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The Bundle returned by $submit and $validate: the ClaimResponse first."""
    rid = claim_response_resource.get("id")
    url = f"{base_url}/fhir/ClaimResponse/{rid}" if rid else f"urn:uuid:{uuid.uuid4()}"
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": url, "resource": claim_response_resource}],
    }


def _item(line: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "itemSequence": line.sequence,
        "adjudication": [
            _amount("submitted", line.submitted),
            _amount("eligible", line.eligible),
            _amount("benefit", line.benefit),
        ],
    }
    for reason in line.reasons:
        item["adjudication"].append(
            {
                "category": {"coding": [{"system": ADJUDICATION_SYSTEM, "code": "benefit"}]},
                "reason": reason_concept(reason),
            }
        )
    return item


def reason_concept(reason: AdjudicationReason) -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": systems.ADJUDICATION_REASON_SYSTEM,
                "code": reason.code,
                "display": reason.display_en,
            }
        ],
        "text": reason.display_th,
    }


def _totals(adjudication: Adjudication) -> list[dict[str, Any]]:
    return [
        _amount("submitted", adjudication.submitted),
        _amount("eligible", adjudication.eligible),
        _amount("benefit", adjudication.benefit),
    ]


def _amount(category: str, value: Decimal) -> dict[str, Any]:
    return {
        "category": {"coding": [{"system": ADJUDICATION_SYSTEM, "code": category}]},
        "amount": fhir_money(value),
    }


def fhir_money(value: Decimal) -> dict[str, Any]:
    return {"value": float(value.quantize(Decimal("0.01"))), "currency": systems.CURRENCY}
