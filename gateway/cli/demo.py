"""`claimgw demo`: an embedded gateway seeded with demo hospitals, keys and claims."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
import typer
from sqlmodel import Session

from fhir_mappings.tariff import default_mapping_text, parse_mapping_csv
from fraud.synth import SynthHospital, generate_bundles
from gateway.cli.server import default_base_url, run_server
from gateway.db import make_engine, session_scope, upgrade_database
from gateway.pricing.imports import import_tariff_mappings
from gateway.pricing.service import seed_default_schedule
from gateway.settings import Settings, get_settings
from provider_registry.demo import DEMO_HOSPITALS, DemoHospital
from provider_registry.keys import generate_client_key
from provider_registry.models import HospitalNetwork
from provider_registry.repository import HospitalRepository, InsuredPersonRepository
from provider_registry.roster import import_roster, roster_csv
from provider_registry.roster_synthetic import roster_for_bundles
from provider_registry.service import register_hospital

DEMO_INELIGIBLE_PERCENT = 10
DEMO_NETWORK = (("10661", "23760"),)
"""The demo network clinic gives routine care for the demo provincial hospital's patients."""


def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    folder: Annotated[Path, typer.Option(help="Where keys and sample claims go")] = Path("var"),
    serve: Annotated[bool, typer.Option(help="Start serving after seeding")] = True,
) -> None:
    """Seed demo hospitals with keys and sample claims, print how to use them, then serve."""
    default_base_url(host, port)
    settings = get_settings()
    upgrade_database(settings)
    keys = _seed_hospitals(settings, folder / "demo-keys")
    samples = folder / "demo-claims.ndjson"
    _write_samples(samples)
    seed_coverage(settings, samples, folder / "demo-roster.csv")
    _explain(settings.base_url, keys, samples)
    if serve:
        run_server(host=host, port=port, workers=1)


def _seed_hospitals(settings: Settings, key_folder: Path) -> dict[str, Path]:
    key_folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings)
    paths = {}
    with session_scope(engine) as session:
        repo = HospitalRepository(session)
        for hospital in DEMO_HOSPITALS:
            path = key_folder / f"{hospital.hcode}.pem"
            if repo.get_client(hospital.client_id) is None or not path.exists():
                _register(session, hospital, path)
            paths[hospital.client_id] = path
    engine.dispose()
    return paths


def _register(session: Session, hospital: DemoHospital, path: Path) -> None:
    """Give a demo hospital a fresh client key (the old client row is replaced)."""
    repo = HospitalRepository(session)
    existing = repo.get_client(hospital.client_id)
    if existing is not None:
        session.delete(existing)
        session.flush()
    key = generate_client_key()
    register_hospital(
        session,
        hcode=hospital.hcode,
        name=hospital.name,
        public_jwks=key.public_jwks,
        contract_type=hospital.contract_type,
        province=hospital.province,
        client_id=hospital.client_id,
    )
    path.write_bytes(key.private_pem)
    path.chmod(0o600)


def _write_samples(path: Path) -> None:
    today = datetime.now(ZoneInfo("Asia/Bangkok")).date()
    first = DEMO_HOSPITALS[0]
    bundles = generate_bundles(
        claims=20, seed=2026, hospitals=[SynthHospital(first.hcode, first.name)], end=today
    )
    path.write_bytes(b"".join(orjson.dumps(b) + b"\n" for b in bundles))


def seed_coverage(settings: Settings, samples: Path, roster_path: Path) -> None:
    """Load the default tariff, the demo code mappings, the network and a roster for the samples."""
    bundles = [orjson.loads(line) for line in samples.read_bytes().splitlines() if line.strip()]
    rows = roster_for_bundles(bundles, ineligible_percent=DEMO_INELIGIBLE_PERCENT)
    roster_path.write_text(roster_csv(rows), encoding="utf-8")
    mappings, _errors = parse_mapping_csv(default_mapping_text())
    engine = make_engine(settings)
    with session_scope(engine) as session:
        seed_default_schedule(session)
        import_tariff_mappings(session, mappings)
        networks = InsuredPersonRepository(session)
        for main, member in DEMO_NETWORK:
            networks.add_network(HospitalNetwork(main_hcode=main, network_hcode=member))
        import_roster(session, rows)
    engine.dispose()


def _explain(base_url: str, keys: dict[str, Path], samples: Path) -> None:
    client_id, key = next(iter(keys.items()))
    print(f"""
SSO claims gateway demo
  base URL        {base_url}
  client id       {client_id}   (others: {", ".join(list(keys)[1:])})
  private key     {key}
  sample claims   {samples}
  demo roster     {samples.parent / "demo-roster.csv"}  (patients of the samples; ~10% ineligible)

Submit the samples:
  claimgw submit {samples} --url {base_url} --client-id {client_id} --key {key}

Or with curl:
  TOKEN=$(claimgw token --url {base_url} --client-id {client_id} --key {key})
  head -n1 {samples} > /tmp/claim.json
  curl -s -X POST {base_url}/fhir/Claim/\\$submit -H "Authorization: Bearer $TOKEN" \\
       -H "Content-Type: application/fhir+json" --data-binary @/tmp/claim.json
""")
