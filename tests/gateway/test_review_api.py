"""The review API on SQLite and PostgreSQL: queue, locks, decisions, four eyes, labels, stats.

Claims reach the queue through the random audit at rate 1 (a real intake path), so every test
starts from claims pended exactly as a hospital's would be.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.claims.models import ClaimRecord, OutboxMessage, ReimbursementQueueEntry
from gateway.review.labels import reviewer_labels
from gateway.settings import Settings
from tests.provider_registry.factories import insure
from tests.review_support import StaffTokens, add_staff, claim_id_of, review_settings, submit
from tests.support import VALID_CID

FOUR_EYES = Decimal(200)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return review_settings(database_url, four_eyes_thb=FOUR_EYES)


@pytest.fixture
def staff(client: TestClient, engine: Engine) -> StaffTokens:
    """Bearer headers for two reviewers, two supervisors and an auditor."""
    roles = {
        "rita": "reviewer",
        "rob": "reviewer",
        "sam": "supervisor",
        "sue": "supervisor",
        "ada": "auditor",
    }
    for name, role in roles.items():
        add_staff(engine, name, role)
    return StaffTokens(client)


@pytest.fixture
def pended(client: TestClient, auth: dict[str, str], engine: Engine) -> list[str]:
    """Three pended claims of the insured test patient, by claim id."""
    insure(engine)
    responses = [submit(client, auth, f"INV-R{i}") for i in range(3)]
    assert {r["outcome"] for r in responses} == {"queued"}
    return [claim_id_of(r) for r in responses]


def _queue(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = client.get("/api/review/queue", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _assign(client: TestClient, headers: dict[str, str], claim_id: str) -> Any:
    return client.post(f"/api/review/claims/{claim_id}/assign", headers=headers)


def _decide(client: TestClient, headers: dict[str, str], claim_id: str, **body: Any) -> Any:
    return client.post(f"/api/review/claims/{claim_id}/decision", json=body, headers=headers)


def test_queue_lists_pended_claims_riskiest_expected_loss_first(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    body = _queue(client, staff["rita"])
    assert body["total"] == 3
    item = body["items"][0]
    assert set(item) >= {
        "claim_id",
        "hcode",
        "hospital_name",
        "received_at",
        "service_date",
        "claimed",
        "benefit",
        "risk",
        "expected_loss",
        "reasons",
        "assignee",
        "age_hours",
        "sla_due_at",
    }
    assert item["hospital_name"] == "Test Hospital"
    assert item["reasons"][0]["code"] == "RANDOM-AUDIT"
    assert item["reasons"][0]["text_th"]
    keys = [(-Decimal(i["expected_loss"]), i["claim_id"]) for i in body["items"]]
    assert keys == sorted(keys)


def test_cursor_paging_is_stable_while_claims_are_decided(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    first = _queue(client, staff["rita"], limit=1)
    assert first["next_cursor"]
    assert len(first["items"]) == 1
    seen = first["items"][0]["claim_id"]
    assert _assign(client, staff["rita"], seen).status_code == 200
    assert _decide(client, staff["rita"], seen, decision="approve", note="ok").status_code == 200
    rest = _queue(client, staff["rita"], limit=5, cursor=first["next_cursor"])
    assert {i["claim_id"] for i in rest["items"]} == set(pended) - {seen}
    assert rest["next_cursor"] is None
    assert rest["total"] == 2
    bad = client.get("/api/review/queue?cursor=not-a-cursor", headers=staff["rita"])
    assert bad.status_code == 400
    assert bad.json()["resourceType"] == "OperationOutcome"


def test_queue_filters_by_hospital_reason_amount_and_assignee(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    assert _queue(client, staff["rita"], hcode="11512")["total"] == 0
    assert _queue(client, staff["rita"], hcode="10661")["total"] == 3
    assert _queue(client, staff["rita"], reason="RANDOM-AUDIT")["total"] == 3
    assert _queue(client, staff["rita"], min_amount="99999999")["total"] == 0
    _assign(client, staff["rita"], pended[0])
    assert [i["claim_id"] for i in _queue(client, staff["rita"], assignee="me")["items"]] == [
        pended[0]
    ]
    assert _queue(client, staff["rob"], assignee="none")["total"] == 2
    assert _queue(client, staff["rob"], assignee="rita")["total"] == 1


def test_claim_detail_masks_the_citizen_id_and_shows_context(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    answer = client.get(f"/api/review/claims/{pended[0]}", headers=staff["ada"])
    assert answer.status_code == 200
    detail = answer.json()
    assert detail["patient"]["masked_cid"] == VALID_CID[0] + "*" * 8 + VALID_CID[-4:]
    assert VALID_CID not in answer.text
    assert [line["sequence"] for line in detail["lines"]] == [1, 2, 3]
    assert detail["lines"][0]["display"] == "Outpatient consultation"
    assert len(detail["person_claims"]) == 3
    assert sum(p["this_claim"] for p in detail["person_claims"]) == 1
    assert detail["hospital"]["claims"] == 3
    assert detail["hospital"]["rank"] == 1
    assert {p["feature"] for p in detail["peer_positions"]} == {"claimed", "lines", "risk"}
    assert detail["bundle"]["resourceType"] == "Bundle"
    assert any(h["action"] == "claim.pended_review" for h in detail["history"])


def test_unknown_claim_is_404(client: TestClient, staff: dict[str, dict[str, str]]) -> None:
    assert client.get("/api/review/claims/nope", headers=staff["rita"]).status_code == 404
    assert _assign(client, staff["rita"], "nope").status_code == 404


def test_a_held_claim_cannot_be_taken_and_a_supervisor_may_reassign(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    claim = pended[0]
    taken = _assign(client, staff["rita"], claim)
    assert taken.status_code == 200
    assert taken.json()["assignee"] == "rita"
    assert taken.json()["lock_expires_at"]
    assert _assign(client, staff["rob"], claim).status_code == 409
    other = client.post(
        f"/api/review/claims/{claim}/assign", json={"assignee": "rita"}, headers=staff["rob"]
    )
    assert other.status_code == 403
    moved = client.post(
        f"/api/review/claims/{claim}/assign", json={"assignee": "rob"}, headers=staff["sam"]
    )
    assert moved.status_code == 200
    assert moved.json()["assignee"] == "rob"
    assert client.post(f"/api/review/claims/{claim}/release", headers=staff["rob"]).json() == {
        "assignee": None,
        "lock_expires_at": None,
    }
    assert _assign(client, staff["rita"], claim).status_code == 200


def test_two_reviewers_assigning_at_once_exactly_one_wins(
    app: FastAPI, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    def take(name: str) -> int:
        with TestClient(app) as own:
            return int(_assign(own, staff[name], pended[0]).status_code)

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = sorted(pool.map(take, ["rita", "rob"]))
    assert codes == [200, 409]


def test_a_decision_needs_the_lock_and_a_note(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    claim = pended[0]
    assert _decide(client, staff["rita"], claim, decision="approve", note="x").status_code == 409
    _assign(client, staff["rita"], claim)
    empty = _decide(client, staff["rita"], claim, decision="approve", note="  ")
    assert empty.status_code == 422
    assert empty.json()["issue"][0]["expression"] == ["note"]
    assert _decide(client, staff["rob"], claim, decision="approve", note="x").status_code == 409
    assert _decide(client, staff["ada"], claim, decision="approve", note="x").status_code == 403


def test_adjusted_line_must_lie_between_zero_and_its_eligible_amount(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    claim = pended[0]
    _assign(client, staff["rita"], claim)
    for benefit in ("-1", "999999"):
        too = _decide(
            client,
            staff["rita"],
            claim,
            decision="adjust",
            note="n",
            lines=[{"sequence": 1, "benefit": benefit}],
        )
        assert too.status_code == 422, benefit
        assert too.json()["issue"][0]["expression"] == ["lines[0].benefit"]
    unknown = _decide(
        client,
        staff["rita"],
        claim,
        decision="adjust",
        note="n",
        lines=[{"sequence": 9, "benefit": "1"}],
    )
    assert unknown.status_code == 422


def test_adjustment_reaches_the_hospital_as_a_new_claim_response_version(
    client: TestClient,
    auth: dict[str, str],
    other_auth: dict[str, str],
    staff: dict[str, dict[str, str]],
    pended: list[str],
    engine: Engine,
) -> None:
    claim = pended[0]
    detail = client.get(f"/api/review/claims/{claim}", headers=staff["rita"]).json()
    first = detail["lines"][0]
    new_benefit = Decimal(first["benefit"]) - Decimal(50)
    _assign(client, staff["rita"], claim)
    answer = _decide(
        client,
        staff["rita"],
        claim,
        decision="adjust",
        note="internal: the visit fee is above the hospital's usual",
        message_to_hospital="Line 1 is paid at the usual consultation fee.",
        lines=[{"sequence": 1, "benefit": str(new_benefit)}],
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "queued_for_payment"
    assert not result["needs_second_approval"]
    expected_total = Decimal(detail["benefit"]) - 50
    assert Decimal(result["benefit"]) == expected_total

    response_id = detail["claim_response"]["id"]
    seen = client.get(f"/fhir/ClaimResponse/{response_id}", headers=auth)
    assert seen.status_code == 200
    resource = seen.json()
    assert resource["meta"]["versionId"] == "2"
    assert resource["outcome"] == "partial"
    assert "Line 1 is paid" in resource["processNote"][-1]["text"]
    assert "internal" not in seen.text
    benefit = [
        a
        for a in resource["item"][0]["adjudication"]
        if a["category"]["coding"][0]["code"] == "benefit" and "amount" in a
    ]
    assert Decimal(str(benefit[0]["amount"]["value"])) == new_benefit
    assert client.get(f"/fhir/ClaimResponse/{response_id}", headers=other_auth).status_code == 404
    with Session(engine) as session:
        entry = session.exec(
            select(ReimbursementQueueEntry).where(col(ReimbursementQueueEntry.claim_id) == claim)
        ).one()
        assert entry.amount == expected_total
        topics = [m.topic for m in session.exec(select(OutboxMessage)).all()]
    assert topics.count("claim.reviewed") == 1


def test_large_denial_waits_for_a_different_supervisor(
    client: TestClient, auth: dict[str, str], staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    claim = pended[0]
    _assign(client, staff["sam"], claim)
    denied = _decide(client, staff["sam"], claim, decision="deny", note="ghost patient")
    assert denied.status_code == 200
    assert denied.json()["needs_second_approval"] is True
    assert denied.json()["status"] == "pending_second_approval"
    url = f"/api/review/claims/{claim}/second-approval"
    body = {"approve": True, "note": "agreed"}
    assert client.post(url, json=body, headers=staff["sam"]).status_code == 403
    assert client.post(url, json=body, headers=staff["rita"]).status_code == 403
    assert (
        client.post(url, json={"approve": True, "note": ""}, headers=staff["sue"]).status_code
        == 422
    )
    approved = client.post(url, json=body, headers=staff["sue"])
    assert approved.status_code == 200
    assert approved.json()["status"] == "denied"
    response_id = client.get(f"/api/review/claims/{claim}", headers=staff["sue"]).json()[
        "claim_response"
    ]["id"]
    seen = client.get(f"/fhir/ClaimResponse/{response_id}", headers=auth).json()
    assert seen["outcome"] == "error"
    assert "payment" not in seen
    assert client.post(url, json=body, headers=staff["sue"]).status_code == 409


def test_a_refused_second_approval_sends_the_claim_back_to_the_queue(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str]
) -> None:
    claim = pended[0]
    _assign(client, staff["rita"], claim)
    _decide(client, staff["rita"], claim, decision="deny", note="looks inflated")
    url = f"/api/review/claims/{claim}/second-approval"
    back = client.post(
        url, json={"approve": False, "note": "evidence is thin"}, headers=staff["sam"]
    )
    assert back.status_code == 200
    assert back.json()["status"] == "pended_review"
    stats = client.get("/api/review/stats", headers=staff["sam"]).json()
    assert stats["second_approvals_decided"] == 1
    assert stats["overturn_rate"] == 1.0


def test_request_for_information_returns_with_the_hospitals_correction(
    client: TestClient,
    auth: dict[str, str],
    staff: dict[str, dict[str, str]],
    pended: list[str],
    engine: Engine,
) -> None:
    claim = pended[0]
    _assign(client, staff["rita"], claim)
    no_message = _decide(
        client, staff["rita"], claim, decision="request_info", note="need OPD note"
    )
    assert no_message.status_code == 422
    asked = _decide(
        client,
        staff["rita"],
        claim,
        decision="request_info",
        note="need OPD note",
        message_to_hospital="Send the OPD card of this visit.",
    )
    assert asked.status_code == 200
    assert asked.json()["status"] == "info_requested"
    with Session(engine) as session:
        invoice = session.get(ClaimRecord, claim).identifier_value  # type: ignore[union-attr]
    corrected = submit(client, auth, "INV-R0-C", related_invoice=invoice)
    assert corrected["outcome"] == "queued"
    new_id = claim_id_of(corrected)
    detail = client.get(f"/api/review/claims/{new_id}", headers=staff["rita"]).json()
    assert detail["source"] == "info-returned"
    assert detail["earlier_notes"][0]["note"] == "need OPD note"


def test_claim_with_nothing_to_pay_is_not_pended(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    response = submit(client, auth, "INV-UNINSURED")  # nobody is on the roster
    assert response["outcome"] == "error"
    with Session(engine) as session:
        record = session.exec(select(ClaimRecord)).one()
    assert record.status == "rejected"  # drawn for audit at rate 1, but nothing to pay
    assert record.review_source is None


def test_final_decisions_become_labels_and_stats(
    client: TestClient, staff: dict[str, dict[str, str]], pended: list[str], engine: Engine
) -> None:
    approve, cut = pended[0], pended[1]
    for claim in (approve, cut):
        _assign(client, staff["rita"], claim)
    _decide(client, staff["rita"], approve, decision="approve", note="fine")
    _decide(
        client,
        staff["rita"],
        cut,
        decision="adjust",
        note="cut",
        lines=[{"sequence": 1, "benefit": "1.00"}],
    )
    with Session(engine) as session:
        labels = {label.claim_id: label for label in reviewer_labels(session)}
    assert labels[approve].label == 0
    assert labels[cut].label == 1
    assert labels[cut].pattern == "reviewer-adjusted"
    assert labels[cut].source == "random-audit"
    stats = client.get("/api/review/stats", headers=staff["ada"]).json()
    assert sum(stats["backlog_by_age"].values()) == 1
    assert stats["decisions_per_reviewer_per_day"][0]["decisions"] == 2
    month = stats["audit_by_month"][0]
    assert month["miss_rate"]["trials"] == 2
    assert month["miss_rate"]["events"] == 1
    assert 0 < month["miss_rate"]["low"] < 0.5 < month["miss_rate"]["high"] < 1
    assert client.get("/api/review/stats", headers=staff["rita"]).status_code == 403


def test_hospital_tokens_and_anonymous_callers_are_refused(
    client: TestClient, auth: dict[str, str], pended: list[str]
) -> None:
    assert client.get("/api/review/queue").status_code == 401
    assert client.get("/api/review/queue", headers=auth).status_code in (401, 403)
    assert _assign(client, auth, pended[0]).status_code in (401, 403)
