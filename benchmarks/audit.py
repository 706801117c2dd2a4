"""Audit-chain benchmark: the intake cost of hash-chaining audit events (target < 5 %).

Submits the same kind of claims through the real intake service (parse, profile, price,
score, one transaction with its audit rows) in interleaved rounds: with the hash chain on, and
with it off as the baseline measured in the same run. Prints the ratio of the median time per
claim, on SQLite and (unless --skip-postgres) PostgreSQL. The machine is shared and noisy, so
only the ratio means anything.

Usage: python benchmarks/audit.py [--claims 60] [--rounds 6] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.app import create_app  # noqa: E402
from gateway.audit import chain  # noqa: E402
from gateway.auth.tokens import SUPPORTED_SCOPES, AccessGrant  # noqa: E402
from gateway.db import make_engine, upgrade_database  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from tests.support import add_hospital, claim_bytes  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _round(intake: object, grant: AccessGrant, claims: int, tag: str) -> float:
    started = time.perf_counter()
    for i in range(claims):
        result = intake.submit(  # type: ignore[attr-defined]
            grant=grant, body=claim_bytes(invoice=f"B{tag}-{i}"), idempotency_key=None
        )
        assert result.status == 201, result.body
    return (time.perf_counter() - started) / claims


def measure(url: str, claims: int, rounds: int) -> tuple[float, float]:
    """Median seconds per claim with the chain on and off."""
    settings = Settings(database_url=url, log_level="error", base_url="http://bench")
    upgrade_database(settings)
    engine = make_engine(settings)
    app = create_app(settings, engine=engine)
    hospital = add_hospital(engine, "10661")
    grant = AccessGrant(
        client_id=hospital.client_id, hcode="10661", scopes=frozenset(SUPPORTED_SCOPES)
    )
    intake = app.state.intake
    _round(intake, grant, 5, "warm")
    on, off = [], []
    for r in range(rounds):
        on.append(_round(intake, grant, claims, f"on{r}"))
        event.remove(Session, "before_flush", chain._chain_new_rows)
        try:
            off.append(_round(intake, grant, claims, f"off{r}"))
        finally:
            event.listen(Session, "before_flush", chain._chain_new_rows)
    engine.dispose()
    return statistics.median(on), statistics.median(off)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    targets = {"sqlite": f"sqlite:///{tempfile.mkdtemp()}/bench.db"}
    admin = None
    if not args.skip_postgres:
        name = f"claimgw_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        targets["postgresql"] = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        for kind, url in targets.items():
            with_chain, baseline = measure(url, args.claims, args.rounds)
            ratio = with_chain / baseline
            print(
                f"{kind}: {with_chain * 1000:.2f} ms/claim with the chain, "
                f"{baseline * 1000:.2f} ms without; ratio {ratio:.3f} "
                f"({(ratio - 1) * 100:+.1f} %, target < +5 %)"
            )
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
