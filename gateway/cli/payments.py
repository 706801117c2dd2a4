"""`claimgw payments run|list|export|confirm`: close a period, export, confirm payment."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.output import console, fail, id_column, print_json, print_rows

app = typer.Typer(help="Payment runs, batches, statements and confirmation.", no_args_is_help=True)


def logs_to_stderr() -> None:
    """Structured logs on stderr at the configured level, so stdout stays the command's output."""
    import sys

    import structlog

    from gateway.logs import configure_logging
    from gateway.settings import get_settings

    class CurrentStderr:
        """Whatever sys.stderr is when a line is written (test runners swap it)."""

        def write(self, text: str) -> int:
            return sys.stderr.write(text)

        def flush(self) -> None:
            sys.stderr.flush()

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(CurrentStderr()))  # type: ignore[arg-type]


def _actor() -> str:
    """Who runs the command, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"[:100]
    except (KeyError, OSError):
        return "cli"


@app.command("run")
def run(
    period: Annotated[str, typer.Option(help="The month to close, YYYY-MM (Bangkok time)")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Batch every claim approved in the period and not yet batched: one batch per hospital."""
    logs_to_stderr()
    from gateway.cli.database import engine_for_writing
    from gateway.payments.service import PaymentError, run_payments
    from gateway.settings import get_settings

    settings = get_settings()
    engine = engine_for_writing(settings)
    try:
        result = run_payments(
            engine, period=period, actor=_actor(), pause_seconds=settings.payments_pause_seconds
        )
    except PaymentError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        print_json(result.as_json())
        return
    print_rows(
        f"Payment run {result.run_id} for {result.period}",
        [id_column("batch"), id_column("hcode"), "claims", "amount (THB)"],
        [[b.batch_id, b.hcode, b.claims, f"{b.amount:,.2f}"] for b in result.batches],
    )
    if not result.batches:
        console.print("nothing left to batch in this period")


@app.command("list")
def list_batches(
    status: Annotated[str | None, typer.Option(help="open or confirmed")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Payment batches, newest first."""
    logs_to_stderr()
    from sqlmodel import Session

    from gateway.cli.database import engine_for_reading
    from gateway.payments import service

    engine = engine_for_reading()
    try:
        with Session(engine) as session:
            rows = service.list_batches(session, status)
    except service.PaymentError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        print_json(rows)
        return
    print_rows(
        "Payment batches",
        [
            id_column("batch"),
            "period",
            id_column("hcode"),
            "status",
            "claims",
            "amount (THB)",
            "reference",
        ],
        [
            [
                r["batch_id"],
                r["period"],
                r["hcode"],
                r["status"],
                r["claims"],
                r["amount"],
                r["bank_reference"] or "",
            ]
            for r in rows
        ],
    )


@app.command("export")
def export(
    batch: Annotated[str, typer.Option(help="Batch id")],
    out: Annotated[Path, typer.Option(help="Where to write the statement")],
    format_: Annotated[str, typer.Option("--format", help="csv or fhir")] = "csv",
) -> None:
    """Write a batch's statement: CSV, or a FHIR PaymentReconciliation (JSON)."""
    logs_to_stderr()
    import orjson
    from sqlmodel import Session

    from gateway.cli.database import engine_for_reading
    from gateway.payments import service
    from gateway.settings import get_settings

    if format_ not in ("csv", "fhir"):
        fail("--format must be csv or fhir")
    settings = get_settings()
    engine = engine_for_reading(settings)
    try:
        with Session(engine) as session:
            found = service.get_batch(session, batch)
            statement = service.statement(session, found)
            if format_ == "csv":
                data = service.statement_csv(statement).encode("utf-8")
            else:
                resource = service.reconciliation(session, found, settings.base_url)
                data = orjson.dumps(resource, option=orjson.OPT_INDENT_2)
    except service.PaymentError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    console.print(f"wrote {len(statement.lines)} claims of batch {batch} to {out}")


@app.command("confirm")
def confirm(
    batch: Annotated[str, typer.Option(help="Batch id")],
    reference: Annotated[str, typer.Option(help="The bank transfer reference")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Mark a batch and its claims paid; confirming again changes nothing and says so."""
    logs_to_stderr()
    from gateway.cli.database import engine_for_reading
    from gateway.payments.service import PaymentError, confirm_batch

    engine = engine_for_reading()
    try:
        result = confirm_batch(engine, batch_id=batch, reference=reference, actor=_actor())
    except PaymentError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        print_json(
            {
                "batch_id": result.batch_id,
                "bank_reference": result.bank_reference,
                "claims_paid": result.claims_paid,
                "already_confirmed": result.already,
            }
        )
    else:
        console.print(result.message)
