"""The demo's review desk: staff accounts, a promoted fraud model and a queue of pended claims.

A reviewer who opens `/review` after `make demo` finds real work: a model trained on six weeks
of synthetic history across twelve hospitals (fraud injected by the generator), then the last
few days of claims submitted through the real intake, so that the model pends some of them.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from fraud.synth import FraudRates
    from gateway.settings import Settings

DEMO_STAFF = (
    ("reviewer", "reviewer"),
    ("supervisor", "supervisor"),
    ("supervisor2", "supervisor"),
    ("finance", "finance"),
    ("auditor", "auditor"),
)
HISTORY_CLAIMS = 2400
HISTORY_DAYS = 45
RECENT_DAYS = 4
HISTORY_SEED = 2027  # not the samples' seed, so invoices never collide
RECENT_SEED = 2028
RECENT_CLAIMS = 300
RECENT_FRAUD_SCALE = 3.0
BANGKOK = ZoneInfo("Asia/Bangkok")


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """A demo staff login, printed in the banner."""

    username: str
    role: str
    password: str


def seed_staff(settings: Settings, folder: Path) -> list[DemoAccount]:
    """One account per role; passwords are generated once and kept in var/demo-staff.txt."""
    from gateway.db import make_engine, session_scope
    from provider_registry.staff import StaffRepository, add_staff_user, set_staff_password

    path = folder / "demo-staff.txt"
    known = _read_passwords(path)
    accounts = [
        DemoAccount(name, role, known.get(name) or secrets.token_urlsafe(12))
        for name, role in DEMO_STAFF
    ]
    engine = make_engine(settings)
    with session_scope(engine) as session:
        repo = StaffRepository(session)
        for account in accounts:
            if repo.get(account.username) is None:
                add_staff_user(
                    session,
                    username=account.username,
                    role=account.role,
                    password=account.password,
                )
            elif account.username not in known:
                set_staff_password(session, username=account.username, password=account.password)
    engine.dispose()
    _write_passwords(path, accounts)
    return accounts


def _read_passwords(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split(maxsplit=2) for line in path.read_text().splitlines() if line.strip())
    return {p[0]: p[2] for p in pairs if len(p) == 3}


def _write_passwords(path: Path, accounts: list[DemoAccount]) -> None:
    """Demo passwords on disk for the operator only: created 0600 before anything is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        for account in accounts:
            handle.write(f"{account.username} {account.role} {account.password}\n")


def seed_review_queue(settings: Settings, folder: Path) -> int:
    """Train and promote a demo model, then submit recent claims; how many wait for review."""
    if (pended := _pended_count(settings)) > 0:
        return pended
    today = datetime.now(BANGKOK).date()
    history, recent = _demo_claims(today)
    history_file = folder / "demo-history.ndjson"
    _write_ndjson(history_file, history)
    _seed_world(settings, history + recent)
    print(f"training a demo fraud model on {len(history):,} synthetic claims…", flush=True)
    _train_and_promote(settings, history_file)
    print(f"submitting {len(recent):,} claims of the last {RECENT_DAYS} days…", flush=True)
    _submit_in_process(settings, recent)
    return _pended_count(settings)


def _demo_claims(today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Six weeks of history to learn from, then a few busy days with more fraud than usual."""
    from fraud.synth import FraudRates

    cut = today - timedelta(days=RECENT_DAYS)
    history = _synthetic(HISTORY_CLAIMS, HISTORY_SEED, cut, HISTORY_DAYS, FraudRates())
    recent = _synthetic(
        RECENT_CLAIMS, RECENT_SEED, today, RECENT_DAYS, FraudRates().scaled(RECENT_FRAUD_SCALE)
    )
    return [b for b in history if _last_day(b) < cut], [b for b in recent if _last_day(b) <= today]


def _synthetic(
    claims: int, seed: int, end: date, days: int, rates: FraudRates
) -> list[dict[str, Any]]:
    from fraud.synth import default_network, generate_history

    return [
        item.bundle
        for item in generate_history(
            claims=claims, seed=seed, hospitals=default_network(), end=end, days=days, rates=rates
        )
    ]


def _last_day(bundle: dict[str, Any]) -> date:
    from gateway.cli.synth import last_day_of

    return last_day_of(bundle)


def _write_ndjson(path: Path, bundles: list[dict[str, Any]]) -> None:
    import orjson

    path.write_bytes(b"".join(orjson.dumps(b) + b"\n" for b in bundles))


def _seed_world(settings: Settings, bundles: list[dict[str, Any]]) -> None:
    """The synthetic network's hospitals (no API clients) and a roster for every patient."""
    from fraud.synth import default_network
    from gateway.db import make_engine, session_scope
    from gateway.security.data_key import person_key
    from provider_registry.models import Hospital
    from provider_registry.repository import HospitalRepository
    from provider_registry.roster import upsert_member
    from provider_registry.roster_synthetic import roster_for_bundles

    engine = make_engine(settings)
    with session_scope(engine) as session:
        hospitals = HospitalRepository(session)
        for synth in default_network():
            if hospitals.get(synth.hcode) is None:
                hospitals.add(Hospital(hcode=synth.hcode, name=synth.name))
        for row in roster_for_bundles(bundles, ineligible_percent=5):
            upsert_member(session, row, person_key)
    engine.dispose()


def _train_and_promote(settings: Settings, history: Path) -> None:
    """The analyst's own command, so the demo model is trained exactly as a real one."""
    env = {**os.environ, "CLAIMGW_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli.main",
            "fraud",
            "train",
            "--input",
            str(history),
            "--promote",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"training the demo model failed:\n{done.stderr[-2000:]}")


def _submit_in_process(settings: Settings, bundles: list[dict[str, Any]]) -> None:
    """Each claim through the real intake (pricing, scoring, review selection), as its hospital."""
    import orjson

    from gateway.auth.tokens import SUPPORTED_SCOPES, AccessGrant
    from gateway.claims.service import ClaimIntake
    from gateway.db import make_engine
    from gateway.fhir.responses import ProblemError
    from gateway.logs import configure_logging
    from gateway.pipeline import build_pipeline

    quiet = settings.model_copy(update={"log_level": "warning"})
    configure_logging(quiet.log_level, quiet.log_json)
    engine = make_engine(quiet)
    intake = ClaimIntake(engine, quiet, build_pipeline(quiet, engine))
    for bundle in bundles:
        hcode = _hcode_of(bundle)
        grant = AccessGrant(client_id="demo-seed", hcode=hcode, scopes=frozenset(SUPPORTED_SCOPES))
        try:
            intake.submit(grant=grant, body=orjson.dumps(bundle), idempotency_key=None)
        except ProblemError:
            continue  # the generator's rare misfits are refused, as a hospital's would be
    engine.dispose()


def _hcode_of(bundle: dict[str, Any]) -> str:
    provider = bundle["entry"][0]["resource"]["provider"]
    reference = provider.get("reference", "")
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if entry.get("fullUrl") == reference and resource.get("resourceType") == "Organization":
            return str(resource["identifier"][0]["value"])
    return str(provider["identifier"]["value"])


def _pended_count(settings: Settings) -> int:
    from sqlmodel import Session, func, select

    from gateway.claims.models import ClaimRecord
    from gateway.db import make_engine

    engine = make_engine(settings)
    with Session(engine) as session:
        query = select(func.count()).where(ClaimRecord.status == "pended_review")
        count = int(session.exec(query).one())
    engine.dispose()
    return count


def review_lines(base_url: str, accounts: list[DemoAccount], pended: int) -> list[str]:
    """The banner's part for staff: where to sign in, and with which account."""
    width = max(len(a.username) for a in accounts)
    return [
        "",
        f"Fraud reviewers: {pended} claims wait in the queue. Sign in at {base_url}/login",
        *(f"  {a.username:<{width}}  {a.password}   ({a.role})" for a in accounts),
        "  (passwords are kept in var/demo-staff.txt; change one with `claimgw user set-password`)",
    ]
