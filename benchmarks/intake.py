"""Intake benchmark: the real HTTP server against a parsing baseline measured in the same run.

`benchmarks/targets.py` (run by `make bench`) measures these figures and the rest of issue 12's
table on the realistic path (with a promoted fraud model); this script is the older, lighter
variant without a model, kept for comparison with earlier figures.

Prints two ratios (the machine is shared and noisy, so absolute times say little):
1. mean end-to-end time per claim (one worker; SQLite and PostgreSQL) divided by the time
   fhir.resources `R4B.Bundle.model_validate_json` takes for the same bytes
   (target <= 3, next <= 1.5);
2. throughput with two server workers divided by throughput with one, on PostgreSQL
   (issue 12: report it, with the load average).
Also prints the share of in-process pipeline time spent in the pricing step (eligibility and
tariffs), from timing the configured pricer around real submissions.

Usage: python benchmarks/intake.py [--claims 300] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fraud.synth import SynthHospital, generate_bundles  # noqa: E402
from gateway.client import GatewayClient  # noqa: E402
from gateway.db import make_engine, session_scope, upgrade_database  # noqa: E402
from gateway.logs import configure_logging  # noqa: E402
from gateway.security.data_key import person_key  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from provider_registry.roster import upsert_member  # noqa: E402
from provider_registry.roster_synthetic import roster_for_bundles  # noqa: E402
from tests.e2e.conftest import LiveServer  # noqa: E402
from tests.support import add_hospital  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HCODE = "10661"


@dataclass(frozen=True)
class Target:
    """A database to run the server on."""

    name: str
    url: str


def make_bundles(count: int, seed: int) -> list[bytes]:
    hospitals = [SynthHospital(HCODE, "Bench Hospital")]
    return [
        orjson.dumps(b)
        for b in generate_bundles(
            claims=count, seed=seed, hospitals=hospitals, end=date(2026, 11, 1)
        )
    ]


def insure_patients(engine: Engine, bundles: list[bytes]) -> None:
    """Put every patient of the bundles on the roster, so that claims are really priced."""
    with session_scope(engine) as session:
        for row in roster_for_bundles(orjson.loads(b) for b in bundles):
            upsert_member(session, row, person_key)


def parse_baseline(bundles: list[bytes], rounds: int = 3) -> float:
    """Mean seconds per bundle for R4B.Bundle.model_validate_json (best of rounds)."""
    Bundle.model_validate_json(bundles[0])
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for body in bundles:
            Bundle.model_validate_json(body)
        best = min(best, (time.perf_counter() - start) / len(bundles))
    return best


def durable_commit_baseline(workdir: Path, commits: int = 200) -> float:
    """Mean seconds of one fsync'd SQLite WAL commit on this disk (the floor of a durable ack)."""
    import sqlite3

    path = workdir / f"fsync-{uuid.uuid4().hex[:6]}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (x TEXT)")
    start = time.perf_counter()
    for _ in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?)", ("x" * 4000,))
        conn.execute("COMMIT")
    conn.close()
    return (time.perf_counter() - start) / commits


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[Target]:
    if kind == "sqlite":
        yield Target("SQLite", f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}")
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"claimgw_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield Target("PostgreSQL", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepared_server(
    target: Target, workdir: Path, workers: int, bundles: list[bytes]
) -> tuple[LiveServer, Path, str]:
    settings = Settings(database_url=target.url)
    upgrade_database(settings)
    engine = make_engine(settings)
    hospital = add_hospital(engine, HCODE)
    insure_patients(engine, bundles)
    engine.dispose()
    key = workdir / f"{uuid.uuid4().hex[:6]}.pem"
    key.write_bytes(hospital.key_pem)
    server = LiveServer(database_url=target.url, workdir=workdir, workers=workers)
    server.start()
    return server, key, hospital.client_id


def sequential_mean(server: LiveServer, key: Path, client_id: str, bundles: list[bytes]) -> float:
    """Mean seconds per claim, one client, one request at a time, warm connection."""
    client = GatewayClient(server.url, client_id, key)
    client.submit(bundles[0])
    start = time.perf_counter()
    for body in bundles[1:]:
        answer = client.submit(body)
        assert answer.status == 201, answer.body
    elapsed = time.perf_counter() - start
    client.close()
    return elapsed / (len(bundles) - 1)


def _client_worker(args: tuple[str, str, str, list[bytes]]) -> int:
    url, client_id, key, bundles = args
    client = GatewayClient(url, client_id, Path(key))
    for body in bundles:
        assert client.submit(body).status == 201
    client.close()
    return len(bundles)


def wrk_throughput(
    server: LiveServer,
    key: Path,
    client_id: str,
    bundles: list[bytes],
    workdir: Path,
    seconds: int = 10,
) -> float:
    """Stored claims per second under wrk (a C load generator): 2 threads, 8 connections."""
    client = GatewayClient(server.url, client_id, key)
    token = client.token()
    client.submit(bundles[0])
    client.close()
    path = workdir / f"wrk-{uuid.uuid4().hex[:6]}.ndjson"
    path.write_bytes(b"\n".join(bundles[1:]) + b"\n")
    script = Path(__file__).with_name("submit.lua")
    done = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            "8",
            "-d",
            f"{seconds}s",
            "-s",
            str(script),
            server.url,
            "--",
            str(path),
            token,
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    fields = done.stdout.split("CREATED", 1)[1].split()
    created, other, elapsed = int(fields[0]), int(fields[2]), float(fields[4])
    if other:
        print(f"  note: {other} answers were not 201", file=sys.stderr)
    return created / elapsed


def throughput(
    server: LiveServer, key: Path, client_id: str, bundles: list[bytes], clients: int
) -> float:
    """Claims per second with `clients` client processes sending at once."""
    shares = [bundles[i::clients] for i in range(clients)]
    with ProcessPoolExecutor(max_workers=clients) as pool:
        list(pool.map(_client_worker, [(server.url, client_id, str(key), [])] * clients))
        start = time.perf_counter()
        sent = sum(pool.map(_client_worker, [(server.url, client_id, str(key), s) for s in shares]))
        elapsed = time.perf_counter() - start
    return sent / elapsed


def pricing_share(bundles: list[bytes], workdir: Path) -> float:
    """Share of in-process submit time spent in the configured pricing step, on SQLite."""
    from gateway.auth.tokens import AccessGrant
    from gateway.claims.service import ClaimIntake
    from gateway.pipeline import build_pipeline

    settings = Settings(database_url=f"sqlite:///{workdir / 'share.db'}")
    upgrade_database(settings)
    engine = make_engine(settings)
    add_hospital(engine, HCODE)
    insure_patients(engine, bundles)
    pipeline = build_pipeline(settings, engine)
    spent = [0.0]

    def timed_price(session, claim):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return pipeline.price(session, claim)
        finally:
            spent[0] += time.perf_counter() - start

    from dataclasses import replace

    intake = ClaimIntake(engine, settings, replace(pipeline, price=timed_price))
    grant = AccessGrant(client_id="bench", hcode=HCODE, scopes=frozenset())
    start = time.perf_counter()
    for body in bundles:
        intake.submit(grant=grant, body=body, idempotency_key=None)
    total = time.perf_counter() - start
    engine.dispose()
    return spent[0] / total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument(
        "--throughput-claims",
        type=int,
        default=4000,
        help="distinct bundles available to the throughput runs",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    options = parser.parse_args()
    configure_logging("warning")
    kinds = ["sqlite"] if options.skip_postgres else ["sqlite", "postgres"]
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        fsync = durable_commit_baseline(workdir)
        for kind in kinds:
            bundles = make_bundles(options.claims, seed=101 + len(results))
            baseline = parse_baseline(bundles)
            print(
                f"{'':10s} one durable (fsync) commit on this disk: {fsync * 1000:6.2f} ms "
                f"= {fsync / baseline:4.2f} x parse"
            )
            with database(kind, workdir) as target:
                server, key, client_id = prepared_server(target, workdir, 1, bundles)
                try:
                    mean = sequential_mean(server, key, client_id, bundles)
                finally:
                    server.stop()
            results[f"{target.name} end-to-end / parse"] = mean / baseline
            print(
                f"{target.name:10s} end-to-end {mean * 1000:7.2f} ms/claim, "
                f"parse {baseline * 1000:6.2f} ms/claim, "
                f"ratio {mean / baseline:5.2f} (target <= 3, next <= 1.5)"
            )
        if not options.skip_postgres:
            rates = {}
            use_wrk = shutil.which("wrk") is not None
            print(
                "load generator:",
                "wrk" if use_wrk else "4 Python client processes (install wrk for a fairer figure)",
            )
            for workers in (1, 2):
                bundles = make_bundles(options.throughput_claims, seed=300 + workers)
                with database("postgres", workdir) as target:
                    server, key, client_id = prepared_server(target, workdir, workers, bundles)
                    try:
                        rates[workers] = (
                            wrk_throughput(server, key, client_id, bundles, workdir)
                            if use_wrk
                            else throughput(server, key, client_id, bundles, clients=4)
                        )
                    finally:
                        server.stop()
            results["PostgreSQL 2 workers / 1 worker"] = rates[2] / rates[1]
            print(
                f"PostgreSQL throughput 1 worker {rates[1]:6.1f}/s, 2 workers {rates[2]:6.1f}/s, "
                f"ratio {rates[2] / rates[1]:4.2f} (report it; load {os.getloadavg()[0]:.2f})"
            )
        share = pricing_share(make_bundles(min(options.claims, 200), seed=77), workdir)
        results["pricing share of pipeline"] = share
        print(
            f"eligibility and pricing: {share * 100:4.1f}% of in-process pipeline time "
            "(target < 15%)"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "intake.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
