"""Onboarding hospitals and their API clients."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from fhir_mappings.systems import is_valid_hcode
from provider_registry.keys import load_public_jwks
from provider_registry.models import ApiClient, ContractType, Hospital
from provider_registry.repository import HospitalRepository


class RegistryError(ValueError):
    """An onboarding request that cannot be carried out."""


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
) -> RegisteredClient:
    """Add (or update) a hospital and give it a new API client with these public keys."""
    if not is_valid_hcode(hcode):
        raise RegistryError(f"HCODE {hcode!r} is not 5 or 9 digits")
    if contract_type not in {c.value for c in ContractType}:
        raise RegistryError(f"contract type must be one of {[c.value for c in ContractType]}")
    keys = load_public_jwks(json.dumps(public_jwks))
    repo = HospitalRepository(session)
    hospital = repo.get(hcode) or Hospital(hcode=hcode, name=name)
    hospital.name, hospital.contract_type, hospital.province = name, contract_type, province
    hospital.active = True
    repo.add(hospital)
    client_id = client_id or f"{hcode}-{secrets.token_hex(6)}"
    if repo.get_client(client_id) is not None:
        raise RegistryError(f"client id {client_id!r} is taken")
    repo.add_client(ApiClient(client_id=client_id, hcode=hcode, jwks=json.dumps(keys)))
    return RegisteredClient(
        client_id=client_id, hcode=hcode, kids=tuple(k["kid"] for k in keys["keys"])
    )


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
