"""The random audit: reproducible draws at the configured rate, capped per hospital per day."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway.claims.models import ClaimRecord
from gateway.review.selection import drawn_for_audit
from gateway.settings import Settings
from tests.provider_registry.factories import insure
from tests.review_support import review_settings, submit


def test_draw_is_reproducible_and_close_to_the_rate() -> None:
    settings = Settings(review_audit_rate=0.1)
    invoices = [f"INV-{i:06d}" for i in range(5_000)]
    drawn = [drawn_for_audit(settings, "10661", inv) for inv in invoices]
    assert drawn == [drawn_for_audit(settings, "10661", inv) for inv in invoices]
    assert 0.087 < sum(drawn) / len(drawn) < 0.113  # within 3 standard deviations
    other_seed = Settings(review_audit_rate=0.1, review_audit_seed="another")
    assert drawn != [drawn_for_audit(other_seed, "10661", inv) for inv in invoices]
    never = Settings(review_audit_rate=0)
    assert not any(drawn_for_audit(never, "10661", i) for i in invoices)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return review_settings(database_url, review_audit_daily_cap=2)


def test_audit_stops_at_the_daily_cap_of_a_hospital(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    insure(engine)
    outcomes = [submit(client, auth, f"INV-CAP-{i}")["outcome"] for i in range(3)]
    assert outcomes == ["queued", "queued", "complete"]
    with Session(engine) as session:
        sources = sorted(str(r.review_source) for r in session.exec(select(ClaimRecord)).all())
    assert sources == ["None", "random-audit", "random-audit"]
