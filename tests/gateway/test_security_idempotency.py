"""Issue 10, finding 7: a stored claim sent again, with the same, a new or no Idempotency-Key,
and with the same or a changed body, answers at once on both databases (no second writer
inside the intake transaction, so no 30 s wait and no 503 on SQLite)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.support import claim_bytes, issues

SUBMIT = "/fhir/Claim/$submit"


@pytest.mark.parametrize(
    ("body_changed", "key", "status", "rule"),
    [
        (False, "same", 201, None),
        (False, "new", 200, None),
        (False, None, 200, None),
        (True, "same", 422, "idempotency-key-reused"),
        (True, "new", 422, "identifier-duplicate"),
        (True, None, 422, "identifier-duplicate"),
    ],
)
def test_replays_answer_at_once_for_every_body_and_key(
    client: TestClient,
    auth: dict[str, str],
    body_changed: bool,
    key: str | None,
    status: int,
    rule: str | None,
) -> None:
    first = client.post(SUBMIT, content=claim_bytes(), headers=auth | {"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    body = claim_bytes(diagnoses=("J02.9",)) if body_changed else claim_bytes()
    headers = dict(auth)
    if key is not None:
        headers["Idempotency-Key"] = "k-1" if key == "same" else "k-2"
    started = time.monotonic()
    again = client.post(SUBMIT, content=body, headers=headers)
    assert time.monotonic() - started < 5
    assert again.status_code == status, again.text
    if rule is not None:
        assert rule in [r for r, _ in issues(again.json())]
    else:
        first_response = first.json()["entry"][0]["resource"]
        assert again.json()["entry"][0]["resource"]["id"] == first_response["id"]
    if key == "new":  # the new key now remembers its answer too
        third = client.post(SUBMIT, content=body, headers=headers)
        assert third.status_code == again.status_code
