"""`claimgw tariff`: the SSO tariff schedule and hospitals' code mappings."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from fhir_mappings.tariff import (
    RowError,
    TariffItem,
    parse_mapping_csv,
    parse_tariff_csv,
)
from gateway.cli.output import console, fail, print_json, print_table
from gateway.db import make_engine, session_scope, upgrade_database
from gateway.pricing.convert import item_from_record
from gateway.pricing.imports import ImportReport, import_tariff_items, import_tariff_mappings
from gateway.pricing.repository import TariffRepository
from gateway.pricing.service import seed_default_schedule
from gateway.settings import get_settings

app = typer.Typer(help="The SSO tariff schedule.", no_args_is_help=True)
THAI_TIME = ZoneInfo("Asia/Bangkok")


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
        raise AssertionError from exc  # fail() always exits


@app.command("import")
def import_schedule(
    file: Annotated[
        Path, typer.Argument(help="Tariff CSV (columns as fhir_mappings/data/sso_tariff.csv)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Load tariff items; a row is a version keyed by (code, valid_from), re-imports are no-ops."""
    items, errors = parse_tariff_csv(_read(file))
    settings = get_settings()
    upgrade_database(settings)
    with session_scope(make_engine(settings)) as session:
        report = import_tariff_items(session, items)
    _print_report("Tariff import", report, errors, as_json)


@app.command("map-import")
def import_mappings(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: hcode,local_system,local_code,tariff_code,valid_from,valid_to,source"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Load hospitals' local-code mappings to tariff items (local_system empty = any system)."""
    mappings, errors = parse_mapping_csv(_read(file))
    settings = get_settings()
    upgrade_database(settings)
    with session_scope(make_engine(settings)) as session:
        report = import_tariff_mappings(session, mappings)
    _print_report("Mapping import", report, errors, as_json)


def _print_report(title: str, report: ImportReport, errors: list[RowError], as_json: bool) -> None:
    refused = [{"row": e.row, "reason": e.reason} for e in errors]
    if as_json:
        print_json(
            {
                "added": report.added,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "errors": refused,
            }
        )
    else:
        print_table(
            title,
            ["added", "updated", "unchanged", "refused"],
            [[report.added, report.updated, report.unchanged, len(refused)]],
        )
        if refused:
            print_table(
                "Refused rows", ["row", "reason"], [[e["row"], e["reason"]] for e in refused]
            )
    if refused and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


@app.command("list")
def list_schedule(
    on: Annotated[
        str | None, typer.Option(help="Only items in force on this day (YYYY-MM-DD)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """The tariff items in force on a day (today by default), with limits and sources."""
    try:
        day = date.fromisoformat(on) if on else datetime.now(THAI_TIME).date()
    except ValueError:
        fail(f"--on must be a date YYYY-MM-DD, not {on!r}")
    settings = get_settings()
    upgrade_database(settings)
    with session_scope(make_engine(settings)) as session:
        seed_default_schedule(session)
        items = [item_from_record(r) for r in TariffRepository(session).items()]
    rows = [_row(i) for i in items if i.in_force_on(day)]
    if as_json:
        print_json(rows)
        return
    print_table(
        f"SSO tariff on {day.isoformat()} (sources: --json)",
        ["code", "name", "price", "unit", "limit", "from", "illustrative"],
        [
            [
                r["code"],
                r["name_en"],
                r["price"] or "actual cost",
                r["unit"],
                r["limit"] or "",
                r["valid_from"],
                "yes" if r["illustrative"] else "",
            ]
            for r in rows
        ],
    )
    console.print(f"{len(rows)} items in force")


def _row(item: TariffItem) -> dict[str, Any]:
    limit = item.limit
    described = None
    if limit is not None:
        parts = [
            f"{limit.amount} THB" if limit.amount is not None else "",
            f"{limit.count}x" if limit.count is not None else "",
        ]
        period = (
            limit.period.value if limit.period_n == 1 else f"{limit.period_n} {limit.period.value}"
        )
        described = f"{' '.join(p for p in parts if p)} per {period} ({limit.group})"
    return {
        "code": item.code,
        "name_th": item.name_th,
        "name_en": item.name_en,
        "fee_category": item.fee_category,
        "price": str(item.price) if item.price is not None else None,
        "unit": item.unit,
        "limit": described,
        "sections": ";".join(str(s) for s in sorted(item.sections)),
        "settings": ";".join(sorted(s.value for s in item.settings)),
        "valid_from": item.valid_from.isoformat(),
        "valid_to": item.valid_to.isoformat() if item.valid_to else None,
        "source": item.source,
        "confidence": item.confidence,
        "illustrative": item.illustrative,
    }
