"""A staff member signs in and out in real Chromium against a real server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import STAFF_PASSWORD, sign_in, staff_username
from tests.monitoring.live import GatewayProcess

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_sign_in_see_the_name_sign_out_and_be_sent_back_to_login(
    page: Page, staff_server: GatewayProcess, artefacts: Path
) -> None:
    console_errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", on_console)
    page.goto("/")
    assert page.url == f"{staff_server.url}/login?next=/"
    username = staff_username("auditor")

    sign_in(page, username, password=STAFF_PASSWORD + "x")
    summary = page.get_by_test_id("error-summary")
    assert "There is a problem" in summary.inner_text()
    summary.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "password"
    page.screenshot(path=str(artefacts / "login-error.png"), full_page=True)

    sign_in(page, username)
    assert page.url == f"{staff_server.url}/"
    assert page.get_by_test_id("signed-in-user").inner_text() == username
    assert page.get_by_role("heading", level=1).inner_text().startswith(f"Signed in as {username}")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["claimgw_session"]["httpOnly"]
    assert cookies["claimgw_session"]["sameSite"] == "Lax"
    assert page.evaluate("typeof htmx") == "object"  # the vendored copy loaded under the CSP
    page.screenshot(path=str(artefacts / "staff-home.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{staff_server.url}/login")
    page.goto("/review")
    assert page.url == f"{staff_server.url}/login?next=/review"
    assert page.get_by_label("Username").is_visible()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
