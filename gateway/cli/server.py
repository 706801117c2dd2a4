"""Starting the API server process."""

from __future__ import annotations

import errno
import os
import socket
import threading
import time

# A spawned worker re-imports the CLI (fraud models included) before it can answer uvicorn's
# health pings; with the default 5 s, slow hosts kill and respawn workers forever.
WORKER_HEALTHCHECK_SECONDS = 90
LISTEN_WAIT_SECONDS = 300


def default_base_url(host: str, port: int) -> None:
    """Use http://host:port as the public base URL unless CLAIMGW_BASE_URL says otherwise."""
    from gateway.settings import get_settings

    if "CLAIMGW_BASE_URL" not in os.environ:
        os.environ["CLAIMGW_BASE_URL"] = f"http://{_reachable(host)}:{port}"
        get_settings.cache_clear()


def _reachable(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (in use, not allowed), or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def announce_when_listening(host: str, port: int, base_url: str) -> threading.Thread:
    """Print one line as soon as the server accepts connections (a background thread)."""

    def wait() -> None:
        deadline = time.monotonic() + LISTEN_WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((_reachable(host), port), timeout=1):
                    print(f"listening on {base_url} (Ctrl+C stops it)", flush=True)
                    return
            except OSError:
                time.sleep(0.2)

    thread = threading.Thread(target=wait, name="announce-listening", daemon=True)
    thread.start()
    return thread


def run_server(*, host: str, port: int, workers: int, worker: bool = False) -> None:
    """Migrate, then run uvicorn with the application factory (and delivery, with `worker`)."""
    import uvicorn

    from gateway.db import upgrade_database
    from gateway.metrics.multiprocess import worker_metrics_dir
    from gateway.settings import get_settings

    default_base_url(host, port)
    if worker:  # every server process then runs a delivery worker too (gateway/app.py)
        os.environ["CLAIMGW_DELIVERY_WORKER"] = "true"
        get_settings.cache_clear()
    from gateway.security.data_key import adopt_dev_data_keys
    from gateway.security.secrets import adopt_dev_token_secret

    for adopt in (adopt_dev_token_secret, adopt_dev_data_keys):  # dev: never a known secret
        said = adopt(get_settings())
        if said:
            print(said, flush=True)
            get_settings.cache_clear()
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
