"""`claimgw hospital add|list|disable`: onboard hospitals and their API clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.output import fail, print_json, print_table
from gateway.db import make_engine, session_scope, upgrade_database
from gateway.settings import get_settings
from provider_registry.keys import InvalidKeySet, generate_client_key
from provider_registry.repository import HospitalRepository
from provider_registry.service import RegistryError, disable_hospital, register_hospital

app = typer.Typer(help="Hospitals and their API clients.", no_args_is_help=True)


@app.command("add")
def add(
    hcode: Annotated[str, typer.Option(help="MOPH hospital code, 5 or 9 digits")],
    name: Annotated[str, typer.Option(help="Hospital name")],
    generate_key: Annotated[
        Path | None, typer.Option(help="Write a new private key (PEM) here")
    ] = None,
    jwks: Annotated[
        Path | None, typer.Option(help="Register this public JWKS file instead")
    ] = None,
    contract_type: Annotated[str, typer.Option(help="main, network or none")] = "main",
    province: Annotated[str | None, typer.Option()] = None,
    client_id: Annotated[str | None, typer.Option(help="Choose the client id")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Register a hospital and an API client for it; prints the client id and key id."""
    if (generate_key is None) == (jwks is None):
        fail("give exactly one of --generate-key FILE or --jwks FILE")
    settings = get_settings()
    upgrade_database(settings)
    private_pem = None
    if generate_key is not None:
        if generate_key.exists():
            fail(f"{generate_key} exists; refusing to overwrite a private key")
        key = generate_client_key()
        public, private_pem = key.public_jwks, key.private_pem
    else:
        assert jwks is not None
        try:
            public = json.loads(jwks.read_text())
        except (OSError, ValueError) as exc:
            fail(f"cannot read {jwks}: {exc}")
    try:
        with session_scope(make_engine(settings)) as session:
            registered = register_hospital(
                session,
                hcode=hcode,
                name=name,
                public_jwks=public,
                contract_type=contract_type,
                province=province,
                client_id=client_id,
            )
    except (RegistryError, InvalidKeySet) as exc:
        fail(str(exc))
    if generate_key is not None and private_pem is not None:
        generate_key.parent.mkdir(parents=True, exist_ok=True)
        generate_key.write_bytes(private_pem)
        generate_key.chmod(0o600)
    result = {
        "client_id": registered.client_id,
        "hcode": registered.hcode,
        "kid": registered.kids[0] if len(registered.kids) == 1 else list(registered.kids),
    }
    if as_json:
        print_json(result)
    else:
        print_table(
            "Hospital registered",
            ["client_id", "hcode", "kid"],
            [[result["client_id"], result["hcode"], result["kid"]]],
        )


@app.command("list")
def list_hospitals(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Every registered hospital with its clients."""
    settings = get_settings()
    upgrade_database(settings)
    with session_scope(make_engine(settings)) as session:
        repo = HospitalRepository(session)
        rows = [
            {
                "hcode": h.hcode,
                "name": h.name,
                "contract_type": h.contract_type,
                "province": h.province,
                "active": h.active,
                "clients": [c.client_id for c in repo.clients_of(h.hcode)],
            }
            for h in repo.list()
        ]
    if as_json:
        print_json(rows)
    else:
        print_table(
            "Hospitals",
            ["hcode", "name", "contract", "province", "active", "clients"],
            [
                [
                    r["hcode"],
                    r["name"],
                    r["contract_type"],
                    r["province"] or "",
                    r["active"],
                    ", ".join(str(c) for c in r["clients"]),  # type: ignore[union-attr]
                ]
                for r in rows
            ],
        )


@app.command("disable")
def disable(
    hcode: Annotated[str, typer.Option(help="MOPH hospital code")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stop a hospital and its clients from getting new tokens."""
    settings = get_settings()
    with session_scope(make_engine(settings)) as session:
        try:
            hospital = disable_hospital(session, hcode=hcode)
        except RegistryError as exc:
            fail(str(exc))
        result = {"hcode": hospital.hcode, "active": hospital.active}
    if as_json:
        print_json(result)
    else:
        print_table("Hospital disabled", ["hcode", "active"], [[result["hcode"], result["active"]]])
