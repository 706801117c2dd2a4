"""`claimgw hospital add|list|import|disable|enable|rotate-key`: hospitals and their API clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.endpoint import endpoint
from gateway.cli.output import ROWS_REFUSED_EXIT, fail, id_column, print_json, print_rows

app = typer.Typer(help="Hospitals and their API clients.", no_args_is_help=True)
app.command("endpoint")(endpoint)  # notification endpoint allow-list, gateway/cli/endpoint.py


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
    ownership: Annotated[
        str | None,
        typer.Option(help="public or private (emergency rates); new hospitals default to private"),
    ] = None,
    province: Annotated[str | None, typer.Option()] = None,
    client_id: Annotated[str | None, typer.Option(help="Choose the client id")] = None,
    add_client: Annotated[
        bool, typer.Option("--add-client", help="The HCODE exists: give it another client")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Register a hospital and an API client for it; prints the client id and key id."""
    from gateway.audit.trail import admin_event
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from provider_registry.keys import InvalidKeySet, generate_client_key
    from provider_registry.service import RegistryError, register_hospital

    if (generate_key is None) == (jwks is None):
        fail("give exactly one of --generate-key FILE or --jwks FILE")
    if generate_key is not None and generate_key.exists():
        fail(f"{generate_key} exists; refusing to overwrite a private key")
    private_pem = None
    if generate_key is not None:
        key = generate_client_key()
        public, private_pem = key.public_jwks, key.private_pem
    else:
        assert jwks is not None
        public = _read_jwks(jwks)
    engine = engine_for_writing()
    try:
        with session_scope(engine) as session:
            registered = register_hospital(
                session,
                hcode=hcode,
                name=name,
                public_jwks=public,
                contract_type=contract_type,
                province=province,
                client_id=client_id,
                ownership=ownership.lower() if ownership else None,
                add_client=add_client,
            )
            admin_event(
                session,
                action="hospital.add",
                entity_type="Organization",
                entity_id=hcode,
                hcode=hcode,
                detail={"client_id": registered.client_id},
            )
    except (RegistryError, InvalidKeySet) as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if generate_key is not None and private_pem is not None:
        from gateway.security.secrets import write_private_file

        write_private_file(generate_key, private_pem)  # created 0600, never readable by others
    result = {
        "client_id": registered.client_id,
        "hcode": registered.hcode,
        "kid": registered.kids[0] if len(registered.kids) == 1 else list(registered.kids),
    }
    if as_json:
        print_json(result)
    else:
        print_rows(
            "Hospital registered",
            [id_column("client_id"), id_column("hcode"), id_column("kid")],
            [[result["client_id"], result["hcode"], result["kid"]]],
        )


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        fail(f"cannot read {path}: {exc}")
    if not isinstance(found, dict):
        fail(f"{path} is not a JSON Web Key Set")
    return found


@app.command("list")
def list_hospitals(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Every registered hospital with its clients (never creates a database)."""
    from gateway.cli.database import engine_for_reading
    from gateway.db import session_scope
    from provider_registry.repository import HospitalRepository

    engine = engine_for_reading()
    with session_scope(engine) as session:
        repo = HospitalRepository(session)
        rows: list[dict[str, Any]] = [
            {
                "hcode": h.hcode,
                "name": h.name,
                "ownership": h.ownership,
                "contract_type": h.contract_type,
                "province": h.province,
                "active": h.active,
                "clients": [c.client_id for c in repo.clients_of(h.hcode)],
            }
            for h in repo.list()
        ]
    engine.dispose()
    if as_json:
        print_json(rows)
        return
    print_rows(
        "Hospitals",
        [id_column("hcode"), id_column("clients"), "name", "ownership", "contract", "active"],
        [
            [
                r["hcode"],
                "\n".join(r["clients"]),
                r["name"],
                r["ownership"],
                r["contract_type"],
                "yes" if r["active"] else "no",
            ]
            for r in rows
        ],
    )


@app.command("import")
def import_hospitals(
    file: Annotated[Path, typer.Argument(help="CSV: hcode,name,ownership,contract_type,province")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Add or update hospitals' register entries (ownership public|private); no clients.

    Exits 4 when any row is refused; the other rows are still imported.
    """
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from provider_registry.service import read_hospital_csv, upsert_hospital

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    rows, errors = read_hospital_csv(text)
    engine = engine_for_writing()
    with session_scope(engine) as session:
        added = sum(upsert_hospital(session, row) for row in rows)
    engine.dispose()
    refused: list[dict[str, Any]] = [{"row": e.row, "problems": list(e.reasons)} for e in errors]
    summary = {"added": added, "updated": len(rows) - added, "errors": refused}
    if as_json:
        print_json(summary)
    else:
        print_rows(
            "Hospital import",
            ["added", "updated", "refused"],
            [[summary["added"], summary["updated"], len(refused)]],
        )
        if refused:
            print_rows(
                "Refused rows",
                ["row", "problems"],
                [[e["row"], "\n".join(e["problems"])] for e in refused],
            )
    if refused:
        raise typer.Exit(ROWS_REFUSED_EXIT)


@app.command("disable")
def disable(
    hcode: Annotated[str, typer.Option(help="MOPH hospital code")],
    client_id: Annotated[
        str | None, typer.Option(help="Disable only this client of the hospital")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stop a hospital and its clients (or one client) at once: live tokens stop within 5 s."""
    _set_active(hcode, client_id, active=False, as_json=as_json)


@app.command("enable")
def enable(
    hcode: Annotated[str, typer.Option(help="MOPH hospital code")],
    client_id: Annotated[
        str | None, typer.Option(help="Enable only this client of the hospital")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Enable a disabled hospital and its clients (or one client) again."""
    _set_active(hcode, client_id, active=True, as_json=as_json)


def _set_active(hcode: str, client_id: str | None, *, active: bool, as_json: bool) -> None:
    from gateway.audit.trail import admin_event
    from gateway.cli.database import engine_for_reading
    from gateway.db import session_scope
    from provider_registry.service import RegistryError, set_hospital_active

    engine = engine_for_reading()
    with session_scope(engine) as session:
        try:
            hospital = set_hospital_active(session, hcode=hcode, active=active, client_id=client_id)
        except RegistryError as exc:
            fail(str(exc))
        admin_event(
            session,
            action="hospital.enable" if active else "hospital.disable",
            entity_type="Organization",
            entity_id=hcode,
            hcode=hcode,
            detail={"client_id": client_id},
        )
        result = {"hcode": hospital.hcode, "client_id": client_id, "active": active}
    engine.dispose()
    if as_json:
        print_json(result)
    else:
        title = "Hospital enabled" if active else "Hospital disabled"
        print_rows(title, [id_column("hcode"), "active"], [[hcode, "yes" if active else "no"]])


@app.command("rotate-key")
def rotate_key(
    client_id: Annotated[str, typer.Option(help="The client whose key changes")],
    generate_key: Annotated[
        Path | None, typer.Option(help="Write the new private key (PEM) here")
    ] = None,
    jwks: Annotated[Path | None, typer.Option(help="Register this public JWKS instead")] = None,
    jwks_uri: Annotated[
        str | None, typer.Option(help="Or: the client publishes its keys at this https URL")
    ] = None,
    grace_hours: Annotated[
        float, typer.Option(min=0, max=720, help="How long the old key keeps working")
    ] = 24.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Give a client a new key; its old key keeps working for the grace period."""
    import time

    if jwks_uri is not None:
        _register_jwks_uri(client_id, jwks_uri, as_json=as_json)
        return

    from gateway.audit.trail import admin_event
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from gateway.security.secrets import write_private_file
    from provider_registry.keys import InvalidKeySet, generate_client_key
    from provider_registry.repository import HospitalRepository
    from provider_registry.service import RegistryError, rotate_client_key

    if (generate_key is None) == (jwks is None):
        fail("give exactly one of --generate-key FILE or --jwks FILE")
    if generate_key is not None and generate_key.exists():
        fail(f"{generate_key} exists; refusing to overwrite a private key")
    key = generate_client_key() if generate_key is not None else None
    public = key.public_jwks if key is not None else _read_jwks(jwks)  # type: ignore[arg-type]
    engine = engine_for_writing()
    try:
        with session_scope(engine) as session:
            kids = rotate_client_key(
                session,
                client_id=client_id,
                public_jwks=public,
                grace_seconds=int(grace_hours * 3600),
                now=time.time(),
            )
            client = HospitalRepository(session).get_client(client_id)
            hcode = client.hcode if client else None
            admin_event(
                session,
                action="hospital.rotate-key",
                entity_type="Client",
                entity_id=client_id,
                hcode=hcode,
                detail={"new_kids": list(kids), "grace_hours": grace_hours},
            )
    except (RegistryError, InvalidKeySet) as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if generate_key is not None and key is not None:
        write_private_file(generate_key, key.private_pem)
    result = {"client_id": client_id, "kid": list(kids), "old_key_valid_hours": grace_hours}
    if as_json:
        print_json(result)
    else:
        print_rows(
            "Client key rotated",
            [id_column("client_id"), id_column("kid"), "old_key_valid_hours"],
            [[client_id, ", ".join(kids), grace_hours]],
        )


def _register_jwks_uri(client_id: str, uri: str, *, as_json: bool) -> None:
    from gateway.audit.trail import admin_event
    from gateway.cli.database import engine_for_writing
    from gateway.db import session_scope
    from gateway.settings import get_settings
    from provider_registry.service import RegistryError, register_jwks_uri

    engine = engine_for_writing()
    try:
        with session_scope(engine) as session:
            register_jwks_uri(
                session, client_id=client_id, uri=uri, require_https=get_settings().env == "prod"
            )
            admin_event(
                session,
                action="hospital.jwks-uri",
                entity_type="Client",
                entity_id=client_id,
                detail={"jwks_uri": uri},
            )
    except RegistryError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    result = {"client_id": client_id, "jwks_uri": uri}
    if as_json:
        print_json(result)
    else:
        print_rows(
            "Client keys published at", [id_column("client_id"), "jwks_uri"], [[client_id, uri]]
        )
