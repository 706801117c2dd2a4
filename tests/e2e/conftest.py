"""The real gateway as a subprocess, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.db import make_engine, session_scope
from gateway.security.data_key import person_key
from gateway.settings import Settings
from provider_registry.roster import upsert_member
from provider_registry.roster_synthetic import roster_for_bundles
from tests.monitoring.live import GatewayProcess
from tests.provider_registry.factories import insure
from tests.support import Hospital, add_hospital

ROOT = Path(__file__).resolve().parents[2]


class LiveServer(GatewayProcess):
    """A `claimgw serve` process that tests can also SIGKILL and restart."""

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no flushing."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(database_url=database_url, workdir=tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_hospital(database_url: str) -> Hospital:
    """Hospital 10661 with a key, and the test patient insured there."""
    engine = make_engine(Settings(database_url=database_url))
    try:
        hospital = add_hospital(engine, "10661")
        insure(engine)
        return hospital
    finally:
        engine.dispose()


def insure_patients_of(database_url: str, bundles: list[dict[str, object]]) -> None:
    """Put every patient of these bundles on the roster, registered where they were billed."""
    engine = make_engine(Settings(database_url=database_url))
    with session_scope(engine) as session:
        for row in roster_for_bundles(bundles):
            upsert_member(session, row, person_key)
    engine.dispose()


def key_file(hospital: Hospital, folder: Path) -> Path:
    path = folder / f"{hospital.hcode}.pem"
    path.write_bytes(hospital.key_pem)
    return path
