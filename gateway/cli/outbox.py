"""`claimgw outbox list|retry`: what waits in the outbox, what was given up on, and a retry."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.output import console, fail, id_column, print_json, print_rows

app = typer.Typer(help="Outbox messages: pending, dead-lettered, retry.", no_args_is_help=True)


@app.command("list")
def list_messages(
    dead: Annotated[bool, typer.Option("--dead", help="Dead-lettered messages only")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Messages not yet delivered (or, with --dead, given up on), oldest first."""
    import orjson
    from sqlmodel import Session

    from gateway.cli.database import engine_for_reading
    from gateway.notify.repository import OutboxRepository

    engine = engine_for_reading()
    with Session(engine) as session:
        rows = [
            {
                "id": m.id,
                "topic": m.topic,
                "hcode": orjson.loads(m.payload).get("hcode"),
                "created_at": m.created_at.isoformat(),
                "attempts": m.attempts,
                "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
                "dead_at": m.dead_at.isoformat() if m.dead_at else None,
                "last_error": m.last_error,
            }
            for m in OutboxRepository(session).messages(dead=dead, limit=limit)
        ]
    engine.dispose()
    if as_json:
        print_json(rows)
        return
    print_rows(
        "Dead-lettered outbox messages" if dead else "Pending outbox messages",
        [id_column("id"), "topic", "hcode", "created", "attempts", "next attempt", "last error"],
        [
            [
                r["id"],
                r["topic"],
                r["hcode"] or "",
                r["created_at"],
                r["attempts"],
                r["next_attempt_at"] or "",
                r["last_error"] or "",
            ]
            for r in rows
        ],
    )


@app.command("retry")
def retry(message_id: Annotated[int, typer.Argument(help="Outbox message id")]) -> None:
    """Give a dead-lettered message a fresh set of delivery attempts (same webhook-id)."""
    from datetime import UTC, datetime

    from gateway.cli.database import engine_for_reading
    from gateway.db import session_scope
    from gateway.notify.repository import OutboxRepository

    engine = engine_for_reading()
    with session_scope(engine) as session:
        revived = OutboxRepository(session).revive(message_id, datetime.now(UTC))
    engine.dispose()
    if not revived:
        fail(f"outbox message {message_id} is unknown or already delivered")
    console.print(f"outbox message {message_id} will be delivered again by the worker")
