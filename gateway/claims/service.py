"""Claim intake: validate, identify, deduplicate, price, score and store in one transaction."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import orjson
import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from fhir_mappings.adjudication import Adjudication, ClaimOutcome, accept_as_submitted
from fhir_mappings.bundle import ParsedBundle, parse_claim_bundle
from fhir_mappings.claim import SubmittedClaim
from fhir_mappings.claim_response import claim_response, response_bundle
from fhir_mappings.outcome import operation_outcome
from fhir_mappings.problems import Problem
from fhir_mappings.profile import map_claim
from fhir_mappings.rule_catalogue import problem
from fhir_mappings.stored_claim import self_contained_claim
from fraud.assessment import FraudAssessment, unscored
from gateway.auth.tokens import AccessGrant
from gateway.claims.corrections import supersede_original
from gateway.claims.fraud_facts import fact_columns, fact_unit_price
from gateway.claims.lifecycle import ClaimStatus, path_to
from gateway.claims.models import IdempotencyKey
from gateway.claims.repository import ClaimRepository, IdempotencyRepository, RowValues
from gateway.db import writer
from gateway.fhir.responses import ProblemError, http_problem
from gateway.review.selection import select_for_review
from gateway.security.data_key import person_key
from gateway.settings import Settings

log = structlog.get_logger("claimgw.intake")
KEY_RETRIES = 3  # an Idempotency-Key row that vanished between insert and read: try again

Pricer = Callable[[Session, SubmittedClaim], Adjudication]
Scorer = Callable[[Session, SubmittedClaim, Adjudication], FraudAssessment]
"""Steps that read the database get the intake session: one request, one connection."""


def score_nothing(
    session: Session, claim: SubmittedClaim, adjudication: Adjudication
) -> FraudAssessment:
    """The scoring step while no model or rules are configured."""
    return unscored(claim, adjudication)


def price_as_submitted(session: Session, claim: SubmittedClaim) -> Adjudication:
    """The pricing step until the tariff engine is configured: pay what was billed."""
    return accept_as_submitted(claim)


class IntakeObserver(Protocol):
    """Told what intake decided, after the commit (metrics, notifications); must not raise."""

    def accepted(
        self,
        claim: SubmittedClaim,
        adjudication: Adjudication,
        assessment: FraudAssessment,
        outcome: ClaimOutcome,
    ) -> None: ...

    def replayed(self, claim: SubmittedClaim) -> None: ...

    def refused(self, problems: list[Problem], status: int) -> None: ...


@dataclass(frozen=True, slots=True)
class IntakePipeline:
    """The pluggable steps of intake: pricing (with the database), fraud scoring, observers."""

    price: Pricer = price_as_submitted
    score: Scorer = score_nothing
    observers: tuple[IntakeObserver, ...] = ()


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """The HTTP answer to a submission."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    claim_id: str | None = None
    outcome: str | None = None
    replayed: bool = False


def body_hash(data: bytes) -> str:
    """A stable fingerprint of request bytes."""
    return hashlib.sha256(data).hexdigest()


def canonical_hash(raw: dict[str, Any]) -> str:
    """A fingerprint of a bundle's content that ignores key order and white space."""
    return body_hash(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS))


class ClaimIntake:
    """The submit and validate operations of the FHIR API."""

    def __init__(self, engine: Engine, settings: Settings, pipeline: IntakePipeline) -> None:
        self.engine = writer(engine)
        self.settings = settings
        self.pipeline = pipeline

    def validate(self, *, grant: AccessGrant, body: bytes) -> IntakeResult:
        """The same checks and pricing as submit, with nothing stored."""
        _parsed, claim = self._checked(grant, body)
        with Session(self.engine) as session:
            adjudication = self.pipeline.price(session, claim)
            assessment = self.pipeline.score(session, claim, adjudication)
            session.rollback()
        outcome = adjudication.outcome(pended=assessment.flagged)
        preview = claim_response(
            response_id="preview",
            claim_id="not-stored",
            claim=claim,
            adjudication=adjudication,
            outcome=outcome,
            created=datetime.now(UTC),
            base_url=self.settings.base_url,
        )
        preview.pop("id")
        preview["request"] = {
            "identifier": {"system": claim.identifier.system, "value": claim.identifier.value}
        }
        return IntakeResult(
            status=200, body=response_bundle(preview, self.settings.base_url), outcome=outcome.value
        )

    def submit(
        self, *, grant: AccessGrant, body: bytes, idempotency_key: str | None
    ) -> IntakeResult:
        """Accept a claim bundle once; a replay gets the original answer."""
        if idempotency_key is None:
            return self._submit(grant, body, None)
        earlier = self._begin_key(grant.hcode, idempotency_key, body_hash(body))
        if earlier is not None:
            return earlier
        try:
            return self._submit(grant, body, idempotency_key)
        except ProblemError as exc:
            self._finish_key(
                grant.hcode, idempotency_key, exc.status, operation_outcome(exc.problems)
            )
            raise
        except BaseException:
            self._release_key(grant.hcode, idempotency_key)
            raise

    def _checked(self, grant: AccessGrant, body: bytes) -> tuple[ParsedBundle, SubmittedClaim]:
        parsed = parse_claim_bundle(body, max_entries=self.settings.max_bundle_entries)
        if isinstance(parsed, list):
            raise self._refuse(parsed)
        claim = map_claim(parsed, acting_hcode=grant.hcode)
        if isinstance(claim, list):
            raise self._refuse(claim)
        return parsed, claim

    def _refuse(self, problems: list[Problem]) -> ProblemError:
        error = ProblemError(problems)
        for observer in self.pipeline.observers:
            observer.refused(problems, error.status)
        return error

    def _submit(self, grant: AccessGrant, body: bytes, key: str | None) -> IntakeResult:
        """One intake transaction, which also records the key's answer when it stores a claim.

        Idempotency-key bookkeeping never opens a second session inside the intake
        transaction: on SQLite that transaction holds the write lock, so a second writer there
        would wait for itself (issue 10, 7). A stored claim's answer is written through the
        intake session itself, so claim and answer commit together (issue 12: one durable
        commit fewer); a replay's answer is recorded after it, in its own short transaction.
        """
        parsed, claim = self._checked(grant, body)
        result = self._intake_transaction(
            grant, parsed, claim, canonical_hash(parsed.raw), body, key
        )
        if key is not None and result.replayed:
            self._finish_key(grant.hcode, key, result.status, result.body)
        return result

    def _intake_transaction(
        self,
        grant: AccessGrant,
        parsed: ParsedBundle,
        claim: SubmittedClaim,
        content_hash: str,
        body: bytes,
        key: str | None,
    ) -> IntakeResult:
        # Most submissions are new invoices, so nothing is read first to look for an earlier
        # one (issue 12: a round trip per claim): the invoice's unique constraint finds a
        # replay, and so does a concurrent request that stored the same invoice first. Its work
        # is rolled back and the stored answer given. A refusal is checked the same way before
        # it is sent: a replay must get the answer the hospital was first given even when the
        # claim would be refused now (its original since superseded, say).
        with Session(self.engine, expire_on_commit=False) as session:
            repo = ClaimRepository(session, grant.hcode)
            try:
                return self._store(session, repo, grant, parsed, claim, content_hash, body, key)
            except (IntegrityError, ProblemError):
                session.rollback()
                earlier = self._replay(repo, claim, content_hash)
                if earlier is None:
                    raise
                return earlier

    def _replay(
        self, repo: ClaimRepository, claim: SubmittedClaim, content_hash: str
    ) -> IntakeResult | None:
        """The stored answer when this invoice was already accepted with the same content."""
        stored = repo.stored_invoice(claim.identifier.system, claim.identifier.value)
        if stored is None:
            return None
        if stored.body_hash != content_hash:
            raise self._refuse(
                [
                    problem(
                        "identifier-duplicate",
                        "Bundle.entry[0].resource.identifier",
                        found=claim.identifier.value[:64],
                    )
                ]
            )
        response = repo.response_for_claim(stored.id)
        assert response is not None
        resource = orjson.loads(response.resource_json)
        log.info("claim.replayed", claim_id=stored.id, hcode=repo.hcode)
        for observer in self.pipeline.observers:
            observer.replayed(claim)
        return IntakeResult(
            status=200,
            body=response_bundle(resource, self.settings.base_url),
            headers=self._location(response.id),
            claim_id=stored.id,
            outcome=stored.outcome,
            replayed=True,
        )

    def _store(
        self,
        session: Session,
        repo: ClaimRepository,
        grant: AccessGrant,
        parsed: ParsedBundle,
        claim: SubmittedClaim,
        content_hash: str,
        body: bytes,
        key: str | None,
    ) -> IntakeResult:
        original = supersede_original(session, grant=grant, claim=claim)
        adjudication = self.pipeline.price(session, claim)
        assessment = self.pipeline.score(session, claim, adjudication)
        now = datetime.now(UTC)
        selection = select_for_review(
            session,
            self.settings,
            hcode=grant.hcode,
            claim=claim,
            adjudication=adjudication,
            assessment=assessment,
            corrects=original.id if original is not None else None,
            now=now,
        )
        outcome = adjudication.outcome(pended=selection.pended)
        claim_id, response_id = str(uuid.uuid4()), str(uuid.uuid4())
        resource = claim_response(
            response_id=response_id,
            claim_id=claim_id,
            claim=claim,
            adjudication=adjudication,
            outcome=outcome,
            created=now,
            base_url=self.settings.base_url,
        )
        status = _status_for(outcome)
        record = claim_row(
            claim_id,
            grant.hcode,
            claim,
            parsed,
            adjudication,
            assessment,
            outcome,
            status,
            content_hash,
            body,
            now,
        )
        record |= {
            "related_claim_id": original.id if original is not None else None,
            "fraud_flagged": assessment.flagged,
            "review_source": selection.source.value if selection.source else None,
            "expected_loss": selection.expected_loss,
        }
        answer = response_bundle(resource, self.settings.base_url)
        if key is not None:
            IdempotencyRepository(session, grant.hcode).finish(
                key, status=201, body=orjson.dumps(answer).decode()
            )
        # Last before the commit: on PostgreSQL add_intake takes the audit chain's lock, which
        # every intake transaction waits for until this one commits (issue 12).
        repo.add_intake(
            claim=record,
            lines=_line_records(claim_id, claim, adjudication),
            response={
                "id": response_id,
                "claim_id": claim_id,
                "hcode": grant.hcode,
                "outcome": outcome.value,
                "resource_json": orjson.dumps(resource).decode(),
                "version_id": 1,
                "created_at": now,
            },
            audit=_intake_audit(grant, claim_id, status, outcome, adjudication, now),
            outbox=_outbox_event(claim_id, grant.hcode, status, outcome, adjudication, now),
            payment=_payment(claim_id, grant.hcode, adjudication, now)
            if status is ClaimStatus.QUEUED_FOR_PAYMENT
            else None,
        )
        session.commit()
        for observer in self.pipeline.observers:
            observer.accepted(claim, adjudication, assessment, outcome)
        log.info(
            "claim.accepted",
            claim_id=claim_id,
            hcode=grant.hcode,
            outcome=outcome.value,
            status=status.value,
            lines=len(claim.lines),
        )
        return IntakeResult(
            status=201,
            body=answer,
            headers=self._location(response_id),
            claim_id=claim_id,
            outcome=outcome.value,
        )

    def _location(self, response_id: str) -> dict[str, str]:
        return {"Location": f"{self.settings.base_url}/fhir/ClaimResponse/{response_id}"}

    def _begin_key(
        self, hcode: str, key: str, request_hash: str, attempt: int = 0
    ) -> IntakeResult | None:
        """Mark a key in flight; or the earlier answer, 409 in flight, 422 for another body."""
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=self.settings.idempotency_lease_seconds)
        with Session(self.engine, expire_on_commit=False) as session:
            keys = IdempotencyRepository(session, hcode)
            keys.add(
                IdempotencyKey(
                    hcode=hcode,
                    key=key,
                    request_hash=request_hash,
                    state="in_flight",
                    locked_until=lease,
                    created_at=now,
                )
            )
            try:
                session.commit()
                return None
            except IntegrityError:
                session.rollback()
            existing = keys.get(key)
            if existing is None and attempt < KEY_RETRIES:  # released meanwhile: bounded retry
                return self._begin_key(hcode, key, request_hash, attempt + 1)
            if existing is None:
                raise _in_flight()
            if existing.request_hash != request_hash:
                raise ProblemError([problem("idempotency-key-reused", "Bundle")])
            if existing.state == "done" and existing.response_body is not None:
                return IntakeResult(
                    status=existing.response_status or 200,
                    body=orjson.loads(existing.response_body),
                    replayed=True,
                )
            if keys.take_over(key, expired_before=now, until=lease):
                session.commit()
                return None
        raise _in_flight()

    def _finish_key(self, hcode: str, key: str, status: int, body: dict[str, Any]) -> None:
        with Session(self.engine) as session:
            IdempotencyRepository(session, hcode).finish(
                key, status=status, body=orjson.dumps(body).decode()
            )
            session.commit()

    def _release_key(self, hcode: str, key: str) -> None:
        with Session(self.engine) as session:
            IdempotencyRepository(session, hcode).release(key)
            session.commit()


def _in_flight() -> ProblemError:
    return http_problem(
        409,
        "conflict",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        "คำขอที่ใช้ Idempotency-Key นี้กำลังดำเนินการอยู่ กรุณาลองใหม่ภายหลัง",
        headers={"Retry-After": "1"},
    )


def _status_for(outcome: ClaimOutcome) -> ClaimStatus:
    if outcome is ClaimOutcome.QUEUED:
        return ClaimStatus.PENDED_REVIEW
    if outcome is ClaimOutcome.ERROR:
        return ClaimStatus.REJECTED
    return ClaimStatus.QUEUED_FOR_PAYMENT


def claim_row(
    claim_id: str,
    hcode: str,
    claim: SubmittedClaim,
    parsed: ParsedBundle,
    adjudication: Adjudication,
    assessment: FraudAssessment,
    outcome: ClaimOutcome,
    status: ClaimStatus,
    content_hash: str,
    body: bytes,
    now: datetime,
) -> RowValues:
    """The claims row of an accepted claim, every column named (a fixed statement shape).

    Plain values, not a ClaimRecord: the row is inserted with Core, and building the model
    object cost more than the insert (issue 12).
    """
    stored_claim = self_contained_claim(parsed.raw, claim_id)
    stored_claim["meta"] = {**(stored_claim.get("meta") or {}), "lastUpdated": now.isoformat()}
    return {
        "id": claim_id,
        "hcode": hcode,
        "identifier_system": claim.identifier.system,
        "identifier_value": claim.identifier.value,
        "status": status.value,
        "claim_type": claim.claim_type,
        "setting": claim.setting.value,
        "patient_key": person_key(claim.patient_cid),
        "service_date": claim.service_date,
        "total_submitted": adjudication.submitted,
        "total_eligible": adjudication.eligible,
        "total_benefit": adjudication.benefit,
        "outcome": outcome.value,
        "body_hash": content_hash,
        "claim_json": orjson.dumps(stored_claim).decode(),
        "bundle_json": body.decode("utf-8"),
        "related_claim_id": None,
        "fraud_score": assessment.score,
        "fraud_reasons": ";".join(assessment.reasons) or None,
        "model_version": assessment.model_version,
        "fraud_flagged": False,
        **fact_columns(claim),
        "expected_loss": Decimal(0),
        "review_source": None,
        "assignee": None,
        "lock_expires_at": None,
        "created_at": now,
        "updated_at": now,
    }


def _line_records(
    claim_id: str, claim: SubmittedClaim, adjudication: Adjudication
) -> list[RowValues]:
    """The claim_lines rows of a claim: what was billed and what each line was decided."""
    decided = {line.sequence: line for line in adjudication.lines}
    records = []
    for line in claim.lines:
        verdict = decided[line.sequence]
        records.append(
            {
                "claim_id": claim_id,
                "sequence": line.sequence,
                "product_system": line.product_system,
                "product_code": line.product_code[:64],
                "category_code": line.category_code,
                "quantity": line.quantity,
                "serviced_date": line.serviced_date,
                "submitted": verdict.submitted,
                "eligible": verdict.eligible,
                "benefit": verdict.benefit,
                "reasons": ";".join(r.code for r in verdict.reasons),
                "fact_unit_price": fact_unit_price(line),
            }
        )
    return records


def _intake_audit(
    grant: AccessGrant,
    claim_id: str,
    status: ClaimStatus,
    outcome: ClaimOutcome,
    adjudication: Adjudication,
    now: datetime,
) -> list[RowValues]:
    """The audit_events rows of intake: received, then each step to the claim's status."""
    detail = orjson.dumps({"outcome": outcome.value, "benefit": str(adjudication.benefit)}).decode()
    steps: list[tuple[ClaimStatus | None, ClaimStatus]] = [(None, ClaimStatus.RECEIVED)]
    for step in path_to(status):
        steps.append((steps[-1][1], step))
    return [
        {
            "at": now,
            "actor": grant.client_id,
            "hcode": grant.hcode,
            "action": f"claim.{step.value}",
            "entity_type": "Claim",
            "entity_id": claim_id,
            "from_status": previous.value if previous is not None else None,
            "to_status": step.value,
            "detail": detail,
        }
        for previous, step in steps
    ]


def _outbox_event(
    claim_id: str,
    hcode: str,
    status: ClaimStatus,
    outcome: ClaimOutcome,
    adjudication: Adjudication,
    now: datetime,
) -> RowValues:
    payload = {
        "claim_id": claim_id,
        "hcode": hcode,
        "status": status.value,
        "outcome": outcome.value,
        "benefit": str(adjudication.benefit),
    }
    return {
        "topic": "claim.adjudicated",
        "payload": orjson.dumps(payload).decode(),
        "created_at": now,
        "attempts": 0,
    }


def _payment(claim_id: str, hcode: str, adjudication: Adjudication, now: datetime) -> RowValues:
    amount = adjudication.benefit
    return {"claim_id": claim_id, "hcode": hcode, "amount": amount, "enqueued_at": now}
