"""Payment runs on SQLite and PostgreSQL: whole batches, never twice, to the satang."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.paymentreconciliation import PaymentReconciliation
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from gateway.claims.models import (
    AuditEvent,
    ClaimLineRecord,
    ClaimRecord,
    ClaimResponseRecord,
    OutboxMessage,
    ReimbursementQueueEntry,
)
from gateway.db import session_scope
from gateway.payments.models import PaymentBatch, PaymentBatchClaim
from gateway.payments.repository import PaymentRepository
from gateway.payments.service import (
    PaymentError,
    confirm_batch,
    get_batch,
    period_bounds,
    reconciliation,
    run_payments,
    statement,
    statement_csv,
)
from gateway.security.data_key import person_key
from tests.conftest import bearer
from tests.provider_registry.factories import insure
from tests.support import Hospital, add_hospital, claim_bytes, claim_spec

NOV = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)


def approved_claim(
    engine: Engine,
    hcode: str,
    *,
    amount: str = "240.00",
    enqueued_at: datetime = NOV,
    status: str = "queued_for_payment",
    related_claim_id: str | None = None,
    lines: tuple[tuple[str | None, str], ...] | None = None,
) -> str:
    """A stored claim as intake leaves it; queued for payment when its status says so."""
    claim_id = str(uuid.uuid4())
    money = Decimal(amount)
    lines = lines or (("12", str(money - Decimal("90"))), ("07", "90"))
    with session_scope(engine) as session:
        session.add(
            ClaimRecord(
                id=claim_id,
                hcode=hcode,
                identifier_system=f"https://terms.sil-th.org/hcode/5/{hcode}/Inv",
                identifier_value=f"INV-{claim_id[:8]}",
                status=status,
                claim_type="professional",
                setting="OPD",
                patient_key=person_key("1101700203450"),
                service_date=date(2026, 11, 2),
                total_submitted=money,
                total_eligible=money,
                total_benefit=money,
                outcome="complete",
                body_hash="0" * 64,
                claim_json="{}",
                bundle_json="{}",
                related_claim_id=related_claim_id,
                created_at=enqueued_at,
                updated_at=enqueued_at,
            )
        )
        session.flush()
        for i, (category, benefit) in enumerate(lines, start=1):
            value = Decimal(benefit)
            session.add(
                ClaimLineRecord(
                    claim_id=claim_id,
                    sequence=i,
                    product_code=f"P{i}",
                    category_code=category,
                    quantity=Decimal(1),
                    submitted=value,
                    eligible=value,
                    benefit=value,
                )
            )
        session.add(
            ClaimResponseRecord(
                id=str(uuid.uuid4()),
                claim_id=claim_id,
                hcode=hcode,
                outcome="complete",
                resource_json='{"resourceType":"ClaimResponse"}',
            )
        )
        if status == "queued_for_payment":
            session.add(
                ReimbursementQueueEntry(
                    claim_id=claim_id, hcode=hcode, amount=money, enqueued_at=enqueued_at
                )
            )
    return claim_id


@pytest.fixture
def hospitals(engine: Engine) -> list[str]:
    for hcode in ("10661", "11512", "23760"):
        add_hospital(engine, hcode)
    return ["10661", "11512", "23760"]


def _batched_claims(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(PaymentBatchClaim.claim_id)).all())


def test_period_is_a_bangkok_month() -> None:
    start, end = period_bounds("2026-11")
    assert start == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    with pytest.raises(PaymentError):
        period_bounds("2026-13")


def test_run_batches_each_hospital_once_with_totals_by_category(
    engine: Engine, hospitals: list[str]
) -> None:
    amounts = {"10661": ["240.00", "1000.55"], "11512": ["99.99"], "23760": []}
    for hcode, values in amounts.items():
        for value in values:
            approved_claim(engine, hcode, amount=value)
    approved_claim(engine, "23760", enqueued_at=datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    result = run_payments(engine, period="2026-11", actor="test")
    found = {b.hcode: b for b in result.batches}
    assert set(found) == {"10661", "11512"}  # December in Bangkok is not November's
    assert found["10661"].amount == Decimal("1240.55")
    assert found["10661"].category_totals == {"07": Decimal("180.00"), "12": Decimal("1060.55")}
    assert found["11512"].claims == 1
    again = run_payments(engine, period="2026-11", actor="test")
    assert again.batches == []
    with Session(engine) as session:
        statuses = session.exec(
            select(ClaimRecord.status, func.count()).group_by(ClaimRecord.status)
        ).all()
        topics = session.exec(select(OutboxMessage.topic)).all()
    assert dict(statuses) == {"batched": 3, "queued_for_payment": 1}
    assert topics.count("payment.reconciliation") == 2


def test_only_queued_claims_are_batched_and_corrections_in_review_wait(
    engine: Engine, hospitals: list[str]
) -> None:
    paid = approved_claim(engine, "10661")
    for status in ("pended_review", "denied", "cancelled", "pending_second_approval"):
        approved_claim(engine, "10661", status=status)
    waiting = approved_claim(engine, "10661")
    approved_claim(engine, "10661", status="pended_review", related_claim_id=waiting)
    result = run_payments(engine, period="2026-11", actor="test")
    assert [b.claims for b in result.batches] == [1]
    assert _batched_claims(engine) == [paid]


def test_sum_of_batches_equals_sum_of_approved_benefits_to_the_satang(
    engine: Engine, hospitals: list[str]
) -> None:
    expected = Decimal(0)
    for i in range(30):
        amount = Decimal(i * 37 + 1) + Decimal(i % 100) / 100
        expected += amount
        approved_claim(engine, hospitals[i % 3], amount=str(amount), lines=(("12", str(amount)),))
    result = run_payments(engine, period="2026-11", actor="test")
    assert sum((b.amount for b in result.batches), Decimal(0)) == expected
    with Session(engine) as session:
        total = session.exec(select(func.sum(PaymentBatch.amount))).one()
        claims = _batched_claims(engine)
    assert Decimal(total) == expected
    assert len(claims) == len(set(claims)) == 30


def test_two_runs_at_once_never_batch_a_claim_twice(engine: Engine, hospitals: list[str]) -> None:
    ids = [approved_claim(engine, hospitals[i % 3], amount="100.10") for i in range(45)]
    results: list[object] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        barrier.wait()
        results.append(run_payments(engine, period="2026-11", actor="race"))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 3
    claims = _batched_claims(engine)
    assert sorted(claims) == sorted(ids)
    with Session(engine) as session:
        batches = session.exec(select(PaymentBatch)).all()
        counted = {b.id: b.claims for b in batches}
        rows = session.exec(
            select(PaymentBatchClaim.batch_id, func.count()).group_by(PaymentBatchClaim.batch_id)
        ).all()
        audit = session.exec(
            select(func.count()).where(col(AuditEvent.action) == "claim.batched")
        ).one()
    assert dict(rows) == counted  # no batch row claims a claim it lost
    assert len(batches) == 3  # one per hospital: a run that lost a hospital made no batch
    assert sum(b.amount for b in batches) == Decimal("100.10") * 45
    assert audit == 45


def test_the_loser_of_a_race_skips_the_claims_the_winner_took(
    engine: Engine, hospitals: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both runs read the same payable claims; the unique index lets only one batch have them."""
    for hcode in hospitals:
        for _ in range(5):
            approved_claim(engine, hcode)
    taken: list[tuple[int, int]] = []
    original = PaymentRepository.take_claims

    def observed(self: PaymentRepository, batch_id: str, claims: Any) -> set[str]:
        won = original(self, batch_id, claims)
        taken.append((len(claims), len(won)))
        return won

    monkeypatch.setattr(PaymentRepository, "take_claims", observed)
    results = []

    def run() -> None:  # each run holds every batch open for a moment before committing
        results.append(run_payments(engine, period="2026-11", actor="race", pause_seconds=0.3))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(b.hcode for r in results for b in r.batches) == hospitals
    assert len(set(_batched_claims(engine))) == 15
    if engine.dialect.name == "postgresql":  # SQLite's writers never overlap: nothing to lose
        assert any(won < asked for asked, won in taken)


def test_export_csv_and_fhir_agree_with_the_batch(engine: Engine, hospitals: list[str]) -> None:
    for amount in ("240.00", "13.37", "1000.01"):
        approved_claim(engine, "10661", amount=amount)
    batch_id = run_payments(engine, period="2026-11", actor="test").batches[0].batch_id
    with Session(engine) as session:
        batch = get_batch(session, batch_id)
        rows = list(csv.DictReader(io.StringIO(statement_csv(statement(session, batch)))))
        resource = reconciliation(session, batch, "http://testserver")
    assert list(rows[0]) == ["batch_id", "hcode", "claim_id", "invoice", "service_date", "benefit"]
    assert sorted(r["benefit"] for r in rows) == ["1000.01", "13.37", "240.00"]
    assert {r["service_date"] for r in rows} == {"2026-11-02"}
    PaymentReconciliation.model_validate(resource)
    details = resource["detail"]
    assert len(details) == 3
    total = sum(Decimal(str(d["amount"]["value"])) for d in details)
    assert Decimal(str(resource["paymentAmount"]["value"])) == total == Decimal("1253.38")
    assert all(d["request"]["reference"].startswith("Claim/") for d in details)
    assert all(d["response"]["reference"].startswith("ClaimResponse/") for d in details)
    assert resource["outcome"] == "queued"


def test_confirm_pays_the_claims_once(engine: Engine, hospitals: list[str]) -> None:
    approved_claim(engine, "10661")
    approved_claim(engine, "10661")
    batch_id = run_payments(engine, period="2026-11", actor="test").batches[0].batch_id
    first = confirm_batch(engine, batch_id=batch_id, reference="BANK-1", actor="test")
    second = confirm_batch(engine, batch_id=batch_id, reference="BANK-2", actor="test")
    assert (first.already, first.claims_paid) == (False, 2)
    assert second.already
    assert "already confirmed" in second.message
    assert second.bank_reference == "BANK-1"
    with Session(engine) as session:
        statuses = set(session.exec(select(ClaimRecord.status)).all())
        batch = get_batch(session, batch_id)
        resource = reconciliation(session, batch, "http://testserver")
        paid_events = session.exec(
            select(func.count()).where(col(AuditEvent.action) == "claim.paid")
        ).one()
    assert statuses == {"paid"}
    assert (batch.status, batch.bank_reference) == ("confirmed", "BANK-1")
    assert resource["paymentIdentifier"]["value"] == "BANK-1"
    assert resource["outcome"] == "complete"
    assert paid_events == 2
    with pytest.raises(PaymentError):
        confirm_batch(engine, batch_id="nope", reference="BANK-3", actor="test")


def test_statement_json_is_valid_fhir(engine: Engine, hospitals: list[str]) -> None:
    approved_claim(engine, "10661", lines=(("12", "150"), (None, "90")))
    batch_id = run_payments(engine, period="2026-11", actor="t").batches[0].batch_id
    with Session(engine) as session:
        resource = reconciliation(session, get_batch(session, batch_id), "http://testserver")
    parsed = PaymentReconciliation.model_validate_json(orjson.dumps(resource))
    assert parsed.paymentAmount.value == 240
    codes = {e["extension"][0]["valueCoding"]["code"] for e in resource["extension"]}
    assert codes == {"12", "uncategorised"}


def _this_period() -> str:
    return datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")


def test_hospital_reads_its_statements_and_batched_claims_are_frozen(
    client: TestClient,
    auth: dict[str, str],
    other_auth: dict[str, str],
    engine: Engine,
) -> None:
    insure(engine)
    answers = [
        client.post("/fhir/Claim/$submit", content=claim_bytes(invoice=f"P-{i}"), headers=auth)
        for i in range(2)
    ]
    claim_ids = [a.json()["entry"][0]["resource"]["request"]["reference"][6:] for a in answers]
    batch = run_payments(engine, period=_this_period(), actor="test").batches[0]
    url = f"/fhir/PaymentReconciliation/{batch.batch_id}"
    read = client.get(url, headers=auth)
    assert read.status_code == 200
    resource = read.json()
    PaymentReconciliation.model_validate(resource)
    assert {d["request"]["reference"] for d in resource["detail"]} == {
        f"Claim/{c}" for c in claim_ids
    }
    assert Decimal(str(resource["paymentAmount"]["value"])) == batch.amount == Decimal("540.00")
    assert client.get(url, headers=other_auth).status_code == 404
    today = datetime.now(ZoneInfo("Asia/Bangkok")).date()
    found = client.get(f"/fhir/PaymentReconciliation?created=ge{today}", headers=auth).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [batch.batch_id]
    later = client.get(
        f"/fhir/PaymentReconciliation?created=gt{today}&_count=5", headers=auth
    ).json()
    assert later["total"] == 0
    within = f"/fhir/PaymentReconciliation?created=ge{today.replace(day=1)}&created=lt2100-01"
    assert client.get(within, headers=auth).json()["total"] == 1
    assert client.get("/fhir/PaymentReconciliation", headers=other_auth).json()["total"] == 0
    bad = client.get("/fhir/PaymentReconciliation?created=ge2026-13-01", headers=auth)
    assert bad.status_code == 400
    cancel = client.post(f"/fhir/Claim/{claim_ids[0]}/$cancel", headers=auth)
    assert cancel.status_code == 422
    assert "batched" in cancel.json()["issue"][0]["diagnostics"]
    correction = claim_bytes(claim_spec(invoice="P-1-R", related_invoice="P-1"))
    assert client.post("/fhir/Claim/$submit", content=correction, headers=auth).status_code == 422


def test_statements_need_a_token_with_the_scope(client: TestClient, hospital: Hospital) -> None:
    assert client.get("/fhir/PaymentReconciliation/x").status_code == 401
    claims_only = bearer(client, hospital, "system/Claim.crs")
    answer = client.get("/fhir/PaymentReconciliation", headers=claims_only)
    assert answer.status_code == 403
