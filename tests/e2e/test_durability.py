"""Nothing acknowledged is lost: SIGKILL the server mid-stream, restart, and read every claim."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, text

from fraud.synth import SynthHospital, generate_bundles
from gateway.client import GatewayClient
from tests.e2e.conftest import LiveServer, key_file
from tests.support import Hospital

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _stream(
    client: GatewayClient, bundles: list[bytes], acknowledged: dict[str, str], stop: threading.Event
) -> None:
    def send(body: bytes) -> None:
        if stop.is_set():
            return
        try:
            answer = client.submit(body)
        except (httpx.HTTPError, RuntimeError):
            return
        if answer.status in (200, 201):
            invoice = orjson.loads(body)["entry"][0]["resource"]["identifier"][0]["value"]
            acknowledged[invoice] = str(answer.response_id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, bundles))


def _integrity(database_url: str) -> list[tuple[object, ...]]:
    """Claims missing any row their submission must have written with them."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        broken = conn.execute(
            text(
                "SELECT c.id FROM claims c "
                "LEFT JOIN claim_responses r ON r.claim_id = c.id "
                "LEFT JOIN reimbursement_queue q ON q.claim_id = c.id "
                "WHERE r.id IS NULL "
                "OR (c.status = 'queued_for_payment' AND q.id IS NULL) "
                "OR (c.status <> 'queued_for_payment' AND q.id IS NOT NULL) "
                "OR (SELECT count(*) FROM claim_lines l WHERE l.claim_id = c.id) = 0 "
                "OR (SELECT count(*) FROM outbox o WHERE o.payload LIKE '%' || c.id || '%') <> 1 "
                "OR (SELECT count(*) FROM audit_events a WHERE a.entity_id = c.id) < 2"
            )
        ).all()
    engine.dispose()
    return list(broken)


def test_sigkill_mid_stream_loses_no_acknowledged_claim(
    live_server: LiveServer, live_hospital: Hospital, tmp_path: Path
) -> None:
    rng = random.Random(20261128)
    bundles = [
        orjson.dumps(b)
        for b in generate_bundles(
            claims=240, seed=11, hospitals=[SynthHospital("10661", "Test")], end=date(2026, 11, 1)
        )
    ]
    key = key_file(live_hospital, tmp_path)
    acknowledged: dict[str, str] = {}
    for round_ in range(3):
        client = GatewayClient(live_server.url, live_hospital.client_id, key, timeout=10)
        stop = threading.Event()
        chunk = bundles[round_ * 80 : (round_ + 1) * 80]
        sender = threading.Thread(target=_stream, args=(client, chunk, acknowledged, stop))
        sender.start()
        time.sleep(rng.uniform(0.3, 1.2))
        live_server.kill()
        stop.set()
        sender.join(timeout=60)
        client.close()
        live_server.start()
    assert len(acknowledged) > 10, "the stream should have been acknowledged for a while"

    reader = GatewayClient(live_server.url, live_hospital.client_id, key)
    headers = {"Authorization": f"Bearer {reader.token()}"}
    for invoice, response_id in acknowledged.items():
        response = reader.http.get(f"/fhir/ClaimResponse/{response_id}", headers=headers)
        assert response.status_code == 200, invoice
        claim_ref = response.json()["request"]["reference"]
        assert reader.http.get(f"/fhir/{claim_ref}", headers=headers).status_code == 200
    assert _integrity(live_server.database_url) == []

    for body in bundles[:240]:
        again = reader.submit(body)
        assert again.status in (200, 201), again.body
        invoice = orjson.loads(body)["entry"][0]["resource"]["identifier"][0]["value"]
        if invoice in acknowledged:
            assert again.status == 200
            assert again.response_id == acknowledged[invoice]
    reader.close()
    assert _integrity(live_server.database_url) == []
