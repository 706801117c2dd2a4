"""Seeded synthetic SSO claim history with labelled fraud, for demos, tests and training.

Deterministic for a seed: the same seed and options give the same bundles byte for byte. The
generator streams: it walks the calendar day by day and keeps only the population and the
claims scheduled for the next few days in memory, so a million claims fit in little memory.
Patients are synthetic: random citizen IDs with valid check digits, no names.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson

from fhir_mappings.claim import CareSetting
from fhir_mappings.claim_bundle import ClaimSpec, LineSpec
from fraud.calendar import day_weight
from fraud.reference import DRGS, ITEMS
from fraud.synth_bundle import synth_bundle_line, uuid5_bytes

THAI_TIME = ZoneInfo("Asia/Bangkok")
PATTERNS = (
    "upcoding",
    "drg_creep",
    "unbundling",
    "duplicate_exact",
    "duplicate_near",
    "after_death",
    "excessive",
    "ghost",
    "doctor_shopping",
    "night_elective",
    "collusion",
)
KIND_PRICE = {"university": 1.25, "provincial": 1.0, "private": 1.45, "clinic": 0.9}
KIND_SIZE = {"university": 3.0, "provincial": 2.0, "private": 1.5, "clinic": 0.6}
ENCOUNTERS = (
    ("opd", 0.62),
    ("ipd", 0.08),
    ("dental", 0.07),
    ("dialysis", 0.1),
    ("prenatal", 0.04),
    ("birth", 0.01),
    ("er", 0.08),
)
# The encounters of a person with no standing care (dialysis, pregnancy), with cumulative
# weights: `random.choices` turns weights into these on every call, giving the same draw.
ROUTINE = tuple(k for k, _ in ENCOUNTERS if k not in ("dialysis", "prenatal", "birth"))
ROUTINE_CUM_WEIGHTS = list(accumulate(w for k, w in ENCOUNTERS if k in ROUTINE))


@dataclass(frozen=True, slots=True)
class SynthHospital:
    """A hospital the generator may bill from; kind is inferred from the name when empty."""

    hcode: str
    name: str
    kind: str = ""

    @property
    def hospital_kind(self) -> str:
        if self.kind:
            return self.kind
        lowered = self.name.lower()
        for kind in ("clinic", "private", "university"):
            if kind in lowered:
                return kind
        return "provincial"


@dataclass(frozen=True, slots=True)
class FraudRates:
    """The share of claims that carry each injected pattern (0 turns a pattern off)."""

    upcoding: float = 0.006
    drg_creep: float = 0.004
    unbundling: float = 0.005
    duplicate_exact: float = 0.003
    duplicate_near: float = 0.003
    after_death: float = 0.002
    excessive: float = 0.0006
    ghost: float = 0.0008
    doctor_shopping: float = 0.0006
    night_elective: float = 0.003
    collusion: float = 0.004

    def scaled(self, factor: float) -> FraudRates:
        """Every rate multiplied by `factor` (0 gives a clean history)."""
        return FraudRates(**{p: getattr(self, p) * factor for p in PATTERNS})


@dataclass(slots=True)
class Person:
    """An insured person (section 33/39), with what drives their care."""

    cid: str
    birth: date
    sex: str
    section: int
    main: int
    diabetes: bool
    dialysis: bool
    pregnant: bool
    death: date | None
    coverage_start: date


@dataclass(frozen=True, slots=True)
class LabelledBundle:
    """One generated claim bundle with its ground truth."""

    identifier: str
    bundle: dict[str, Any]
    pattern: str

    @property
    def label(self) -> int:
        return 0 if self.pattern == "none" else 1


@dataclass(frozen=True, slots=True)
class SynthClaim:
    """One generated claim before it is a bundle: its invoice, spec, UUID seed and truth.

    `spec.invoice` and `spec.seed_uuid` are placeholders; the bundle takes `identifier` and
    `seed` (the 16 bytes of the claim's seed UUID) instead, which spares a copy of the spec.
    """

    identifier: str
    spec: ClaimSpec
    seed: bytes
    pattern: str

    @property
    def label(self) -> int:
        return 0 if self.pattern == "none" else 1

    @property
    def last_day(self) -> date:
        """The last day of care the bundle will carry (billablePeriod.end, line dates)."""
        spec = self.spec
        served = [line.serviced or spec.start.date() for line in spec.lines]
        return max([spec.end.date(), *served])

    def ndjson_line(self) -> bytes:
        """The bundle as one NDJSON line, as `orjson.dumps` writes it."""
        return synth_bundle_line(self.spec, self.identifier, self.seed)

    def bundle(self) -> dict[str, Any]:
        return cast(dict[str, Any], orjson.loads(self.ndjson_line()))


@dataclass(slots=True)
class _Draft:
    spec: ClaimSpec
    pattern: str = "none"


@dataclass(slots=True)
class World:
    """The generator's state: population, price levels, the seeded draw and claims to come."""

    rng: random.Random
    hospitals: Sequence[SynthHospital]
    persons: list[Person]
    price_factor: dict[tuple[int, str], float]
    colluder: int
    ghost_clinic: int
    namespace: uuid.UUID
    rates: FraudRates
    scheduled: dict[date, list[_Draft]] = field(default_factory=dict)
    recent: list[ClaimSpec] = field(default_factory=list)
    # Billed lines are immutable and repeat (same hospital, code and quantity, same price),
    # so each is priced and formatted once.
    lines: dict[tuple[int, str, int], LineSpec] = field(default_factory=dict)
    # The persons `_inject_after_death` may pick from, in population order; computed once.
    early_dead: list[Person] | None = None
    # The rates in PATTERNS order, so that picking a pattern needs no attribute look-ups.
    pattern_rates: tuple[tuple[str, float], ...] = field(init=False)

    def __post_init__(self) -> None:
        self.pattern_rates = tuple((p, getattr(self.rates, p)) for p in PATTERNS)


def synthetic_cid(rng: random.Random) -> str:
    """A 13-digit citizen ID with a valid check digit (not a real person's)."""
    digits = [rng.choice("12345678")] + [str(rng.randrange(10)) for _ in range(11)]
    total = sum(int(d) * (13 - i) for i, d in enumerate(digits))
    return "".join(digits) + str((11 - total % 11) % 10)


def default_network() -> tuple[SynthHospital, ...]:
    """Twelve hospitals of every kind; the first three are the demo hospitals' HCODEs."""
    return (
        SynthHospital("10661", "Demo Provincial Hospital", "provincial"),
        SynthHospital("11512", "Demo Private Hospital", "private"),
        SynthHospital("23760", "Demo Network Clinic", "clinic"),
        SynthHospital("10001", "Synthetic University Hospital", "university"),
        SynthHospital("10002", "Synthetic University Hospital 2", "university"),
        SynthHospital("10670", "Synthetic Provincial Hospital A", "provincial"),
        SynthHospital("10671", "Synthetic Provincial Hospital B", "provincial"),
        SynthHospital("11520", "Synthetic Private Hospital A", "private"),
        SynthHospital("11521", "Synthetic Private Hospital B", "private"),
        SynthHospital("23761", "Synthetic Clinic Network A", "clinic"),
        SynthHospital("23762", "Synthetic Clinic Network B", "clinic"),
        SynthHospital("23763", "Synthetic Clinic Network C", "clinic"),
    )


def generate_bundles(
    *,
    claims: int,
    seed: int,
    hospitals: Sequence[SynthHospital],
    end: date,
    days: int = 90,
    rates: FraudRates | None = None,
) -> Iterator[dict[str, Any]]:
    """`claims` bundles across `hospitals`, with services in the `days` before `end`."""
    for item in generate_history(
        claims=claims, seed=seed, hospitals=hospitals, end=end, days=days, rates=rates
    ):
        yield item.bundle


def generate_history(
    *,
    claims: int,
    seed: int,
    hospitals: Sequence[SynthHospital],
    end: date,
    days: int = 90,
    rates: FraudRates | None = None,
) -> Iterator[LabelledBundle]:
    """Labelled bundles in service-time order, day by day over the `days` before `end`."""
    world = build_world(seed=seed, hospitals=hospitals, claims=claims, rates=rates or FraudRates())
    for item in generate_claims(world, claims=claims, seed=seed, end=end, days=days):
        yield LabelledBundle(item.identifier, item.bundle(), item.pattern)


def generate_claims(
    world: World, *, claims: int, seed: int, end: date, days: int = 90
) -> Iterator[SynthClaim]:
    """The claims of `generate_history` from a world built for the same seed, not yet bundles.

    Taking the world lets `claimgw synth` write the roster from the same population instead
    of drawing it twice.
    """
    first = end - timedelta(days=days)
    quotas = _daily_quotas(claims, [first + timedelta(days=i) for i in range(days)])
    namespace = world.namespace.bytes
    n = 0
    for day, quota in quotas:
        for draft in _day_drafts(world, day, quota):
            invoice = f"S{seed}-{n:07d}"
            n += 1
            yield SynthClaim(invoice, draft.spec, uuid5_bytes(namespace, invoice), draft.pattern)


def build_world(
    *, seed: int, hospitals: Sequence[SynthHospital], claims: int, rates: FraudRates
) -> World:
    """The population: hospitals with price levels, insured persons and their registrations."""
    rng = random.Random(seed)
    namespace = uuid.UUID(int=rng.getrandbits(128))
    cum_weights = list(accumulate(KIND_SIZE[h.hospital_kind] for h in hospitals))
    persons = [_person(rng, hospitals, cum_weights) for _ in range(max(60, claims // 5))]
    factors = {
        (i, code): KIND_PRICE[h.hospital_kind] * rng.lognormvariate(0, 0.08)
        for i, h in enumerate(hospitals)
        for code in ITEMS
    }
    non_clinics = [i for i, h in enumerate(hospitals) if h.hospital_kind != "clinic"] or [0]
    clinics = [i for i, h in enumerate(hospitals) if h.hospital_kind == "clinic"] or [
        len(hospitals) - 1
    ]
    return World(
        rng,
        hospitals,
        persons,
        factors,
        rng.choice(non_clinics),
        rng.choice(clinics),
        namespace,
        rates,
    )


def roster_rows(world: World) -> Iterator[dict[str, str]]:
    """The insured roster of the population, in `claimgw member import` columns."""
    for person in world.persons:
        yield {
            "cid": person.cid,
            "section": str(person.section),
            "main_hcode": world.hospitals[person.main].hcode,
            "coverage_start": person.coverage_start.isoformat(),
            "coverage_end": "",
            "contribution_months": "15",
            "death_date": person.death.isoformat() if person.death else "",
        }


def _person(
    rng: random.Random, hospitals: Sequence[SynthHospital], cum_weights: list[float]
) -> Person:
    sex = rng.choice(("male", "female"))
    birth = date(1958 + rng.randrange(47), 1 + rng.randrange(12), 1 + rng.randrange(28))
    age = 2026 - birth.year
    return Person(
        cid=synthetic_cid(rng),
        birth=birth,
        sex=sex,
        section=33 if rng.random() < 0.9 else 39,
        main=rng.choices(range(len(hospitals)), cum_weights=cum_weights)[0],
        diabetes=rng.random() < (0.04 + age * 0.002),
        dialysis=rng.random() < 0.012,
        pregnant=sex == "female" and 20 <= age <= 42 and rng.random() < 0.08,
        death=date(2020, 1, 1) + timedelta(days=rng.randrange(2600))
        if rng.random() < 0.01
        else None,
        coverage_start=date(2010, 1, 1) + timedelta(days=rng.randrange(5000)),
    )


def _daily_quotas(claims: int, days: list[date]) -> list[tuple[date, int]]:
    weights = [day_weight(d) for d in days]
    total = sum(weights)
    exact = [claims * w / total for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(days)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: claims - sum(counts)]:
        counts[i] += 1
    return list(zip(days, counts, strict=True))


def _day_drafts(world: World, day: date, quota: int) -> list[_Draft]:
    drafts = world.scheduled.pop(day, [])[:quota]
    while len(drafts) < quota:
        drafts.extend(_new_drafts(world, day)[: quota - len(drafts)])
    drafts.sort(key=lambda d: d.spec.start)
    world.recent = [d.spec for d in drafts[-50:]]
    return drafts


def _new_drafts(world: World, day: date) -> list[_Draft]:
    pattern = _pick_pattern(world)
    if pattern == "none":
        return [_Draft(_normal_spec(world, day, _alive_person(world, day)))]
    return INJECTORS[pattern](world, day)


def _pick_pattern(world: World) -> str:
    draw = world.rng.random()
    for pattern, rate in world.pattern_rates:
        draw -= rate
        if draw < 0:
            return pattern
    return "none"


def _alive_person(world: World, day: date) -> Person:
    while True:
        person = world.rng.choice(world.persons)
        if person.death is None or person.death > day:
            return person


def _encounter_for(world: World, person: Person) -> str:
    rng = world.rng
    if person.dialysis and rng.random() < 0.85:
        return "dialysis"
    if person.pregnant and rng.random() < 0.5:
        return "birth" if rng.random() < 0.1 else "prenatal"
    return rng.choices(ROUTINE, cum_weights=ROUTINE_CUM_WEIGHTS)[0]


def _normal_spec(
    world: World,
    day: date,
    person: Person,
    encounter: str | None = None,
    hospital: int | None = None,
) -> ClaimSpec:
    kind = encounter or _encounter_for(world, person)
    rng = world.rng
    where = (
        hospital
        if hospital is not None
        else (
            person.main
            if kind != "er" and rng.random() < 0.9
            else rng.randrange(len(world.hospitals))
        )
    )
    start = _start_time(rng, day, kind)
    builder = BUILDERS[kind]
    setting, lines, stay, diagnoses, drg = builder(world, where, person)
    h = world.hospitals[where]
    # seed_uuid is given so that ClaimSpec does not draw a uuid4 the bundle never uses.
    return ClaimSpec(
        seed_uuid="",
        hcode=h.hcode,
        hospital_name=h.name,
        invoice="pending",
        cid=person.cid,
        birth_date=person.birth,
        sex=person.sex,
        setting=setting,
        start=start,
        end=start + stay,
        lines=lines,
        diagnoses=diagnoses,
        drg=drg,
    )


def _start_time(rng: random.Random, day: date, kind: str) -> datetime:
    if kind in ("er", "birth"):
        moment = time(rng.randrange(24), rng.randrange(60))
    else:
        moment = time(8 + min(int(rng.expovariate(1 / 3)), 10), rng.randrange(60))
    return datetime.combine(day, moment, THAI_TIME)


def _line(world: World, where: int, code: str, quantity: int = 1) -> LineSpec:
    key = (where, code, quantity)
    line = world.lines.get(key)
    if line is None:
        line = world.lines[key] = _priced_line(world, where, code, quantity)
    return line


def _priced_line(world: World, where: int, code: str, quantity: int) -> LineSpec:
    item = ITEMS[code]
    price = item.price * world.price_factor[(where, code)]
    return LineSpec(
        code=code,
        display=item.display,
        unit_price=Decimal(f"{price:.2f}"),
        quantity=Decimal(str(quantity)),
        category=item.category,
    )


Built = tuple[
    CareSetting,
    tuple[LineSpec, ...],
    timedelta,
    tuple[str, ...],
    tuple[str, Decimal, Decimal] | None,
]


def _opd(world: World, where: int, person: Person) -> Built:
    rng = world.rng
    lines = [_line(world, where, "OPD-VISIT")]
    if person.diabetes and rng.random() < 0.6:
        lines += [
            _line(world, where, "LAB-FBS"),
            _line(world, where, "DRUG-METF", rng.choice((60, 90, 120))),
        ]
        return CareSetting.OPD, tuple(lines), timedelta(minutes=40), ("E11.9",), None
    for code in rng.sample(
        ("LAB-CBC", "XRAY-CHEST", "DRUG-PARA", "DRUG-AMOX"), k=rng.randrange(1, 4)
    ):
        lines.append(
            _line(world, where, code, rng.randrange(10, 31) if code.startswith("DRUG") else 1)
        )
    diagnosis = rng.choice(("J06.9", "I10", "K29.7", "M54.5", "A09", "J45.9"))
    return CareSetting.OPD, tuple(lines), timedelta(minutes=40), (diagnosis,), None


def _ipd(world: World, where: int, person: Person) -> Built:
    rng = world.rng
    norm = rng.choice([d for d in DRGS.values() if not d.drg.startswith("14")])
    stay = max(1, round(rng.gauss(norm.wtlos, 1.0)))
    adj = norm.rw * (1 + 0.05 * (stay - norm.wtlos) / norm.wtlos) * rng.uniform(0.95, 1.05)
    lines = (
        _line(world, where, "IPD-ROOM", stay),
        _line(world, where, "IPD-NURSE", stay),
        _line(world, where, "LAB-CBC"),
        _line(world, where, "DRUG-CEF", stay * 2),
    )
    drg = (norm.drg, Decimal(f"{norm.rw:.4f}"), Decimal(f"{adj:.4f}"))
    return CareSetting.IPD, lines, timedelta(days=stay), (norm.diagnosis,), drg


def _dental(world: World, where: int, person: Person) -> Built:
    code = world.rng.choice(("DENT-SCALING", "DENT-FILLING", "DENT-EXTRACT"))
    lines = (_line(world, where, code),)
    return CareSetting.OPD, lines, timedelta(minutes=30), ("K02.1",), None


def _dialysis(world: World, where: int, person: Person) -> Built:
    lines = (_line(world, where, "DIALYSIS-HD"),)
    return CareSetting.OPD, lines, timedelta(hours=4), ("N18.5",), None


def _prenatal(world: World, where: int, person: Person) -> Built:
    lines = (_line(world, where, "PRENATAL-VISIT"),)
    return CareSetting.OPD, lines, timedelta(minutes=30), ("Z34.9",), None


def _birth(world: World, where: int, person: Person) -> Built:
    norm = DRGS["14502" if world.rng.random() < 0.7 else "14022"]
    stay = int(norm.wtlos)
    lines = (
        LineSpec("BIRTH-LUMPSUM", ITEMS["BIRTH-LUMPSUM"].display, Decimal("15000"), category="12"),
    )
    drg = (norm.drg, Decimal(f"{norm.rw:.4f}"), Decimal(f"{norm.rw:.4f}"))
    return CareSetting.IPD, lines, timedelta(days=stay), (norm.diagnosis,), drg


def _er(world: World, where: int, person: Person) -> Built:
    rng = world.rng
    lines = [_line(world, where, "ER-OPD")]
    if rng.random() < 0.5:
        lines.append(_line(world, where, "XRAY-CHEST"))
    lines.append(_line(world, where, "DRUG-PARA", rng.randrange(6, 21)))
    return CareSetting.EMERGENCY, tuple(lines), timedelta(hours=2), ("T14.9",), None


BUILDERS = {
    "opd": _opd,
    "ipd": _ipd,
    "dental": _dental,
    "dialysis": _dialysis,
    "prenatal": _prenatal,
    "birth": _birth,
    "er": _er,
}


def _inflated(spec: ClaimSpec, factor: float, codes_share: float, rng: random.Random) -> ClaimSpec:
    lines = tuple(
        replace(line, unit_price=Decimal(f"{float(line.unit_price) * factor:.2f}"))
        if rng.random() < codes_share or i == 0
        else line
        for i, line in enumerate(spec.lines)
    )
    return replace(spec, lines=lines)


def _inject_upcoding(world: World, day: date) -> list[_Draft]:
    spec = _normal_spec(world, day, _alive_person(world, day))
    return [_Draft(_inflated(spec, world.rng.uniform(1.8, 3.5), 0.6, world.rng), "upcoding")]


def _inject_drg_creep(world: World, day: date) -> list[_Draft]:
    spec = _normal_spec(world, day, _alive_person(world, day), "ipd")
    assert spec.drg is not None
    drg, rw, adj = spec.drg
    factor = Decimal(f"{world.rng.uniform(1.7, 2.8):.3f}")
    return [
        _Draft(
            replace(spec, drg=(drg, rw, (adj * factor).quantize(Decimal("0.0001")))), "drg_creep"
        )
    ]


def _inject_unbundling(world: World, day: date) -> list[_Draft]:
    spec = _normal_spec(world, day, _alive_person(world, day), "opd")
    where = next(i for i, h in enumerate(world.hospitals) if h.hcode == spec.hcode)
    parts = [
        _line(world, where, code) for code in ("LAB-CBC", "LAB-HB", "LAB-HCT", "LAB-WBC", "LAB-PLT")
    ]
    kept = tuple(line for line in spec.lines if line.code != "LAB-CBC")
    return [_Draft(replace(spec, lines=kept + tuple(parts)), "unbundling")]


def _inject_duplicate(world: World, day: date, near: bool) -> list[_Draft]:
    rng = world.rng
    original = _normal_spec(world, day, _alive_person(world, day), "opd")
    copy = replace(original, start=original.start + timedelta(minutes=rng.randrange(30, 240)))
    copy = replace(copy, end=copy.start + (original.end - original.start))
    if near:
        last = copy.lines[-1]
        changed = replace(last, quantity=last.quantity + 1 + rng.randrange(3))
        copy = replace(copy, lines=(*copy.lines[:-1], changed))
    return [_Draft(original), _Draft(copy, "duplicate_near" if near else "duplicate_exact")]


def _inject_after_death(world: World, day: date) -> list[_Draft]:
    if world.early_dead is None:
        world.early_dead = [p for p in world.persons[:5000] if p.death is not None]
    dead = [p for p in world.early_dead if p.death is not None and p.death < day]
    if not dead:
        return [_Draft(_normal_spec(world, day, _alive_person(world, day)))]
    person = world.rng.choice(dead)
    return [_Draft(_normal_spec(world, day, person, "opd"), "after_death")]


def _inject_excessive(world: World, day: date) -> list[_Draft]:
    rng = world.rng
    person = _alive_person(world, day)
    drafts: list[_Draft] = []
    for offset in range(rng.randrange(4, 8)):
        spec = _normal_spec(world, day, person, "opd", hospital=person.main)
        extra = (
            _line(world, person.main, "XRAY-CHEST"),
            _line(world, person.main, "LAB-CBC"),
            _line(world, person.main, "DRUG-AMOX", rng.randrange(60, 150)),
        )
        spec = replace(spec, lines=spec.lines[:1] + extra)
        _schedule(world, day, offset // 2, _Draft(spec, "excessive"), drafts)
    return drafts


def _inject_ghost(world: World, day: date) -> list[_Draft]:
    rng = world.rng
    clinic = world.ghost_clinic
    drafts = []
    for _ in range(rng.randrange(8, 20)):
        person = _alive_person(world, day)
        spec = _normal_spec(world, day, person, "opd", hospital=clinic)
        lines = (
            _line(world, clinic, "OPD-VISIT"),
            _line(world, clinic, "LAB-FBS"),
            _line(world, clinic, "LAB-HBA1C"),
            _line(world, clinic, "LAB-CBC"),
        )
        drafts.append(_Draft(replace(spec, lines=lines, diagnoses=("Z13.1",)), "ghost"))
    return drafts


def _inject_doctor_shopping(world: World, day: date) -> list[_Draft]:
    rng = world.rng
    person = _alive_person(world, day)
    drafts: list[_Draft] = []
    visits = rng.sample(
        range(len(world.hospitals)), k=min(len(world.hospitals), rng.randrange(4, 8))
    )
    for offset, where in enumerate(visits):
        spec = _normal_spec(world, day, person, "er", hospital=where)
        lines = (
            _line(world, where, "ER-OPD"),
            _line(world, where, "DRUG-INHALER", rng.randrange(2, 5)),
        )
        spec = replace(spec, lines=lines, diagnoses=("J45.9",))
        _schedule(world, day, offset, _Draft(spec, "doctor_shopping"), drafts)
    return drafts


def _inject_night_elective(world: World, day: date) -> list[_Draft]:
    rng = world.rng
    spec = _normal_spec(world, day, _alive_person(world, day), rng.choice(("dental", "opd")))
    hour = rng.choice((0, 1, 2, 3, 4, 22, 23))
    start = datetime.combine(day, time(hour, rng.randrange(60)), THAI_TIME)
    return [
        _Draft(replace(spec, start=start, end=start + (spec.end - spec.start)), "night_elective")
    ]


def _inject_collusion(world: World, day: date) -> list[_Draft]:
    person = _alive_person(world, day)
    spec = _normal_spec(world, day, person, hospital=world.colluder)
    return [_Draft(_inflated(spec, world.rng.uniform(1.5, 2.2), 0.8, world.rng), "collusion")]


def _schedule(world: World, day: date, offset: int, draft: _Draft, today: list[_Draft]) -> None:
    if offset == 0:
        today.append(draft)
        return
    later = day + timedelta(days=offset)
    shift = timedelta(days=offset)
    moved = replace(draft.spec, start=draft.spec.start + shift, end=draft.spec.end + shift)
    world.scheduled.setdefault(later, []).append(_Draft(moved, draft.pattern))


INJECTORS = {
    "upcoding": _inject_upcoding,
    "drg_creep": _inject_drg_creep,
    "unbundling": _inject_unbundling,
    "duplicate_exact": lambda w, d: _inject_duplicate(w, d, near=False),
    "duplicate_near": lambda w, d: _inject_duplicate(w, d, near=True),
    "after_death": _inject_after_death,
    "excessive": _inject_excessive,
    "ghost": _inject_ghost,
    "doctor_shopping": _inject_doctor_shopping,
    "night_elective": _inject_night_elective,
    "collusion": _inject_collusion,
}
