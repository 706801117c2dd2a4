"""`claimgw member`: the insured-person roster and hospital networks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from fhir_mappings.systems import is_valid_hcode
from gateway.cli.output import console, fail, print_json, print_table
from gateway.db import make_engine, session_scope, upgrade_database
from gateway.settings import get_settings
from provider_registry.models import HospitalNetwork
from provider_registry.repository import InsuredPersonRepository
from provider_registry.roster import RosterImportReport, import_roster, read_roster, roster_csv
from provider_registry.roster_synthetic import roster_for_bundles

app = typer.Typer(help="The insured-person roster.", no_args_is_help=True)
network = typer.Typer(help="Network hospitals of main contractor hospitals.", no_args_is_help=True)
app.add_typer(network, name="network")


@app.command("import")
def import_members(
    file: Annotated[
        Path,
        typer.Argument(
            help="Roster CSV: " + "cid,section,main_hcode,coverage_start,"
            "coverage_end,contribution_months,death_date"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Load the insured-person roster (idempotent upsert by CID); bad rows are reported."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    entries = list(read_roster(text))
    settings = get_settings()
    upgrade_database(settings)
    with _progress(as_json) as progress:
        task = progress.add_task("importing roster", total=len(entries))
        with session_scope(make_engine(settings)) as session:
            report = import_roster(session, entries, on_row=lambda: progress.advance(task))
    _print_report(report, as_json)
    if report.errors and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )


def _print_report(report: RosterImportReport, as_json: bool) -> None:
    errors = [{"row": e.row, "reason": e.reason} for e in report.errors or []]
    summary: dict[str, Any] = {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": errors,
    }
    if as_json:
        print_json(summary)
        return
    print_table(
        "Roster import",
        ["added", "updated", "unchanged", "refused"],
        [[report.added, report.updated, report.unchanged, len(errors)]],
    )
    if errors:
        print_table("Refused rows", ["row", "reason"], [[e["row"], e["reason"]] for e in errors])


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
    if not (is_valid_hcode(main) and is_valid_hcode(member)):
        fail("both HCODEs must be 5 or 9 digits")
    settings = get_settings()
    upgrade_database(settings)
    with session_scope(make_engine(settings)) as session:
        InsuredPersonRepository(session).add_network(
            HospitalNetwork(main_hcode=main, network_hcode=member)
        )
    result = {"main_hcode": main, "network_hcode": member}
    print_json(result) if as_json else console.print(f"{member} is in the network of {main}")


@network.command("list")
def list_networks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every network link."""
    settings = get_settings()
    upgrade_database(settings)
    with session_scope(make_engine(settings)) as session:
        rows = [
            {"main_hcode": n.main_hcode, "network_hcode": n.network_hcode}
            for n in InsuredPersonRepository(session).networks()
        ]
    if as_json:
        print_json(rows)
    else:
        print_table(
            "Hospital networks",
            ["main", "network"],
            [[r["main_hcode"], r["network_hcode"]] for r in rows],
        )
