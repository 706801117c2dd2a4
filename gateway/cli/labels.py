"""`claimgw fraud labels`: reviewers' final decisions as a labels file for training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.output import console, print_json

app = typer.Typer(help="Fraud labels from reviewers' decisions.", no_args_is_help=True)


@app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="Where to write identifier,label,pattern")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary")] = False,
) -> None:
    """Write every claim whose review ended as a label: 1 denied or cut, 0 approved as priced."""
    from sqlmodel import Session

    from gateway.cli.database import engine_for_reading
    from gateway.review.labels import reviewer_labels, write_labels_csv

    engine = engine_for_reading()
    with Session(engine) as session:
        labels = reviewer_labels(session)
    engine.dispose()
    rows = write_labels_csv(labels, out)
    positives = sum(label.label for label in labels)
    audited = sum(1 for label in labels if label.source == "random-audit")
    summary = {"out": str(out), "labels": rows, "fraud": positives, "random_audit": audited}
    if as_json:
        print_json(summary)
        return
    console.print(
        f"wrote {rows} labels to {out}: {positives} denied or cut, {rows - positives} approved; "
        f"{audited} from the random audit of unflagged claims"
    )
