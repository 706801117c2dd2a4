"""FHIR routes for claims: submit, validate, reads and searches, scoped to the caller."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from gateway.auth.deps import (
    CanReadClaims,
    CanReadResponses,
    CanSearchClaims,
    CanSearchResponses,
    CanSubmitClaims,
)
from gateway.claims import corrections
from gateway.claims.repository import ClaimRepository
from gateway.claims.service import ClaimIntake, IntakeResult
from gateway.deps import SessionDep, SettingsDep
from gateway.fhir.requests import fhir_body
from gateway.fhir.responses import FHIRResponse, http_problem

router = APIRouter(prefix="/fhir", tags=["claims"])

IDEMPOTENCY_KEY_MAX = 200


async def _claim_body(request: Request) -> bytes:
    return await fhir_body(request, "Bundle")


def _intake(request: Request) -> ClaimIntake:
    intake: ClaimIntake = request.app.state.intake
    return intake


def _answer(result: IntakeResult) -> FHIRResponse:
    return FHIRResponse(result.body, status_code=result.status, headers=result.headers)


CLAIM_BUNDLE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {
                "schema": {
                    "type": "object",
                    "required": ["resourceType", "type", "entry"],
                    "properties": {
                        "resourceType": {"const": "Bundle"},
                        "type": {"const": "collection"},
                        "entry": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
    }
}


@router.post("/Claim/$submit", status_code=201, openapi_extra=CLAIM_BUNDLE_BODY)
async def submit_claim(
    request: Request,
    grant: CanSubmitClaims,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> FHIRResponse:
    """Submit a claim Bundle; answers a Bundle whose first entry is the ClaimResponse."""
    if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX:
        raise http_problem(
            400,
            "invalid",
            "Idempotency-Key must be 1 to 200 characters.",
            "Idempotency-Key ต้องมีความยาว 1 ถึง 200 ตัวอักษร",
        )
    body = await _claim_body(request)
    result = await run_in_threadpool(
        _intake(request).submit, grant=grant, body=body, idempotency_key=idempotency_key
    )
    request.state.intake_result = result
    return _answer(result)


@router.post("/Claim/$validate", openapi_extra=CLAIM_BUNDLE_BODY)
async def validate_claim(request: Request, grant: CanSubmitClaims) -> FHIRResponse:
    """Check and price a claim Bundle without storing anything."""
    body = await _claim_body(request)
    result = await run_in_threadpool(_intake(request).validate, grant=grant, body=body)
    return _answer(result)


@router.post("/Claim/{claim_id}/$cancel")
async def cancel_claim(request: Request, claim_id: str, grant: CanSubmitClaims) -> FHIRResponse:
    """Withdraw a claim of the caller's hospital until it is batched for payment."""
    engine = request.app.state.engine
    outcome = await run_in_threadpool(
        corrections.cancel_claim, engine, grant=grant, claim_id=claim_id
    )
    return FHIRResponse(outcome)


@router.get("/Claim/{claim_id}")
def read_claim(claim_id: str, grant: CanReadClaims, session: SessionDep) -> FHIRResponse:
    """A stored Claim of the caller's hospital."""
    record = ClaimRepository(session, grant.hcode).get(claim_id)
    if record is None:
        raise _not_found("Claim", claim_id)
    return FHIRResponse(orjson.loads(record.claim_json))


@router.get("/ClaimResponse/{response_id}")
def read_claim_response(
    response_id: str, grant: CanReadResponses, session: SessionDep
) -> FHIRResponse:
    """A ClaimResponse of the caller's hospital."""
    record = ClaimRepository(session, grant.hcode).response(response_id)
    if record is None:
        raise _not_found("ClaimResponse", response_id)
    return FHIRResponse(orjson.loads(record.resource_json))


@router.get("/Claim")
def search_claims(
    grant: CanSearchClaims,
    session: SessionDep,
    settings: SettingsDep,
    identifier: Annotated[str, Query(min_length=1, max_length=400)],
) -> FHIRResponse:
    """Claims of the caller's hospital by identifier (`system|value` or `value`)."""
    system, _, value = identifier.rpartition("|")
    records = ClaimRepository(session, grant.hcode).search(system or None, value)
    resources = [orjson.loads(r.claim_json) for r in records]
    return FHIRResponse(_searchset(resources, "Claim", settings.base_url))


@router.get("/ClaimResponse")
def search_claim_responses(
    grant: CanSearchResponses,
    session: SessionDep,
    settings: SettingsDep,
    request_: Annotated[str, Query(alias="request", min_length=1, max_length=400)],
) -> FHIRResponse:
    """ClaimResponses of the caller's hospital for a Claim (`Claim/{id}`, a URL, or an id)."""
    claim_id = request_.rstrip("/").rsplit("/", 1)[-1]
    record = ClaimRepository(session, grant.hcode).response_for_claim(claim_id)
    resources = [orjson.loads(record.resource_json)] if record else []
    return FHIRResponse(_searchset(resources, "ClaimResponse", settings.base_url))


def _searchset(resources: list[dict[str, Any]], kind: str, base_url: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{base_url}/fhir/{kind}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _not_found(kind: str, ident: str) -> Exception:
    return http_problem(
        404, "not-found", f"{kind}/{ident[:64]} is not known.", f"ไม่พบ {kind}/{ident[:64]}"
    )
