"""Issue 12: intake writes its rows in a few statements, yet stores every row, chains every
audit event and records an Idempotency-Key's answer with the claim (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from fhir_mappings.adjudication import ClaimOutcome, accept_as_submitted
from fhir_mappings.bundle import ParsedBundle, parse_claim_bundle
from fhir_mappings.profile import map_claim
from fraud.assessment import unscored
from gateway.audit.trail import record_event, verify_chain
from gateway.claims.lifecycle import ClaimStatus
from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    ClaimResponseRecord,
    IdempotencyKey,
    OutboxMessage,
    ReimbursementQueueEntry,
)
from gateway.claims.service import claim_row
from tests.provider_registry.factories import insure
from tests.support import claim_bytes

SUBMIT = "/fhir/Claim/$submit"


def test_claim_row_names_every_column_of_claims() -> None:
    """Intake inserts the claims row with Core from plain values: a column left out there would
    take NULL (or fail) without any model default, so the row must name them all."""
    parsed = parse_claim_bundle(claim_bytes(), max_entries=100)
    assert isinstance(parsed, ParsedBundle)
    claim = map_claim(parsed, acting_hcode="10661")
    assert not isinstance(claim, list)
    adjudication = accept_as_submitted(claim)
    row = claim_row(
        "c-1",
        "10661",
        claim,
        parsed,
        adjudication,
        unscored(claim, adjudication),
        ClaimOutcome.COMPLETE,
        ClaimStatus.QUEUED_FOR_PAYMENT,
        "hash",
        claim_bytes(),
        datetime.now(UTC),
    )
    columns = {c.name for c in ClaimRecord.__table__.columns}  # type: ignore[attr-defined]
    assert set(row) == columns


def _claim_id(answer: Any) -> str:
    reference: str = answer.json()["entry"][0]["resource"]["request"]["reference"]
    return reference.rsplit("/", 1)[-1]


def _count(session: Session, model: Any, column: Any, claim_id: str) -> int:
    query = select(func.count()).select_from(model).where(column == claim_id)
    return int(session.exec(query).one())


def test_every_row_of_an_accepted_claim_is_stored(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    answer = client.post(SUBMIT, content=claim_bytes(), headers=auth)
    assert answer.status_code == 201, answer.text
    claim_id = _claim_id(answer)
    with Session(engine) as session:
        stored = session.get(ClaimRecord, claim_id)
        assert stored is not None
        assert orjson.loads(stored.bundle_json) == orjson.loads(claim_bytes())
        assert _count(session, ClaimLineRecord, col(ClaimLineRecord.claim_id), claim_id) == 3
        assert (
            _count(session, ClaimResponseRecord, col(ClaimResponseRecord.claim_id), claim_id) == 1
        )
        queued = ReimbursementQueueEntry.claim_id
        assert _count(session, ReimbursementQueueEntry, col(queued), claim_id) == 1
        events = session.exec(
            select(AuditEvent).where(AuditEvent.entity_id == claim_id).order_by(col(AuditEvent.id))
        ).all()
        assert [e.action for e in events] == [
            "claim.received",
            "claim.adjudicated",
            "claim.approved",
            "claim.queued_for_payment",
        ]
        assert [e.from_status for e in events[1:]] == [e.to_status for e in events[:-1]]
        outbox = session.exec(select(OutboxMessage.payload)).all()
        assert any(orjson.loads(p)["claim_id"] == claim_id for p in outbox)


def test_intake_audit_events_join_the_chain_after_other_events(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    for n in range(2):  # the chain already has a head when the claims arrive
        record_event(
            engine, action="test.event", actor="tester", agent_kind="os", entity_type=f"T{n}"
        )
    for invoice in ("INV-1", "INV-2"):
        answer = client.post(SUBMIT, content=claim_bytes(invoice=invoice), headers=auth)
        assert answer.status_code == 201, answer.text
    record_event(engine, action="test.event", actor="tester", agent_kind="os", entity_type="T9")
    with Session(engine) as session:
        report = verify_chain(session)
        unchained = session.exec(select(AuditEvent).where(col(AuditEvent.hash).is_(None))).all()
    assert report.broken is None
    assert unchained == []


def test_idempotency_key_answer_is_stored_with_the_claim(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    headers = {**auth, "Idempotency-Key": "key-1"}
    first = client.post(SUBMIT, content=claim_bytes(), headers=headers)
    assert first.status_code == 201, first.text
    with Session(engine) as session:
        key = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == "key-1")).one()
    assert (key.state, key.response_status) == ("done", 201)
    assert orjson.loads(key.response_body or "null") == first.json()
    again = client.post(SUBMIT, content=claim_bytes(), headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
