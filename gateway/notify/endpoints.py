"""FHIR routes for Subscription: a hospital registers, reads, lists and deletes its rest-hooks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway.auth.deps import (
    CanCreateSubscriptions,
    CanDeleteSubscriptions,
    CanReadSubscriptions,
    CanSearchSubscriptions,
)
from gateway.deps import SessionDep, SettingsDep, WriterSessionDep
from gateway.fhir.requests import fhir_body
from gateway.fhir.responses import FHIRResponse
from gateway.notify import service
from gateway.notify.repository import SubscriptionRepository

router = APIRouter(prefix="/fhir", tags=["notifications"])

OUTCOME: dict[str, Any] = {"description": "OperationOutcome"}
ERRORS: dict[int | str, dict[str, Any]] = {401: OUTCOME, 403: OUTCOME, 404: OUTCOME, 429: OUTCOME}
SUBSCRIPTION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/fhir+json": {
                "schema": {
                    "type": "object",
                    "required": ["resourceType", "criteria", "channel"],
                    "properties": {
                        "resourceType": {"const": "Subscription"},
                        "criteria": {"enum": list(service.CRITERIA)},
                        "channel": {"type": "object"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/Subscription",
    status_code=201,
    openapi_extra=SUBSCRIPTION_BODY,
    responses={**ERRORS, 400: OUTCOME, 415: OUTCOME, 422: OUTCOME},
)
async def create_subscription(
    request: Request,
    grant: CanCreateSubscriptions,
    session: WriterSessionDep,
    settings: SettingsDep,
) -> FHIRResponse:
    """Register a rest-hook; the answer carries the signing secret, once (see docs/api.md)."""
    body = await fhir_body(request, "Subscription")
    record, secret = await run_in_threadpool(
        service.create_subscription,
        session,
        grant=grant,
        body=body,
        dev=settings.env == "dev",
    )
    location = f"{settings.base_url}/fhir/Subscription/{record.id}"
    return FHIRResponse(
        service.subscription_resource(record, secret),
        status_code=201,
        headers={"Location": location},
    )


@router.get("/Subscription/{subscription_id}", responses=ERRORS)
def read_subscription(
    subscription_id: str, grant: CanReadSubscriptions, session: SessionDep
) -> FHIRResponse:
    """One of the caller's subscriptions (the secret is never shown again)."""
    record = SubscriptionRepository(session, grant.hcode).get(subscription_id)
    if record is None:
        raise service.not_found(subscription_id)
    return FHIRResponse(service.subscription_resource(record))


@router.get("/Subscription", responses=ERRORS)
def search_subscriptions(
    grant: CanSearchSubscriptions, session: SessionDep, settings: SettingsDep
) -> FHIRResponse:
    """The caller's subscriptions, as a searchset Bundle."""
    records = SubscriptionRepository(session, grant.hcode).list()
    return FHIRResponse(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(records),
            "entry": [
                {
                    "fullUrl": f"{settings.base_url}/fhir/Subscription/{r.id}",
                    "resource": service.subscription_resource(r),
                    "search": {"mode": "match"},
                }
                for r in records
            ],
        }
    )


@router.delete("/Subscription/{subscription_id}", status_code=204, responses=ERRORS)
def delete_subscription(
    subscription_id: str, grant: CanDeleteSubscriptions, session: WriterSessionDep
) -> Response:
    """Stop one of the caller's subscriptions; notifications not yet sent to it are dropped."""
    service.delete_subscription(session, grant=grant, subscription_id=subscription_id)
    return Response(status_code=204)
