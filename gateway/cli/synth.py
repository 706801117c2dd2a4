"""`claimgw synth`: seeded synthetic claim bundles."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
import typer

from fraud.synth import SynthHospital, generate_bundles
from gateway.cli.output import console, print_json
from provider_registry.demo import DEMO_HOSPITALS


def synth(
    claims: Annotated[int, typer.Option(min=1, help="How many claims")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same file")] = 1,
    out: Annotated[Path, typer.Option(help="NDJSON file to write")] = Path("claims.ndjson"),
    hcode: Annotated[list[str] | None, typer.Option(help="Bill from these HCODEs (repeat)")] = None,
    end: Annotated[str | None, typer.Option(help="Last service day, YYYY-MM-DD (default today)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write structurally valid SSO claim bundles, one per line."""
    known = {h.hcode: h.name for h in DEMO_HOSPITALS}
    hospitals = [SynthHospital(code, known.get(code, f"Hospital {code}")) for code in (hcode or known)]
    last_day = date.fromisoformat(end) if end else datetime.now(ZoneInfo("Asia/Bangkok")).date()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        for bundle in generate_bundles(claims=claims, seed=seed, hospitals=hospitals, end=last_day):
            handle.write(orjson.dumps(bundle) + b"\n")
    summary = {"claims": claims, "seed": seed, "out": str(out), "hospitals": [h.hcode for h in hospitals]}
    print_json(summary) if as_json else console.print(f"wrote {claims} bundles to {out}")


