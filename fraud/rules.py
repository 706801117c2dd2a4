"""The declarative, versioned fraud rule table and its evaluation.

Each rule has a reason code, a severity, Thai and English text, a source and a predicate over
the claim's facts, its features and (when the scorer has one) the insured roster. Rules that
need the roster are skipped without it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final, Protocol

from fraud.facts import ClaimFacts
from fraud.features import COMPONENT_CODES, peer_group

RULES_VERSION: Final = "rules-2026.11.1"
SEVERITY_WEIGHT: Final = {"high": 0.995, "medium": 0.95, "low": 0.6}
ELECTIVE_PEERS: Final = frozenset({"opd", "dental", "prenatal"})


@dataclass(frozen=True, slots=True)
class Enrollment:
    """One insured person's roster entry (no name)."""

    section: int
    main_hcode: str
    coverage_start: date | None
    coverage_end: date | None
    death_date: date | None


class InsuredRoster(Protocol):
    """Looks up a person's enrolment; None when the person is not on the roster."""

    def enrollment(self, cid: str) -> Enrollment | None: ...


class MemoryRoster:
    """A roster held in memory, e.g. read from the `member import` CSV."""

    def __init__(self, rows: Mapping[str, Enrollment]) -> None:
        self._rows = dict(rows)

    def enrollment(self, cid: str) -> Enrollment | None:
        return self._rows.get(cid)

    @classmethod
    def from_csv(cls, path: Path) -> MemoryRoster:
        """The `claimgw member import` CSV (cid, section, main_hcode, coverage, death_date)."""
        with path.open(newline="", encoding="utf-8") as handle:
            return cls.from_rows(csv.DictReader(handle))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> MemoryRoster:
        """Roster rows as dicts with the CSV's column names."""
        return cls(
            {
                row["cid"]: Enrollment(
                    int(row["section"]),
                    row["main_hcode"],
                    _day(row.get("coverage_start")),
                    _day(row.get("coverage_end")),
                    _day(row.get("death_date")),
                )
                for row in rows
            }
        )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Everything a rule may look at."""

    facts: ClaimFacts
    features: Mapping[str, float]
    enrollment: Enrollment | None
    has_roster: bool


Predicate = Callable[[RuleContext], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the rule table."""

    code: str
    severity: str
    text_en: str
    text_th: str
    source: str
    needs_roster: bool
    applies: Predicate


def _dead(ctx: RuleContext) -> bool:
    death = ctx.enrollment.death_date if ctx.enrollment else None
    return death is not None and death < ctx.facts.day


def _outside_coverage(ctx: RuleContext) -> bool:
    e, day = ctx.enrollment, ctx.facts.day
    if e is None:
        return True
    return (
        e.section not in (33, 39)
        or (e.coverage_start is not None and day < e.coverage_start)
        or (e.coverage_end is not None and day > e.coverage_end)
    )


def _not_registered(ctx: RuleContext) -> bool:
    e = ctx.enrollment
    return (
        e is not None
        and e.main_hcode != ctx.facts.hcode
        and ctx.facts.setting != "EMERGENCY"
        and peer_group(ctx.facts) not in ("er", "dialysis")
    )


def _over_unit_limit(ctx: RuleContext) -> bool:
    f = ctx.facts
    for code, quantity, unit in zip(f.codes, f.quantities, f.unit_prices, strict=True):
        if code == "DIALYSIS-HD" and (quantity > 1 or unit > 1500):
            return True
        if code.startswith("DRUG-") and code != "DRUG-CEF" and quantity > 120:
            return True
        if code == "IPD-ROOM" and f.stay_days is not None and quantity > f.stay_days + 1:
            return True
    return False


def _unbundled(ctx: RuleContext) -> bool:
    codes = set(ctx.facts.codes)
    parts = codes & COMPONENT_CODES
    return (
        ("LAB-CBC" in codes and bool(parts))
        or len(parts) >= 2
        or {"BIRTH-LUMPSUM", "IPD-ROOM"} <= codes
    )


def _dialysis_too_often(ctx: RuleContext) -> bool:
    return peer_group(ctx.facts) == "dialysis" and ctx.features["person_claims_7d"] >= 3


def _dental_over_cap(ctx: RuleContext) -> bool:
    return peer_group(ctx.facts) == "dental" and ctx.facts.total > 900


def _elective_at_night(ctx: RuleContext) -> bool:
    return (
        ctx.features["off_hours"] > 0
        and ctx.facts.setting == "OPD"
        and peer_group(ctx.facts) in ELECTIVE_PEERS
    )


RULES: Final = (
    Rule(
        "DUP-EXACT",
        "high",
        "Exact duplicate of an earlier claim (same patient, hospital, day, items and amount)",
        "ซ้ำกับคำขอเบิกก่อนหน้าทุกประการ (ผู้ป่วย โรงพยาบาล วันที่ รายการ และจำนวนเงินเดียวกัน)",
        "DESIGN.md: duplicates (SSO-FACTS.md)",
        False,
        lambda c: c.features["identical_same_day"] >= 1,
    ),
    Rule(
        "DUP-NEAR",
        "medium",
        "Near duplicate: same patient, hospital and items within 2 days",
        "ใกล้เคียงคำขอเบิกก่อนหน้า: ผู้ป่วย โรงพยาบาล และรายการเดียวกันภายใน 2 วัน",
        "SSO-FACTS.md: duplicates",
        False,
        lambda c: c.features["same_care_2d"] >= 1 and c.features["identical_same_day"] == 0,
    ),
    Rule(
        "AFTER-DEATH",
        "high",
        "Service after the insured person's recorded death",
        "ให้บริการหลังวันที่ผู้ประกันตนเสียชีวิต",
        "SSO-FACTS.md: service after death",
        True,
        _dead,
    ),
    Rule(
        "OUT-OF-COVERAGE",
        "high",
        "Service outside the person's SSO medical coverage",
        "ให้บริการนอกช่วงสิทธิการรักษาพยาบาลประกันสังคม",
        "SSO-FACTS.md: sections 33/39/40",
        True,
        _outside_coverage,
    ),
    Rule(
        "NOT-REGISTERED",
        "low",
        "Routine care at a hospital other than the registered main hospital",
        "รับบริการทั่วไปที่ไม่ใช่โรงพยาบาลตามสิทธิ",
        "SSO-FACTS.md: registered main hospital",
        True,
        _not_registered,
    ),
    Rule(
        "UNIT-LIMIT",
        "medium",
        "Quantity or unit price above the benefit limit",
        "จำนวนหรือราคาต่อหน่วยเกินเพดานสิทธิประโยชน์",
        "SSO-FACTS.md: hemodialysis 1,500/session",
        False,
        _over_unit_limit,
    ),
    Rule(
        "DIALYSIS-FREQ",
        "medium",
        "More than 3 hemodialysis sessions within 7 days",
        "ฟอกเลือดเกิน 3 ครั้งใน 7 วัน",
        "SSO-FACTS.md: hemodialysis 4,500/week",
        False,
        _dialysis_too_often,
    ),
    Rule(
        "DENTAL-CAP",
        "low",
        "Dental claim above the 900 THB yearly benefit",
        "ค่าทันตกรรมเกินสิทธิ 900 บาทต่อปี",
        "SSO-FACTS.md: dental 900/year",
        False,
        _dental_over_cap,
    ),
    Rule(
        "UNBUNDLING",
        "medium",
        "Components billed separately from (or together with) their bundle",
        "แยกเบิกรายการย่อยที่รวมอยู่ในชุดบริการ",
        "SSO-FACTS.md: unbundling",
        False,
        _unbundled,
    ),
    Rule(
        "SEX-AGE",
        "medium",
        "Code does not fit the patient's sex or age",
        "รหัสบริการไม่สอดคล้องกับเพศหรืออายุของผู้ป่วย",
        "ICD-10-TM sex/age edits",
        False,
        lambda c: c.features["misfit"] >= 1,
    ),
    Rule(
        "NIGHT-ELECTIVE",
        "low",
        "Elective outpatient care billed at night",
        "บริการผู้ป่วยนอกที่ไม่เร่งด่วนในเวลากลางคืน",
        "issue 4: night skew of elective care",
        False,
        _elective_at_night,
    ),
    Rule(
        "EXCESSIVE-VISITS",
        "medium",
        "Four or more earlier claims for the person within 7 days",
        "ผู้ป่วยมีคำขอเบิกตั้งแต่ 4 ครั้งภายใน 7 วัน",
        "issue 4: excessive services and bursts",
        False,
        lambda c: c.features["person_claims_7d"] >= 4,
    ),
    Rule(
        "DOCTOR-SHOPPING",
        "medium",
        "The person claimed at 4 or more hospitals within 30 days",
        "ผู้ป่วยรับบริการตั้งแต่ 4 โรงพยาบาลภายใน 30 วัน",
        "SSO-FACTS.md: doctor shopping",
        False,
        lambda c: c.features["person_hospitals_30d"] >= 4,
    ),
)
RULES_BY_CODE: Final = {rule.code: rule for rule in RULES}


def rule_hits(
    facts: ClaimFacts, features: Mapping[str, float], roster: InsuredRoster | None
) -> tuple[Rule, ...]:
    """The rules a claim breaks; roster rules only when a roster is available."""
    enrollment = roster.enrollment(facts.cid) if roster is not None else None
    ctx = RuleContext(facts, features, enrollment, roster is not None)
    return tuple(
        rule
        for rule in RULES
        if (roster is not None or not rule.needs_roster) and rule.applies(ctx)
    )


def rule_risk(hits: tuple[Rule, ...]) -> float:
    """The chance-style union of the hits' severity weights, in [0, 1)."""
    clean = 1.0
    for rule in hits:
        clean *= 1.0 - SEVERITY_WEIGHT[rule.severity]
    return 1.0 - clean
