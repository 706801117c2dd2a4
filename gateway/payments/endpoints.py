"""Payment routes: the hospital's FHIR PaymentReconciliation reads and finance's JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, not_
from sqlmodel import col

from gateway.auth.deps import CanReadStatements, CanSearchStatements
from gateway.deps import EngineDep, SessionDep, SettingsDep
from gateway.fhir.responses import FHIRResponse, ProblemError, http_problem
from gateway.payments.models import PaymentBatch
from gateway.payments.repository import StatementRepository
from gateway.payments.search import DateRange, SearchError, parse_date_param
from gateway.payments.service import (
    PaymentError,
    batch_json,
    confirm_batch,
    get_batch,
    list_batches,
    reconciliation,
    run_payments,
    statement,
    statement_csv,
)
from gateway.staff.deps import StaffApi

router = APIRouter(prefix="/fhir", tags=["payments"])

OUTCOME: dict[str, Any] = {"description": "OperationOutcome"}
ERRORS: dict[int | str, dict[str, Any]] = {401: OUTCOME, 403: OUTCOME, 404: OUTCOME, 429: OUTCOME}
DEFAULT_COUNT, MAX_COUNT = 20, 100


@router.get("/PaymentReconciliation/{reconciliation_id}", responses=ERRORS)
def read_reconciliation(
    reconciliation_id: str, grant: CanReadStatements, session: SessionDep, settings: SettingsDep
) -> FHIRResponse:
    """A payment statement of the caller's hospital."""
    batch = StatementRepository(session, grant.hcode).get(reconciliation_id)
    if batch is None:
        shown = reconciliation_id[:64]
        raise http_problem(
            404,
            "not-found",
            f"PaymentReconciliation/{shown} is not known.",
            f"ไม่พบ PaymentReconciliation/{shown}",
        )
    return FHIRResponse(reconciliation(session, batch, settings.base_url))


@router.get("/PaymentReconciliation", responses={**ERRORS, 400: OUTCOME})
def search_reconciliations(
    grant: CanSearchStatements,
    session: SessionDep,
    settings: SettingsDep,
    created: Annotated[list[str] | None, Query(max_length=10)] = None,
    count: Annotated[int, Query(alias="_count", ge=0, le=MAX_COUNT)] = DEFAULT_COUNT,
) -> FHIRResponse:
    """The caller's payment statements, by creation date (`created=ge2026-11-01`, `_count`)."""
    try:
        ranges = [parse_date_param(value) for value in created or []]
    except SearchError as exc:
        raise http_problem(
            400, "invalid", f"created: {exc}.", "ค่า created ไม่ใช่วันที่ตามรูปแบบ FHIR", "created"
        ) from exc
    conditions = [_condition(r) for r in ranges]
    batches = StatementRepository(session, grant.hcode).search(conditions, count)
    resources = [reconciliation(session, b, settings.base_url) for b in batches]
    return FHIRResponse(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "entry": [
                {
                    "fullUrl": f"{settings.base_url}/fhir/PaymentReconciliation/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in resources
            ],
        }
    )


def _condition(found: DateRange) -> ColumnElement[bool]:
    created = col(PaymentBatch.created_at)
    inside = (created >= found.low) & (created < found.high)
    return {
        "eq": inside,
        "ne": not_(inside),
        "gt": created >= found.high,
        "ge": created >= found.low,
        "lt": created < found.low,
        "le": created < found.high,
    }[found.prefix]


api_router = APIRouter(prefix="/api/payments", tags=["payments"])


def _staff_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {
        401: "No staff credentials",
        403: "A hospital token, or a role that may not do this",
        404: "No such batch",
        422: "A period that is not YYYY-MM, or a bad bank reference",
    }
    return {code: {"description": words[code]} for code in codes}


class RunRequest(BaseModel):
    """A payment run for one month."""

    period: str = Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])


class ConfirmRequest(BaseModel):
    """The bank transfer that paid a batch."""

    reference: str = Field(min_length=1, max_length=100, examples=["KTB-20261205-001"])


def payment_problem(exc: PaymentError) -> ProblemError:
    """A refused payment request as 404 (unknown batch) or 422 (a rule)."""
    if exc.kind == "not-found":
        return http_problem(404, "not-found", str(exc), "ไม่พบงวดการจ่ายเงินนี้")
    return http_problem(422, "business-rule", str(exc), "คำขอไม่ถูกต้องตามกติกาการจ่ายเงิน")


@api_router.post("/runs", status_code=201, responses=_staff_errors(401, 403, 422))
def start_run(principal: StaffApi, engine: EngineDep, body: RunRequest) -> dict[str, Any]:
    """Batch every payable claim approved in the period: one batch per hospital."""
    try:
        result = run_payments(engine, period=body.period, actor=f"staff:{principal.username}")
    except PaymentError as exc:
        raise payment_problem(exc) from exc
    return result.as_json()


@api_router.get("/batches", responses=_staff_errors(401, 403, 422))
def batches(
    principal: StaffApi,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(open|confirmed)$")] = None,
) -> list[dict[str, Any]]:
    """Payment batches, newest first."""
    return list_batches(session, status)


@api_router.get("/batches/{batch_id}", responses=_staff_errors(401, 403, 404))
def batch(batch_id: str, principal: StaffApi, session: SessionDep) -> dict[str, Any]:
    """A batch with the claims it pays."""
    try:
        found = get_batch(session, batch_id)
    except PaymentError as exc:
        raise payment_problem(exc) from exc
    lines = statement(session, found).lines
    claims = [
        {
            "claim_id": line.claim_id,
            "invoice": line.invoice,
            "service_date": line.service_date.isoformat() if line.service_date else None,
            "benefit": str(line.amount),
        }
        for line in lines
    ]
    return batch_json(found) | {"claim_list": claims}


@api_router.get("/batches/{batch_id}/export", responses=_staff_errors(401, 403, 404))
def export_batch(
    batch_id: str,
    principal: StaffApi,
    session: SessionDep,
    settings: SettingsDep,
    format_: Annotated[str, Query(alias="format", pattern="^(csv|fhir)$")] = "csv",
) -> Response:
    """The batch's statement as CSV or as a FHIR PaymentReconciliation."""
    try:
        found = get_batch(session, batch_id)
    except PaymentError as exc:
        raise payment_problem(exc) from exc
    if format_ == "fhir":
        return FHIRResponse(
            reconciliation(session, found, settings.base_url),
            headers={"Content-Disposition": f'attachment; filename="{found.id}.json"'},
        )
    return Response(
        statement_csv(statement(session, found)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.id}.csv"'},
    )


@api_router.post("/batches/{batch_id}/confirm", responses=_staff_errors(401, 403, 404, 422))
def confirm(
    batch_id: str, principal: StaffApi, engine: EngineDep, body: ConfirmRequest
) -> dict[str, Any]:
    """Mark a batch and its claims paid; confirming again changes nothing and says so."""
    try:
        result = confirm_batch(
            engine, batch_id=batch_id, reference=body.reference, actor=f"staff:{principal.username}"
        )
    except PaymentError as exc:
        raise payment_problem(exc) from exc
    return {
        "batch_id": result.batch_id,
        "bank_reference": result.bank_reference,
        "claims_paid": result.claims_paid,
        "already_confirmed": result.already,
        "message": result.message,
    }
