"""Reads and searches are scoped to the caller's hospital: another's id is a plain 404."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claim import Claim

from fhir_mappings.systems import invoice_system
from tests.support import claim_bytes


def _submit(client: TestClient, headers: dict[str, str], **changes: Any) -> tuple[str, str]:
    answer = client.post("/fhir/Claim/$submit", content=claim_bytes(**changes), headers=headers)
    assert answer.status_code == 201, answer.text
    response = answer.json()["entry"][0]["resource"]
    return response["request"]["reference"].split("/")[1], response["id"]


def test_read_claim_and_response(client: TestClient, auth: dict[str, str]) -> None:
    claim_id, response_id = _submit(client, auth)
    claim = Claim.model_validate(client.get(f"/fhir/Claim/{claim_id}", headers=auth).json())
    assert claim.id == claim_id
    assert claim.identifier[0].value == "INV-0001"
    response = client.get(f"/fhir/ClaimResponse/{response_id}", headers=auth).json()
    assert response["request"]["reference"] == f"Claim/{claim_id}"


def test_another_hospitals_ids_answer_exactly_like_unknown_ids(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    claim_id, response_id = _submit(client, auth)
    for path in (f"/fhir/Claim/{claim_id}", f"/fhir/ClaimResponse/{response_id}"):
        foreign = client.get(path, headers=other_auth)
        unknown = client.get(
            path.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000", headers=other_auth
        )
        assert foreign.status_code == unknown.status_code == 404
        assert (
            foreign.json()["issue"][0]["code"] == unknown.json()["issue"][0]["code"] == "not-found"
        )


def test_searches_find_own_claims_only(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    claim_id, response_id = _submit(client, auth)
    token = f"{invoice_system('10661')}|INV-0001"
    own = Bundle.model_validate(
        client.get("/fhir/Claim", params={"identifier": token}, headers=auth).json()
    )
    assert own.type == "searchset"
    assert own.total == 1
    assert own.entry[0].resource.id == claim_id
    by_value = client.get("/fhir/Claim", params={"identifier": "INV-0001"}, headers=auth).json()
    assert by_value["total"] == 1
    responses = client.get(
        "/fhir/ClaimResponse", params={"request": f"Claim/{claim_id}"}, headers=auth
    ).json()
    assert responses["total"] == 1
    assert responses["entry"][0]["resource"]["id"] == response_id
    assert (
        client.get("/fhir/Claim", params={"identifier": token}, headers=other_auth).json()["total"]
        == 0
    )
    foreign = client.get(
        "/fhir/ClaimResponse", params={"request": claim_id}, headers=other_auth
    ).json()
    assert foreign["total"] == 0
