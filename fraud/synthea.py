"""Claims from a source the team did not write: Synthea bundles mapped onto the SSO profile.

The Synthea fixtures (`/work/shared/fixtures/synthea`, Apache-2.0, from
`smart-on-fhir/generated-sample-data`) are twelve US claim bundles: SNOMED CT and CVX codes,
USD prices, encounters in US evening hours. This module reads them as *templates*: for each
claim its items (system, code, display, price; an item without a price gets the rest of the
claim total), its claim type and its hour of service. It then writes an SSO-profile history
from them: synthetic Thai hospitals and insured persons, the templates' own non-SSO codes
(kept with their code systems), prices converted at 35 THB per USD and scaled by a random
factor per hospital and item, hours kept as Synthea wrote them (which falls at night in
Bangkok), and labelled fraud injected with patterns of our own:
`upcoding` (×1.8–3.5 on some lines), `unbundling` (extra template lines that never come
together), `duplicate_exact`, `odd_hour` (moved 9–15 hours away from the usual time),
`excessive` (5–8 visits in a week) and `collusion` (one hospital inflating ×1.5–2.2 some claims).

Only the templates come from Synthea; volume, people and fraud are ours, so these figures
check that nothing in the detector depends on our own codes, prices or hours, not how it
fares on real claims.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from fhir_mappings.claim import CareSetting
from fhir_mappings.claim_bundle import ClaimSpec, LineSpec, build_claim_bundle
from fraud.synth import LabelledBundle, synthetic_cid

FIXTURES: Final = Path("/work/shared/fixtures/synthea")
THB_PER_USD: Final = 35.0
PATTERNS: Final = {
    "upcoding": 0.006,
    "unbundling": 0.005,
    "duplicate_exact": 0.003,
    "odd_hour": 0.003,
    "excessive": 0.0008,
    "collusion": 0.004,
}


@dataclass(frozen=True, slots=True)
class TemplateLine:
    system: str
    code: str
    display: str
    price: float


@dataclass(frozen=True, slots=True)
class Template:
    """One Synthea claim reduced to what a claim generator needs."""

    kind: str
    lines: tuple[TemplateLine, ...]
    utc_hour: int
    minutes: int


def read_templates(folder: Path = FIXTURES) -> list[Template]:
    """Every Synthea claim bundle in `folder` as a template."""
    return [_template(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def _template(bundle: dict[str, Any]) -> Template:
    claim = bundle["entry"][0]["resource"]
    items = claim.get("item") or []
    priced = [float((i.get("net") or {}).get("value", 0) or 0) for i in items]
    rest = max(float((claim.get("total") or {}).get("value", 0)) - sum(priced), 1.0)
    unpriced = sum(1 for p in priced if p <= 0) or 1
    lines = []
    for item, price in zip(items, priced, strict=True):
        coding = ((item.get("productOrService") or {}).get("coding") or [{}])[0]
        lines.append(
            TemplateLine(
                str(coding.get("system", "")),
                str(coding.get("code", "unknown")),
                str(coding.get("display", ""))[:100],
                price if price > 0 else rest / unpriced,
            )
        )
    period = claim.get("billablePeriod") or {}
    start = datetime.fromisoformat(period["start"])
    end = datetime.fromisoformat(period.get("end", period["start"]))
    kind = ((claim.get("type") or {}).get("coding") or [{}])[0].get("code", "institutional")
    return Template(str(kind), tuple(lines), start.hour, int((end - start).seconds // 60) or 15)


@dataclass(slots=True)
class _Person:
    cid: str
    birth: date
    sex: str
    main: int


def synthea_history(
    *,
    claims: int,
    seed: int,
    end: date,
    days: int = 90,
    hospitals: int = 12,
    fraud_scale: float = 1.0,
    templates: list[Template] | None = None,
    world_seed: int = 0,
) -> Iterator[LabelledBundle]:
    """A labelled SSO-profile history built from the Synthea templates, day by day.

    The hospitals (sizes, price levels, the colluding one) come from `world_seed`, so that
    histories of different seeds are claims of the same hospitals; people and claims come
    from `seed`.
    """
    world = random.Random(world_seed)
    rng = random.Random(seed)
    found = templates or read_templates()
    hcodes = [f"{50001 + i}" for i in range(hospitals)]
    size = [world.choice((0.6, 1.0, 2.0, 3.0)) for _ in hcodes]
    level = [world.uniform(0.8, 1.6) for _ in hcodes]
    factor = {
        (h, line.code): level[h] * world.lognormvariate(0, 0.08)
        for h in range(hospitals)
        for t in found
        for line in t.lines
    }
    colluder = world.randrange(hospitals)
    people = [_person(rng, hospitals, size) for _ in range(max(50, claims // 5))]
    namespace = uuid.UUID(int=rng.getrandbits(128))
    per_day = max(1, claims // days)
    first = end - timedelta(days=days)
    written = 0
    for d in range(days + 1):
        day = first + timedelta(days=d)
        quota = min(per_day if d < days else claims, claims - written)
        pending: list[tuple[ClaimSpec, str]] = []
        while len(pending) < quota:
            pending.extend(_draft(rng, found, people, factor, colluder, day, fraud_scale))
        for spec, pattern in sorted(pending[:quota], key=lambda p: p[0].start):
            invoice = f"SY{seed}-{written:07d}"
            spec = replace(spec, invoice=invoice, seed_uuid=str(uuid.uuid5(namespace, invoice)))
            written += 1
            yield LabelledBundle(invoice, build_claim_bundle(spec), pattern)


def _person(rng: random.Random, hospitals: int, size: list[float]) -> _Person:
    return _Person(
        synthetic_cid(rng),
        date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        rng.choice(("male", "female")),
        rng.choices(range(hospitals), size)[0],
    )


def _draft(
    rng: random.Random,
    templates: list[Template],
    people: list[_Person],
    factor: dict[tuple[int, str], float],
    colluder: int,
    day: date,
    scale: float,
) -> list[tuple[ClaimSpec, str]]:
    draw, pattern = rng.random(), "none"
    for name, rate in PATTERNS.items():
        draw -= rate * scale
        if draw < 0:
            pattern = name
            break
    person = rng.choice(people)
    where = colluder if pattern == "collusion" else person.main
    base = _spec(rng, rng.choice(templates), person, where, factor, day)
    if pattern == "none":
        return [(base, "none")]
    if pattern in ("upcoding", "collusion"):
        low, high = (1.8, 3.5) if pattern == "upcoding" else (1.5, 2.2)
        return [(_inflate(rng, base, rng.uniform(low, high)), pattern)]
    if pattern == "unbundling":
        other = rng.choice([t for t in templates if len(t.lines) > 2] or templates)
        extra = tuple(_line(line, where, factor, rng) for line in other.lines[1:])
        return [(replace(base, lines=base.lines + extra), pattern)]
    if pattern == "duplicate_exact":
        copy = replace(base, start=base.start + timedelta(minutes=rng.randrange(30, 200)))
        return [(base, "none"), (replace(copy, end=copy.start + (base.end - base.start)), pattern)]
    if pattern == "odd_hour":
        moved = base.start + timedelta(hours=rng.choice((9, 10, 11, 12, 13, 14, 15)))
        moved = datetime.combine(day, moved.timetz())
        return [(replace(base, start=moved, end=moved + (base.end - base.start)), pattern)]
    visits = []
    for k in range(rng.randrange(5, 9)):
        visit = _spec(rng, rng.choice(templates), person, person.main, factor, day)
        shift = timedelta(hours=k * rng.randrange(1, 3) * 7)
        visits.append((replace(visit, start=visit.start + shift, end=visit.end + shift), pattern))
    return visits


def _spec(
    rng: random.Random,
    template: Template,
    person: _Person,
    where: int,
    factor: dict[tuple[int, str], float],
    day: date,
) -> ClaimSpec:
    start = datetime(day.year, day.month, day.day, template.utc_hour, rng.randrange(60), tzinfo=UTC)
    return ClaimSpec(
        hcode=f"{50001 + where}",
        hospital_name=f"Synthea-derived Hospital {where + 1}",
        invoice="pending",
        cid=person.cid,
        birth_date=person.birth,
        sex=person.sex,
        setting=CareSetting.OPD,
        start=start,
        end=start + timedelta(minutes=template.minutes),
        lines=tuple(_line(line, where, factor, rng) for line in template.lines),
        diagnoses=("Z00.0",),
    )


def _line(
    line: TemplateLine, where: int, factor: dict[tuple[int, str], float], rng: random.Random
) -> LineSpec:
    level = factor.get((where, line.code), 1.0)
    price = line.price * THB_PER_USD * level * rng.lognormvariate(0, 0.03)
    return LineSpec(
        code=line.code,
        display=line.display,
        unit_price=Decimal(f"{price:.2f}"),
        system=line.system or "urn:synthea:unknown",
    )


def _inflate(rng: random.Random, spec: ClaimSpec, by: float) -> ClaimSpec:
    lines = tuple(
        replace(line, unit_price=Decimal(f"{float(line.unit_price) * by:.2f}"))
        if i == 0 or rng.random() < 0.6
        else line
        for i, line in enumerate(spec.lines)
    )
    return replace(spec, lines=lines)
