"""Malformed, oversized and hostile requests get a clear OperationOutcome and the right 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.db import make_engine
from gateway.settings import Settings
from tests.conftest import bearer
from tests.support import Hospital, add_hospital, claim_bytes, claim_dict, issues

SUBMIT = "/fhir/Claim/$submit"
SYNTHEA = sorted((Path(__file__).parents[3] / "shared" / "fixtures" / "synthea").glob("*.json"))


def _assert_outcome(answer: object, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"].startswith("application/fhir+json")  # type: ignore[attr-defined]
    body: dict[str, object] = answer.json()  # type: ignore[attr-defined]
    assert body["resourceType"] == "OperationOutcome"
    return body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"{", 400),
        (b"null", 400),
        (b'{"resourceType":"Claim"}', 400),
        (b'{"resourceType":"Bundle","type":"collection","entry":"x"}', 400),
        (b'{"resourceType":"Bundle","type":"collection","entry":[]}', 400),
        ('{"resourceType":"Bundle","x":"\u0e01"'.encode(), 400),
    ],
)
def test_garbage_bodies_are_400(
    client: TestClient, auth: dict[str, str], body: bytes, status: int
) -> None:
    _assert_outcome(client.post(SUBMIT, content=body, headers=auth), status)


def test_wrong_media_type_is_415(client: TestClient, auth: dict[str, str]) -> None:
    headers = {**auth, "Content-Type": "application/xml"}
    body = _assert_outcome(client.post(SUBMIT, content=b"<Bundle/>", headers=headers), 415)
    assert "application/fhir+json" in str(body)


def test_declared_oversized_body_is_413(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    big = b" " * (settings.max_body_bytes + 1)
    _assert_outcome(client.post(SUBMIT, content=big, headers=auth), 413)


def test_streamed_oversized_body_is_413(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    _assert_outcome(client.post(SUBMIT, content=chunks(), headers=auth), 413)


def test_too_many_entries_is_413(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    bundle = claim_dict()
    bundle["entry"] += [
        {"fullUrl": f"urn:uuid:b{i}", "resource": {"resourceType": "Basic"}}
        for i in range(settings.max_bundle_entries)
    ]
    body = _assert_outcome(client.post(SUBMIT, content=orjson.dumps(bundle), headers=auth), 413)
    assert issues(body)[0][0] == "too-many-entries"  # type: ignore[arg-type]


def test_every_problem_comes_back_in_one_outcome_with_both_languages(
    client: TestClient, auth: dict[str, str]
) -> None:
    bundle = claim_dict(cid="1330656439244")
    bundle["entry"][0]["resource"]["total"]["currency"] = "USD"
    del bundle["entry"][0]["resource"]["item"][0]["net"]
    body = _assert_outcome(client.post(SUBMIT, content=orjson.dumps(bundle), headers=auth), 422)
    found = issues(body)  # type: ignore[arg-type]
    assert ("cid-invalid", "Bundle.entry[1].resource.identifier[0].value") in found
    assert ("currency", "Bundle.entry[0].resource.total.currency") in found
    assert ("item-net", "Bundle.entry[0].resource.item[0].net") in found
    for issue in body["issue"]:  # type: ignore[attr-defined]
        assert issue["severity"] == "error"
        assert issue["code"]
        assert issue["diagnostics"]
        assert issue["details"]["text"]


def test_claim_for_another_hospital_is_403(client: TestClient, auth: dict[str, str]) -> None:
    body = _assert_outcome(
        client.post(SUBMIT, content=claim_bytes(hcode="11512"), headers=auth), 403
    )
    assert issues(body)[0][0] == "provider-not-caller"  # type: ignore[arg-type]


@pytest.mark.parametrize("path", SYNTHEA, ids=lambda p: p.stem)
def test_synthea_bundles_get_a_clear_4xx(
    client: TestClient, auth: dict[str, str], path: Path
) -> None:
    body = _assert_outcome(client.post(SUBMIT, content=path.read_bytes(), headers=auth), 422)
    assert all(i["expression"][0].startswith("Bundle.") for i in body["issue"])  # type: ignore[attr-defined]


def test_bad_idempotency_key_and_unknown_route(client: TestClient, auth: dict[str, str]) -> None:
    _assert_outcome(
        client.post(SUBMIT, content=claim_bytes(), headers={**auth, "Idempotency-Key": "k" * 300}),
        400,
    )
    _assert_outcome(client.get("/fhir/Patient/1", headers=auth), 404)
    _assert_outcome(client.put("/fhir/Claim/$submit", content=b"{}", headers=auth), 405)


def test_search_without_parameters_is_400(client: TestClient, auth: dict[str, str]) -> None:
    _assert_outcome(client.get("/fhir/Claim", headers=auth), 400)
    _assert_outcome(client.get("/fhir/ClaimResponse", headers=auth), 400)


def test_rate_limit_answers_429_with_retry_after(engine: Engine, settings: Settings) -> None:
    limited = create_app(settings.model_copy(update={"rate_limit": "3/minute"}), engine=engine)
    hospital = add_hospital(engine, "10661")
    with TestClient(limited) as client:
        headers = bearer(client, hospital)
        answers = [client.get("/fhir/Claim/x", headers=headers).status_code for _ in range(4)]
        last = client.get("/fhir/Claim/x", headers=headers)
    assert answers[:3] == [404, 404, 404]
    assert last.status_code == 429
    assert int(last.headers["retry-after"]) >= 1


def test_database_down_is_503_with_retry_after(hospital: Hospital, client: TestClient) -> None:
    token_headers = bearer(client, hospital)
    down = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/none", base_url="http://testserver"
    )
    engine = make_engine(down)
    with TestClient(create_app(down, engine=engine)) as dead:
        answer = dead.post(SUBMIT, content=claim_bytes(), headers=token_headers)
        ready = dead.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["retry-after"]
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert ready.status_code == 503
