"""A real Prometheus scrapes the real gateway: counts, THB totals and a latency quantile agree."""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from gateway.db import make_engine
from gateway.settings import Settings
from tests.monitoring.live import (
    GatewayProcess,
    PrometheusProcess,
    binary,
    histogram_quantile,
    wait_for,
)
from tests.monitoring.scrape import Scrape
from tests.support import Hospital, add_hospital, claim_bytes, token_form

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus, pytest.mark.slow]

SUBMIT = "/fhir/Claim/$submit"
SUBMIT_SELECTOR = 'route="/fhir/Claim/$submit"'


@pytest.fixture
def gateway(database_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    # With the delivery worker on (what `serve --worker` sets), as in `make demo`.
    server = GatewayProcess(
        database_url=database_url,
        workdir=tmp_path,
        extra_env={"CLAIMGW_DELIVERY_WORKER": "true"},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hospital(database_url: str) -> Hospital:
    engine = make_engine(Settings(database_url=database_url))
    try:
        return add_hospital(engine, "10661")
    finally:
        engine.dispose()


@pytest.fixture
def prometheus(gateway: GatewayProcess, tmp_path: Path) -> Iterator[PrometheusProcess]:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    server = PrometheusProcess(binary("prometheus"), folder, f"127.0.0.1:{gateway.port}")
    server.start()
    yield server
    server.stop()


def _bearer(http: httpx.Client, hospital: Hospital, base_url: str) -> dict[str, str]:
    answer = http.post("/auth/token", data=token_form(hospital, f"{base_url}/auth/token"))
    assert answer.status_code == 200, answer.text
    return {
        "Authorization": f"Bearer {answer.json()['access_token']}",
        "Content-Type": "application/fhir+json",
    }


def _submitted_mix(gateway: GatewayProcess, hospital: Hospital) -> dict[str, Decimal]:
    """3 accepted, 2 replays, 2 invalid, 1 rejected; the THB totals the gateway answered."""
    money = {"submitted": Decimal(0), "eligible": Decimal(0), "benefit": Decimal(0)}
    with httpx.Client(base_url=gateway.url, timeout=60) as http:
        auth = _bearer(http, hospital, gateway.url)
        for i in range(3):
            answer = http.post(SUBMIT, content=claim_bytes(invoice=f"E2E-{i}"), headers=auth)
            assert answer.status_code == 201, answer.text
            for total in answer.json()["entry"][0]["resource"]["total"]:
                kind = total["category"]["coding"][0]["code"]
                money[kind] += Decimal(str(total["amount"]["value"]))
        statuses = [
            http.post(SUBMIT, content=body, headers=auth).status_code
            for body in (
                claim_bytes(invoice="E2E-0"),
                claim_bytes(invoice="E2E-1"),
                b"{",
                b"[]",
                claim_bytes(invoice="E2E-2", diagnoses=("J06.8",)),
            )
        ]
    assert statuses == [200, 200, 400, 400, 422]
    return money


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one server start is ~20 s
def test_prometheus_sees_the_counts_money_and_latency_the_gateway_served(
    gateway: GatewayProcess, prometheus: PrometheusProcess, hospital: Hospital
) -> None:
    wait_for(lambda: prometheus.scalar('up{job="claimgw"} == 1'), timeout=30, what="a first scrape")
    money = _submitted_mix(gateway, hospital)
    scraped = Scrape.parse(httpx.get(f"{gateway.url}/metrics", timeout=10).text)
    submits = f"sum(claimgw_http_requests_total{{{SUBMIT_SELECTOR}}}) == 8"
    wait_for(lambda: prometheus.scalar(submits), timeout=30, what="a scrape after the last submit")

    outcomes = {
        r["metric"]["outcome"]: float(r["value"][1])
        for r in prometheus.query("sum by (outcome) (claimgw_intake_bundles_total)")
    }
    assert outcomes == {"accepted": 3, "duplicate": 2, "invalid": 2, "rejected": 1}
    assert prometheus.scalar('up{job="claimgw"}') == 1
    assert prometheus.scalar('sum(claimgw_claims_total{setting="OPD",hcode="10661"})') == 3
    for kind, amount in money.items():
        found = prometheus.scalar(f"sum(claimgw_claims_{kind}_thb_total)")
        assert found is not None
        assert Decimal(str(found)).quantize(Decimal("0.01")) == amount, kind
    assert money["submitted"] == Decimal("810.00")

    buckets = {
        float(lab["le"]): v
        for name, lab, v in scraped.samples
        if name == "claimgw_http_request_duration_seconds_bucket" and lab["route"] == SUBMIT
    }
    p90 = prometheus.scalar(
        "histogram_quantile(0.9, sum by (le) "
        f"(claimgw_http_request_duration_seconds_bucket{{{SUBMIT_SELECTOR}}}))"
    )
    assert p90 is not None
    assert p90 == pytest.approx(histogram_quantile(0.9, buckets))
    assert 0 < p90 < 10
    _recording_rules_evaluate(gateway, prometheus)
    drained = "max(claimgw_outbox_pending_messages) == 0 and max(claimgw_outbox_lag_seconds) == 0"
    wait_for(lambda: prometheus.scalar(drained), timeout=60, what="the outbox to drain")


def _recording_rules_evaluate(gateway: GatewayProcess, prometheus: PrometheusProcess) -> None:
    """Our recording rules, loaded into the real server, produce the SLIs from real metrics."""
    for _ in range(5):  # a route Prometheus has seen before, so its rate is not 0
        assert httpx.get(f"{gateway.url}/readyz", timeout=10).status_code == 200

    def recorded() -> dict[str, float] | None:
        found = {
            r["metric"]["outcome"]: float(r["value"][1])
            for r in prometheus.query("claimgw:intake_bundles:rate5m")
        }
        return found if len(found) == 4 else None

    rates = wait_for(recorded, timeout=30, what="the intake recording rule")
    assert all(rate >= 0 for rate in rates.values())  # a series born at its value rates 0

    def error_ratio() -> float | None:
        found = prometheus.scalar("claimgw:http_errors:ratio_rate5m")
        return found if found is not None and not math.isnan(found) else None

    errors = wait_for(error_ratio, timeout=30, what="the error-ratio recording rule")
    assert errors == 0
    firing = [a["metric"]["alertname"] for a in prometheus.query('ALERTS{alertstate="firing"}')]
    assert "ClaimgwDown" not in firing
