"""Outbox delivery to a real HTTP receiver: signed, scoped, retried with the same id, drained."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from standardwebhooks import Webhook

from gateway.claims.models import OutboxMessage
from gateway.db import session_scope
from gateway.notify.models import NotificationDelivery
from gateway.notify.repository import OutboxRepository
from gateway.notify.service import SECRET_EXTENSION, allow_host
from gateway.notify.worker import DeliveryWorker, backoff_seconds
from gateway.settings import Settings
from tests.provider_registry.factories import insure
from tests.support import Hospital, claim_bytes, claim_spec, free_port

SUBMIT = "/fhir/Claim/$submit"


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A hospital's webhook endpoint on 127.0.0.1: records requests, answers `status`."""

    port: int = field(default_factory=free_port)
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server interface)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = receiver.status
                receiver.requests.append(Received(self.path, dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def delivered(self, path: str = "/hook") -> list[Received]:
        return [r for r in self.requests if r.path == path and r.status == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Settings of a worker that retries within milliseconds."""
    return settings.model_copy(
        update={
            "delivery_backoff_seconds": 0.02,
            "delivery_backoff_max_seconds": 0.05,
            "delivery_max_attempts": 4,
            "delivery_timeout_seconds": 2.0,
        }
    )


def allow_loopback(engine: Engine, *hospitals: Hospital) -> None:
    with session_scope(engine) as session:
        for hospital in hospitals:
            allow_host(session, hcode=hospital.hcode, host="127.0.0.1")


def subscribe(
    client: TestClient, auth: dict[str, str], endpoint: str, criteria: str = "ClaimResponse"
) -> tuple[str, str]:
    """Register a rest-hook; (subscription id, signing secret)."""
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "decisions",
        "criteria": criteria,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "header": ["X-Hospital-Key: abc"],
        },
    }
    answer = client.post("/fhir/Subscription", content=orjson.dumps(body), headers=auth)
    assert answer.status_code == 201, answer.text
    resource = answer.json()
    secret = next(e["valueString"] for e in resource["extension"] if e["url"] == SECRET_EXTENSION)
    return resource["id"], secret


def submit(client: TestClient, auth: dict[str, str], invoice: str, hcode: str = "10661") -> str:
    answer = client.post(
        SUBMIT, content=claim_bytes(claim_spec(hcode=hcode, invoice=invoice)), headers=auth
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["entry"][0]["resource"]["request"]["reference"].split("/")[1])


def drain(worker: DeliveryWorker, engine: Engine, timeout: float = 20) -> None:
    """Run the worker until no outbox row is pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.run_once()
        if pending(engine) == 0:
            return
        time.sleep(0.02)
    raise AssertionError(f"{pending(engine)} outbox rows still pending")


def pending(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(
            col(OutboxMessage.delivered_at).is_(None), col(OutboxMessage.dead_at).is_(None)
        )
        return int(session.exec(query).one())


def verified(received: Received, secret: str) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


def test_submission_and_review_reach_the_hospitals_endpoint_signed(
    client: TestClient,
    auth: dict[str, str],
    other_auth: dict[str, str],
    hospital: Hospital,
    other_hospital: Hospital,
    engine: Engine,
    fast: Settings,
    receiver: Receiver,
) -> None:
    insure(engine)
    allow_loopback(engine, hospital, other_hospital)
    sub_id, secret = subscribe(client, auth, receiver.url("/hook"))
    subscribe(client, other_auth, receiver.url("/other"))
    claim_id = submit(client, auth, "N-1")
    submit(client, other_auth, "O-1", hcode="11512")
    with session_scope(engine) as session:  # what the review decision writes (lead's code)
        payload = orjson.dumps({"claim_id": claim_id, "hcode": "10661"}).decode()
        session.add(OutboxMessage(topic="claim.reviewed", payload=payload))
    worker = DeliveryWorker(engine, fast)
    drain(worker, engine)
    worker.close()

    mine = receiver.delivered("/hook")
    assert len(mine) == 2
    bundles = [verified(r, secret) for r in mine]
    for number, bundle in enumerate(bundles, start=1):
        assert bundle["type"] == "history"
        status, resource = bundle["entry"][0]["resource"], bundle["entry"][1]["resource"]
        params = {p["name"]: p for p in status["parameter"]}
        assert status["resourceType"] == "Parameters"
        assert params["type"]["valueCode"] == "event-notification"
        assert params["subscription"]["valueReference"]["reference"].endswith(sub_id)
        assert params["events-since-subscription-start"]["valueString"] == str(number)
        assert resource["resourceType"] == "ClaimResponse"
        assert resource["request"]["reference"] == f"Claim/{claim_id}"
    assert mine[0].headers["X-Hospital-Key"] == "abc"
    assert len({r.headers["webhook-id"] for r in mine}) == 2
    other = receiver.delivered("/other")
    assert len(other) == 1  # the other hospital hears about its own claim only
    assert claim_id.encode() not in other[0].body


def test_an_endpoint_that_was_down_gets_every_event_with_the_same_webhook_id(
    client: TestClient,
    auth: dict[str, str],
    hospital: Hospital,
    engine: Engine,
    fast: Settings,
    receiver: Receiver,
) -> None:
    insure(engine)
    allow_loopback(engine, hospital)
    _sub_id, secret = subscribe(client, auth, receiver.url())
    receiver.stop()
    claims = [submit(client, auth, f"D-{i}") for i in range(3)]
    assert client.post(f"/fhir/Claim/{claims[0]}/$cancel", headers=auth).status_code == 200
    worker = DeliveryWorker(engine, fast)
    worker.run_once()  # connection refused for all four events
    receiver.start()
    receiver.status = 503
    time.sleep(0.06)
    worker.run_once()  # the endpoint is back but failing
    refused_ids = {r.headers["webhook-id"] for r in receiver.requests}
    receiver.status = 200
    drain(worker, engine)
    worker.close()
    delivered = receiver.delivered()
    assert len(delivered) == 4
    assert refused_ids <= {r.headers["webhook-id"] for r in delivered}
    assert refused_ids  # at least one retry was seen by the receiver
    resources = [verified(r, secret)["entry"][1]["resource"] for r in delivered]
    # Each event carries the ClaimResponse as stored when it left the outbox: claim 0 was
    # cancelled by then, so both its events show the cancellation.
    assert sorted(r["status"] for r in resources) == ["active", "active", "cancelled", "cancelled"]
    with Session(engine) as session:
        attempts = session.exec(select(NotificationDelivery.attempts)).all()
    assert min(attempts) >= 2


def test_dead_letter_marks_the_subscription_in_error_and_retry_revives_it(
    client: TestClient,
    auth: dict[str, str],
    hospital: Hospital,
    engine: Engine,
    fast: Settings,
    receiver: Receiver,
) -> None:
    insure(engine)
    allow_loopback(engine, hospital)
    sub_id, secret = subscribe(client, auth, receiver.url())
    submit(client, auth, "X-1")
    receiver.status = 500
    worker = DeliveryWorker(engine, fast)
    drain(worker, engine)
    assert len(receiver.requests) == fast.delivery_max_attempts
    assert client.get(f"/fhir/Subscription/{sub_id}", headers=auth).json()["status"] == "error"
    with Session(engine) as session:
        dead = OutboxRepository(session).messages(dead=True, limit=10)
        assert [m.last_error for m in dead] == ["HTTP 500"]
        dead_id = dead[0].id
        assert dead_id is not None
    receiver.status = 200
    with session_scope(engine) as session:
        assert OutboxRepository(session).revive(dead_id, datetime.now(UTC)) == 1
    drain(worker, engine)
    worker.close()
    assert len(receiver.delivered()) == 1
    verified(receiver.delivered()[0], secret)
    assert client.get(f"/fhir/Subscription/{sub_id}", headers=auth).json()["status"] == "active"


def test_events_nobody_listens_to_are_marked_done(
    client: TestClient, auth: dict[str, str], engine: Engine, fast: Settings
) -> None:
    insure(engine)
    for i in range(3):
        submit(client, auth, f"Q-{i}")
    assert pending(engine) == 3
    worker = DeliveryWorker(engine, fast)
    assert worker.run_once() == 3
    worker.close()
    assert pending(engine) == 0


def test_an_endpoint_taken_off_the_allow_list_is_not_called(
    client: TestClient,
    auth: dict[str, str],
    hospital: Hospital,
    engine: Engine,
    fast: Settings,
    receiver: Receiver,
) -> None:
    insure(engine)
    allow_loopback(engine, hospital)
    subscribe(client, auth, receiver.url())
    with session_scope(engine) as session:
        allow_host(session, hcode=hospital.hcode, host="127.0.0.1", remove=True)
    submit(client, auth, "S-1")
    worker = DeliveryWorker(engine, fast)
    drain(worker, engine)
    worker.close()
    assert receiver.requests == []
    with Session(engine) as session:
        errors = session.exec(select(NotificationDelivery.last_error)).all()
    assert errors
    assert all("allow-list" in (e or "") for e in errors)


def test_two_workers_send_each_event_once(
    client: TestClient,
    auth: dict[str, str],
    hospital: Hospital,
    engine: Engine,
    fast: Settings,
    receiver: Receiver,
) -> None:
    insure(engine)
    allow_loopback(engine, hospital)
    subscribe(client, auth, receiver.url())
    for i in range(12):
        submit(client, auth, f"W-{i}")
    workers = [DeliveryWorker(engine, fast) for _ in range(2)]
    threads = [threading.Thread(target=drain, args=(w, engine)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for worker in workers:
        worker.close()
    ids = [r.headers["webhook-id"] for r in receiver.delivered()]
    assert len(ids) == len(set(ids)) == 12


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    waits = [backoff_seconds(n, base=5, cap=3600, draw=1.0) for n in range(1, 12)]
    assert waits[:4] == [5, 10, 20, 40]
    assert waits[-1] == 3600
    assert backoff_seconds(3, base=5, cap=3600, draw=0.0) == 10
