"""`claimgw`: run, seed and operate the SSO claims gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli import fraud, hospital, member, synth, tariff
from gateway.cli.demo import demo
from gateway.cli.output import console
from gateway.cli.server import run_server
from gateway.cli.submit import submit
from gateway.client import GatewayClient
from gateway.db import upgrade_database
from gateway.settings import get_settings

app = typer.Typer(help="SSO claims gateway.", no_args_is_help=True, pretty_exceptions_enable=False)
db = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db, name="db")
app.add_typer(hospital.app, name="hospital")
app.add_typer(member.app, name="member")
app.add_typer(tariff.app, name="tariff")
app.add_typer(fraud.app, name="fraud")
app.command("synth")(synth.synth)
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


if __name__ == "__main__":
    app()
