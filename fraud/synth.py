"""Seeded synthetic SSO claim bundles for demos, tests and benchmarks.

Deterministic for a seed: the same seed and options give the same bundles byte for byte.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fhir_mappings.claim import CareSetting
from fhir_mappings.claim_bundle import ClaimSpec, LineSpec, build_claim_bundle

THAI_TIME = ZoneInfo("Asia/Bangkok")


@dataclass(frozen=True, slots=True)
class SynthHospital:
    """A hospital the generator may bill from."""

    hcode: str
    name: str


OPD_ITEMS = (
    ("OPD-VISIT", "Outpatient consultation", Decimal("150"), "12"),
    ("LAB-CBC", "Complete blood count (TMLT 30101)", Decimal("90"), "07"),
    ("LAB-FBS", "Fasting blood sugar (TMLT 32203)", Decimal("40"), "07"),
    ("DRUG-PARA", "Paracetamol 500 mg tablet (TMT)", Decimal("1.5"), "03"),
    ("DRUG-AMOX", "Amoxicillin 500 mg capsule (TMT)", Decimal("3"), "03"),
    ("XRAY-CHEST", "Chest X-ray", Decimal("200"), "08"),
)
IPD_ITEMS = (
    ("IPD-ROOM", "Ward room and board, per day", Decimal("700"), "01"),
    ("IPD-NURSE", "Nursing care, per day", Decimal("300"), "12"),
    ("LAB-CBC", "Complete blood count (TMLT 30101)", Decimal("90"), "07"),
    ("DRUG-CEF", "Ceftriaxone 1 g injection (TMT)", Decimal("60"), "03"),
)
OPD_DIAGNOSES = ("J06.9", "E11.9", "I10", "K29.7", "M54.5", "A09")
IPD_DIAGNOSES = ("J18.9", "K35.8", "N39.0", "I63.9")
IPD_DRG = (("04102", "1.2", "1.15"), ("06052", "0.9", "0.88"), ("11602", "0.8", "0.81"))


def synthetic_cid(rng: random.Random) -> str:
    """A 13-digit citizen ID with a valid check digit (not a real person's)."""
    digits = [rng.choice("12345678")] + [str(rng.randrange(10)) for _ in range(11)]
    total = sum(int(d) * (13 - i) for i, d in enumerate(digits))
    return "".join(digits) + str((11 - total % 11) % 10)


def generate_bundles(
    *, claims: int, seed: int, hospitals: Sequence[SynthHospital], end: date, days: int = 90
) -> Iterator[dict[str, Any]]:
    """`claims` bundles across `hospitals`, with services in the `days` before `end`."""
    rng = random.Random(seed)
    namespace = uuid.UUID(int=rng.getrandbits(128))
    for n in range(claims):
        hospital = hospitals[n % len(hospitals)]
        yield build_claim_bundle(_spec(rng, namespace, f"S{seed}-{n:07d}", hospital, end, days))


def _spec(
    rng: random.Random, namespace: uuid.UUID, invoice: str, hospital: SynthHospital, end: date, days: int
) -> ClaimSpec:
    setting = CareSetting.IPD if rng.random() < 0.2 else CareSetting.OPD
    day = end - timedelta(days=rng.randrange(1, days + 1))
    start = datetime.combine(day, time(8 + rng.randrange(9), rng.randrange(60)), THAI_TIME)
    stay = timedelta(days=rng.randrange(1, 6)) if setting is CareSetting.IPD else timedelta(minutes=40)
    lines = _lines(rng, setting, (stay.days or 1))
    drg = None
    if setting is CareSetting.IPD:
        code, rw, adj = rng.choice(IPD_DRG)
        drg = (code, Decimal(rw), Decimal(adj))
    return ClaimSpec(
        hcode=hospital.hcode,
        hospital_name=hospital.name,
        invoice=invoice,
        cid=synthetic_cid(rng),
        birth_date=date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        sex=rng.choice(("male", "female")),
        setting=setting,
        start=start,
        end=start + stay,
        lines=lines,
        diagnoses=(rng.choice(IPD_DIAGNOSES if setting is CareSetting.IPD else OPD_DIAGNOSES),),
        drg=drg,
        seed_uuid=str(uuid.uuid5(namespace, invoice)),
    )


def _lines(rng: random.Random, setting: CareSetting, days: int) -> tuple[LineSpec, ...]:
    catalogue = IPD_ITEMS if setting is CareSetting.IPD else OPD_ITEMS
    chosen = [catalogue[0], *rng.sample(catalogue[1:], k=rng.randrange(1, len(catalogue)))]
    lines = []
    for code, display, price, category in chosen:
        per_day = code.startswith("IPD-")
        quantity = Decimal(days if per_day else (rng.randrange(1, 21) if code.startswith("DRUG") else 1))
        lines.append(LineSpec(code=code, display=display, unit_price=price, quantity=quantity,
                              category=category))
    return tuple(lines)
