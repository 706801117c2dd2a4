"""`claimgw synth`: a seeded, labelled synthetic claim history, streamed to NDJSON."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from gateway.cli.output import console, errors, fail, print_json

if TYPE_CHECKING:
    from fraud.synth import SynthHospital, World

OUT_BUFFER = 1 << 20  # a bundle is ~4 KB; fewer, larger writes


def synth(
    claims: Annotated[int, typer.Option(min=1, help="How many claims")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same file")] = 1,
    out: Annotated[Path, typer.Option(help="NDJSON file to write")] = Path("claims.ndjson"),
    labels: Annotated[
        Path | None, typer.Option(help="Also write identifier,label,pattern here")
    ] = None,
    roster: Annotated[
        Path | None, typer.Option(help="Also write the insured roster CSV here")
    ] = None,
    hcode: Annotated[list[str] | None, typer.Option(help="Bill from these HCODEs (repeat)")] = None,
    end: Annotated[
        str | None,
        typer.Option(help="No claim ends after this day, YYYY-MM-DD (default today)"),
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="Days of history up to --end")] = 90,
    fraud_scale: Annotated[
        float, typer.Option(min=0, help="Multiply every fraud rate (0: clean)")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write a realistic labelled claim history: one bundle per line, in service-time order.

    Care starts in the `--days` before `--end`; a stay that would still run after `--end` is
    left out (and counted), so the gateway never sees a claim dated in its future.
    """
    from fraud.synth import FraudRates, build_world

    hospitals = _hospitals(hcode)
    try:
        last_day = date.fromisoformat(end) if end else datetime.now(ZoneInfo("Asia/Bangkok")).date()
    except ValueError:
        fail(f"--end must be a date YYYY-MM-DD, not {end!r}")
    rates = FraudRates().scaled(fraud_scale)
    out.parent.mkdir(parents=True, exist_ok=True)
    # One population for the claims and the roster: drawing it costs seconds at a million.
    world = build_world(seed=seed, hospitals=hospitals, claims=claims, rates=rates)
    written, frauds = _write(out, labels, world, claims=claims, seed=seed, end=last_day, days=days)
    if roster:
        _write_roster(roster, world)
    summary = {
        "claims": written,
        "left_out_ending_after_end": claims - written,
        "fraud": frauds,
        "seed": seed,
        "out": str(out),
        "labels": str(labels) if labels else None,
        "hospitals": [h.hcode for h in hospitals],
    }
    left_out = claims - written
    note = f"; {left_out} stays still running on {last_day} left out" if left_out else ""
    print_json(summary) if as_json else console.print(
        f"wrote {written} bundles ({frauds} labelled fraud) to {out}{note}"
    )


def _hospitals(hcodes: list[str] | None) -> list[SynthHospital]:
    from fraud.synth import SynthHospital, default_network
    from provider_registry.demo import DEMO_HOSPITALS

    known = {h.hcode: h for h in default_network()}
    known.update(
        {h.hcode: SynthHospital(h.hcode, h.name) for h in DEMO_HOSPITALS if h.hcode not in known}
    )
    if not hcodes:
        return list(default_network())
    bad = [code for code in hcodes if not code.isdigit()]
    if bad:
        fail(f"HCODEs are digits: {', '.join(bad)}")
    return [known.get(code, SynthHospital(code, f"Hospital {code}")) for code in hcodes]


def _write(
    out: Path,
    labels: Path | None,
    world: World,
    *,
    claims: int,
    seed: int,
    end: date,
    days: int,
) -> tuple[int, int]:
    """Stream the bundles (and labels); how many were written and how many are fraud."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from fraud.synth import generate_claims

    frauds = written = 0
    label_handle = labels.open("w", newline="", encoding="utf-8") if labels else None
    writer = csv.writer(label_handle) if label_handle else None
    if writer:
        writer.writerow(["identifier", "label", "pattern"])
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    try:
        with (
            out.open("wb", buffering=OUT_BUFFER) as handle,
            Progress(*columns, console=errors, transient=True) as progress,
        ):
            task = progress.add_task("generating", total=claims)
            for n, item in enumerate(
                generate_claims(world, claims=claims, seed=seed, end=end, days=days), start=1
            ):
                if item.last_day > end:
                    continue
                handle.write(item.ndjson_line())
                written += 1
                frauds += item.label
                if writer:
                    writer.writerow([item.identifier, item.label, item.pattern])
                if n % 1000 == 0:
                    progress.update(task, completed=n)
    finally:
        if label_handle:
            label_handle.close()
    return written, frauds


def last_day_of(bundle: dict[str, Any]) -> date:
    """The last day of care in a claim bundle: billablePeriod.end or the latest line date."""
    claim = bundle["entry"][0]["resource"]
    days = [str((claim.get("billablePeriod") or {}).get("end") or "")[:10]]
    days += [str(item.get("servicedDate") or "")[:10] for item in claim.get("item") or []]
    found = [date.fromisoformat(d) for d in days if len(d) == 10]
    return max(found) if found else date.min


def _write_roster(path: Path, world: World) -> None:
    """The population's roster; generating claims does not change it."""
    from fraud.synth import roster_rows
    from provider_registry.roster import ROSTER_COLUMNS

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=ROSTER_COLUMNS)
        writer.writeheader()
        writer.writerows(roster_rows(world))
