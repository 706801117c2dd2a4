"""A finance officer closes the month in real Chromium against a real `claimgw serve`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from gateway.db import make_engine, upgrade_database
from gateway.settings import Settings
from tests.browser.conftest import ARTEFACTS, new_page, sign_in
from tests.e2e.conftest import LiveServer, insure_patients_of
from tests.review_support import add_staff
from tests.support import add_hospital, claim_dict, token_form

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def paying_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A gateway whose three accepted claims wait on the reimbursement queue."""
    folder = tmp_path_factory.mktemp("payments-desk")
    url = f"sqlite:///{folder / 'claimgw.db'}"
    upgrade_database(Settings(database_url=url))
    engine = make_engine(Settings(database_url=url))
    hospital = add_hospital(engine, "10661")
    add_staff(engine, "fin", "finance")
    engine.dispose()
    bundles = [
        claim_dict(invoice=f"PAY-{i}", seed_uuid=f"6f1c3a34-59d4-4b8b-9a54-0a5d3f7f2c{i:02d}")
        for i in range(3)
    ]
    insure_patients_of(url, bundles)
    server = LiveServer(
        database_url=url, workdir=folder, extra_env={"CLAIMGW_REVIEW_AUDIT_RATE": "0"}
    )
    server.start()
    form = token_form(hospital, f"{server.url}/auth/token")
    token = httpx.post(f"{server.url}/auth/token", data=form, timeout=10).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    for bundle in bundles:
        answer = httpx.post(f"{server.url}/fhir/Claim/$submit", json=bundle, headers=headers)
        assert answer.status_code == 201, answer.text
        assert answer.json()["entry"][0]["resource"]["outcome"] == "complete"
    yield server
    server.stop()


def test_finance_runs_the_month_exports_and_confirms_once(
    browser: Any, paying_desk: LiveServer
) -> None:
    page = new_page(browser, paying_desk)
    sign_in(page, "fin", next_path="/payments")
    period = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    page.goto("/payments")
    page.fill("#period", period)
    page.get_by_role("button", name="Run payments").click()
    page.wait_for_load_state("load")
    rows = page.locator("[data-testid=batches] tbody tr")
    assert rows.count() == 1
    assert "10661" in rows.first.inner_text()
    assert "810.00" in rows.first.inner_text()  # 3 claims × 270 THB, to the satang
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    csv_lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert csv_lines[0] == "batch_id,hcode,claim_id,invoice,service_date,benefit"
    assert len(csv_lines) == 4

    page.locator("input[name=reference]").first.fill("BANK-2026-11-001")
    page.get_by_role("button", name="Confirm paid").first.click()
    page.wait_for_load_state("load")
    paid = page.locator("[data-testid=batches] tbody tr").first.inner_text()
    assert "Paid" in paid
    assert "BANK-2026-11-001" in paid
    assert page.get_by_role("button", name="Confirm paid").count() == 0  # nothing to pay twice
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "payments.png"), full_page=True)

    page.fill("#period", period)
    page.get_by_role("button", name="Run payments").click()  # the same month again
    page.wait_for_load_state("load")
    assert page.locator("[data-testid=batches] tbody tr").count() == 1  # nothing new
    page.context.close()
