"""Issue 10, patient data at rest: sealed columns, keyed person lookups, key rotation.

Every test reads what the database really holds (raw SQL, not through the ORM), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from gateway.claims.models import ClaimRecord
from gateway.cli.main import app as cli
from gateway.db import writer
from gateway.security import data_key
from gateway.security.data_key import (
    DataKeyError,
    Keyring,
    dev_data_keys,
    keyring_from_settings,
    new_key_line,
    parse_keyring,
)
from gateway.security.repository import SEALED_COLUMNS, SealedColumnRepository
from gateway.security.rotation import key_status, rotate_data_key
from gateway.security.sealed import SealedText
from gateway.settings import Settings, get_settings
from tests.provider_registry.factories import insure
from tests.support import VALID_CID, add_hospital, claim_dict

NAME = "สมศรี ใจดี"
LOOKUP = "dGVzdC1sb29rdXAta2V5LTAwMDAwMDAwMDAwMDAwMDA="


def _named_claim(invoice: str) -> bytes:
    bundle: dict[str, Any] = claim_dict(invoice=invoice)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["name"] = [{"text": NAME, "family": "ใจดี", "given": ["สมศรี"]}]
    return orjson.dumps(bundle)


def _submit(client: TestClient, auth: dict[str, str], invoice: str) -> dict[str, Any]:
    headers = auth | {"Idempotency-Key": f"key-{invoice}"}
    answer = client.post("/fhir/Claim/$submit", content=_named_claim(invoice), headers=headers)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _everything_stored(engine: Engine) -> str:
    """Every value of every table, as one text."""
    dump: list[str] = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            if table != "alembic_version":
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    dump.extend(str(v) for v in row)
    return "\n".join(dump)


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    before = data_key.current()
    yield
    data_key.install(before)


def test_patient_data_is_sealed_in_every_column(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)  # the roster too: keyed by the hash
    response = _submit(client, auth, "INV-SEAL-1")
    dump = _everything_stored(engine)
    assert VALID_CID not in dump
    assert NAME not in dump
    assert "ใจดี" not in dump
    with engine.connect() as conn:
        for sealed in SEALED_COLUMNS:
            values = conn.execute(
                text(
                    f"SELECT {sealed.column} FROM {sealed.table} WHERE {sealed.column} IS NOT NULL"
                )
            ).scalars()
            for value in values:
                assert value.startswith("gcm1:test1:"), (sealed, value[:40])
    # ...and the gateway still reads it back: the claim, the response, the replay
    claim_response = response["entry"][0]["resource"]
    claim_id = claim_response["request"]["reference"].split("/")[1]
    assert client.get(f"/fhir/Claim/{claim_id}", headers=auth).status_code == 200
    read = client.get(f"/fhir/ClaimResponse/{claim_response['id']}", headers=auth)
    assert read.json()["patient"]["identifier"]["value"] == VALID_CID
    replay = client.post(
        "/fhir/Claim/$submit",
        content=_named_claim("INV-SEAL-1"),
        headers=auth | {"Idempotency-Key": "key-INV-SEAL-1"},
    )
    assert replay.status_code == 201
    assert replay.json() == response


def test_every_sealed_model_column_is_rotated() -> None:
    sealed_in_models = {
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, SealedText)
    }
    assert sealed_in_models == {f"{c.table}.{c.column}" for c in SEALED_COLUMNS}


def test_people_are_looked_up_by_keyed_hash(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    _submit(client, auth, "INV-KEY-1")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT patient_key FROM claims")).scalar_one()
        uses = set(conn.execute(text("SELECT patient_key FROM benefit_uses")).scalars())
    assert stored == data_key.person_key(VALID_CID)
    assert len(stored) == 64
    assert uses <= {stored}  # yearly limits by person: tests/gateway/test_pricing_*.py
    other = parse_keyring(new_key_line("x"), base64.urlsafe_b64encode(b"k" * 32).decode())
    assert other.person_key(VALID_CID) != stored  # without the lookup key, no link to a CID


def test_a_value_moved_to_another_column_or_edited_does_not_open() -> None:
    keyring = data_key.current()
    sealed = keyring.seal('{"resourceType":"Bundle"}', b"claims.bundle_json")
    assert keyring.open(sealed, b"claims.bundle_json") == '{"resourceType":"Bundle"}'
    with pytest.raises(DataKeyError, match="fails authentication"):
        keyring.open(sealed, b"claims.claim_json")
    head, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(DataKeyError, match="fails authentication"):
        keyring.open(
            f"{head}:{base64.urlsafe_b64encode(bytes(raw)).decode()}", b"claims.bundle_json"
        )
    with pytest.raises(DataKeyError, match="not in CLAIMGW_DATA_KEYS"):
        keyring.open(sealed.replace("gcm1:test1:", "gcm1:gone:"), b"claims.bundle_json")


def test_rotation_reseals_old_and_plaintext_rows_in_batches(
    client: TestClient, auth: dict[str, str], engine: Engine, restore_keyring: None
) -> None:
    for n in range(3):
        _submit(client, auth, f"INV-ROT-{n}")
    with Session(writer(engine)) as session:  # a row from before migration 0009: plaintext
        session.execute(
            text(
                "UPDATE claims SET claim_json = '{\"legacy\": true}' WHERE id = "
                "(SELECT MIN(id) FROM claims)"
            )
        )
        session.commit()
    old = data_key.current()
    rotated = Keyring("k2", {"k2": b"2" * 32, **old.keys}, old.lookup_key)
    data_key.install(rotated)
    with Session(engine) as session:
        before = key_status(session, rotated)
    assert before["claims.bundle_json"] == {"test1": 3}
    assert before["claims.claim_json"] == {"test1": 2, "plaintext": 1}

    done = {r.column: r.resealed for r in rotate_data_key(engine, rotated, batch=2)}
    assert done["claims.bundle_json"] == 3
    assert done["claims.claim_json"] == 3
    with Session(engine) as session:
        after = key_status(session, rotated)
    assert all(set(counts) <= {"k2"} for counts in after.values()), after
    assert after["claims.bundle_json"] == {"k2": 3}

    data_key.install(Keyring("k2", {"k2": b"2" * 32}, old.lookup_key))  # old key retired
    with Session(engine) as session:
        claims = session.query(ClaimRecord).all()
        assert sorted(c.claim_json for c in claims)[0] == '{"legacy": true}'
        assert all(orjson.loads(c.bundle_json)["resourceType"] == "Bundle" for c in claims)
    assert rotate_data_key(engine, data_key.current())[0].resealed == 0  # nothing left to do


def test_rotation_never_overwrites_a_concurrent_write(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    _submit(client, auth, "INV-RACE-1")
    sealed = SEALED_COLUMNS[0]
    with Session(writer(engine)) as session:
        repo = SealedColumnRepository(session)
        (*key, stored) = repo.not_under(sealed, "nobody", 10)[0]
        assert not repo.replace(sealed, tuple(key), "an older value", "x")
        assert repo.replace(sealed, tuple(key), stored, stored)


def test_keys_cli_status_and_rotation(
    client: TestClient,
    auth: dict[str, str],
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    restore_keyring: None,
) -> None:
    _submit(client, auth, "INV-CLI-1")
    line = CliRunner().invoke(cli, ["keys", "new-data-key", "--id", "2027a"]).output.strip()
    assert line.startswith("2027a:")
    assert len(base64.urlsafe_b64decode(line[6:])) == 32
    monkeypatch.setenv("CLAIMGW_DATABASE_URL", database_url)
    monkeypatch.setenv("CLAIMGW_DATA_KEYS", f"{line},{os.environ['CLAIMGW_DATA_KEYS']}")
    get_settings.cache_clear()
    data_key.install(None)
    try:
        status = CliRunner().invoke(cli, ["keys", "status", "--json"])
        assert status.exit_code == 0, status.output
        assert orjson.loads(status.output)["columns"]["claims.bundle_json"] == {"test1": 1}
        rotated = CliRunner().invoke(cli, ["keys", "rotate-data-key", "--json"])
        assert rotated.exit_code == 0, rotated.output
        assert orjson.loads(rotated.output)["columns"]["claims.bundle_json"]["resealed"] == 1
        status = CliRunner().invoke(cli, ["keys", "status", "--json"])
        assert orjson.loads(status.output)["columns"]["claims.bundle_json"] == {"2027a": 1}
    finally:
        get_settings.cache_clear()
    with engine.connect() as conn:
        actions = list(conn.execute(text("SELECT action, actor FROM audit_events")))
    assert any(a == "keys.rotate-data-key" and actor for a, actor in actions)


def test_prod_refuses_to_start_without_data_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMGW_DATA_KEYS")
    prod = {"env": "prod", "token_secret": "a-production-secret-of-forty-characters!"}
    with pytest.raises(ValueError, match="CLAIMGW_DATA_KEYS"):
        Settings(**prod)  # type: ignore[arg-type]
    with pytest.raises(DataKeyError, match="both"):
        keyring_from_settings(Settings(lookup_key=LOOKUP))
    with pytest.raises(DataKeyError, match="base64 of 32 bytes"):
        parse_keyring("k1:c2hvcnQ=", LOOKUP)


def test_dev_generates_its_data_keys_into_var_mode_600(tmp_path: Path) -> None:
    var = tmp_path / "var"
    keys, lookup, created = dev_data_keys(var)
    assert created
    assert stat.S_IMODE((var / "data_keys").stat().st_mode) == 0o600
    assert dev_data_keys(var) == (keys, lookup, False)  # the same keys on the next start
    assert parse_keyring(keys, lookup).active_id == "dev1"
    (var / "data_keys").chmod(0o640)
    with pytest.raises(DataKeyError, match="readable by others"):
        dev_data_keys(var)


def test_migrations_0009_and_0012_turn_stored_cids_into_keyed_hashes(tmp_path: Path) -> None:
    from alembic import command

    from gateway.db import alembic_config, make_engine

    url = f"sqlite:///{tmp_path}/old.db"
    command.upgrade(alembic_config(url), "0008")
    engine = make_engine(Settings(database_url=url))
    add_hospital(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO claims (id, hcode, identifier_system, identifier_value, status, "
                "claim_type, setting, patient_cid, total_submitted, total_eligible, total_benefit, "
                "outcome, body_hash, claim_json, bundle_json, fraud_flagged, expected_loss, "
                "created_at, updated_at) "
                "VALUES ('c1', '10661', 's', 'v', 'queued', 'professional', "
                f"'OPD', '{VALID_CID}', 1, 1, 1, 'complete', 'h', '{{}}', '{{\"old\": 1}}', 0, 0, "
                "'2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO insured_persons (cid, section, main_hcode, coverage_start, "
                f"contribution_months, updated_at) VALUES ('{VALID_CID}', 33, '10661', "
                "'2015-01-01', 15, '2026-01-01')"
            )
        )
    command.upgrade(alembic_config(url), "heads")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT patient_key FROM claims")).scalar_one() == (
            data_key.person_key(VALID_CID)
        )
        roster = conn.execute(text("SELECT person_key, section FROM insured_persons")).one()
        assert tuple(roster) == (data_key.person_key(VALID_CID), 33)
        assert "patient_cid" not in {c["name"] for c in inspect(conn).get_columns("claims")}
    with Session(engine) as session:  # a plaintext row from before stays readable
        assert session.query(ClaimRecord).one().bundle_json == '{"old": 1}'
    engine.dispose()
