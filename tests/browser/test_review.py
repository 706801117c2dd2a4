"""The reviewer's working day in real Chromium against a real `claimgw serve` on SQLite.

Claims reach the queue through the random audit at rate 1, a real intake path; a reviewer and
two supervisors sign in through the login page, like people do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.db import make_engine, upgrade_database
from gateway.settings import Settings
from tests.browser.conftest import ARTEFACTS
from tests.e2e.conftest import LiveServer, insure_patients_of
from tests.review_support import STAFF_PASSWORD, add_staff
from tests.support import Hospital, add_hospital, claim_dict, token_form

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CLAIMS = 4


@dataclass
class Desk:
    """A running gateway with pended claims, a hospital and staff accounts."""

    server: LiveServer
    hospital: Hospital

    @property
    def url(self) -> str:
        return self.server.url

    def hospital_headers(self) -> dict[str, str]:
        form = token_form(self.hospital, f"{self.url}/auth/token")
        token = httpx.post(f"{self.url}/auth/token", data=form, timeout=10).json()
        return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("review-desk")
    url = f"sqlite:///{folder / 'claimgw.db'}"
    upgrade_database(Settings(database_url=url))
    engine = make_engine(Settings(database_url=url))
    hospital = add_hospital(engine, "10661")
    for name, role in (
        ("rita", "reviewer"),
        ("rob", "reviewer"),
        ("sam", "supervisor"),
        ("sue", "supervisor"),
    ):
        add_staff(engine, name, role)
    engine.dispose()
    bundles = [_claim(i) for i in range(CLAIMS)]
    insure_patients_of(url, bundles)
    server = LiveServer(
        database_url=url,
        workdir=folder,
        extra_env={"CLAIMGW_REVIEW_AUDIT_RATE": "1", "CLAIMGW_FOUR_EYES_THB": "200"},
    )
    server.start()
    desk = Desk(server, hospital)
    headers = {**desk.hospital_headers(), "Content-Type": "application/fhir+json"}
    for bundle in bundles:
        answer = httpx.post(f"{desk.url}/fhir/Claim/$submit", json=bundle, headers=headers)
        assert answer.status_code == 201, answer.text
    yield desk
    server.stop()


def _claim(i: int) -> dict[str, Any]:
    """Claims of different sizes, so that the queue has a riskiest one."""
    from decimal import Decimal as D

    from fhir_mappings.claim_bundle import LineSpec

    lines = (
        LineSpec("OPD-VISIT", "Outpatient consultation", D("150"), category="12"),
        LineSpec("LAB-CBC", "Complete blood count", D("90"), D(1 + i), category="07"),
    )
    return claim_dict(
        invoice=f"BR-{i}", lines=lines, seed_uuid=f"6f1c3a34-59d4-4b8b-9a54-0a5d3f7f2b{i:02d}"
    )


def _signed_in(browser: Any, desk: Desk, username: str) -> Any:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="th-TH")
    page = context.new_page()
    page.goto(f"{desk.url}/review")
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{desk.url}/review*")
    return page


def _shot(page: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _riskiest_unassigned(page: Any, desk: Desk) -> str:
    page.goto(f"{desk.url}/review?assignee=none&hcode=10661")
    first = page.locator("[data-testid=queue-table] tbody tr").first
    claim_id: str = first.get_attribute("data-claim-id")
    first.locator("a.claim-link").click()
    page.wait_for_url(f"**/review/claims/{claim_id}")
    return claim_id


def test_reviewer_adjusts_the_riskiest_claim_and_the_hospital_sees_it(
    browser: Any, desk: Desk
) -> None:
    page = _signed_in(browser, desk, "rita")
    assert page.get_by_test_id("signed-in-user").inner_text() == "rita"
    assert int(page.get_by_test_id("queue-total").inner_text()) == CLAIMS
    losses = [
        Decimal(cell.replace(",", ""))
        for cell in page.locator(
            "[data-testid=queue-table] tbody tr td:nth-child(4)"
        ).all_inner_texts()
    ]
    assert losses == sorted(losses, reverse=True)
    _shot(page, "review-queue")
    claim_id = _riskiest_unassigned(page, desk)
    page.get_by_test_id("assign-me").click()
    assert page.get_by_test_id("assignee").inner_text() == "rita"
    _shot(page, "review-claim")
    page.check("#decision-adjust")
    page.fill("#benefit-1", "100")
    page.fill("#note", "visit fee above the usual for this hospital")
    page.fill("#message_to_hospital", "Line 1 is paid at the usual consultation fee.")
    page.get_by_test_id("submit-decision").click()
    page.wait_for_url("**/review?decided=*")
    assert page.get_by_test_id("decided-banner").is_visible()

    reads = httpx.get(
        f"{desk.url}/fhir/ClaimResponse",
        params={"request": f"Claim/{claim_id}"},
        headers=desk.hospital_headers(),
    ).json()
    response = reads["entry"][0]["resource"]
    assert response["meta"]["versionId"] == "2"
    assert response["outcome"] == "partial"
    assert "usual consultation fee" in response["processNote"][-1]["text"]
    assert "visit fee above" not in str(response)


def test_large_denial_is_approved_by_a_second_supervisor_in_another_browser(
    browser: Any, desk: Desk
) -> None:
    first = _signed_in(browser, desk, "sam")
    claim_id = _riskiest_unassigned(first, desk)
    first.get_by_test_id("assign-me").click()
    first.check("#decision-deny")
    first.fill("#note", "the patient was abroad on the service date")
    first.get_by_test_id("submit-decision").click()
    first.wait_for_url(f"**/review/claims/{claim_id}?sent=second-approval")
    assert "pending_second_approval" in first.get_by_test_id("claim-status").inner_text()
    assert first.get_by_test_id("submit-second-approval").count() == 1  # the form is shown …
    first.fill("#second-note", "I agree with myself")
    first.get_by_test_id("submit-second-approval").click()
    assert first.get_by_test_id("error-summary").is_visible()  # … but the same person is refused

    second = _signed_in(browser, desk, "sue")
    second.goto(f"{desk.url}/review/supervisor")
    second.locator(f"[data-testid=awaiting-second] a[href='/review/claims/{claim_id}']").click()
    second.check("#approve-yes")
    second.fill("#second-note", "confirmed with the passport record")
    second.get_by_test_id("submit-second-approval").click()
    second.wait_for_url("**/review/supervisor")
    second.goto(f"{desk.url}/review/claims/{claim_id}")
    assert "denied" in second.get_by_test_id("claim-status").inner_text()
    _shot(second, "review-supervisor-after-second-approval")


def test_two_reviewers_on_one_claim_only_the_first_gets_it(browser: Any, desk: Desk) -> None:
    rita, rob = _signed_in(browser, desk, "rita"), _signed_in(browser, desk, "rob")
    claim_id = _riskiest_unassigned(rita, desk)
    rob.goto(f"{desk.url}/review/claims/{claim_id}")
    rita.get_by_test_id("assign-me").click()
    rob.get_by_test_id("assign-me").click()
    assert rita.get_by_test_id("assignee").inner_text() == "rita"
    assert "rita" in rob.get_by_test_id("error-summary").inner_text()


def test_logged_out_hospital_and_wrong_role_are_refused(browser: Any, desk: Desk) -> None:
    context = browser.new_context()
    anonymous = context.new_page()
    anonymous.goto(f"{desk.url}/review/supervisor")
    assert "/login" in anonymous.url
    hospital = httpx.get(f"{desk.url}/review", headers=desk.hospital_headers())
    assert hospital.status_code == 403
    reviewer = _signed_in(browser, desk, "rob")
    answer = reviewer.goto(f"{desk.url}/review/supervisor")
    assert answer.status == 403
