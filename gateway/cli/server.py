"""Starting the API server process."""

from __future__ import annotations

import os

import uvicorn

from gateway.db import upgrade_database
from gateway.metrics.multiprocess import worker_metrics_dir
from gateway.settings import get_settings

# A spawned worker re-imports the CLI (fraud models included) before it can answer uvicorn's
# health pings; with the default 5 s, slow hosts kill and respawn workers forever.
WORKER_HEALTHCHECK_SECONDS = 90


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
    with worker_metrics_dir(workers):  # before uvicorn spawns workers that import prometheus_client
        uvicorn.run(
            "gateway.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
