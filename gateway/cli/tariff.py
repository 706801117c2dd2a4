"""`claimgw tariff`: the SSO tariff schedule."""

from __future__ import annotations

import typer

app = typer.Typer(help="The SSO tariff schedule.", no_args_is_help=True)
