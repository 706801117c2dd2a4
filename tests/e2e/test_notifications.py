"""The real gateway and a real `claimgw worker` tell a hospital's endpoint about everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from gateway.db import make_engine
from gateway.payments.service import run_payments
from gateway.settings import Settings
from tests.gateway.test_outbox_delivery import Receiver
from tests.monitoring.live import GatewayProcess, wait_for
from tests.support import DATA_KEY_SETTINGS, Hospital, claim_bytes, token_form

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def claimgw(database_url: str, cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith("CLAIMGW_") or k in DATA_KEY_SETTINGS)
    }
    env |= {
        "CLAIMGW_DATABASE_URL": database_url,
        "CLAIMGW_LOG_LEVEL": "warning",
        "CLAIMGW_DELIVERY_BACKOFF_SECONDS": "0.2",
        "CLAIMGW_DELIVERY_BACKOFF_MAX_SECONDS": "0.5",
        "CLAIMGW_DELIVERY_POLL_SECONDS": "0.1",
        "CLAIMGW_BASE_URL": "http://127.0.0.1:1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.fixture
def gateway(database_url: str, tmp_path: Path, live_hospital: Hospital) -> Iterator[GatewayProcess]:
    server = GatewayProcess(database_url=database_url, workdir=tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def worker(database_url: str, tmp_path: Path, gateway: GatewayProcess) -> Iterator[None]:
    process = claimgw(database_url, tmp_path, "worker")
    yield
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) == 0, process.stderr.read() if process.stderr else ""


def _subscribe(http: httpx.Client, auth: dict[str, str], url: str, criteria: str) -> str:
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "e2e",
        "criteria": criteria,
        "channel": {"type": "rest-hook", "endpoint": url, "payload": "application/fhir+json"},
    }
    answer = http.post("/fhir/Subscription", content=orjson.dumps(body), headers=auth)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["extension"][0]["valueString"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # server start is ~20 s
def test_worker_delivers_decisions_and_statements_even_after_an_outage(
    database_url: str,
    tmp_path: Path,
    gateway: GatewayProcess,
    live_hospital: Hospital,
    worker: None,
) -> None:
    allowed = claimgw(
        database_url, tmp_path, "hospital", "endpoint", "--hcode", "10661", "--allow", "127.0.0.1"
    )
    assert allowed.wait(timeout=120) == 0, allowed.stderr.read() if allowed.stderr else ""
    receiver = Receiver()
    receiver.start()
    try:
        with httpx.Client(base_url=gateway.url, timeout=60) as http:
            token = http.post(
                "/auth/token", data=token_form(live_hospital, f"{gateway.url}/auth/token")
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
            claims_secret = _subscribe(http, auth, receiver.url("/claims"), "ClaimResponse")
            pay_secret = _subscribe(http, auth, receiver.url("/pay"), "PaymentReconciliation")
            submit = "/fhir/Claim/$submit"
            assert http.post(submit, content=claim_bytes(invoice="E-1"), headers=auth).is_success
            wait_for(lambda: receiver.delivered("/claims") or None, timeout=60, what="a decision")
            receiver.stop()
            for invoice in ("E-2", "E-3"):
                assert http.post(
                    submit, content=claim_bytes(invoice=invoice), headers=auth
                ).is_success
            time.sleep(1.5)  # the worker tries, and fails, while the endpoint is down
            receiver.start()
            wait_for(
                lambda: len(receiver.delivered("/claims")) == 3 or None,
                timeout=60,
                what="every decision after the outage",
            )
        engine = make_engine(Settings(database_url=database_url))
        period = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
        batch = run_payments(engine, period=period, actor="e2e").batches[0]
        engine.dispose()
        wait_for(lambda: receiver.delivered("/pay") or None, timeout=60, what="a statement")
    finally:
        receiver.stop()
    decisions = [
        Webhook(claims_secret).verify(r.body, r.headers) for r in receiver.delivered("/claims")
    ]
    assert {d["entry"][1]["resource"]["resourceType"] for d in decisions} == {"ClaimResponse"}
    ids = [r.headers["webhook-id"] for r in receiver.delivered("/claims")]
    assert len(set(ids)) == 3
    statement = Webhook(pay_secret).verify(
        receiver.delivered("/pay")[0].body, receiver.delivered("/pay")[0].headers
    )
    assert statement["entry"][1]["resource"]["id"] == batch.batch_id
    listed = claimgw(database_url, tmp_path, "outbox", "list", "--json")
    out, err = listed.communicate(timeout=120)
    assert listed.returncode == 0, err
    assert json.loads(out) == []
