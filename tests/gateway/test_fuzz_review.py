"""Schemathesis drives the review API as a signed-in supervisor: no generated input gets a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from gateway.app import create_app
from gateway.db import make_engine, upgrade_database
from gateway.settings import Settings
from tests.gateway.staff_helpers import staff_bearer
from tests.review_support import add_staff


@pytest.fixture(scope="module")
def review_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    path = tmp_path_factory.mktemp("fuzz-review") / "fuzz.db"
    config = Settings(
        database_url=f"sqlite:///{path}", base_url="http://testserver", log_level="error"
    )
    upgrade_database(config)
    return create_app(config, engine=make_engine(config))


@pytest.fixture(scope="module")
def supervisor_headers(review_app: FastAPI) -> dict[str, str]:
    add_staff(review_app.state.engine, "fuzzy", "supervisor")
    with TestClient(review_app) as client:
        return staff_bearer(client, "fuzzy")


@pytest.fixture(scope="module")
def review_schema(review_app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", review_app).include(
        path_regex="^/api/review"
    )


schema = schemathesis.pytest.from_fixture("review_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_review_request_gets_a_server_error(
    case: schemathesis.Case, supervisor_headers: dict[str, str]
) -> None:
    response = case.call(headers=supervisor_headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
