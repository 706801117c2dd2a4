"""`claimgw serve --workers 2`: every worker's counts reach /metrics (prometheus multiprocess)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.monitoring.live import GatewayProcess
from tests.monitoring.scrape import Scrape

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HEALTH_CALLS = 60
METADATA_CALLS = 24


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    """Two workers; TMPDIR points into tmp_path so the metrics folder can be watched."""
    (tmp_path / "tmp").mkdir()
    server = GatewayProcess(
        database_url=database_url,
        workdir=tmp_path,
        workers=2,
        extra_env={"TMPDIR": str(tmp_path / "tmp")},
    )
    server.start()
    yield server
    server.stop()


def _fresh_connection_get(url: str) -> int:
    """One request on its own connection, so the kernel spreads them over both workers."""
    with httpx.Client(timeout=30) as http:
        return http.get(url, headers={"Connection": "close"}).status_code


def _send(server: GatewayProcess) -> None:
    urls = [f"{server.url}/healthz"] * HEALTH_CALLS
    urls += [f"{server.url}/fhir/metadata"] * METADATA_CALLS
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(_fresh_connection_get, urls)) == {200}


def _worker_pids(folder: Path) -> set[str]:
    return {
        m.group(1)
        for p in folder.glob("counter_*.db")
        if (m := re.fullmatch(r"counter_(\d+)\.db", p.name))
    }


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # the multi-worker store
def test_counters_equal_requests_sent_across_two_workers(
    two_workers: GatewayProcess, tmp_path: Path
) -> None:
    _send(two_workers)
    scrapes = [
        Scrape.parse(
            httpx.get(
                f"{two_workers.url}/metrics", headers={"Connection": "close"}, timeout=10
            ).text
        )
        for _ in range(6)
    ]
    folders = list((tmp_path / "tmp").glob("claimgw-metrics-*"))
    assert len(folders) == 1, "run_server makes one multiprocess folder"
    assert len(_worker_pids(folders[0])) >= 2, "both workers served requests"

    for scraped in scrapes:  # whichever worker answers, the merged counts are the same
        health = {"route": "/healthz", "method": "GET", "status_class": "2xx"}
        metadata = {"route": "/fhir/metadata", "method": "GET", "status_class": "2xx"}
        assert scraped.value("claimgw_http_requests_total", **health) == HEALTH_CALLS
        assert scraped.value("claimgw_http_requests_total", **metadata) == METADATA_CALLS
        assert (
            scraped.value("claimgw_http_request_duration_seconds_count", route="/healthz")
            == HEALTH_CALLS
        )
        assert scraped.value("claimgw_http_requests_in_flight") >= 1  # the scrape itself
        assert scraped.value("claimgw_database_up") == 1

    two_workers.stop()
    assert not folders[0].exists(), "the multiprocess folder is removed on shutdown"
