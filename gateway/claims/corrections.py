"""Corrections and cancellations: a hospital withdraws or replaces a claim until it is batched.

A cancelled claim's benefit uses stop counting (accumulators read only live claims), its payment
queue entry is removed and its stored ClaimResponse is marked cancelled. Each move is checked
against the lifecycle and leaves an audit event, in the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from fhir_mappings.claim import SubmittedClaim
from fhir_mappings.outcome import informational_outcome
from gateway.auth.tokens import AccessGrant
from gateway.claims.lifecycle import ClaimStatus, IllegalTransition, check_transition
from gateway.claims.models import AuditEvent, ClaimRecord, OutboxMessage
from gateway.claims.repository import ClaimLifecycleRepository
from gateway.fhir.responses import ProblemError, http_problem

log = structlog.get_logger("claimgw.corrections")

RELATED = "Bundle.entry[0].resource.related[0].claim"


def supersede_original(
    session: Session, *, grant: AccessGrant, claim: SubmittedClaim
) -> ClaimRecord | None:
    """Cancel the claim a correction replaces (named by related.claim); None if not a correction."""
    if claim.related_claim is None:
        return None
    repo = ClaimLifecycleRepository(session, grant.hcode)
    original = repo.by_invoice_for_update(claim.related_claim.system, claim.related_claim.value)
    if original is None:
        raise http_problem(
            422,
            "business-rule",
            "related.claim names no earlier claim of this hospital; check the original invoice.",
            "related.claim ไม่ตรงกับเคลมเดิมของโรงพยาบาลนี้ กรุณาตรวจสอบเลขใบแจ้งหนี้เดิม",
            RELATED,
        )
    withdraw(repo, grant=grant, record=original, action="claim.corrected", expression=RELATED)
    return original


def cancel_claim(engine: Engine, *, grant: AccessGrant, claim_id: str) -> dict[str, object]:
    """Withdraw a claim of the caller's hospital; answers an informational OperationOutcome."""
    with Session(engine, expire_on_commit=False) as session:
        repo = ClaimLifecycleRepository(session, grant.hcode)
        record = repo.get_for_update(claim_id)
        if record is None:
            raise http_problem(
                404,
                "not-found",
                f"Claim/{claim_id[:64]} is not known.",
                f"ไม่พบ Claim/{claim_id[:64]}",
            )
        withdraw(repo, grant=grant, record=record, action="claim.cancelled", expression="")
        session.commit()
    log.info("claim.cancelled", claim_id=claim_id, hcode=grant.hcode)
    return informational_outcome(
        f"Claim/{claim_id} is cancelled; its benefit use is released.",
        f"ยกเลิก Claim/{claim_id} แล้ว และคืนวงเงินสิทธิประโยชน์ที่ใช้ไป",
    )


def withdraw(
    repo: ClaimLifecycleRepository,
    *,
    grant: AccessGrant,
    record: ClaimRecord,
    action: str,
    expression: str,
) -> None:
    """Move a claim to cancelled, off the payment queue, with an audit event."""
    current = ClaimStatus(record.status)
    if current is ClaimStatus.CANCELLED:
        raise _not_withdrawable("The claim is already cancelled.", "เคลมนี้ถูกยกเลิกไปแล้ว", expression)
    _refuse_if_batched(repo, record, current, expression)
    try:
        check_transition(current, ClaimStatus.CANCELLED)
    except IllegalTransition as exc:
        raise _not_withdrawable(
            f"The claim cannot be withdrawn: {exc}.", "ไม่สามารถยกเลิกเคลมในสถานะปัจจุบันได้", expression
        ) from exc
    now = datetime.now(UTC)
    record.status, record.updated_at = ClaimStatus.CANCELLED.value, now
    record.claim_json = _claim_marked_cancelled(record.claim_json, now)
    _mark_response_cancelled(repo, record.id)
    repo.record_transition(
        record,
        AuditEvent(
            at=now,
            actor=grant.client_id,
            hcode=grant.hcode,
            action=action,
            entity_type="Claim",
            entity_id=record.id,
            from_status=current.value,
            to_status=ClaimStatus.CANCELLED.value,
            detail=orjson.dumps({"released_benefit": str(record.total_benefit)}).decode(),
        ),
    )
    # The hospital's rest-hooks hear about the cancelled ClaimResponse (gateway/notify/worker.py).
    payload = orjson.dumps({"claim_id": record.id, "hcode": record.hcode}).decode()
    repo.session.add(OutboxMessage(topic="claim.cancelled", payload=payload, created_at=now))
    repo.session.flush()


def _refuse_if_batched(
    repo: ClaimLifecycleRepository, record: ClaimRecord, current: ClaimStatus, expression: str
) -> None:
    entry = repo.payment_entry(record.id)
    if current in (ClaimStatus.BATCHED, ClaimStatus.PAID) or (entry and entry.batched_at):
        raise _not_withdrawable(
            "The claim is already batched for payment; it can no longer be cancelled or corrected.",
            "เคลมนี้ถูกรวมเข้างวดจ่ายแล้ว ไม่สามารถยกเลิกหรือแก้ไขได้",
            expression,
        )
    if entry is not None:
        repo.remove_payment(entry)


def _mark_response_cancelled(repo: ClaimLifecycleRepository, claim_id: str) -> None:
    response = repo.response_for_claim(claim_id)
    if response is None:
        return
    resource = orjson.loads(response.resource_json)
    resource["status"] = "cancelled"
    response.resource_json = orjson.dumps(resource).decode()
    repo.session.add(response)


def _claim_marked_cancelled(claim_json: str, now: datetime) -> str:
    """The stored Claim resource with FHIR status `cancelled` (what a read shows)."""
    claim = orjson.loads(claim_json)
    claim["status"] = "cancelled"
    claim["meta"] = {**(claim.get("meta") or {}), "lastUpdated": now.isoformat()}
    return orjson.dumps(claim).decode()


def _not_withdrawable(en: str, th: str, expression: str) -> ProblemError:
    return http_problem(422, "business-rule", en, th, expression)
