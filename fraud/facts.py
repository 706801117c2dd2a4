"""The few facts of a claim that fraud scoring looks at, from a typed claim or a raw bundle.

The gateway has a `SubmittedClaim`; training and audits read millions of raw bundles, where the
full FHIR model would be far too slow. Both paths give the same `ClaimFacts` (tested).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fhir_mappings import systems
from fhir_mappings.claim import CareSetting, SubmittedClaim

THAI_TIME = ZoneInfo("Asia/Bangkok")
ENCOUNTER_SETTING = {"IMP": "IPD", "ACUTE": "IPD", "NONAC": "IPD", "SS": "IPD", "EMER": "EMERGENCY"}


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What scoring needs from one claim; holds the CID only to look up history, never stored."""

    identifier: str
    hcode: str
    cid: str
    day: date
    hour: int
    setting: str
    age: int | None
    sex: str | None
    total: float
    codes: tuple[str, ...]
    quantities: tuple[float, ...]
    unit_prices: tuple[float, ...]
    diagnoses: tuple[str, ...] = ()
    drg: str | None = None
    rw: float | None = None
    adj_rw: float | None = None
    stay_days: float | None = None

    @property
    def signature(self) -> str:
        """The set of billed codes, hashed: claims for the same care share it."""
        return hashlib.blake2b(
            "|".join(sorted(set(self.codes))).encode(), digest_size=6
        ).hexdigest()


def facts_from_claim(claim: SubmittedClaim) -> ClaimFacts:
    """Facts of a claim the gateway has mapped."""
    start = claim.billable_start
    day = _thai_day(start) if start else (claim.service_date or date(1970, 1, 1))
    drg = claim.drg
    return ClaimFacts(
        identifier=claim.identifier.value,
        hcode=claim.provider_hcode,
        cid=claim.patient_cid,
        day=day,
        hour=start.astimezone(THAI_TIME).hour if start and start.tzinfo else -1,
        setting=claim.setting.value,
        age=_age(claim.patient_birth_date, day),
        sex=claim.patient_sex,
        total=float(claim.total),
        codes=tuple(line.product_code for line in claim.lines),
        quantities=tuple(float(line.quantity) for line in claim.lines),
        unit_prices=tuple(
            unit_price(line.unit_price, line.net, line.quantity) for line in claim.lines
        ),
        diagnoses=claim.diagnoses,
        drg=drg.drg if drg else None,
        rw=float(drg.rw) if drg and drg.rw is not None else None,
        adj_rw=float(drg.adj_rw) if drg and drg.adj_rw is not None else None,
        stay_days=_stay(claim.admitted or start, claim.discharged or claim.billable_end)
        if claim.setting is CareSetting.IPD
        else None,
    )


def facts_from_bundle(bundle: Mapping[str, Any]) -> ClaimFacts:
    """Facts of a raw claim bundle (structure already checked, or trusted synthetic data)."""
    resources = _by_url(bundle)
    claim = bundle["entry"][0]["resource"]
    patient = _referenced(resources, claim.get("patient"), "Patient")
    encounter = _claim_encounter(claim, resources)
    start = _parse_moment((claim.get("billablePeriod") or {}).get("start"))
    end = _parse_moment((claim.get("billablePeriod") or {}).get("end"))
    items = claim.get("item") or []
    day = _thai_day(start) if start else _first_served(items)
    setting = _setting(encounter, claim)
    period = (encounter or {}).get("period") or {}
    drg, rw, adj_rw = _drg(claim)
    return ClaimFacts(
        identifier=str(((claim.get("identifier") or [{}])[0]).get("value", "")),
        hcode=_provider_hcode(resources, claim),
        cid=_cid(patient),
        day=day,
        hour=start.astimezone(THAI_TIME).hour if start and start.tzinfo else -1,
        setting=setting,
        age=_age(_parse_date((patient or {}).get("birthDate")), day),
        sex=(patient or {}).get("gender"),
        total=_total(claim, items),
        codes=tuple(_item_code(item) for item in items),
        quantities=tuple(float((item.get("quantity") or {}).get("value", 1)) for item in items),
        unit_prices=tuple(raw_unit_price(item) for item in items),
        diagnoses=_diagnoses(claim, resources),
        drg=drg,
        rw=rw,
        adj_rw=adj_rw,
        stay_days=_stay(
            _parse_moment(period.get("start")) or start, _parse_moment(period.get("end")) or end
        )
        if setting == "IPD"
        else None,
    )


def _thai_day(moment: datetime) -> date:
    return moment.astimezone(THAI_TIME).date() if moment.tzinfo else moment.date()


def _age(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _stay(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 86400, 3)


def unit_price(unit: Any, net: Any, quantity: Any) -> float:
    if unit is not None:
        return float(unit)
    return float(net) / float(quantity) if quantity else float(net)


def raw_unit_price(item: Mapping[str, Any]) -> float:
    unit = (item.get("unitPrice") or {}).get("value")
    net = (item.get("net") or {}).get("value", 0.0)
    quantity = (item.get("quantity") or {}).get("value", 1)
    return unit_price(unit, net, quantity)


def _by_url(bundle: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if entry.get("fullUrl"):
            found[entry["fullUrl"]] = resource
        if resource.get("id"):
            found[f"{resource.get('resourceType')}/{resource['id']}"] = resource
    return found


def _referenced(resources: dict[str, dict[str, Any]], ref: Any, kind: str) -> dict[str, Any] | None:
    target = resources.get(str((ref or {}).get("reference", "")))
    if target is None and "/" in str((ref or {}).get("reference", "")):
        target = resources.get("/".join(str(ref["reference"]).rsplit("/", 2)[-2:]))
    return target if target and target.get("resourceType") == kind else None


def _claim_encounter(
    claim: Mapping[str, Any], resources: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    for item in claim.get("item") or []:
        for ref in item.get("encounter") or []:
            found = _referenced(resources, ref, "Encounter")
            if found:
                return found
    return None


def _setting(encounter: Mapping[str, Any] | None, claim: Mapping[str, Any]) -> str:
    if encounter is not None:
        code = (encounter.get("class") or {}).get("code")
        return ENCOUNTER_SETTING.get(str(code), "OPD")
    return "IPD" if _first_coding(claim.get("type")) == "institutional-ipd" else "OPD"


def _first_coding(concept: Any) -> str | None:
    for coding in (concept or {}).get("coding") or []:
        if coding.get("code"):
            return str(coding["code"])
    return None


def _item_code(item: Mapping[str, Any]) -> str:
    return _first_coding(item.get("productOrService")) or "unknown"


def _identifier(resource: Mapping[str, Any] | None, system: str) -> str:
    for ident in (resource or {}).get("identifier") or []:
        if ident.get("system") == system and ident.get("value"):
            return str(ident["value"])
    return ""


def _cid(patient: Mapping[str, Any] | None) -> str:
    return _identifier(patient, systems.CID_SYSTEM)


def _provider_hcode(resources: dict[str, dict[str, Any]], claim: Mapping[str, Any]) -> str:
    org = _referenced(resources, claim.get("provider"), "Organization")
    found = _identifier(org, systems.HCODE_SYSTEM)
    if not found:
        found = _identifier(claim.get("provider"), systems.HCODE_SYSTEM)
    return found or str(((claim.get("provider") or {}).get("identifier") or {}).get("value", ""))


def _total(claim: Mapping[str, Any], items: list[Any]) -> float:
    total = (claim.get("total") or {}).get("value")
    if total is not None:
        return float(total)
    return float(sum(float((item.get("net") or {}).get("value", 0)) for item in items))


def _diagnoses(claim: Mapping[str, Any], resources: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    codes: list[str] = []
    for diagnosis in claim.get("diagnosis") or []:
        concept = diagnosis.get("diagnosisCodeableConcept")
        if concept is None:
            condition = _referenced(resources, diagnosis.get("diagnosisReference"), "Condition")
            concept = (condition or {}).get("code")
        code = _first_coding(concept)
        if code:
            codes.append(code)
    return tuple(codes)


def _drg(claim: Mapping[str, Any]) -> tuple[str | None, float | None, float | None]:
    for ext in claim.get("extension") or []:
        if ext.get("url") != systems.DRG_EXTENSION:
            continue
        parts = {part.get("url"): part for part in ext.get("extension") or []}
        code = parts.get("drg", {})
        drg = code.get("valueCode") or code.get("valueString")
        rw = parts.get("rw", {}).get("valueDecimal")
        adj = parts.get("adjrw", {}).get("valueDecimal")
        return (
            str(drg) if drg else None,
            None if rw is None else float(rw),
            None if adj is None else float(adj),
        )
    return None, None, None


def _parse_moment(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=THAI_TIME)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _parse_date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _first_served(items: list[Any]) -> date:
    days = [date.fromisoformat(str(i["servicedDate"])[:10]) for i in items if i.get("servicedDate")]
    return min(days) if days else date(1970, 1, 1)
