"""`claimgw demo`: an embedded gateway seeded with demo hospitals, keys and claims."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from gateway.cli.output import fail

if TYPE_CHECKING:
    from sqlmodel import Session

    from gateway.settings import Settings
    from provider_registry.demo import DemoHospital

DEMO_INELIGIBLE_PERCENT = 10
DEMO_NETWORK = (("10661", "23760"),)
"""The demo network clinic gives routine care for the demo provincial hospital's patients."""
DEMO_OWNERSHIP = {"10661": "public"}
"""The demo provincial hospital is public; the others are private (emergency rates differ)."""
DEMO_SAMPLES = 20


def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on (make demo PORT=8011)")] = 8000,
    folder: Annotated[Path, typer.Option(help="Where keys and sample claims go")] = Path("var"),
    serve: Annotated[bool, typer.Option(help="Start serving after seeding")] = True,
) -> None:
    """Seed demo hospitals with keys and sample claims, print how to use them, then serve."""
    from gateway.cli.demo_review import review_lines, seed_review_queue, seed_staff
    from gateway.cli.server import (
        announce_when_listening,
        default_base_url,
        port_problem,
        run_server,
    )
    from gateway.db import upgrade_database
    from gateway.settings import get_settings

    if serve and (problem := port_problem(host, port)):
        other = f"{claimgw_command()} demo --port 8011"
        fail(f"{problem}. Choose another port: `make demo PORT=8011` or `{other}`.")
    default_base_url(host, port)
    settings = get_settings()
    upgrade_database(settings)
    keys = _seed_hospitals(settings, folder / "demo-keys")
    samples = folder / "demo-claims.ndjson"
    _write_samples(samples)
    seed_coverage(settings, samples, folder / "demo-roster.csv")
    accounts = seed_staff(settings, folder)
    pended = seed_review_queue(settings, folder)
    _explain(settings.base_url, keys, samples, review_lines(settings.base_url, accounts, pended))
    if serve:
        announce_when_listening(host, port, settings.base_url)
        run_server(host=host, port=port, workers=1, worker=True)


def claimgw_command() -> str:
    """How to run claimgw from here, as the user can paste it (PATH, .venv/bin or python -m)."""
    program = Path(sys.argv[0])
    if program.name == "claimgw":
        absolute = program.absolute()
        if absolute.is_relative_to(Path.cwd()):  # .venv/bin/claimgw (uv run puts it on PATH)
            return shlex.quote(str(absolute.relative_to(Path.cwd())))
        on_path = shutil.which("claimgw")
        if on_path and Path(on_path).resolve() == absolute.resolve():
            return "claimgw"
        return shlex.quote(str(absolute))
    return f"{shlex.quote(_relative(Path(sys.executable)))} -m gateway.cli.main"


def _relative(path: Path) -> str:
    """A path as short as it can be written from the current folder."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _seed_hospitals(settings: Settings, key_folder: Path) -> dict[str, Path]:
    from gateway.db import make_engine, session_scope
    from provider_registry.demo import DEMO_HOSPITALS
    from provider_registry.repository import HospitalRepository

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
    from provider_registry.keys import generate_client_key
    from provider_registry.repository import HospitalRepository
    from provider_registry.service import register_hospital

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
        ownership=DEMO_OWNERSHIP.get(hospital.hcode, "private"),
    )
    path.write_bytes(key.private_pem)
    path.chmod(0o600)


def _write_samples(path: Path) -> None:
    """Sample claims of the first demo hospital, none of them ending after today."""
    import orjson

    from fraud.synth import SynthHospital, generate_bundles
    from gateway.cli.synth import last_day_of
    from provider_registry.demo import DEMO_HOSPITALS

    today = datetime.now(ZoneInfo("Asia/Bangkok")).date()
    first = DEMO_HOSPITALS[0]
    bundles = generate_bundles(
        claims=DEMO_SAMPLES * 2,
        seed=2026,
        hospitals=[SynthHospital(first.hcode, first.name)],
        end=today,
    )
    kept = [b for b in bundles if last_day_of(b) <= today][-DEMO_SAMPLES:]
    path.write_bytes(b"".join(orjson.dumps(b) + b"\n" for b in kept))


def seed_coverage(settings: Settings, samples: Path, roster_path: Path) -> None:
    """Load the default tariff, the demo code mappings, the network and a roster for the samples."""
    import orjson

    from fhir_mappings.tariff import default_mapping_text, parse_mapping_csv
    from gateway.db import make_engine, session_scope
    from gateway.pricing.imports import import_tariff_mappings
    from gateway.pricing.service import seed_default_parameters, seed_default_schedule
    from gateway.security.data_key import person_key
    from provider_registry.models import HospitalNetwork
    from provider_registry.repository import InsuredPersonRepository
    from provider_registry.roster import import_roster, roster_csv
    from provider_registry.roster_synthetic import roster_for_bundles

    bundles = [orjson.loads(line) for line in samples.read_bytes().splitlines() if line.strip()]
    rows = roster_for_bundles(bundles, ineligible_percent=DEMO_INELIGIBLE_PERCENT)
    roster_path.write_text(roster_csv(rows), encoding="utf-8")
    mappings, _errors = parse_mapping_csv(default_mapping_text())
    engine = make_engine(settings)
    with session_scope(engine) as session:
        seed_default_schedule(session)
        seed_default_parameters(session)
        import_tariff_mappings(session, mappings)
        networks = InsuredPersonRepository(session)
        for main, member in DEMO_NETWORK:
            networks.add_network(HospitalNetwork(main_hcode=main, network_hcode=member))
        import_roster(session, rows, key_of=person_key)
    engine.dispose()


def _explain(
    base_url: str, keys: dict[str, Path], samples: Path, extra: Sequence[str] = ()
) -> None:
    """The banner: what was seeded and commands that paste and work; `extra` adds lines."""
    client_id, key = next(iter(keys.items()))
    run = claimgw_command()
    database = os.environ.get("CLAIMGW_DATABASE_URL")
    lines = [
        "",
        "SSO claims gateway demo",
        f"  base URL        {base_url}",
        f"  client id       {client_id}   (others: {', '.join(list(keys)[1:])})",
        f"  private key     {key}",
        f"  sample claims   {samples}",
        f"  demo roster     {samples.parent / 'demo-roster.csv'}  (patients of the samples; "
        f"~{DEMO_INELIGIBLE_PERCENT}% ineligible)",
        *([f"  database        {database}"] if database else []),
        "",
        "In another shell, in this folder:",
        f"  {run} submit {samples} --url {base_url} --client-id {client_id} --key {key}",
        "",
        "Or with curl:",
        f"  TOKEN=$({run} token --url {base_url} --client-id {client_id} --key {key})",
        f"  head -n1 {samples} > /tmp/claim.json",
        f"  curl -s -X POST '{base_url}/fhir/Claim/$submit' -H \"Authorization: Bearer $TOKEN\" \\",
        "       -H 'Content-Type: application/fhir+json' --data-binary @/tmp/claim.json",
        *extra,
        "",
    ]
    print("\n".join(lines), flush=True)
