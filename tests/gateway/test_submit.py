"""Claim/$submit over HTTP: acceptance, storage in one transaction, replays, idempotency."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    ClaimResponseRecord,
    IdempotencyKey,
    OutboxMessage,
    ReimbursementQueueEntry,
)
from tests.provider_registry.factories import insure
from tests.support import claim_bytes, claim_dict, issues

SUBMIT = "/fhir/Claim/$submit"


@pytest.fixture(autouse=True)
def _patient_is_insured(engine: Engine) -> None:
    """The test patient is on the roster: section 33, registered at 10661, fully contributed."""
    insure(engine)


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _response(body: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = body["entry"][0]["resource"]
    return resource


def test_accepted_claim_answers_bundle_with_claim_response(
    client: TestClient, auth: dict[str, str]
) -> None:
    answer = client.post(SUBMIT, content=claim_bytes(), headers=auth)
    assert answer.status_code == 201
    assert answer.headers["content-type"].startswith("application/fhir+json")
    Bundle.model_validate(answer.json())
    response = ClaimResponse.model_validate(_response(answer.json()))
    assert response.outcome == "complete"
    assert response.request.reference.startswith("Claim/")
    assert answer.headers["location"].endswith(f"/fhir/ClaimResponse/{response.id}")
    assert [t.amount.value for t in response.total] == [270.0, 270.0, 270.0]
    assert response.payment.amount.value == 270.0


def test_submission_writes_claim_lines_response_audit_outbox_and_queue(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    client.post(SUBMIT, content=claim_bytes(), headers=auth)
    assert _count(engine, ClaimRecord) == 1
    assert _count(engine, ClaimLineRecord) == 3
    assert _count(engine, ClaimResponseRecord) == 1
    assert _count(engine, OutboxMessage) == 1
    assert _count(engine, ReimbursementQueueEntry) == 1
    with Session(engine) as session:
        claim = session.exec(select(ClaimRecord)).one()
        claim_events = select(AuditEvent).where(AuditEvent.entity_type == "Claim")
        actions = [e.action for e in session.exec(claim_events.order_by(AuditEvent.id))]
    assert claim.status == "queued_for_payment"
    assert orjson.loads(claim.bundle_json) == claim_dict()
    assert actions == [
        "claim.received",
        "claim.adjudicated",
        "claim.approved",
        "claim.queued_for_payment",
    ]


def test_replayed_bundle_returns_original_response(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    first = client.post(SUBMIT, content=claim_bytes(), headers=auth)
    again = client.post(
        SUBMIT, content=orjson.dumps(claim_dict(), option=orjson.OPT_INDENT_2), headers=auth
    )
    assert again.status_code == 200
    assert _response(again.json())["id"] == _response(first.json())["id"]
    assert _count(engine, ClaimRecord) == 1
    assert _count(engine, ReimbursementQueueEntry) == 1


def test_same_invoice_with_other_content_is_refused(
    client: TestClient, auth: dict[str, str]
) -> None:
    client.post(SUBMIT, content=claim_bytes(), headers=auth)
    changed = claim_dict()
    changed["entry"][0]["resource"]["item"][0]["net"]["value"] = 151.0
    changed["entry"][0]["resource"]["total"]["value"] = 271.0
    answer = client.post(SUBMIT, content=orjson.dumps(changed), headers=auth)
    assert answer.status_code == 422
    assert issues(answer.json()) == [
        ("identifier-duplicate", "Bundle.entry[0].resource.identifier")
    ]


def test_idempotency_key_replays_the_first_answer(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    headers = {**auth, "Idempotency-Key": "batch-7/claim-1"}
    first = client.post(SUBMIT, content=claim_bytes(), headers=headers)
    again = client.post(SUBMIT, content=claim_bytes(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert _count(engine, ClaimRecord) == 1


def test_idempotency_key_reused_with_other_body_is_422(
    client: TestClient, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "k-1"}
    client.post(SUBMIT, content=claim_bytes(), headers=headers)
    answer = client.post(SUBMIT, content=claim_bytes(invoice="INV-0002"), headers=headers)
    assert answer.status_code == 422
    assert issues(answer.json())[0][0] == "idempotency-key-reused"


def test_idempotency_key_in_flight_is_409(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.claims.service import body_hash

    body = claim_bytes()
    with Session(engine) as session:
        session.add(
            IdempotencyKey(
                hcode="10661",
                key="busy",
                request_hash=body_hash(body),
                state="in_flight",
                locked_until=datetime.now(UTC) + timedelta(minutes=1),
            )
        )
        session.commit()
    answer = client.post(SUBMIT, content=body, headers={**auth, "Idempotency-Key": "busy"})
    assert answer.status_code == 409
    assert answer.headers["retry-after"] == "1"
    assert _count(engine, ClaimRecord) == 0


def test_abandoned_in_flight_key_is_taken_over_after_its_lease(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.claims.service import body_hash

    body = claim_bytes()
    with Session(engine) as session:
        session.add(
            IdempotencyKey(
                hcode="10661",
                key="crashed",
                request_hash=body_hash(body),
                state="in_flight",
                locked_until=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
        session.commit()
    answer = client.post(SUBMIT, content=body, headers={**auth, "Idempotency-Key": "crashed"})
    assert answer.status_code == 201


def test_validate_prices_without_storing(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    answer = client.post("/fhir/Claim/$validate", content=claim_bytes(), headers=auth)
    assert answer.status_code == 200
    preview = ClaimResponse.model_validate(_response(answer.json()))
    assert preview.outcome == "complete"
    assert preview.total[2].amount.value == 270.0
    assert _count(engine, ClaimRecord) == 0
