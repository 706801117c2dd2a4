"""`claimgw fraud`: train, score, evaluate and promote fraud models."""

from __future__ import annotations

import typer

app = typer.Typer(help="Fraud models and audits.", no_args_is_help=True)
