"""Schemathesis drives every documented route with generated input: no answer is a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from gateway.app import create_app
from gateway.db import make_engine, upgrade_database
from gateway.settings import Settings
from tests.conftest import bearer
from tests.support import add_hospital


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    config = Settings(
        database_url=f"sqlite:///{path}",
        base_url="http://testserver",
        rate_limit="1000000/minute",
        log_level="error",
    )
    upgrade_database(config)
    return create_app(config, engine=make_engine(config))


@pytest.fixture(scope="module")
def fuzz_headers(fuzz_app: FastAPI) -> dict[str, str]:
    hospital = add_hospital(fuzz_app.state.engine, "10661")
    with TestClient(fuzz_app) as client:
        headers = bearer(client, hospital)
    headers.pop("Content-Type")
    return headers


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(
    case: schemathesis.Case, fuzz_headers: dict[str, str]
) -> None:
    response = case.call(headers=fuzz_headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
    if response.status_code >= 400 and case.path.startswith("/fhir/Claim"):
        content_type = response.headers.get("content-type") or [""]
        assert content_type[0].startswith("application/fhir+json"), content_type
