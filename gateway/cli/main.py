"""`claimgw`: run, seed and operate the SSO claims gateway.

Start-up is kept short: this module imports only typer and the standard library. Every
sub-command lives in its own module and is imported when it runs (`lazy(...)` below), so
`claimgw --help` and `claimgw token` never load the web framework, the database layer or the
fraud models.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from typer._click.core import Command, Context

LAZY_COMMANDS: dict[str, tuple[str, str]] = {}
"""Sub-command name → ("module:attribute", one-line help); imported only when run."""


def lazy(name: str, target: str, help_text: str) -> None:
    """Register a sub-command (a Typer app or a command function) imported only when it runs."""
    LAZY_COMMANDS[name] = (target, help_text)


class LazyCommand(TyperCommand):
    """Stands in for a sub-command in `--help`; the real one is built when it is invoked."""

    def __init__(self, name: str, target: str, help_text: str) -> None:
        super().__init__(name, help=help_text, short_help=help_text)
        self.target = target

    def load(self) -> Command:
        """Import the module and build the real click command."""
        module, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module), attribute)
        if not isinstance(found, typer.Typer):
            single = typer.Typer(pretty_exceptions_enable=False)
            single.command(self.name)(found)
            found = single
        found._add_completion = False  # completion belongs to the top-level command only
        command = typer.main.get_command(found)
        command.name = self.name
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        return self.load().make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """The top-level group: eager commands of this module plus the lazy ones."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *sorted(set(LAZY_COMMANDS) - set(self.commands))]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            return LazyCommand(cmd_name, *LAZY_COMMANDS[cmd_name])
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    help="SSO claims gateway.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)
db = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db, name="db")
# One line per sub-command; its module is imported only when the command runs.
lazy("demo", "gateway.cli.demo:demo", "Seed demo hospitals, keys and claims; explain; serve.")
lazy("hospital", "gateway.cli.hospital:app", "Hospitals and their API clients.")
lazy("member", "gateway.cli.member:app", "The insured-person roster.")
lazy("tariff", "gateway.cli.tariff:app", "The SSO tariff schedule and benefit parameters.")
lazy("fraud", "gateway.cli.fraud:app", "Fraud models: train, score, evaluate, promote.")
lazy("synth", "gateway.cli.synth:synth", "Write a seeded, labelled synthetic claim history.")
lazy("submit", "gateway.cli.submit:submit", "Submit claim bundles and summarise the answers.")
lazy("payments", "gateway.cli.payments:app", "Payment runs, batches, statements, confirmation.")
lazy("outbox", "gateway.cli.outbox:app", "Outbox messages: pending, dead-lettered, retry.")
lazy("worker", "gateway.cli.worker:worker", "Deliver outbox events to hospitals' rest-hooks.")
lazy("user", "gateway.cli.user:app", "Staff accounts: add, list, disable, set-password, unlock.")
lazy("audit", "gateway.cli.audit:app", "The audit trail: verify its hash chain, search it.")
lazy("keys", "gateway.cli.keys:app", "Data keys of patient data at rest: status, rotate.")


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to CLAIMGW_DATABASE_URL."""
    from gateway.cli.output import console
    from gateway.db import upgrade_database
    from gateway.settings import get_settings

    settings = get_settings()
    upgrade_database(settings)
    console.print(f"schema is current on {settings.database_url.split('@')[-1]}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    worker: Annotated[bool, typer.Option("--worker", help="Also deliver notifications")] = False,
) -> None:
    """Bring the schema up to date and serve the API."""
    from gateway.cli.output import fail
    from gateway.cli.server import port_problem, run_server

    if problem := port_problem(host, port):
        fail(f"{problem}; choose another with --port")
    run_server(host=host, port=port, workers=workers, worker=worker)


@app.command("token")
def token(
    url: Annotated[str, typer.Option(help="Gateway base URL")] = "http://127.0.0.1:8000",
    client_id: Annotated[str, typer.Option()] = "demo-10661",
    key: Annotated[Path, typer.Option(help="Private key (PEM)")] = Path("var/demo-keys/10661.pem"),
) -> None:
    """Print an access token (for curl), obtained with a signed client assertion."""
    from gateway.cli.output import fail
    from gateway.client import GatewayClient, GatewayError

    if not key.exists():
        fail(f"no key file at {key}")
    client = GatewayClient(url, client_id, key)
    try:
        print(client.token())
    except GatewayError as exc:
        fail(str(exc))
    finally:
        client.close()


if __name__ == "__main__":
    app()
