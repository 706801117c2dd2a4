"""GET /metrics after real requests: route templates, bundle outcomes, money, fraud, queues."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from gateway.app import create_app
from gateway.claims.models import OutboxMessage, ReimbursementQueueEntry
from gateway.claims.service import price_as_submitted
from gateway.metrics import drift
from gateway.pricing import build_pricer
from gateway.settings import Settings
from tests.conftest import bearer
from tests.monitoring.pipelines import TEST_MODEL, metered_pipeline
from tests.monitoring.scrape import Scrape
from tests.support import VALID_CID, Hospital, claim_bytes, claim_spec

SUBMIT = "/fhir/Claim/$submit"


def scrape(client: TestClient) -> Scrape:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return Scrape.parse(answer.text)


def submit(client: TestClient, auth: dict[str, str], body: bytes) -> Any:
    return client.post(SUBMIT, content=body, headers=auth)


def totals(answer: Any) -> dict[str, Decimal]:
    resource = answer.json()["entry"][0]["resource"]
    return {
        t["category"]["coding"][0]["code"]: Decimal(str(t["amount"]["value"]))
        for t in resource["total"]
    }


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An app with the real tariff pricer (unknown patients are denied) and the amount rule."""
    pipeline = metered_pipeline(settings, build_pricer(settings, engine))
    with TestClient(
        create_app(settings, engine=engine, pipeline=pipeline), raise_server_exceptions=False
    ) as client:
        yield client


@pytest.fixture
def paying_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An app that pays as billed and scores with the amount rule (so money and flags move)."""
    pipeline = metered_pipeline(settings, price_as_submitted)
    with TestClient(
        create_app(settings, engine=engine, pipeline=pipeline), raise_server_exceptions=False
    ) as client:
        yield client


@pytest.fixture
def paying_auth(paying_client: TestClient, hospital: Hospital) -> dict[str, str]:
    return bearer(paying_client, hospital)


@pytest.fixture
def no_drift_reference() -> Iterator[None]:
    drift.clear_reference()
    yield
    drift.clear_reference()


def test_requests_are_labelled_by_route_template_never_raw_path(
    client: TestClient, auth: dict[str, str]
) -> None:
    before = scrape(client)
    for claim_id in ("c-1", "c-2", "c-3"):
        assert client.get(f"/fhir/Claim/{claim_id}", headers=auth).status_code == 404
    client.get("/no/such/page")
    after = scrape(client)
    labels = {"route": "/fhir/Claim/{claim_id}", "method": "GET", "status_class": "4xx"}
    assert (
        after.value("claimgw_http_requests_total", **labels)
        - before.value("claimgw_http_requests_total", **labels)
        == 3
    )
    assert (
        after.value("claimgw_http_requests_total", route="unmatched")
        - before.value("claimgw_http_requests_total", route="unmatched")
        == 1
    )
    assert after.label_values("route").isdisjoint({"/fhir/Claim/c-1", "/no/such/page"})
    latency = {"route": "/fhir/Claim/{claim_id}", "method": "GET"}
    assert (
        after.value("claimgw_http_request_duration_seconds_count", **latency)
        - before.value("claimgw_http_request_duration_seconds_count", **latency)
        == 3
    )


def test_scrapes_are_not_counted_as_requests(client: TestClient) -> None:
    scrape(client)
    scrape(client)
    assert "/metrics" not in scrape(client).label_values("route")


def test_bundles_are_counted_by_outcome_and_hospital(
    client: TestClient, auth: dict[str, str], hospital: Hospital
) -> None:
    before = scrape(client)
    assert submit(client, auth, claim_bytes()).status_code == 201
    assert submit(client, auth, claim_bytes()).status_code == 200
    assert submit(client, auth, b'{"resourceType": "Patient"}').status_code == 400
    assert submit(client, auth, claim_bytes(diagnoses=("J06.8",))).status_code == 422
    assert submit(client, auth, claim_bytes(hcode="11512", invoice="INV-9")).status_code == 403
    after = scrape(client)

    def delta(outcome: str) -> float:
        name, labels = "claimgw_intake_bundles_total", {"outcome": outcome, "hcode": hospital.hcode}
        return after.value(name, **labels) - before.value(name, **labels)

    assert [delta(o) for o in ("accepted", "duplicate", "invalid", "rejected")] == [1, 1, 1, 2]
    for rule in ("identifier-duplicate", "provider-not-caller"):
        assert (
            after.value("claimgw_intake_problems_total", rule=rule)
            - before.value("claimgw_intake_problems_total", rule=rule)
            == 1
        )


def test_body_refused_before_parsing_counts_as_invalid_on_the_submit_route(
    settings: Settings, engine: Engine, hospital: Hospital
) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1024})
    with TestClient(create_app(small, engine=engine), raise_server_exceptions=False) as client:
        auth = bearer(client, hospital)
        before = scrape(client)
        assert submit(client, auth, b" " * 4096).status_code == 413
        after = scrape(client)
    name = "claimgw_intake_bundles_total"
    assert after.value(name, outcome="invalid") - before.value(name, outcome="invalid") == 1
    http = {"route": SUBMIT, "method": "POST", "status_class": "4xx"}
    assert (
        after.value("claimgw_http_requests_total", **http)
        - before.value("claimgw_http_requests_total", **http)
        == 1
    )


def test_money_counters_add_up_to_the_claim_responses(
    paying_client: TestClient, paying_auth: dict[str, str], hospital: Hospital
) -> None:
    before = scrape(paying_client)
    sent = [submit(paying_client, paying_auth, claim_bytes(invoice=f"INV-M{i}")) for i in range(3)]
    after = scrape(paying_client)
    assert [a.status_code for a in sent] == [201, 201, 201]
    for kind in ("submitted", "eligible", "benefit"):
        name = f"claimgw_claims_{kind}_thb_total"
        labels = {"setting": "OPD", "hcode": hospital.hcode}
        expected = sum(totals(a)[kind] for a in sent)
        added = after.value(name, **labels) - before.value(name, **labels)
        # Prometheus counters are floats: the sum is exact to the satang, not to the last bit
        # (the registry is shared with earlier tests of this process, so `before` is not 0).
        assert round(Decimal(str(added)), 2) == expected
    claims = {"setting": "OPD", "hcode": hospital.hcode}
    stored = after.value("claimgw_claims_total", **claims)
    assert stored - before.value("claimgw_claims_total", **claims) == 3


def test_denied_lines_are_counted_by_reason(client: TestClient, auth: dict[str, str]) -> None:
    before = scrape(client)
    answer = submit(client, auth, claim_bytes(invoice="INV-D1"))
    after = scrape(client)
    reasons = [
        adj["reason"]["coding"][0]["code"]
        for item in answer.json()["entry"][0]["resource"]["item"]
        for adj in item["adjudication"]
        if "reason" in adj
    ]
    assert reasons, "the unpriced default claim should have denied lines"
    for reason in set(reasons):
        assert after.value("claimgw_claim_line_denials_total", reason=reason) - before.value(
            "claimgw_claim_line_denials_total", reason=reason
        ) == reasons.count(reason)


def test_fraud_scores_flags_and_model_version_are_exported(
    paying_client: TestClient, paying_auth: dict[str, str], hospital: Hospital
) -> None:
    before = scrape(paying_client)
    cheap = claim_bytes(invoice="INV-F1")
    dear = claim_bytes(claim_spec(invoice="INV-F2", lines=claim_spec().lines * 3))
    outcomes = [
        submit(paying_client, paying_auth, b).json()["entry"][0]["resource"]["outcome"]
        for b in (cheap, dear)
    ]
    after = scrape(paying_client)
    assert outcomes == ["complete", "queued"]

    def delta(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta("claimgw_fraud_scored_claims_total", hcode=hospital.hcode) == 2
    assert delta("claimgw_fraud_flagged_claims_total", hcode=hospital.hcode) == 1
    assert delta("claimgw_fraud_score_count") == 2
    assert delta("claimgw_fraud_score_bucket", le="0.5") == 1  # 0.27 in, 0.81 out
    assert delta("claimgw_fraud_scoring_duration_seconds_count") == 2
    assert delta("claimgw_pricing_duration_seconds_count") == 2
    assert after.value("claimgw_fraud_model_info", model_version=TEST_MODEL) == 1


@pytest.mark.usefixtures("no_drift_reference")
def test_drift_is_exported_only_once_a_reference_exists(
    paying_client: TestClient, paying_auth: dict[str, str], settings: Settings, engine: Engine
) -> None:
    for i in range(4):
        submit(paying_client, paying_auth, claim_bytes(invoice=f"INV-P{i}"))
    assert not scrape(paying_client).has("claimgw_fraud_score_psi")
    reference = drift.ScoreReference(
        edges=(0.2, 0.5), proportions=(0.5, 0.3, 0.2), model_version=TEST_MODEL
    )
    drift.set_reference(reference)
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as fresh:
        exported = scrape(fresh)  # a new app, so no cached scrape
    assert exported.value("claimgw_fraud_drift_sample_claims") == 4
    expected = drift.population_stability(reference, [0, 4, 0])  # four claims scored 0.27
    assert expected is not None
    assert expected > 1
    assert exported.value("claimgw_fraud_score_psi") == pytest.approx(expected)


def test_reimbursement_queue_and_outbox_are_read_from_the_database(
    paying_client: TestClient, paying_auth: dict[str, str], engine: Engine
) -> None:
    for i in range(2):
        submit(paying_client, paying_auth, claim_bytes(invoice=f"INV-Q{i}"))
    exported = scrape(paying_client)
    with Session(engine) as session:
        queued = session.exec(select(func.count()).select_from(ReimbursementQueueEntry)).one()
        undelivered = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.delivered_at).is_(None))
        ).one()
    assert queued == 2
    assert exported.value("claimgw_reimbursement_queue_claims") == queued
    assert exported.value("claimgw_reimbursement_queue_thb") == 540
    assert exported.value("claimgw_outbox_pending_messages") == undelivered == 2
    assert 0 < exported.value("claimgw_outbox_lag_seconds") < 60
    assert 0 < exported.value("claimgw_reimbursement_queue_oldest_age_seconds") < 60
    assert exported.value("claimgw_database_up") == 1


def test_decision_time_is_observed_for_claims_decided_at_intake(
    paying_client: TestClient, paying_auth: dict[str, str]
) -> None:
    before = scrape(paying_client)
    submit(paying_client, paying_auth, claim_bytes(invoice="INV-T1"))  # complete: decided
    submit(
        paying_client,
        paying_auth,  # queued for review: not decided yet
        claim_bytes(claim_spec(invoice="INV-T2", lines=claim_spec().lines * 3)),
    )
    after = scrape(paying_client)
    name = "claimgw_claim_decision_seconds_count"
    assert after.value(name, decided_by="intake") - before.value(name, decided_by="intake") == 1


def test_hospital_label_can_be_switched_off(
    settings: Settings, engine: Engine, hospital: Hospital
) -> None:
    quiet = settings.model_copy(update={"metrics_hospital_label": False})
    app = create_app(quiet, engine=engine, pipeline=metered_pipeline(quiet, price_as_submitted))
    with TestClient(app, raise_server_exceptions=False) as client:
        auth = bearer(client, hospital)
        before = scrape(client)
        submit(client, auth, claim_bytes(invoice="INV-H1"))
        after = scrape(client)
    name = "claimgw_intake_bundles_total"
    assert (
        after.value(name, outcome="accepted", hcode="")
        - before.value(name, outcome="accepted", hcode="")
        == 1
    )
    assert after.value(name, hcode=hospital.hcode) == before.value(name, hcode=hospital.hcode)


def test_pool_gauges_report_capacity_and_release_connections(
    client: TestClient, auth: dict[str, str]
) -> None:
    before = scrape(client)
    submit(client, auth, claim_bytes(invoice="INV-PL"))
    after = scrape(client)
    assert after.value("claimgw_db_pool_connections_max") > 0
    assert after.value("claimgw_db_pool_connections_in_use") == before.value(
        "claimgw_db_pool_connections_in_use"
    )


def test_no_label_carries_a_citizen_id(client: TestClient, auth: dict[str, str]) -> None:
    submit(client, auth, claim_bytes(invoice="INV-PII"))
    text = client.get("/metrics").text
    assert VALID_CID not in text
