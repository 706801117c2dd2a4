"""The review API (`/api/review`, JSON) for reviewers, supervisors and auditors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import Session

from gateway.deps import SessionDep, SettingsDep, WriterSessionDep
from gateway.review import decisions
from gateway.review.decisions import ReviewContext
from gateway.review.repository import QueueFilter, ReviewRepository
from gateway.review.schemas import (
    AssignRequest,
    ClaimDetail,
    DecisionRequest,
    DecisionResult,
    LockOut,
    QueuePage,
    ReviewStats,
    SecondApprovalRequest,
)
from gateway.review.service import claim_detail, queue, review_stats
from gateway.settings import Settings
from gateway.staff.deps import StaffApi, StaffPrincipal


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {
        400: "Malformed parameter or cursor (OperationOutcome)",
        401: "No staff credentials",
        403: "A hospital token, or a role that may not do this",
        404: "No such claim",
        409: "Someone else holds the claim, or it is no longer waiting for this step",
        422: "A note is missing or a line's benefit is out of range",
    }
    return {code: {"description": words[code]} for code in codes}


router = APIRouter(prefix="/api/review", tags=["review"])


def context(session: Session, settings: Settings, principal: StaffPrincipal) -> ReviewContext:
    """The acting reviewer, now, in this request's session."""
    return ReviewContext(session, settings, principal, datetime.now(UTC))


def assignee_filter(assignee: str | None, principal: StaffPrincipal) -> str | None:
    """`me` is the caller, `none` is unassigned, anything else a username."""
    if assignee == "me":
        return principal.username
    if assignee == "none":
        return ""
    return assignee


@router.get("/queue", responses=_errors(400, 401, 403))
def review_queue(
    principal: StaffApi,
    session: SessionDep,
    settings: SettingsDep,
    hcode: Annotated[str | None, Query(pattern=r"^\d{5}(\d{4})?$")] = None,
    reason: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    min_amount: Annotated[Decimal | None, Query(ge=0, le=10**11, decimal_places=2)] = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> QueuePage:
    """Pended claims, riskiest expected loss (risk × benefit at stake) first."""
    where = QueueFilter(hcode, reason, min_amount, assignee_filter(assignee, principal))
    return queue(
        ReviewRepository(session),
        settings,
        where=where,
        cursor=cursor,
        limit=limit,
        now=datetime.now(UTC),
    )


@router.get("/claims/{claim_id}", responses=_errors(401, 403, 404))
def review_claim(
    claim_id: str, principal: StaffApi, session: WriterSessionDep, settings: SettingsDep
) -> ClaimDetail:
    """One claim in full; reading it renews the caller's lock."""
    detail = claim_detail(context(session, settings, principal), claim_id)
    session.commit()
    return detail


@router.post("/claims/{claim_id}/assign", responses=_errors(401, 403, 404, 409))
def assign_claim(
    claim_id: str,
    principal: StaffApi,
    session: WriterSessionDep,
    settings: SettingsDep,
    body: AssignRequest | None = None,
) -> LockOut:
    """Take the claim's lock for 30 minutes; a supervisor may name another reviewer."""
    lock = decisions.assign(
        context(session, settings, principal), claim_id, body.assignee if body else None
    )
    session.commit()
    return lock


@router.post("/claims/{claim_id}/release", responses=_errors(401, 403, 404, 409))
def release_claim(
    claim_id: str, principal: StaffApi, session: WriterSessionDep, settings: SettingsDep
) -> LockOut:
    """Give the claim's lock back."""
    lock = decisions.release(context(session, settings, principal), claim_id)
    session.commit()
    return lock


@router.post("/claims/{claim_id}/decision", responses=_errors(401, 403, 404, 409, 422))
def decide_claim(
    claim_id: str,
    body: DecisionRequest,
    principal: StaffApi,
    session: WriterSessionDep,
    settings: SettingsDep,
) -> DecisionResult:
    """Approve, deny, adjust or ask for information on a claim the caller holds."""
    result = decisions.decide(context(session, settings, principal), claim_id, body)
    session.commit()
    return result


@router.post("/claims/{claim_id}/second-approval", responses=_errors(401, 403, 404, 409, 422))
def second_approval(
    claim_id: str,
    body: SecondApprovalRequest,
    principal: StaffApi,
    session: WriterSessionDep,
    settings: SettingsDep,
) -> DecisionResult:
    """A second supervisor confirms a large denial or cut, or sends it back to the queue."""
    result = decisions.second_approval(
        context(session, settings, principal), claim_id, body.approve, body.note
    )
    session.commit()
    return result


@router.get("/stats", responses=_errors(401, 403))
def stats(principal: StaffApi, session: SessionDep, settings: SettingsDep) -> ReviewStats:
    """Backlog, throughput, SLA breaches, overturns and the audit sample's figures."""
    return review_stats(ReviewRepository(session), settings, datetime.now(UTC))
