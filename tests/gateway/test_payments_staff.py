"""Finance staff close a month and confirm payment, by JSON API and by the /payments page."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.paymentreconciliation import PaymentReconciliation
from sqlalchemy import Engine

from tests.gateway.staff_helpers import (
    csrf_in,
    fast_password_hashing,
    make_staff_user,
    sign_in,
    staff_bearer,
)
from tests.gateway.test_payments import approved_claim
from tests.support import Hospital


@pytest.fixture(autouse=True)
def _cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_password_hashing(monkeypatch)


@pytest.fixture
def month(engine: Engine, hospital: Hospital, other_hospital: Hospital) -> None:
    for hcode in (hospital.hcode, other_hospital.hcode):
        for amount in ("100.25", "200.50"):
            approved_claim(engine, hcode, amount=amount)
    for name, role in (("fin", "finance"), ("aud", "auditor"), ("rev", "reviewer")):
        make_staff_user(engine, name, role)


def test_finance_runs_exports_and_confirms_through_the_api(client: TestClient, month: None) -> None:
    fin, aud = staff_bearer(client, "fin"), staff_bearer(client, "aud")
    ran = client.post("/api/payments/runs", json={"period": "2026-11"}, headers=fin)
    assert ran.status_code == 201, ran.text
    batches = ran.json()["batches"]
    assert sorted((b["hcode"], b["amount"]) for b in batches) == [
        ("10661", "300.75"),
        ("11512", "300.75"),
    ]
    again = client.post("/api/payments/runs", json={"period": "2026-11"}, headers=fin)
    assert again.json()["batches"] == []
    listed = client.get("/api/payments/batches?status=open", headers=aud).json()
    assert len(listed) == 2
    batch_id = batches[0]["batch_id"]
    detail = client.get(f"/api/payments/batches/{batch_id}", headers=aud).json()
    assert len(detail["claim_list"]) == 2
    exported = client.get(f"/api/payments/batches/{batch_id}/export?format=csv", headers=aud)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(Decimal(r["benefit"]) for r in rows) == Decimal("300.75")
    fhir = client.get(f"/api/payments/batches/{batch_id}/export?format=fhir", headers=aud)
    PaymentReconciliation.model_validate(fhir.json())
    url = f"/api/payments/batches/{batch_id}/confirm"
    first = client.post(url, json={"reference": "KTB-1"}, headers=fin).json()
    second = client.post(url, json={"reference": "KTB-1"}, headers=fin).json()
    assert (first["already_confirmed"], first["claims_paid"]) == (False, 2)
    assert second["already_confirmed"] is True
    assert (
        client.post(
            "/api/payments/batches/nope/confirm", json={"reference": "K"}, headers=fin
        ).status_code
        == 404
    )
    bad = client.post("/api/payments/runs", json={"period": "2026-13"}, headers=fin)
    assert bad.status_code == 422


def test_only_finance_may_run_and_confirm(
    client: TestClient, month: None, auth: dict[str, str]
) -> None:
    aud, rev = staff_bearer(client, "aud"), staff_bearer(client, "rev")
    body = {"period": "2026-11"}
    assert client.post("/api/payments/runs", json=body).status_code == 401
    assert client.post("/api/payments/runs", json=body, headers=aud).status_code == 403
    assert client.post("/api/payments/runs", json=body, headers=rev).status_code == 403
    assert client.post("/api/payments/runs", json=body, headers=auth).status_code == 403
    assert client.get("/api/payments/batches", headers=rev).status_code == 403


def test_the_payments_page_closes_a_month_and_confirms_a_batch(
    client: TestClient, month: None
) -> None:
    sign_in(client, "fin")
    page = client.get("/payments")
    assert page.status_code == 200
    assert "No batches yet" in page.text
    token = csrf_in(page.text)
    refused = client.post("/payments/runs", data={"period": "2026-11"}, follow_redirects=False)
    assert refused.status_code == 403
    ran = client.post(
        "/payments/runs",
        data={"period": "2026-11", "csrf_token": token},
        follow_redirects=False,
    )
    assert ran.status_code == 303
    listed = client.get(ran.headers["location"])
    assert "2 new batches" in listed.text
    assert listed.text.count('data-batch="') == 2
    assert "export?format=csv" in listed.text
    bad = client.post("/payments/runs", data={"period": "May", "csrf_token": token})
    assert bad.status_code == 400
    assert "There is a problem" in bad.text
    batch_id = listed.text.split('data-batch="', 1)[1].split('"', 1)[0]
    url = f"/payments/batches/{batch_id}/confirm"
    form = {"reference": "SCB-77", "csrf_token": token}
    done = client.post(url, data=form)
    assert "2 claims paid" in done.text
    assert "already confirmed" in client.post(url, data=form).text
    assert "SCB-77" in client.get("/payments?status=confirmed").text


def test_auditors_see_the_page_without_forms(client: TestClient, month: None) -> None:
    sign_in(client, "aud")
    page = client.get("/payments")
    assert page.status_code == 200
    assert 'action="/payments/runs"' not in page.text
    sign_in(client, "rev")
    assert client.get("/payments").status_code == 403
