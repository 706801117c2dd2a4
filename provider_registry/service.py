"""Onboarding hospitals and their API clients."""

from __future__ import annotations

import csv
import io
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from fhir_mappings.systems import is_valid_hcode
from provider_registry.keys import load_public_jwks
from provider_registry.models import ApiClient, ContractType, Hospital, Ownership
from provider_registry.repository import HospitalRepository


class RegistryError(ValueError):
    """An onboarding request that cannot be carried out."""


class HospitalExists(RegistryError):
    """The HCODE is registered already and the caller did not ask for another client."""


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """What a newly onboarded hospital client needs to know."""

    client_id: str
    hcode: str
    kids: tuple[str, ...]


def register_hospital(
    session: Session,
    *,
    hcode: str,
    name: str,
    public_jwks: dict[str, Any],
    contract_type: str = ContractType.MAIN.value,
    province: str | None = None,
    client_id: str | None = None,
    ownership: str | None = None,
    add_client: bool = True,
) -> RegisteredClient:
    """Add (or update) a hospital and give it a new API client with these public keys.

    With `add_client=False` an HCODE that is registered already is refused (HospitalExists)
    instead of silently getting a second client.
    """
    _check_hospital_fields(hcode, contract_type, ownership)
    keys = load_public_jwks(json.dumps(public_jwks))
    repo = HospitalRepository(session)
    existing = repo.get(hcode)
    if existing is not None and not add_client:
        clients = ", ".join(c.client_id for c in repo.clients_of(hcode)) or "none"
        raise HospitalExists(
            f"HCODE {hcode} is registered already (clients: {clients}); "
            "add --add-client to give it another client, or use `hospital list`"
        )
    if existing is not None and not existing.active:  # re-enabling is its own command
        raise RegistryError(
            f"HCODE {hcode} is disabled; `claimgw hospital enable --hcode {hcode}` enables it"
        )
    hospital = existing or Hospital(hcode=hcode, name=name)
    hospital.name, hospital.contract_type, hospital.province = name, contract_type, province
    hospital.ownership = ownership or hospital.ownership or Ownership.PRIVATE.value
    repo.add(hospital)
    client_id = client_id or f"{hcode}-{secrets.token_hex(6)}"
    if repo.get_client(client_id) is not None:
        raise RegistryError(f"client id {client_id!r} is taken")
    repo.add_client(ApiClient(client_id=client_id, hcode=hcode, jwks=json.dumps(keys)))
    return RegisteredClient(
        client_id=client_id, hcode=hcode, kids=tuple(k["kid"] for k in keys["keys"])
    )


def _check_hospital_fields(hcode: str, contract_type: str, ownership: str | None) -> None:
    if not is_valid_hcode(hcode):
        raise RegistryError(f"HCODE {hcode!r} is not 5 or 9 digits")
    if contract_type not in {c.value for c in ContractType}:
        raise RegistryError(f"contract type must be one of {[c.value for c in ContractType]}")
    if ownership is not None and ownership not in {o.value for o in Ownership}:
        raise RegistryError(f"ownership must be one of {[o.value for o in Ownership]}")


HOSPITAL_COLUMNS = ("hcode", "name", "ownership", "contract_type", "province")


@dataclass(frozen=True, slots=True)
class HospitalRow:
    """One row of a hospital register CSV."""

    hcode: str
    name: str
    ownership: str
    contract_type: str
    province: str | None


@dataclass(frozen=True, slots=True)
class HospitalRowError:
    """A register row that was refused: its 1-based data row number and every problem."""

    row: int
    reasons: tuple[str, ...]


def read_hospital_csv(text: str) -> tuple[list[HospitalRow], list[HospitalRowError]]:
    """Hospital rows from CSV with HOSPITAL_COLUMNS (province may be empty)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [
        c for c in HOSPITAL_COLUMNS if c not in (reader.fieldnames or []) and c != "province"
    ]
    if missing:
        return [], [HospitalRowError(0, (f"header lacks columns: {', '.join(missing)}",))]
    rows, errors = [], []
    for number, raw in enumerate(reader, start=1):
        cells = {k: (v or "").strip() for k, v in raw.items() if k}
        row = HospitalRow(
            hcode=cells.get("hcode", ""),
            name=cells.get("name", ""),
            ownership=cells.get("ownership", "").lower(),
            contract_type=cells.get("contract_type", "").lower() or ContractType.MAIN.value,
            province=cells.get("province") or None,
        )
        reasons = _hospital_row_problems(row)
        if reasons:
            errors.append(HospitalRowError(number, reasons))
        else:
            rows.append(row)
    return rows, errors


def _hospital_row_problems(row: HospitalRow) -> tuple[str, ...]:
    problems = []
    if not is_valid_hcode(row.hcode):
        problems.append(f"hcode {row.hcode!r} is not 5 or 9 digits")
    if not row.name:
        problems.append("name is empty")
    if row.ownership not in {o.value for o in Ownership}:
        problems.append(f"ownership must be public or private, not {row.ownership!r}")
    if row.contract_type not in {c.value for c in ContractType}:
        problems.append(f"contract_type must be main, network or none, not {row.contract_type!r}")
    return tuple(problems)


def upsert_hospital(session: Session, row: HospitalRow) -> bool:
    """Add or update a hospital's register entry (no API client); True when it was new."""
    repo = HospitalRepository(session)
    hospital = repo.get(row.hcode)
    added = hospital is None
    hospital = hospital or Hospital(hcode=row.hcode, name=row.name)
    hospital.name, hospital.ownership = row.name, row.ownership
    hospital.contract_type, hospital.province = row.contract_type, row.province
    repo.add(hospital)
    session.flush()
    return added


def disable_hospital(session: Session, *, hcode: str) -> Hospital:
    """Stop a hospital from getting tokens; its stored claims stay."""
    repo = HospitalRepository(session)
    hospital = repo.get(hcode)
    if hospital is None:
        raise RegistryError(f"no hospital with HCODE {hcode}")
    hospital.active = False
    for client in repo.clients_of(hcode):
        client.active = False
        repo.add_client(client)
    return repo.add(hospital)


def set_hospital_active(
    session: Session, *, hcode: str, active: bool, client_id: str | None = None
) -> Hospital:
    """Enable or disable a hospital and all its clients, or only one client of it."""
    repo = HospitalRepository(session)
    hospital = repo.get(hcode)
    if hospital is None:
        raise RegistryError(f"no hospital with HCODE {hcode}")
    clients = [c for c in repo.clients_of(hcode) if client_id in (None, c.client_id)]
    if client_id is not None and not clients:
        raise RegistryError(f"HCODE {hcode} has no client {client_id!r}")
    for client in clients:
        client.active = active
        repo.add_client(client)
    if client_id is None or active:
        hospital.active = active
    return repo.add(hospital)


def rotate_client_key(
    session: Session, *, client_id: str, public_jwks: dict[str, Any], grace_seconds: int, now: float
) -> tuple[str, ...]:
    """Add a client's new public keys; its current keys stay valid for `grace_seconds` more.

    Retiring keys are listed under `retire_at` (kid -> epoch seconds) beside `keys` in the
    stored set; the token endpoint ignores a key once its time has passed.
    """
    repo = HospitalRepository(session)
    client = repo.get_client(client_id)
    if client is None:
        raise RegistryError(f"no client {client_id!r}")
    new_keys = load_public_jwks(json.dumps(public_jwks))["keys"]
    stored = json.loads(client.jwks)
    retire_at = {k: v for k, v in (stored.get("retire_at") or {}).items() if v > now}
    current = [k for k in stored["keys"] if retire_at.get(k["kid"], now + 1) > now]
    for key in current:
        retire_at.setdefault(key["kid"], int(now + grace_seconds))
    new_kids = {k["kid"] for k in new_keys}
    kept = [k for k in current if k["kid"] not in new_kids]
    client.jwks = json.dumps({"keys": [*kept, *new_keys], "retire_at": retire_at})
    repo.add_client(client)
    return tuple(sorted(new_kids))


def register_jwks_uri(session: Session, *, client_id: str, uri: str, require_https: bool) -> None:
    """Let a client publish its own keys at `uri` (its stored keys stay valid beside them)."""
    if not uri.startswith("https://") and (require_https or not uri.startswith("http://")):
        raise RegistryError("a jwks_uri must be an https:// URL")
    repo = HospitalRepository(session)
    client = repo.get_client(client_id)
    if client is None:
        raise RegistryError(f"no client {client_id!r}")
    client.jwks_uri = uri
    repo.add_client(client)
