"""Issue 10: the audit trail records reads, searches, $validate and tokens, in a hash chain
that `claimgw audit verify` proves, and names the first edited, inserted or deleted row."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from gateway.audit.trail import append_event, record_event, search_events, verify_chain
from gateway.cli.main import app as cli
from gateway.settings import get_settings
from tests.support import VALID_CID, Hospital, claim_bytes


def _activity(client: TestClient, auth: dict[str, str]) -> str:
    answer = client.post("/fhir/Claim/$submit", content=claim_bytes(), headers=auth)
    assert answer.status_code == 201, answer.text
    reference: str = answer.json()["entry"][0]["resource"]["request"]["reference"]
    claim_id = reference.rsplit("/", 1)[-1]
    assert client.get(f"/fhir/Claim/{claim_id}", headers=auth).status_code == 200
    assert client.get("/fhir/Claim?identifier=INV-0001", headers=auth).status_code == 200
    assert (
        client.post(
            "/fhir/Claim/$validate", content=claim_bytes(invoice="V-1"), headers=auth
        ).status_code
        == 200
    )
    return claim_id


def _verify(engine: Engine) -> tuple[bool, int | None, str | None]:
    with Session(engine) as session:
        report = verify_chain(session)
    broken = report.broken
    return report.ok, broken.row_id if broken else None, broken.kind if broken else None


def test_reads_searches_validate_and_tokens_are_audited_without_cids(
    client: TestClient, auth: dict[str, str], engine: Engine, hospital: Hospital
) -> None:
    claim_id = _activity(client, auth)
    with Session(engine) as session:
        actions = {e.action for e in search_events(session, hcode=hospital.hcode, limit=1000)}
        about = search_events(session, claim=claim_id)
        everything = session.execute(
            text("SELECT detail, actor, entity_id FROM audit_events")
        ).all()
    assert {
        "token.granted",
        "claim.read",
        "claim.search",
        "claim.validate",
        "claim.received",
    } <= actions
    assert {e.action for e in about} >= {"claim.read", "claim.received"}
    read = next(e for e in about if e.action == "claim.read")
    assert read.actor == hospital.client_id
    assert read.source == "testclient"
    assert read.outcome == "0"
    assert all(VALID_CID not in " ".join(map(str, row)) for row in everything)
    assert _verify(engine) == (True, None, None)


def _ids(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return [r[0] for r in session.execute(text("SELECT id FROM audit_events ORDER BY id"))]


@pytest.mark.audit_tampered
@pytest.mark.parametrize("tamper", ["edited", "deleted", "inserted"])
def test_verify_names_the_first_tampered_row(
    client: TestClient, auth: dict[str, str], engine: Engine, tamper: str
) -> None:
    _activity(client, auth)
    ids = _ids(engine)
    middle = ids[len(ids) // 2]
    with engine.begin() as conn:
        if tamper == "edited":
            conn.execute(
                text("UPDATE audit_events SET actor = 'someone-else' WHERE id = :i"), {"i": middle}
            )
            expected = middle
        elif tamper == "deleted":
            conn.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": middle})
            expected = ids[ids.index(middle) + 1]
        else:
            row = (
                conn.execute(text("SELECT * FROM audit_events WHERE id = :i"), {"i": middle})
                .mappings()
                .one()
            )
            copy = {k: v for k, v in row.items() if k != "id"} | {"id": ids[-1] + 1000}
            names, values = ", ".join(copy), ", ".join(f":{k}" for k in copy)
            conn.execute(text(f"INSERT INTO audit_events ({names}) VALUES ({values})"), copy)
            expected = ids[-1] + 1000
    ok, row_id, kind = _verify(engine)
    assert not ok
    assert row_id == expected
    assert kind == tamper


def test_concurrent_appends_keep_one_chain(engine: Engine) -> None:
    def append(n: int) -> None:
        for i in range(5):
            record_event(
                engine,
                action="test.append",
                actor=f"w{n}",
                agent_kind="system",
                entity_type="Test",
                entity_id=str(i),
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append, range(4)))
    assert _verify(engine) == (True, None, None)
    with Session(engine) as session:
        assert len(search_events(session, user="w0")) == 5


@pytest.mark.audit_tampered
def test_cli_verify_and_search(
    client: TestClient,
    auth: dict[str, str],
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claim_id = _activity(client, auth)
    env = {"CLAIMGW_DATABASE_URL": database_url}
    monkeypatch.setenv("CLAIMGW_DATABASE_URL", database_url)
    get_settings.cache_clear()  # the CLI reads the environment afresh
    runner = CliRunner()
    good = runner.invoke(cli, ["audit", "verify"], env=env)
    assert good.exit_code == 0, good.output
    assert "intact" in good.output
    found = runner.invoke(cli, ["audit", "search", "--claim", claim_id, "--json"], env=env)
    assert found.exit_code == 0, found.output
    assert {e["action"] for e in json.loads(found.output)} >= {"claim.read"}
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET detail = '{}' WHERE action = 'claim.read'"))
    bad = runner.invoke(cli, ["audit", "verify"], env=env)
    assert bad.exit_code == 1
    assert "edited" in bad.output
    get_settings.cache_clear()


def test_events_appended_in_one_transaction_chain_in_order(engine: Engine) -> None:
    with Session(engine) as session:
        for i in range(3):
            append_event(
                session,
                action="test.batch",
                actor="me",
                agent_kind="system",
                entity_type="Test",
                entity_id=str(i),
            )
        session.commit()
    assert _verify(engine) == (True, None, None)
