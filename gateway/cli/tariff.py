"""`claimgw tariff`: the SSO tariff schedule, benefit parameters and hospitals' code mappings."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

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
    from fhir_mappings.tariff import BenefitParameter, RowError, TariffItem
    from gateway.pricing.imports import ImportReport

app = typer.Typer(help="The SSO tariff schedule and benefit parameters.", no_args_is_help=True)
THAI_TIME = ZoneInfo("Asia/Bangkok")
PARAMETER_FORMAT = (
    "CSV: name,value,valid_from,valid_to,source,confidence (columns as "
    "fhir_mappings/data/sso_parameters.csv; a row is a version keyed by (name, valid_from))"
)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")


def _day(on: str | None) -> date:
    try:
        return date.fromisoformat(on) if on else datetime.now(THAI_TIME).date()
    except ValueError:
        fail(f"--on must be a date YYYY-MM-DD, not {on!r}")


@app.command("import")
def import_schedule(
    file: Annotated[
        Path, typer.Argument(help="Tariff CSV (columns as fhir_mappings/data/sso_tariff.csv)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Load tariff items; a row is a version keyed by (code, valid_from), re-imports are no-ops."""
    from fhir_mappings.tariff import parse_tariff_csv
    from gateway.audit.trail import admin_event
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from gateway.pricing.imports import import_tariff_items

    items, errors = parse_tariff_csv(_read(file))
    engine = engine_for_writing()
    with session_scope(engine) as session:
        report = import_tariff_items(session, items)
        admin_event(session, action="tariff.import", entity_type="Tariff", entity_id=file.name)
    engine.dispose()
    _print_report("Tariff import", report, errors, as_json)


@app.command("params-import")
def import_parameters(
    file: Annotated[Path, typer.Argument(help=PARAMETER_FORMAT)],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Load benefit parameters (minimum contribution months, emergency window, DRG limits).

    A new SSO announcement is a row with a later valid_from; running gateways use it for claims
    on and after that date without a restart.
    """
    from fhir_mappings.tariff import parse_parameter_csv
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from gateway.pricing.imports import import_benefit_parameters
    from gateway.pricing.service import seed_default_parameters

    rows, errors = parse_parameter_csv(_read(file))
    engine = engine_for_writing()
    with session_scope(engine) as session:
        seed_default_parameters(session)
        report = import_benefit_parameters(session, rows)
    engine.dispose()
    _print_report("Benefit parameter import", report, errors, as_json)


@app.command("params")
def list_parameters(
    on: Annotated[str | None, typer.Option(help="Values in force on this day (YYYY-MM-DD)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """The benefit parameters in force on a day (today by default), with their sources."""
    from gateway.cli.database import engine_for_reading
    from gateway.db import session_scope
    from gateway.pricing.service import seed_default_parameters, stored_parameters

    day = _day(on)
    engine = engine_for_reading()
    with session_scope(engine) as session:
        seed_default_parameters(session)
        stored = stored_parameters(session).rows()
    engine.dispose()
    rows = [_parameter_row(p) for p in _in_force(stored, day)]
    if as_json:
        print_json(rows)
        return
    print_rows(
        f"Benefit parameters on {day.isoformat()} (sources: --json)",
        [id_column("name"), "value", "from", "to"],
        [[r["name"], r["value"], r["valid_from"], r["valid_to"] or ""] for r in rows],
    )


def _in_force(rows: list[BenefitParameter], day: date) -> list[BenefitParameter]:
    latest: dict[str, BenefitParameter] = {}
    for row in sorted(rows, key=lambda r: r.valid_from):
        if row.in_force_on(day):
            latest[row.name] = row
    return [latest[name] for name in sorted(latest)]


def _parameter_row(parameter: BenefitParameter) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "value": format(parameter.value.normalize(), "f"),
        "valid_from": parameter.valid_from.isoformat(),
        "valid_to": parameter.valid_to.isoformat() if parameter.valid_to else None,
        "source": parameter.source,
        "confidence": parameter.confidence,
    }


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
    from fhir_mappings.tariff import parse_mapping_csv
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from gateway.pricing.imports import import_tariff_mappings

    mappings, errors = parse_mapping_csv(_read(file))
    engine = engine_for_writing()
    with session_scope(engine) as session:
        report = import_tariff_mappings(session, mappings)
    engine.dispose()
    _print_report("Mapping import", report, errors, as_json)


def _print_report(title: str, report: ImportReport, errors: list[RowError], as_json: bool) -> None:
    """Counts and every refused row; exit code ROWS_REFUSED_EXIT when any row was refused."""
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
        print_rows(
            title,
            ["added", "updated", "unchanged", "refused"],
            [[report.added, report.updated, report.unchanged, len(refused)]],
        )
        if refused:
            print_rows(
                "Refused rows",
                [id_column("row"), "reason"],
                [[e["row"], e["reason"]] for e in refused],
            )
    if refused:
        raise typer.Exit(ROWS_REFUSED_EXIT)


@app.command("list")
def list_schedule(
    on: Annotated[
        str | None, typer.Option(help="Only items in force on this day (YYYY-MM-DD)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """The tariff items in force on a day (today by default), with limits and sources."""
    from gateway.cli.database import engine_for_reading
    from gateway.db import session_scope
    from gateway.pricing.convert import item_from_record
    from gateway.pricing.repository import TariffRepository
    from gateway.pricing.service import seed_default_schedule

    day = _day(on)
    engine = engine_for_reading()
    with session_scope(engine) as session:
        seed_default_schedule(session)
        items = [item_from_record(r) for r in TariffRepository(session).items()]
    engine.dispose()
    rows = [_row(i) for i in items if i.in_force_on(day)]
    if as_json:
        print_json(rows)
        return
    print_rows(
        f"SSO tariff on {day.isoformat()} (Thai names and sources: --json)",
        [id_column("code"), "name", "price", "unit", "limit", "from"],
        [
            [
                r["code"],
                r["name_en"] + (" (illustrative)" if r["illustrative"] else ""),
                r["price"] or "actual cost",
                r["unit"],
                r["limit"] or "",
                r["valid_from"],
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
