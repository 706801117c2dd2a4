"""Corrections and cancellations over HTTP: accumulators released, batched claims refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from fhir_mappings.claim_bundle import LineSpec
from gateway.claims.models import AuditEvent, ClaimRecord, ReimbursementQueueEntry
from tests.provider_registry.factories import insure
from tests.support import claim_bytes, claim_spec, issues

SUBMIT = "/fhir/Claim/$submit"


def _dental(invoice: str, price: str, related: str | None = None) -> bytes:
    spec = claim_spec(
        invoice=invoice,
        related_invoice=related,
        lines=(LineSpec("DENT-SCALING", "Dental scaling", Decimal(price), category="13"),),
    )
    return claim_bytes(spec)


def _submit(client: TestClient, auth: dict[str, str], body: bytes) -> dict[str, Any]:
    answer = client.post(SUBMIT, content=body, headers=auth)
    assert answer.status_code == 201, answer.text
    resource: dict[str, Any] = answer.json()["entry"][0]["resource"]
    return resource


def _claim_id(response: dict[str, Any]) -> str:
    return str(response["request"]["reference"].split("/")[1])


def _benefit(response: dict[str, Any]) -> float:
    return float(response["payment"]["amount"]["value"]) if "payment" in response else 0.0


def test_cancel_releases_the_yearly_dental_allowance(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    first = _submit(client, auth, _dental("D-1", "900"))
    assert _benefit(_submit(client, auth, _dental("D-2", "400"))) == 0.0
    answer = client.post(f"/fhir/Claim/{_claim_id(first)}/$cancel", headers=auth)
    assert answer.status_code == 200
    assert answer.json()["issue"][0]["severity"] == "information"
    assert _benefit(_submit(client, auth, _dental("D-3", "400"))) == 400.0
    with Session(engine) as session:
        cancelled = session.get(ClaimRecord, _claim_id(first))
        assert cancelled is not None
        assert cancelled.status == "cancelled"
        assert (
            session.exec(
                select(ReimbursementQueueEntry).where(
                    ReimbursementQueueEntry.claim_id == cancelled.id
                )
            ).first()
            is None
        )
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "claim.cancelled")).one()
    assert (audit.from_status, audit.to_status) == ("queued_for_payment", "cancelled")
    stored = client.get(f"/fhir/ClaimResponse?request=Claim/{cancelled.id}", headers=auth).json()
    assert stored["entry"][0]["resource"]["status"] == "cancelled"


def test_correction_replaces_the_original_and_reuses_its_allowance(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    original = _submit(client, auth, _dental("D-1", "900"))
    corrected = _submit(client, auth, _dental("D-1-R", "700", related="D-1"))
    assert _benefit(corrected) == 700.0
    with Session(engine) as session:
        old = session.get(ClaimRecord, _claim_id(original))
        new = session.get(ClaimRecord, _claim_id(corrected))
        assert old is not None
        assert new is not None
        assert old.status == "cancelled"
        assert new.related_claim_id == old.id
        actions = [
            e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity_id == old.id))
        ]
    assert actions[-1] == "claim.corrected"


def test_replayed_correction_gets_its_first_answer_though_its_original_is_gone(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    """A correction sent again would now be refused (its original is cancelled), but it was
    accepted: the replay is found before the refusal is sent, and the first answer is given."""
    insure(engine)
    _submit(client, auth, _dental("D-1", "900"))
    body = _dental("D-1-R", "700", related="D-1")
    first = client.post(SUBMIT, content=body, headers=auth)
    again = client.post(SUBMIT, content=body, headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["entry"][0]["resource"] == first.json()["entry"][0]["resource"]
    fresh = client.post(SUBMIT, content=_dental("D-1-S", "600", related="D-1"), headers=auth)
    assert fresh.status_code == 422, fresh.text


def test_correction_naming_an_unknown_claim_is_422(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    answer = client.post(SUBMIT, content=_dental("D-9", "300", related="NOPE"), headers=auth)
    assert answer.status_code == 422
    assert issues(answer.json())[0][1] == "Bundle.entry[0].resource.related[0].claim"


def test_batched_claim_cannot_be_cancelled_or_corrected(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    claim_id = _claim_id(_submit(client, auth, _dental("D-1", "500")))
    with Session(engine) as session:
        entry = session.exec(select(ReimbursementQueueEntry)).one()
        entry.batched_at = datetime.now(UTC)
        session.add(entry)
        session.commit()
    cancel = client.post(f"/fhir/Claim/{claim_id}/$cancel", headers=auth)
    correct = client.post(SUBMIT, content=_dental("D-1-R", "400", related="D-1"), headers=auth)
    assert (cancel.status_code, correct.status_code) == (422, 422)
    assert "batched" in cancel.json()["issue"][0]["diagnostics"]


def test_cancelling_twice_is_422(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    insure(engine)
    claim_id = _claim_id(_submit(client, auth, _dental("D-1", "500")))
    assert client.post(f"/fhir/Claim/{claim_id}/$cancel", headers=auth).status_code == 200
    assert client.post(f"/fhir/Claim/{claim_id}/$cancel", headers=auth).status_code == 422


def test_another_hospitals_claim_cannot_be_cancelled(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    claim_id = _claim_id(_submit(client, auth, _dental("D-1", "500")))
    answer = client.post(f"/fhir/Claim/{claim_id}/$cancel", headers=other_auth)
    assert answer.status_code == 404
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_cancel_without_a_token_is_401(client: TestClient) -> None:
    assert client.post("/fhir/Claim/x/$cancel").status_code == 401
