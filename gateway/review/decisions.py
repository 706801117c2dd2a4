"""Locks, decisions and second approvals on pended claims: each one transaction with its audit.

Every move is a lifecycle transition checked by `check_transition`, written with its audit
event, the claim's new ClaimResponse version and an outbox message for the hospital, in the
caller's session; the endpoint commits once, before it answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import orjson
from sqlmodel import Session

from fhir_mappings.review_response import ReviewedOutcome, reviewed_claim_response
from gateway.claims.lifecycle import ClaimStatus, check_transition
from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    OutboxMessage,
    ReimbursementQueueEntry,
)
from gateway.fhir.responses import ProblemError, http_problem
from gateway.review.models import Decision, DecisionState, ReviewDecision
from gateway.review.repository import ReviewRepository
from gateway.review.schemas import DecisionRequest, DecisionResult, LockOut
from gateway.settings import Settings
from gateway.staff.deps import StaffPrincipal
from provider_registry.models import as_utc
from provider_registry.staff import Role

S = ClaimStatus
FINAL_STATUS = {
    Decision.APPROVE: S.APPROVED,
    Decision.ADJUST: S.ADJUSTED,
    Decision.DENY: S.DENIED,
    Decision.REQUEST_INFO: S.INFO_REQUESTED,
}
OUTCOME = {
    Decision.APPROVE: ReviewedOutcome.APPROVED,
    Decision.ADJUST: ReviewedOutcome.ADJUSTED,
    Decision.DENY: ReviewedOutcome.DENIED,
    Decision.REQUEST_INFO: ReviewedOutcome.INFO_REQUESTED,
}


@dataclass(frozen=True, slots=True)
class ReviewContext:
    """Who acts, when, under which settings, in which session."""

    session: Session
    settings: Settings
    principal: StaffPrincipal
    now: datetime

    @property
    def repo(self) -> ReviewRepository:
        return ReviewRepository(self.session)


# Locks
def assign(ctx: ReviewContext, claim_id: str, assignee: str | None) -> LockOut:
    """Take the claim's lock (30 minutes, renewed on activity); a supervisor may reassign."""
    claim = _claim(ctx, claim_id)
    target = assignee or ctx.principal.username
    force = target != ctx.principal.username
    if force and ctx.principal.role is not Role.SUPERVISOR:
        raise _problem(
            403,
            "forbidden",
            "Only a supervisor may assign a claim to someone else.",
            "เฉพาะหัวหน้างานเท่านั้นที่มอบหมายเคลมให้ผู้อื่นได้",
        )
    until = ctx.now + timedelta(minutes=ctx.settings.review_lock_minutes)
    if not ctx.repo.take_lock(claim_id, username=target, now=ctx.now, until=until, force=force):
        raise _held_by_other(claim)
    action = "review.reassigned" if force else "review.assigned"
    _audit(ctx, claim, action, detail={"assignee": target})
    return LockOut(assignee=target, lock_expires_at=until)


def release(ctx: ReviewContext, claim_id: str) -> LockOut:
    """Give the claim's lock back (a supervisor may release anyone's)."""
    claim = _claim(ctx, claim_id)
    holder = None if ctx.principal.role is Role.SUPERVISOR else ctx.principal.username
    if claim.assignee is not None and not ctx.repo.release_lock(claim_id, username=holder):
        raise _held_by_other(claim)
    _audit(ctx, claim, "review.released", detail={"assignee": claim.assignee})
    return LockOut(assignee=None, lock_expires_at=None)


def renew_lock(ctx: ReviewContext, claim: ClaimRecord) -> None:
    """Extend the caller's lock while they work on the claim."""
    if claim.assignee == ctx.principal.username and _lock_live(claim, ctx.now):
        until = ctx.now + timedelta(minutes=ctx.settings.review_lock_minutes)
        ctx.repo.take_lock(claim.id, username=claim.assignee, now=ctx.now, until=until, force=False)


# Decisions
def decide(ctx: ReviewContext, claim_id: str, request: DecisionRequest) -> DecisionResult:
    """Record a reviewer's decision; large denials and cuts wait for a second supervisor."""
    claim = _claim(ctx, claim_id, for_update=True)
    _require_status(claim, S.PENDED_REVIEW)
    _require_lock(ctx, claim)
    note = _required_text(
        request.note, "note", "Write a note that explains the decision.", "กรุณาบันทึกเหตุผลของการตัดสิน"
    )
    if request.decision is Decision.REQUEST_INFO:
        _required_text(
            request.message_to_hospital,
            "message_to_hospital",
            "Say what information the hospital must send.",
            "กรุณาระบุข้อมูลที่โรงพยาบาลต้องส่งเพิ่ม",
        )
    lines = ctx.repo.lines(claim_id)
    benefits = line_benefits(request, lines)
    after = sum(benefits.values(), Decimal(0))
    decision = ReviewDecision(
        claim_id=claim.id,
        hcode=claim.hcode,
        reviewer=ctx.principal.username,
        decision=request.decision.value,
        state=DecisionState.FINAL.value,
        note=note,
        message_to_hospital=(request.message_to_hospital or "").strip() or None,
        lines_json=orjson.dumps({str(k): str(v) for k, v in benefits.items()}).decode(),
        benefit_before=claim.total_benefit,
        benefit_after=after,
        review_source=claim.review_source or "flagged",
        decided_at=ctx.now,
    )
    if _needs_second_approval(ctx.settings, request.decision, claim.total_benefit, after):
        decision.state = DecisionState.AWAITING_SECOND.value
        _move(ctx, claim, S.PENDING_SECOND_APPROVAL, "review.awaiting_second_approval")
        ctx.repo.stage(decision)
        return DecisionResult(
            claim_id=claim.id, status=claim.status, benefit=after, needs_second_approval=True
        )
    ctx.repo.stage(decision)
    _apply(ctx, claim, decision, lines)
    return DecisionResult(
        claim_id=claim.id, status=claim.status, benefit=after, needs_second_approval=False
    )


def second_approval(ctx: ReviewContext, claim_id: str, approve: bool, note: str) -> DecisionResult:
    """A different supervisor confirms a large denial or cut, or sends the claim back."""
    claim = _claim(ctx, claim_id, for_update=True)
    _require_status(claim, S.PENDING_SECOND_APPROVAL)
    decision = ctx.repo.awaiting_second(claim_id)
    if decision is None:
        raise _problem(
            409,
            "conflict",
            "No decision waits for a second approval.",
            "ไม่มีการตัดสินที่รอการอนุมัติครั้งที่สอง",
        )
    if decision.reviewer == ctx.principal.username:
        raise _problem(
            403,
            "forbidden",
            "A second approval must come from a different supervisor.",
            "การอนุมัติครั้งที่สองต้องเป็นหัวหน้างานคนอื่น",
        )
    decision.second_reviewer = ctx.principal.username
    decision.second_approved = approve
    decision.second_note = _required_text(
        note, "note", "Write a note for the second approval.", "กรุณาบันทึกเหตุผลของการอนุมัติครั้งที่สอง"
    )
    decision.second_at = ctx.now
    ctx.repo.stage(decision)
    if approve:
        decision.state = DecisionState.FINAL.value
        _apply(ctx, claim, decision, ctx.repo.lines(claim_id))
    else:
        decision.state = DecisionState.OVERTURNED.value
        claim.assignee, claim.lock_expires_at = None, None
        _move(ctx, claim, S.PENDED_REVIEW, "review.second_approval_refused")
    return DecisionResult(
        claim_id=claim.id,
        status=claim.status,
        benefit=claim.total_benefit,
        needs_second_approval=False,
    )


def line_benefits(request: DecisionRequest, lines: Sequence[ClaimLineRecord]) -> dict[int, Decimal]:
    """Each line's payable amount after the decision; 422 for an unknown or out-of-range line."""
    current = {line.sequence: line for line in lines}
    if request.decision is Decision.DENY:
        return {seq: Decimal(0) for seq in current}
    benefits = {seq: line.benefit for seq, line in current.items()}
    if request.decision is not Decision.ADJUST:
        return benefits
    if not request.lines:
        raise _invalid(
            "lines",
            "An adjustment names at least one line and its new benefit.",
            "การปรับยอดต้องระบุรายการและยอดใหม่อย่างน้อยหนึ่งรายการ",
        )
    for i, change in enumerate(request.lines):
        line = current.get(change.sequence)
        if line is None:
            raise _invalid(
                f"lines[{i}].sequence",
                f"The claim has no line {change.sequence}.",
                f"ไม่มีรายการลำดับที่ {change.sequence} ในเคลมนี้",
            )
        if not Decimal(0) <= change.benefit <= line.eligible:
            raise _invalid(
                f"lines[{i}].benefit",
                f"Line {change.sequence}: the benefit must lie between 0 and its eligible "
                f"amount {line.eligible}.",
                f"รายการที่ {change.sequence}: ยอดที่จ่ายต้องอยู่ระหว่าง 0 ถึง {line.eligible} บาท",
            )
        benefits[change.sequence] = change.benefit
    return benefits


def _needs_second_approval(
    settings: Settings, decision: Decision, before: Decimal, after: Decimal
) -> bool:
    taken_away = before - after
    return decision in (Decision.DENY, Decision.ADJUST) and taken_away >= settings.four_eyes_thb


def _apply(
    ctx: ReviewContext,
    claim: ClaimRecord,
    decision: ReviewDecision,
    lines: Sequence[ClaimLineRecord],
) -> None:
    """Put a decision in force: amounts, status, ClaimResponse version, payment, outbox."""
    kind = Decision(decision.decision)
    benefits = {int(k): Decimal(v) for k, v in orjson.loads(decision.lines_json).items()}
    if kind is not Decision.REQUEST_INFO:
        _set_line_benefits(ctx, lines, benefits)
        claim.total_benefit = sum(benefits.values(), Decimal(0))
    claim.assignee, claim.lock_expires_at = None, None
    _move(ctx, claim, FINAL_STATUS[kind], f"review.{kind.value}")
    if claim.status in (S.APPROVED, S.ADJUSTED) and claim.total_benefit > 0:
        ctx.repo.queue_payment(
            ReimbursementQueueEntry(
                claim_id=claim.id,
                hcode=claim.hcode,
                amount=claim.total_benefit,
                enqueued_at=ctx.now,
            )
        )
        _move(ctx, claim, S.QUEUED_FOR_PAYMENT, "claim.queued_for_payment")
    _new_response_version(ctx, claim, kind, benefits, decision.message_to_hospital)


def _set_line_benefits(
    ctx: ReviewContext, lines: Sequence[ClaimLineRecord], benefits: Mapping[int, Decimal]
) -> None:
    for line in lines:
        if line.benefit != benefits[line.sequence]:
            line.benefit = benefits[line.sequence]
            ctx.repo.stage(line)


def _new_response_version(
    ctx: ReviewContext,
    claim: ClaimRecord,
    kind: Decision,
    benefits: Mapping[int, Decimal],
    message: str | None,
) -> None:
    response = ctx.repo.response(claim.id)
    if response is None:
        return
    version = response.version_id + 1
    resource = reviewed_claim_response(
        orjson.loads(response.resource_json),
        outcome=OUTCOME[kind],
        line_benefits=benefits,
        message_to_hospital=message,
        version_id=version,
        at=ctx.now,
    )
    response.resource_json = orjson.dumps(resource).decode()
    response.outcome = resource["outcome"]
    response.version_id, response.updated_at = version, ctx.now
    claim.outcome = resource["outcome"]
    ctx.repo.stage(response, claim)
    payload = {
        "claim_id": claim.id,
        "hcode": claim.hcode,
        "response_id": response.id,
        "version_id": version,
        "status": claim.status,
    }
    ctx.repo.notify(
        OutboxMessage(
            topic="claim.reviewed", payload=orjson.dumps(payload).decode(), created_at=ctx.now
        )
    )


def _move(ctx: ReviewContext, claim: ClaimRecord, target: ClaimStatus, action: str) -> None:
    current = ClaimStatus(claim.status)
    check_transition(current, target)
    claim.status, claim.updated_at = target.value, ctx.now
    ctx.repo.stage(claim)
    _audit(ctx, claim, action, from_status=current, to_status=target)


def _audit(
    ctx: ReviewContext,
    claim: ClaimRecord,
    action: str,
    *,
    from_status: ClaimStatus | None = None,
    to_status: ClaimStatus | None = None,
    detail: Mapping[str, object] | None = None,
) -> None:
    ctx.repo.stage(
        AuditEvent(
            at=ctx.now,
            actor=f"staff:{ctx.principal.username}",
            hcode=claim.hcode,
            action=action,
            entity_type="Claim",
            entity_id=claim.id,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value if to_status else None,
            detail=orjson.dumps(dict(detail or {"role": ctx.principal.role.value})).decode(),
        )
    )


def _claim(ctx: ReviewContext, claim_id: str, *, for_update: bool = False) -> ClaimRecord:
    repo = ctx.repo
    claim = repo.claim_for_update(claim_id) if for_update else repo.claim(claim_id)
    if claim is None:
        raise _problem(
            404, "not-found", f"Claim/{claim_id[:64]} is not known.", f"ไม่พบ Claim/{claim_id[:64]}"
        )
    return claim


def _require_status(claim: ClaimRecord, status: ClaimStatus) -> None:
    if claim.status != status:
        raise _problem(
            409,
            "conflict",
            f"The claim is {claim.status}, not {status.value}; reload it.",
            f"เคลมอยู่ในสถานะ {claim.status} กรุณาโหลดหน้าใหม่",
        )


def _require_lock(ctx: ReviewContext, claim: ClaimRecord) -> None:
    if claim.assignee != ctx.principal.username or not _lock_live(claim, ctx.now):
        raise _problem(
            409,
            "conflict",
            "Assign the claim to yourself before deciding it.",
            "กรุณารับเคลมนี้มาตรวจสอบก่อนตัดสิน",
        )


def _lock_live(claim: ClaimRecord, now: datetime) -> bool:
    until = claim.lock_expires_at
    return until is not None and as_utc(until) > now


def _held_by_other(claim: ClaimRecord) -> ProblemError:
    return _problem(
        409,
        "conflict",
        f"The claim is being reviewed by {claim.assignee or 'someone else'}.",
        f"เคลมนี้กำลังตรวจสอบโดย {claim.assignee or 'ผู้อื่น'}",
    )


def _required_text(value: str | None, field: str, en: str, th: str) -> str:
    text = (value or "").strip()
    if not text:
        raise _invalid(field, en, th)
    return text


def _invalid(field: str, en: str, th: str) -> ProblemError:
    return http_problem(422, "required" if "note" in field else "value", en, th, field)


def _problem(status: int, code: str, en: str, th: str) -> ProblemError:
    return http_problem(status, code, en, th)
