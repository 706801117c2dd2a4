"""Starting the API server process."""

from __future__ import annotations

import os

import uvicorn

from gateway.db import upgrade_database
from gateway.settings import get_settings


def default_base_url(host: str, port: int) -> None:
    """Use http://host:port as the public base URL unless CLAIMGW_BASE_URL says otherwise."""
    if "CLAIMGW_BASE_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["CLAIMGW_BASE_URL"] = f"http://{shown}:{port}"
        get_settings.cache_clear()


def run_server(*, host: str, port: int, workers: int) -> None:
    """Migrate, then run uvicorn with the application factory."""
    default_base_url(host, port)
    upgrade_database(get_settings())
    uvicorn.run("gateway.app:app_from_environment", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False)
