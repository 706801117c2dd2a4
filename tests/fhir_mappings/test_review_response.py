"""A reviewed ClaimResponse is a valid R4B resource with the officer's amounts and message."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fhir.resources.R4B.claimresponse import ClaimResponse

from fhir_mappings.adjudication import Adjudication, AdjudicationReason, LineAdjudication
from fhir_mappings.bundle import parse_claim_bundle
from fhir_mappings.claim_response import claim_response
from fhir_mappings.profile import map_claim
from fhir_mappings.review_response import ReviewedOutcome, reviewed_claim_response
from tests.support import claim_bytes

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _first_version() -> dict[str, object]:
    parsed = parse_claim_bundle(claim_bytes(), max_entries=100)
    assert not isinstance(parsed, list)
    claim = map_claim(parsed, acting_hcode="10661")
    assert not isinstance(claim, list)
    lines = tuple(
        LineAdjudication(
            sequence=line.sequence, submitted=line.net, eligible=line.net, benefit=line.net
        )
        for line in claim.lines
    )
    pend = (AdjudicationReason("x", "pended", "รอ"),)
    return claim_response(
        response_id="r1",
        claim_id="c1",
        claim=claim,
        adjudication=Adjudication(lines, pend),
        outcome=Adjudication(lines, pend).outcome(pended=True),
        created=AT,
        base_url="http://testserver",
    )


def _benefits(resource: dict[str, object]) -> list[float]:
    return [
        a["amount"]["value"]  # type: ignore[index]
        for item in resource["item"]  # type: ignore[attr-defined]
        for a in item["adjudication"]
        if a["category"]["coding"][0]["code"] == "benefit" and "amount" in a
    ]


def test_adjusted_version_changes_amounts_outcome_and_carries_the_message() -> None:
    first = _first_version()
    assert first["outcome"] == "queued"
    second = reviewed_claim_response(
        first,
        outcome=ReviewedOutcome.ADJUSTED,
        line_benefits={1: Decimal("100"), 2: Decimal("90"), 3: Decimal("30")},
        message_to_hospital="Line 1 at the usual fee.",
        version_id=2,
        at=AT,
    )
    ClaimResponse.model_validate(second)
    assert second["outcome"] == "partial"
    assert _benefits(second) == [100.0, 90.0, 30.0]
    assert second["payment"]["amount"]["value"] == 220.0  # type: ignore[index]
    assert second["meta"] == {"versionId": "2", "lastUpdated": AT.isoformat()}
    assert "Line 1 at the usual fee." in second["processNote"][-1]["text"]  # type: ignore[index]
    assert first["outcome"] == "queued"  # the earlier version is not changed in place


def test_denied_version_pays_nothing() -> None:
    denied = reviewed_claim_response(
        _first_version(),
        outcome=ReviewedOutcome.DENIED,
        line_benefits={1: Decimal(0), 2: Decimal(0), 3: Decimal(0)},
        message_to_hospital=None,
        version_id=2,
        at=AT,
    )
    ClaimResponse.model_validate(denied)
    assert denied["outcome"] == "error"
    assert "payment" not in denied
    assert _benefits(denied) == [0.0, 0.0, 0.0]
