"""`claimgw keys`: data keys of patient data at rest (new key, status, rotate-data-key).

Rotation: `claimgw keys new-data-key --id 2027a` prints a key line; put it FIRST in
CLAIMGW_DATA_KEYS (keep the old keys after it), restart the gateway (new rows are sealed with
the new key, old rows still open), run `claimgw keys rotate-data-key`, and remove an old key
only when `claimgw keys status` shows no row under it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.output import console, fail, print_json, print_table

app = typer.Typer(help="Data keys of patient data at rest.", no_args_is_help=True)


@app.command("new-data-key")
def new_data_key(
    key_id: Annotated[str, typer.Option("--id", help="Key id: letters, digits, - or _")],
) -> None:
    """Print a fresh random data key as `id:base64` for CLAIMGW_DATA_KEYS (never stored)."""
    from gateway.security.data_key import DataKeyError, new_key_line

    try:
        print(new_key_line(key_id))
    except DataKeyError as exc:
        fail(str(exc))


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Rows per data key id in every sealed column ("plaintext": not sealed yet)."""
    from sqlmodel import Session

    from gateway.cli.database import engine_for_reading
    from gateway.security import data_key
    from gateway.security.rotation import key_status

    engine = engine_for_reading()
    keyring = data_key.current()
    with Session(engine) as session:
        found = key_status(session, keyring)
    engine.dispose()
    if as_json:
        print_json({"active": keyring.active_id, "columns": found})
        return
    names = [keyring.active_id, *(k for k in keyring.keys if k != keyring.active_id)]
    names += ["plaintext", "unknown"]
    print_table(
        f"rows per data key (active: {keyring.active_id})",
        ["column", *names],
        [[column, *(counts.get(n, 0) for n in names)] for column, counts in found.items()],
    )


@app.command("rotate-data-key")
def rotate(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Re-encrypt every row not under the active data key (and seal plaintext rows), in batches."""
    from gateway.audit.trail import admin_event
    from gateway.cli.database import engine_for_reading
    from gateway.db import session_scope
    from gateway.security import data_key
    from gateway.security.data_key import DataKeyError
    from gateway.security.rotation import rotate_data_key

    engine = engine_for_reading()
    keyring = data_key.current()
    try:
        done = rotate_data_key(engine, keyring, batch=batch)
    except DataKeyError as exc:
        fail(f"{exc}; add the missing key to CLAIMGW_DATA_KEYS after the active one")
    with session_scope(engine) as session:
        admin_event(
            session,
            action="keys.rotate-data-key",
            entity_type="DataKey",
            entity_id=keyring.active_id,
            detail={r.column: r.resealed for r in done},
        )
    engine.dispose()
    if as_json:
        print_json(
            {
                "active": keyring.active_id,
                "columns": {r.column: {"resealed": r.resealed, "skipped": r.skipped} for r in done},
            }
        )
        return
    for r in done:
        console.print(
            f"{r.column}: {r.resealed} re-encrypted under {keyring.active_id}"
            + (f", {r.skipped} rewritten meanwhile" if r.skipped else "")
        )
