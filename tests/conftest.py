"""Fixtures: every integration test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from gateway.app import create_app
from gateway.audit.trail import verify_chain
from gateway.db import make_engine, upgrade_database
from gateway.settings import Settings
from tests.support import Hospital, add_hospital, require, token_form

# Fixed data keys for every test process and the servers it starts (gateway/security/data_key.py);
# tests of the keyring itself pass their own.
os.environ.setdefault("CLAIMGW_DATA_KEYS", "test1:dGVzdC1kYXRhLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA=")
os.environ.setdefault("CLAIMGW_LOOKUP_KEY", "dGVzdC1sb29rdXAta2V5LTAwMDAwMDAwMDAwMDAwMDA=")

PG_ADMIN_URL = os.environ.get(
    "CLAIMGW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test process, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"claimgw_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        require("PostgreSQL", str(exc).splitlines()[0])
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(Settings(database_url=url))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file to copy for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade_database(Settings(database_url=f"sqlite:///{path}"))
    return path


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "claimgw.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        base_url="http://testserver",
        log_json=True,
        log_level="warning",
        rate_limit="10000/minute",
    )


@pytest.fixture
def engine(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    # Issue 10: whatever a test did through the gateway, its audit chain still verifies
    # (tests that tamper with it on purpose are marked `audit_tampered`).
    if request.node.get_closest_marker("audit_tampered") is None:
        with Session(engine) as session:
            report = verify_chain(session)
        if report.broken is not None:
            pytest.fail(f"audit chain broken after the test: {report.broken.message}")
    engine.dispose()


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def hospital(engine: Engine) -> Hospital:
    return add_hospital(engine, "10661")


@pytest.fixture
def other_hospital(engine: Engine) -> Hospital:
    return add_hospital(engine, "11512", name="Other Hospital")


def bearer(client: TestClient, hospital: Hospital, scope: str | None = None) -> dict[str, str]:
    """Authorization and content-type headers with a fresh token for the hospital."""
    response = client.post(
        "/auth/token", data=token_form(hospital, "http://testserver/auth/token", scope)
    )
    assert response.status_code == 200, response.text
    return {
        "Authorization": f"Bearer {response.json()['access_token']}",
        "Content-Type": "application/fhir+json",
    }


@pytest.fixture
def auth(client: TestClient, hospital: Hospital) -> dict[str, str]:
    return bearer(client, hospital)


@pytest.fixture
def other_auth(client: TestClient, other_hospital: Hospital) -> dict[str, str]:
    return bearer(client, other_hospital)
