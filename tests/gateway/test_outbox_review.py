"""A reviewer's decision reaches the hospital's rest-hook, and the approved claim is paid once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from standardwebhooks import Webhook

from gateway.notify.worker import DeliveryWorker
from gateway.payments.service import run_payments
from gateway.settings import Settings
from tests.gateway.test_outbox_delivery import Receiver, allow_loopback, drain, subscribe
from tests.provider_registry.factories import insure
from tests.review_support import StaffTokens, add_staff, claim_id_of, submit
from tests.support import Hospital


@pytest.fixture
def hook() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Every claim goes to review (the random audit at rate 1), as in the review tests."""
    return Settings(
        database_url=database_url,
        base_url="http://testserver",
        log_level="warning",
        rate_limit="10000/minute",
        review_audit_rate=1.0,
        review_audit_daily_cap=1000,
    )


def test_review_decision_is_notified_and_the_claim_paid_once(
    client: TestClient,
    auth: dict[str, str],
    hospital: Hospital,
    engine: Engine,
    settings: Settings,
    hook: Receiver,
) -> None:
    insure(engine)
    allow_loopback(engine, hospital)
    _sub, secret = subscribe(client, auth, hook.url())
    claim_id = claim_id_of(submit(client, auth, "R-1"))
    staff = StaffTokens(client)
    add_staff(engine, "rita", "reviewer")
    assert client.post(f"/api/review/claims/{claim_id}/assign", headers=staff["rita"]).is_success
    decided = client.post(
        f"/api/review/claims/{claim_id}/decision",
        json={"decision": "approve", "note": "checked"},
        headers=staff["rita"],
    )
    assert decided.status_code == 200, decided.text
    worker = DeliveryWorker(engine, settings.model_copy(update={"delivery_backoff_seconds": 0.02}))
    drain(worker, engine)
    worker.close()
    outcomes = [
        Webhook(secret).verify(r.body, r.headers)["entry"][1]["resource"]["outcome"]
        for r in hook.delivered()
    ]
    assert outcomes[-1] == "complete"  # the reviewed ClaimResponse, as stored now
    assert len(outcomes) == 2
    period = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    batches = run_payments(engine, period=period, actor="test").batches
    assert [b.claims for b in batches] == [1]
    assert run_payments(engine, period=period, actor="test").batches == []
