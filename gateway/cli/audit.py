"""`claimgw audit verify|search`: prove the audit trail is whole, and find events for auditors."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.output import console, fail, print_json, print_rows

app = typer.Typer(help="The audit trail: verify its hash chain, search it.", no_args_is_help=True)


@app.command("verify")
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Walk the hash chain; name the first edited, inserted or deleted event (exit 1)."""
    from sqlmodel import Session

    from gateway.audit.trail import verify_chain
    from gateway.cli.database import engine_for_reading

    with Session(engine_for_reading()) as session:
        report = verify_chain(session)
    broken = report.broken
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "checked": report.checked,
                "unchained": report.unchained,
                "broken": None
                if broken is None
                else {"row_id": broken.row_id, "kind": broken.kind, "message": broken.message},
            }
        )
    if broken is not None:
        fail(f"chain broken: {broken.message}")
    if not as_json:
        console.print(
            f"audit chain intact: {report.checked} events verified"
            + (f", {report.unchained} older events unchained" if report.unchained else "")
        )


@app.command("search")
def search(
    claim: Annotated[str | None, typer.Option("--claim", help="A claim id")] = None,
    hcode: Annotated[str | None, typer.Option("--hcode", help="A hospital's HCODE")] = None,
    user: Annotated[str | None, typer.Option("--user", help="A client id or staff user")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Events about a claim, a hospital, or by a user, newest first."""
    from sqlmodel import Session

    from gateway.audit.trail import event_as_fhir, os_user, record_event, search_events
    from gateway.cli.database import engine_for_reading, engine_for_writing

    if not (claim or hcode or user):
        fail("give --claim, --hcode or --user")
    with Session(engine_for_reading()) as session:
        rows = [
            event_as_fhir(r)
            for r in search_events(session, claim=claim, hcode=hcode, user=user, limit=limit)
        ]
    record_event(  # searching the trail is itself an audited read
        engine_for_writing(),
        action="audit.search",
        actor=os_user(),
        agent_kind="os",
        entity_type="AuditEvent",
        detail={"claim": claim, "hcode": hcode, "user": user},
    )
    if as_json:
        print_json(rows)
        return
    print_rows(
        "Audit events",
        ["id", "recorded", "action", "outcome", "who", "entity", "source"],
        [
            [
                r["id"],
                r["recorded"],
                r["action"],
                r["outcome"],
                r["agent"]["who"],
                f"{r['entity']['type']}/{r['entity']['id']}",
                r["source"] or "",
            ]
            for r in rows
        ],
    )
