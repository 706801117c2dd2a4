"""`claimgw member`: the insured-person roster."""

from __future__ import annotations

import typer

app = typer.Typer(help="The insured-person roster.", no_args_is_help=True)
