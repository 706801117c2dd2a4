"""Real Chromium against a real `claimgw serve` on SQLite, with staff accounts to sign in as.

Shared by every browser test: `staff_server` (a fresh gateway with one user per role, all
with STAFF_PASSWORD), `browser` (Debian's chromium through Playwright), `page` (a fresh
context on the server), `artefacts` (var/test-artifacts/, kept after the run) and
`make_staff_user(database_url, username, role, password)` for more accounts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gateway.db import upgrade_database
from gateway.settings import Settings
from provider_registry.staff import Role
from tests.gateway.staff_helpers import PASSWORD as STAFF_PASSWORD
from tests.gateway.staff_helpers import make_staff_user
from tests.monitoring.live import GatewayProcess
from tests.support import require

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

__all__ = ["STAFF_PASSWORD", "make_staff_user", "staff_username"]


def staff_username(role: Role | str) -> str:
    """The seeded account of a role on `staff_server`: reviewer1, supervisor1, …"""
    return f"{Role(role).value}1"


@pytest.fixture
def staff_server(tmp_path: Path) -> Iterator[GatewayProcess]:
    """`claimgw serve` on a fresh SQLite database with one account per role."""
    database_url = f"sqlite:///{tmp_path / 'claimgw.db'}"
    upgrade_database(Settings(database_url=database_url))
    for role in Role:
        make_staff_user(database_url, staff_username(role), role.value, STAFF_PASSWORD)
    server = GatewayProcess(database_url=database_url, workdir=tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, driven by Playwright."""
    if not os.path.exists(CHROMIUM):
        require("Chromium", f"{CHROMIUM} is missing; install Debian's chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def artefacts() -> Path:
    """Where screenshots go (gitignored, kept after the run for people and CI to look at)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


def new_page(browser: Browser, server: GatewayProcess, **context: Any) -> Page:
    """A page in a fresh browser context (its own cookies) on the server."""
    options: dict[str, Any] = {"base_url": server.url, "viewport": {"width": 1280, "height": 800}}
    return browser.new_context(**(options | context)).new_page()


@pytest.fixture
def page(browser: Browser, staff_server: GatewayProcess) -> Iterator[Page]:
    """A page in a fresh context on `staff_server`."""
    opened = new_page(browser, staff_server)
    yield opened
    opened.context.close()


def sign_in(
    page: Page, username: str, password: str = STAFF_PASSWORD, next_path: str = "/"
) -> None:
    """Sign in through the login form, as a person would (keyboard and button)."""
    page.goto(f"/login?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
