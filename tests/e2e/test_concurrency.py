"""Concurrent identical submissions store one claim and all get the same ClaimResponse."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway.client import GatewayClient, SubmitAnswer
from tests.e2e.conftest import LiveServer, key_file
from tests.support import Hospital, claim_bytes

pytestmark = [pytest.mark.e2e]


def _claim_rows(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM claims")).scalar_one())
    engine.dispose()
    return count


def _storm(
    server: LiveServer, hospital: Hospital, tmp_path: Path, key: str | None
) -> list[SubmitAnswer]:
    client = GatewayClient(server.url, hospital.client_id, key_file(hospital, tmp_path))
    client.token()
    body = claim_bytes()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: client.submit(body, idempotency_key=key), range(20)))
    client.close()
    return answers


def test_twenty_identical_submissions_store_one_claim(
    live_server: LiveServer, live_hospital: Hospital, tmp_path: Path
) -> None:
    answers = _storm(live_server, live_hospital, tmp_path, key=None)
    assert sorted({a.status for a in answers}) in ([200, 201], [201])
    assert [a.status for a in answers].count(201) == 1
    assert len({a.response_id for a in answers}) == 1
    assert _claim_rows(live_server.database_url) == 1


def test_twenty_identical_keyed_submissions_never_double_store(
    live_server: LiveServer, live_hospital: Hospital, tmp_path: Path
) -> None:
    answers = _storm(live_server, live_hospital, tmp_path, key="same-key")
    assert {a.status for a in answers} <= {201, 409}
    assert len({a.response_id for a in answers if a.status == 201}) == 1
    assert all(a.body["resourceType"] == "OperationOutcome" for a in answers if a.status == 409)
    assert _claim_rows(live_server.database_url) == 1
