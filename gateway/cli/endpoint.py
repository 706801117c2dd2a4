"""`claimgw hospital endpoint`: the hosts a hospital may use as notification endpoints."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.output import fail, id_column, print_json, print_rows


def endpoint(
    hcode: Annotated[str, typer.Option(help="MOPH hospital code")],
    allow: Annotated[str | None, typer.Option(help="Host name to allow (or remove)")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove --allow HOST")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Show, extend or shrink a hospital's endpoint allow-list (rest-hook hosts)."""
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from gateway.notify.destinations import EndpointRefused
    from gateway.notify.service import allow_host
    from provider_registry.repository import HospitalRepository

    if remove and allow is None:
        fail("--remove needs --allow HOST")
    engine = engine_for_writing()
    try:
        with session_scope(engine) as session:
            if HospitalRepository(session).get(hcode) is None:
                fail(f"no hospital {hcode}")
            if allow is None:
                from gateway.notify.repository import EndpointHostRepository

                hosts = EndpointHostRepository(session).hosts(hcode)
            else:
                hosts = allow_host(session, hcode=hcode, host=allow, remove=remove)
    except EndpointRefused as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if as_json:
        print_json({"hcode": hcode, "hosts": hosts})
    else:
        print_rows(f"Endpoint hosts of {hcode}", [id_column("host")], [[h] for h in hosts])
