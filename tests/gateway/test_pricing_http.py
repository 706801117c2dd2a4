"""Pricing over HTTP on SQLite and PostgreSQL: limits, eligibility and emergency rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from fhir_mappings.claim import CareSetting
from fhir_mappings.claim_bundle import LineSpec
from gateway.claims.models import ClaimRecord
from tests.conftest import bearer
from tests.provider_registry.factories import OTHER_CID, insure
from tests.support import Hospital, claim_bytes, claim_spec

SUBMIT = "/fhir/Claim/$submit"


def _response(answer: Any) -> dict[str, Any]:
    resource: dict[str, Any] = answer.json()["entry"][0]["resource"]
    return resource


def _amounts(item: dict[str, Any]) -> dict[str, float]:
    return {
        a["category"]["coding"][0]["code"]: a["amount"]["value"]
        for a in item["adjudication"]
        if "amount" in a
    }


def _reasons(item: dict[str, Any]) -> list[str]:
    return [a["reason"]["coding"][0]["code"] for a in item["adjudication"] if "reason" in a]


def _dental(invoice: str, price: str, day_offset: int = 0) -> bytes:
    spec = claim_spec(
        invoice=invoice,
        lines=(LineSpec("DENT-FILLING", "Dental filling", Decimal(price), category="13"),),
    )
    return claim_bytes(
        replace(
            spec,
            start=spec.start + timedelta(days=day_offset),
            end=spec.end + timedelta(days=day_offset),
        )
    )


def test_insured_member_claim_is_priced_complete(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    answer = client.post(SUBMIT, content=claim_bytes(), headers=auth)
    assert answer.status_code == 201
    response = _response(answer)
    assert response["outcome"] == "complete"
    assert [_amounts(i)["benefit"] for i in response["item"]] == [150.0, 90.0, 30.0]
    assert response["payment"]["amount"]["value"] == 270.0


def test_dental_claim_crossing_900_is_paid_partially_with_yearly_limit(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    first = client.post(SUBMIT, content=_dental("D-1", "600"), headers=auth)
    second = client.post(SUBMIT, content=_dental("D-2", "500", day_offset=1), headers=auth)
    assert _response(first)["outcome"] == "complete"
    response = _response(second)
    assert response["outcome"] == "partial"
    item = response["item"][0]
    assert _amounts(item) == {"submitted": 500.0, "eligible": 500.0, "benefit": 300.0}
    assert _reasons(item) == ["limit-year"]
    assert response["item"][0]["adjudication"][3]["reason"]["text"].startswith("เกินเพดาน")


def test_section_40_claim_is_denied_with_reason(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine, section=40)
    answer = client.post(SUBMIT, content=claim_bytes(), headers=auth)
    response = _response(answer)
    assert answer.status_code == 201
    assert response["outcome"] == "error"
    assert {r for i in response["item"] for r in _reasons(i)} == {"section-40-no-medical"}
    assert "payment" not in response
    with Session(engine) as session:
        assert session.exec(select(ClaimRecord)).one().status == "rejected"


def test_unknown_patient_is_denied_not_insured(client: TestClient, auth: dict[str, str]) -> None:
    uninsured = claim_bytes(claim_spec(cid=OTHER_CID))
    response = _response(client.post(SUBMIT, content=uninsured, headers=auth))
    assert response["outcome"] == "error"
    assert _reasons(response["item"][0]) == ["not-insured"]


def test_emergency_at_non_contracted_hospital_is_paid_at_emergency_rates(
    client: TestClient, engine: Engine, other_hospital: Hospital
) -> None:
    insure(engine)  # registered at 10661, treated in an emergency at 11512
    spec = claim_spec(
        hcode="11512",
        invoice="ER-1",
        setting=CareSetting.EMERGENCY,
        lines=(
            LineSpec("OPD-VISIT", "Emergency consultation", Decimal("150"), category="12"),
            LineSpec("XRAY-CHEST", "Chest X-ray", Decimal("200"), Decimal(2), category="08"),
            LineSpec("LAB-CBC", "Complete blood count", Decimal("90"), Decimal(6), category="07"),
        ),
    )
    answer = client.post(SUBMIT, content=claim_bytes(spec), headers=bearer(client, other_hospital))
    response = _response(answer)
    assert response["outcome"] == "partial"
    assert response["payment"]["amount"]["value"] == 1000.0
    assert [_amounts(i)["benefit"] for i in response["item"]] == [150.0, 400.0, 450.0]
    assert "emergency-rate-cap" not in _reasons(response["item"][1])
    assert _reasons(response["item"][2]) == ["emergency-rate-cap"]


def test_routine_care_at_another_hospital_is_denied(
    client: TestClient, engine: Engine, other_hospital: Hospital
) -> None:
    insure(engine)
    spec = claim_spec(hcode="11512", invoice="R-1")
    response = _response(
        client.post(SUBMIT, content=claim_bytes(spec), headers=bearer(client, other_hospital))
    )
    assert response["outcome"] == "error"
    assert _reasons(response["item"][0]) == ["not-registered-hospital"]


def test_unmapped_line_is_denied_and_the_rest_is_paid(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    spec = claim_spec(
        lines=(
            LineSpec("OPD-VISIT", "Consultation", Decimal("150"), category="12"),
            LineSpec("X-99", "Something local", Decimal("80"), system="https://example.org/local"),
        )
    )
    response = _response(client.post(SUBMIT, content=claim_bytes(spec), headers=auth))
    assert response["outcome"] == "partial"
    assert _reasons(response["item"][1]) == ["unmapped-code"]
    assert [_amounts(i)["benefit"] for i in response["item"]] == [150.0, 0.0]


def test_claim_dated_before_any_benefit_rule_is_denied_not_crashed(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine, coverage_start=date(1980, 1, 1))
    spec = claim_spec()
    old = replace(
        spec, start=datetime(1985, 1, 2, 9, tzinfo=UTC), end=datetime(1985, 1, 2, 10, tzinfo=UTC)
    )
    answer = client.post(SUBMIT, content=claim_bytes(old), headers=auth)
    assert answer.status_code == 201
    assert _reasons(_response(answer)["item"][0]) == ["no-rules-on-date"]
