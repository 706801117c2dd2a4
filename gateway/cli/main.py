"""`claimgw`: run, seed and operate the SSO claims gateway."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
import typer

from fraud.synth import SynthHospital, generate_bundles
from gateway.cli import hospital
from gateway.cli.demo import demo
from gateway.cli.output import console, print_json
from gateway.cli.server import run_server
from gateway.cli.submit import submit
from gateway.client import GatewayClient
from gateway.db import upgrade_database
from gateway.settings import get_settings
from provider_registry.demo import DEMO_HOSPITALS

app = typer.Typer(help="SSO claims gateway.", no_args_is_help=True, pretty_exceptions_enable=False)
db = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db, name="db")
app.add_typer(hospital.app, name="hospital")
app.command("submit")(submit)
app.command("demo")(demo)


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to CLAIMGW_DATABASE_URL."""
    settings = get_settings()
    upgrade_database(settings)
    console.print(f"schema is current on {settings.database_url.split('@')[-1]}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Bring the schema up to date and serve the API."""
    run_server(host=host, port=port, workers=workers)


@app.command("token")
def token(
    url: Annotated[str, typer.Option(help="Gateway base URL")] = "http://127.0.0.1:8000",
    client_id: Annotated[str, typer.Option()] = "demo-10661",
    key: Annotated[Path, typer.Option(help="Private key (PEM)")] = Path("var/demo-keys/10661.pem"),
) -> None:
    """Print an access token (for curl), obtained with a signed client assertion."""
    client = GatewayClient(url, client_id, key)
    print(client.token())
    client.close()


@app.command("synth")
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


if __name__ == "__main__":
    app()
