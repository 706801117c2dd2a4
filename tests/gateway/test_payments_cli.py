"""`claimgw payments` as finance runs it: a run SIGKILLed midway leaves whole batches only."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from click.testing import Result
from fhir.resources.R4B.paymentreconciliation import PaymentReconciliation
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from gateway.claims.models import AuditEvent, ClaimRecord, OutboxMessage, ReimbursementQueueEntry
from gateway.payments.models import PaymentBatch, PaymentBatchClaim
from gateway.settings import get_settings
from tests.gateway.test_payments import approved_claim
from tests.support import DATA_KEY_SETTINGS, add_hospital

HOSPITALS = ("10661", "11512", "23760")


def claimgw(
    *args: str, database_url: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith("CLAIMGW_") or k in DATA_KEY_SETTINGS)
    }
    clean |= {"CLAIMGW_DATABASE_URL": database_url, "CLAIMGW_LOG_LEVEL": "warning", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", *args],
        cwd=cwd,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _count(engine: Engine, query: object) -> int:
    with Session(engine) as session:
        return int(session.exec(query).one())  # type: ignore[call-overload]


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """`claimgw` in this process (a subprocess costs seconds of start-up per call)."""
    from typer.testing import CliRunner

    from gateway.cli.main import app

    monkeypatch.setenv("CLAIMGW_DATABASE_URL", database_url)
    monkeypatch.setenv("CLAIMGW_LOG_LEVEL", "warning")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()
    structlog.reset_defaults()  # the commands pointed this process's logs at stderr


@pytest.fixture
def month_of_claims(engine: Engine) -> dict[str, Decimal]:
    """Eight approved claims at each of three hospitals; the THB each is owed."""
    owed = {}
    for index, hcode in enumerate(HOSPITALS):
        add_hospital(engine, hcode)
        amounts = [Decimal(100 + index) + Decimal(i) / 100 for i in range(8)]
        for amount in amounts:
            approved_claim(engine, hcode, amount=str(amount))
        owed[hcode] = sum(amounts, Decimal(0))
    return owed


def test_sigkill_mid_run_leaves_whole_batches_and_a_rerun_completes_the_period(
    database_url: str,
    engine: Engine,
    tmp_path: Path,
    month_of_claims: dict[str, Decimal],
    cli: Callable[..., Result],
) -> None:
    run = claimgw(
        "payments",
        "run",
        "--period",
        "2026-11",
        database_url=database_url,
        cwd=tmp_path,
        env={"CLAIMGW_PAYMENTS_PAUSE_SECONDS": "4"},
    )
    deadline = time.monotonic() + 90
    while _count(engine, select(func.count()).select_from(PaymentBatch)) == 0:
        assert run.poll() is None, run.stderr.read() if run.stderr else ""
        assert time.monotonic() < deadline, "the first batch never committed"
        time.sleep(0.1)
    time.sleep(1.5)  # the second hospital's batch is written now, its transaction still open
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=30)

    with Session(engine) as session:
        batches = session.exec(select(PaymentBatch)).all()
        assert len(batches) == 1
        batch = batches[0]
        in_batch = session.exec(select(PaymentBatchClaim.claim_id)).all()
        batched = session.exec(
            select(func.count()).where(col(ClaimRecord.status) == "batched")
        ).one()
        queue_done = session.exec(
            select(func.count()).where(col(ReimbursementQueueEntry.batched_at).is_not(None))
        ).one()
        events = session.exec(
            select(func.count()).where(col(AuditEvent.action) == "claim.batched")
        ).one()
        outbox = session.exec(
            select(func.count()).where(col(OutboxMessage.topic) == "payment.reconciliation")
        ).one()
    assert len(in_batch) == batch.claims == batched == queue_done == events == 8
    assert outbox == 1
    assert batch.amount == month_of_claims[batch.hcode]

    rerun = cli("payments", "run", "--period", "2026-11", "--json")
    assert rerun.exit_code == 0, rerun.output
    hcodes = sorted(b["hcode"] for b in json.loads(rerun.stdout)["batches"])
    assert hcodes == sorted(set(HOSPITALS) - {batch.hcode})
    again = cli("payments", "run", "--period", "2026-11", "--json")
    assert (again.exit_code, json.loads(again.stdout)["batches"]) == (0, [])
    with Session(engine) as session:
        claims = session.exec(select(PaymentBatchClaim.claim_id)).all()
        total = Decimal(session.exec(select(func.sum(PaymentBatch.amount))).one())
    assert len(claims) == len(set(claims)) == 24
    assert total == sum(month_of_claims.values(), Decimal(0))


def test_list_export_and_confirm_from_the_command_line(
    cli: Callable[..., Result],
    tmp_path: Path,
    month_of_claims: dict[str, Decimal],
) -> None:
    ran = cli("payments", "run", "--period", "2026-11", "--json")
    assert ran.exit_code == 0, ran.output
    batch = next(b for b in json.loads(ran.stdout)["batches"] if b["hcode"] == "10661")
    listed = json.loads(cli("payments", "list", "--status", "open", "--json").stdout)
    assert batch["batch_id"] in {b["batch_id"] for b in listed}
    statement = tmp_path / "s.csv"
    exported = cli("payments", "export", "--batch", batch["batch_id"], "--out", str(statement))
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(statement.open(encoding="utf-8")))
    assert len(rows) == 8
    assert sum(Decimal(r["benefit"]) for r in rows) == month_of_claims["10661"]
    fhir = tmp_path / "s.json"
    args = ("--batch", batch["batch_id"], "--format", "fhir", "--out", str(fhir))
    assert cli("payments", "export", *args).exit_code == 0
    resource = json.loads(fhir.read_text())
    PaymentReconciliation.model_validate(resource)
    assert Decimal(str(resource["paymentAmount"]["value"])) == month_of_claims["10661"]
    confirm = ("payments", "confirm", "--batch", batch["batch_id"], "--reference", "KTB-001")
    first, second = cli(*confirm), cli(*confirm)
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert "8 claims paid" in first.stdout
    assert "already confirmed" in second.stdout
    confirmed = json.loads(cli("payments", "list", "--status", "confirmed", "--json").stdout)
    assert [b["bank_reference"] for b in confirmed] == ["KTB-001"]
    missing = cli("payments", "export", "--batch", "nope", "--out", str(tmp_path / "x.csv"))
    assert missing.exit_code == 1
    assert "no payment batch" in missing.stderr
    assert cli("payments", "run", "--period", "2026-13").exit_code == 1
