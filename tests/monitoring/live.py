"""Real processes for end-to-end monitoring tests: `claimgw serve` and a Prometheus server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from tests.monitoring.promql import MONITORING
from tests.support import DATA_KEY_SETTINGS, free_port, require

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def binary(name: str) -> str:
    """Path of a Debian `prometheus` package binary; fails in CI, skips locally, when missing."""
    fallback = f"/usr/bin/{name}"
    path = shutil.which(name) or (fallback if os.path.exists(fallback) else None)
    if path is None:
        require(name, "install Debian's `prometheus` package (.ci/run does)")
    assert path is not None
    return path


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll `check` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


def _stop_group(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class GatewayProcess:
    """`claimgw serve` in its own process group."""

    database_url: str
    workdir: Path
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "gateway.log"

    def start(self) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if (not k.startswith("CLAIMGW_") or k in DATA_KEY_SETTINGS)
            and k != "PROMETHEUS_MULTIPROC_DIR"
        }
        env |= {
            "CLAIMGW_DATABASE_URL": self.database_url,
            "CLAIMGW_BASE_URL": self.url,
            "CLAIMGW_LOG_LEVEL": "warning",
            "CLAIMGW_RATE_LIMIT": "100000/minute",
            **self.extra_env,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway.cli.main",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:  # each process imports the fraud models (pyod) first: allow for slow machines
            wait_for(self._ready, timeout=90.0 * (self.workers + 1), what=f"gateway {self.url}")
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(self.log.read_text()[-3000:])
        try:
            return True if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200 else None
        except httpx.HTTPError:
            return None

    def stop(self) -> None:
        _stop_group(self.process)


@dataclass
class PrometheusProcess:
    """Debian's Prometheus on loopback, scraping one target every second, with our rules."""

    binary: str
    workdir: Path
    target: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self._config(), sort_keys=False))
        log = (self.workdir / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for(self._ready, timeout=30, what="prometheus to be ready")
        except BaseException:
            self.stop()
            raise

    def _rule_files(self) -> list[str]:
        """Our rule files, each group evaluated every second instead of its own interval."""
        written = []
        for path in sorted((MONITORING / "rules").glob("*.yml")):
            groups = [g | {"interval": "1s"} for g in yaml.safe_load(path.read_text())["groups"]]
            copy = self.workdir / path.name
            copy.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
            written.append(str(copy))
        return written

    def _config(self) -> dict[str, Any]:
        return {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": self._rule_files(),
            "scrape_configs": [
                {
                    "job_name": "claimgw",
                    "scrape_interval": "1s",
                    "scrape_timeout": "1s",
                    "static_configs": [{"targets": [self.target]}],
                }
            ],
        }

    def _ready(self) -> bool | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError((self.workdir / "prometheus.log").read_text()[-3000:])
        try:
            return True if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200 else None
        except httpx.HTTPError:
            return None

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant vector of a query, from the HTTP API."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        payload = answer.raise_for_status().json()
        assert payload["status"] == "success", payload
        result: list[dict[str, Any]] = payload["data"]["result"]
        return result

    def scalar(self, promql: str) -> float | None:
        """The value of a one-sample query, or None when it has no sample."""
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> None:
        _stop_group(self.process)


def histogram_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus's histogram_quantile on cumulative buckets {upper bound: count}."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower
