"""Every metric and label the dashboard and the rules name is really exported by the gateway."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.claims.service import price_as_submitted
from gateway.db import make_engine, upgrade_database
from gateway.metrics import drift
from gateway.notify.worker import DeliveryWorker
from gateway.pricing import build_pricer
from gateway.settings import Settings
from tests.conftest import bearer
from tests.gateway.test_outbox_delivery import Receiver, allow_loopback, drain, subscribe
from tests.monitoring.pipelines import metered_pipeline
from tests.monitoring.promql import (
    DASHBOARDS,
    MONITORING,
    dashboard_expressions,
    label_matchers,
    metric_names,
    recorded_names,
    rule_expressions,
)
from tests.monitoring.scrape import Scrape
from tests.support import add_hospital, claim_bytes, claim_spec, free_port

SYNTHETIC = frozenset({"up"})  # made by Prometheus itself, not by the target
TARGET_LABELS = frozenset({"job", "instance"})
STATUS_CLASSES = frozenset({"1xx", "2xx", "3xx", "4xx", "5xx"})  # 5xx is not in the known mix
QUESTIONS = [
    "Are we up and fast?",
    "What are hospitals sending?",
    "Money",
    "Fraud",
    "Service quality",
]
EXPRESSIONS = rule_expressions() | dashboard_expressions()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('names') / 'claimgw.db'}"
    upgrade_database(Settings(database_url=url))
    engine = make_engine(Settings(database_url=url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def hook_receiver() -> Iterator[Receiver]:
    """A hospital's webhook endpoint, for the notification counters."""
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def live_scrape(engine: Engine, hook_receiver: Receiver) -> Iterator[Scrape]:
    """A scrape after a known mix: paid, pended, replayed, invalid, rejected, denied, 404."""
    settings = Settings(
        database_url=str(engine.url),
        base_url="http://testserver",
        log_level="warning",
        rate_limit="10000/minute",
    )
    hospital = add_hospital(engine, "10661")
    paying = metered_pipeline(settings, price_as_submitted)
    drift.set_reference(drift.ScoreReference((0.2, 0.5), (0.5, 0.3, 0.2)))
    try:
        with TestClient(create_app(settings, engine=engine, pipeline=paying)) as client:
            auth = bearer(client, hospital)
            submit = "/fhir/Claim/$submit"
            client.post(submit, content=claim_bytes(invoice="N-1"), headers=auth)
            client.post(submit, content=claim_bytes(invoice="N-1"), headers=auth)
            client.post(
                submit,
                content=claim_bytes(claim_spec(invoice="N-2", lines=claim_spec().lines * 3)),
                headers=auth,
            )
            client.post(submit, content=b"not json", headers=auth)
            changed = claim_bytes(invoice="N-1", diagnoses=("J06.8",))
            client.post(submit, content=changed, headers=auth)
            client.get("/fhir/Claim/unknown", headers=auth)
        pricing = metered_pipeline(settings, build_pricer(settings, engine))  # denies lines
        with TestClient(create_app(settings, engine=engine, pipeline=pricing)) as client:
            auth = bearer(client, hospital)
            _notify(client, auth, engine, hook_receiver, hospital)
            client.post(submit, content=claim_bytes(invoice="N-3"), headers=auth)
            _deliver(engine, settings)  # one delivered, one failed and dead-lettered
            yield Scrape.parse(client.get("/metrics").text)
    finally:
        drift.clear_reference()


def _notify(
    client: TestClient, auth: dict[str, str], engine: Engine, receiver: Receiver, hospital: Any
) -> None:
    """Two rest-hooks: the receiver, and a port nobody listens on."""
    allow_loopback(engine, hospital)
    subscribe(client, auth, receiver.url("/hook"))
    subscribe(client, auth, f"http://127.0.0.1:{free_port()}/closed")


def _deliver(engine: Engine, settings: Settings) -> None:
    worker = DeliveryWorker(
        engine,
        settings.model_copy(update={"delivery_max_attempts": 1, "delivery_timeout_seconds": 2.0}),
    )
    drain(worker, engine)
    worker.close()


@pytest.mark.parametrize("where", sorted(EXPRESSIONS))
def test_expression_names_only_exported_or_recorded_metrics(
    where: str, live_scrape: Scrape
) -> None:
    known = live_scrape.names() | recorded_names() | SYNTHETIC
    used = metric_names(EXPRESSIONS[where])
    assert used, f"no metric found in {where}"
    assert used - known == set(), f"{where} names metrics the gateway does not export"


@pytest.mark.parametrize("where", sorted(EXPRESSIONS))
def test_expression_labels_exist_on_their_metrics(where: str, live_scrape: Scrape) -> None:
    for metric, label, operator, value in label_matchers(EXPRESSIONS[where]):
        if metric in recorded_names() or metric in SYNTHETIC or label in TARGET_LABELS:
            continue
        values = {
            lab[label] for name, lab, _ in live_scrape.samples if name == metric and label in lab
        }
        assert values, f"{where}: {metric} has no label {label}"
        if label == "status_class":
            values |= STATUS_CLASSES
        if operator == "=":
            assert value in values, f"{where}: {metric}{{{label}}} never takes {value!r}"


def test_live_scrape_counts_the_known_mix(live_scrape: Scrape) -> None:
    for outcome in ("accepted", "duplicate", "invalid", "rejected"):
        assert live_scrape.value("claimgw_intake_bundles_total", outcome=outcome) >= 1, outcome
    assert live_scrape.has("claimgw_fraud_score_psi")
    for counter in ("delivered", "failed", "dead"):  # the receiver, and the closed port
        assert live_scrape.value(f"claimgw_notifications_{counter}_total", hcode="10661") >= 1


def test_dashboard_has_one_row_per_question() -> None:
    for path in DASHBOARDS:
        panels = json.loads(path.read_text(encoding="utf-8"))["panels"]
        assert [p["title"] for p in panels if p["type"] == "row"] == QUESTIONS


def test_dashboard_panels_use_the_provisioned_datasource() -> None:
    provisioning = MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    uid = next(
        line.split(":", 1)[1].strip()
        for line in provisioning.read_text().splitlines()
        if line.strip().startswith("uid:")
    )
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == uid, panel["title"]
                assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])


def test_every_expression_is_checked() -> None:
    assert len(list(itertools.chain(rule_expressions(), dashboard_expressions()))) > 40
    assert {Path(p).suffix for p in map(str, DASHBOARDS)} == {".json"}
