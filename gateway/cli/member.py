"""`claimgw member`: the insured-person roster and hospital networks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.output import (
    ROWS_REFUSED_EXIT,
    console,
    fail,
    id_column,
    print_json,
    print_rows,
)

if TYPE_CHECKING:
    from rich.progress import Progress

    from provider_registry.roster import RosterImportReport

ROSTER_FORMAT = (
    "Roster CSV (UTF-8, header row): cid,section,main_hcode,coverage_start,coverage_end,"
    "contribution_months,death_date. section is 33, 39 or 40; contribution_months is the number "
    "of months contributed in the last 15 (0 to 15; care needs at least 3); dates are "
    "YYYY-MM-DD; coverage_end and death_date may be empty."
)

app = typer.Typer(help="The insured-person roster.", no_args_is_help=True)
network = typer.Typer(help="Network hospitals of main contractor hospitals.", no_args_is_help=True)
app.add_typer(network, name="network")


@app.command(
    "import",
    help=f"Load the insured-person roster (idempotent upsert by CID).\n\n"
    f"{ROSTER_FORMAT}\n\nEvery problem of every refused row is listed (CIDs masked); "
    f"the valid rows are imported and the exit code is {ROWS_REFUSED_EXIT} when any row "
    "was refused.",
)
def import_members(
    file: Annotated[Path, typer.Argument(help=ROSTER_FORMAT)],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    from gateway.audit.trail import admin_event
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from gateway.security.data_key import person_key
    from provider_registry.roster import import_roster, read_roster

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    entries = list(read_roster(text))
    engine = engine_for_writing()
    with _progress(as_json) as progress:
        task = progress.add_task("importing roster", total=len(entries))
        with session_scope(engine) as session:
            report = import_roster(
                session, entries, key_of=person_key, on_row=lambda: progress.advance(task)
            )
            admin_event(  # the file name and counts only: no CID in the audit trail
                session, action="member.import", entity_type="InsuredRoster", entity_id=file.name
            )
    engine.dispose()
    _print_report(report, as_json)
    if report.errors:
        raise typer.Exit(ROWS_REFUSED_EXIT)


def _progress(quiet: bool) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )


def _print_report(report: RosterImportReport, as_json: bool) -> None:
    errors: list[dict[str, Any]] = [
        {"row": e.row, "reason": e.reason, "problems": list(e.problems or (e.reason,))}
        for e in report.errors or []
    ]
    summary: dict[str, Any] = {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": errors,
    }
    if as_json:
        print_json(summary)
        return
    print_rows(
        "Roster import",
        ["added", "updated", "unchanged", "refused"],
        [[report.added, report.updated, report.unchanged, len(errors)]],
    )
    if errors:
        print_rows(
            "Refused rows (row 1 is the first after the header)",
            [id_column("row"), "problems"],
            [[e["row"], "\n".join(e["problems"])] for e in errors],
        )


@app.command("roster-from-claims")
def roster_from_claims(
    claims: Annotated[Path, typer.Argument(help="NDJSON claim bundles (e.g. from claimgw synth)")],
    out: Annotated[Path, typer.Option(help="Roster CSV to write")] = Path("roster.csv"),
    ineligible_percent: Annotated[
        int, typer.Option(min=0, max=100, help="Share of patients made ineligible")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write a synthetic roster insuring every patient of a claims file at its billing hospital."""
    import orjson

    from provider_registry.roster import roster_csv
    from provider_registry.roster_synthetic import roster_for_bundles

    try:
        bundles = [orjson.loads(line) for line in claims.read_bytes().splitlines() if line.strip()]
    except (OSError, orjson.JSONDecodeError) as exc:
        fail(f"cannot read {claims}: {exc}")
    rows = roster_for_bundles(bundles, ineligible_percent=ineligible_percent)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(roster_csv(rows), encoding="utf-8")
    summary = {"people": len(rows), "out": str(out)}
    print_json(summary) if as_json else console.print(f"wrote {len(rows)} roster rows to {out}")


@network.command("add")
def add_network(
    main: Annotated[str, typer.Option(help="HCODE of the main contractor hospital")],
    member: Annotated[str, typer.Option("--network", help="HCODE of the network hospital")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Let a network hospital give routine care for a main hospital's insured people."""
    from fhir_mappings.systems import is_valid_hcode
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from provider_registry.models import HospitalNetwork
    from provider_registry.repository import InsuredPersonRepository

    if not (is_valid_hcode(main) and is_valid_hcode(member)):
        fail("both HCODEs must be 5 or 9 digits")
    engine = engine_for_writing()
    with session_scope(engine) as session:
        InsuredPersonRepository(session).add_network(
            HospitalNetwork(main_hcode=main, network_hcode=member)
        )
    engine.dispose()
    result = {"main_hcode": main, "network_hcode": member}
    print_json(result) if as_json else console.print(f"{member} is in the network of {main}")


@network.command("list")
def list_networks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every network link (never creates a database)."""
    from gateway.cli.database import engine_for_reading
    from gateway.db import session_scope
    from provider_registry.repository import InsuredPersonRepository

    engine = engine_for_reading()
    with session_scope(engine) as session:
        rows = [
            {"main_hcode": n.main_hcode, "network_hcode": n.network_hcode}
            for n in InsuredPersonRepository(session).networks()
        ]
    engine.dispose()
    if as_json:
        print_json(rows)
    else:
        print_rows(
            "Hospital networks",
            [id_column("main"), id_column("network")],
            [[r["main_hcode"], r["network_hcode"]] for r in rows],
        )
