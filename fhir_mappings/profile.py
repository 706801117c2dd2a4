"""The SSO claim profile: map a parsed bundle to a SubmittedClaim, reporting every problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.claim import Claim, ClaimItem
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient

from fhir_mappings import limits, systems
from fhir_mappings.bundle import ParsedBundle
from fhir_mappings.citizen_id import CID_PROBLEM_WORDS, citizen_id_problem, mask_citizen_id
from fhir_mappings.claim import (
    CareSetting,
    ClaimIdentifier,
    ClaimLine,
    DrgGrouping,
    SubmittedClaim,
)
from fhir_mappings.problems import Problem
from fhir_mappings.rule_catalogue import problem

CLAIM = "Bundle.entry[0].resource"
THAI_TIME = ZoneInfo("Asia/Bangkok")
CLOCK_SKEW = timedelta(minutes=5)
MAX_BILLABLE_DAYS = 366
CENT = Decimal("0.01")


@dataclass(slots=True)
class _Findings:
    """What the mapping learnt so far, and what it found wrong."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, rule: str, expression: str, **values: object) -> None:
        self.problems.append(problem(rule, expression, **values))


def map_claim(
    parsed: ParsedBundle, *, acting_hcode: str, now: datetime | None = None
) -> SubmittedClaim | list[Problem]:
    """The SubmittedClaim in a bundle, or every SSO profile problem at once."""
    now = now or datetime.now(UTC)
    claim, found = parsed.claim, _Findings()
    _check_use_and_status(claim, found)
    cid, birth_date, sex = _patient(parsed, found)
    hcode = _provider_hcode(parsed, found, acting_hcode)
    identifier = _invoice(claim, hcode, found)
    lines = _lines(claim, found)
    total = _total(claim, lines, found)
    _check_dates(claim, lines, now, found)
    _check_hospital_numbers(parsed, found)
    if found.problems:
        return found.problems
    assert identifier is not None
    assert cid is not None
    assert hcode is not None
    setting, admitted, discharged = _setting(parsed)
    return SubmittedClaim(
        identifier=identifier,
        provider_hcode=hcode,
        patient_cid=cid,
        patient_birth_date=birth_date,
        patient_sex=sex,
        claim_type=_first_code(claim.type) or "unknown",
        setting=setting,
        billable_start=_as_datetime(claim.billablePeriod.start) if claim.billablePeriod else None,
        billable_end=_as_datetime(claim.billablePeriod.end) if claim.billablePeriod else None,
        created=_as_datetime(claim.created),
        total=total,
        lines=tuple(lines),
        diagnoses=_diagnoses(parsed),
        procedures=_procedures(parsed),
        related_claim=_related(claim),
        has_referral=claim.referral is not None,
        drg=_drg(claim),
        admitted=admitted,
        discharged=discharged,
        encounter_key=_encounter_key(parsed),
    )


def _check_use_and_status(claim: Claim, found: _Findings) -> None:
    if claim.use != "claim":
        found.add("claim-use", f"{CLAIM}.use", found=claim.use)
    if claim.status != "active":
        found.add("claim-status", f"{CLAIM}.status", found=claim.status)


def _patient(parsed: ParsedBundle, found: _Findings) -> tuple[str | None, date | None, str | None]:
    target = parsed.resource(parsed.claim.patient.reference if parsed.claim.patient else None)
    if target is None or not isinstance(target[1], Patient):
        found.add("patient-missing", f"{CLAIM}.patient")
        return None, None, None
    index, patient = target
    birth = patient.birthDate if isinstance(patient.birthDate, date) else None
    for j, ident in enumerate(patient.identifier or []):
        if ident.system == systems.CID_SYSTEM:
            value = limits.normalise_citizen_id(ident.value or "")  # dashes once, here
            reason = citizen_id_problem(value)
            if reason:
                path = f"Bundle.entry[{index}].resource.identifier[{j}].value"
                english, thai = CID_PROBLEM_WORDS[reason]
                shown = mask_citizen_id(value) if len(value) > 8 else "*" * len(value)
                found.add("cid-invalid", path, masked=shown, reason=english, reason_th=thai)
                return None, birth, patient.gender
            return value, birth, patient.gender
    found.add(
        "cid-missing", f"Bundle.entry[{index}].resource.identifier", system=systems.CID_SYSTEM
    )
    return None, birth, patient.gender


def _provider_hcode(parsed: ParsedBundle, found: _Findings, acting_hcode: str) -> str | None:
    reference = parsed.claim.provider
    hcode, path = None, f"{CLAIM}.provider"
    if reference and reference.identifier and reference.identifier.system == systems.HCODE_SYSTEM:
        hcode, path = reference.identifier.value, f"{CLAIM}.provider.identifier.value"
    else:
        target = parsed.resource(reference.reference if reference else None)
        if target is not None and isinstance(target[1], Organization):
            hcode, path = _organization_hcode(target[0], target[1])
    if hcode is None:
        found.add("provider-missing", path, system=systems.HCODE_SYSTEM)
    elif not systems.is_valid_hcode(hcode):
        found.add("hcode-invalid", path, found=hcode[:16])
        return None
    elif hcode != acting_hcode:
        found.add("provider-not-caller", path, found=hcode, expected=acting_hcode)
    return hcode


def _organization_hcode(index: int, organization: Organization) -> tuple[str | None, str]:
    for j, ident in enumerate(organization.identifier or []):
        if ident.system == systems.HCODE_SYSTEM and ident.value:
            return ident.value, f"Bundle.entry[{index}].resource.identifier[{j}].value"
    return None, f"Bundle.entry[{index}].resource.identifier"


def _invoice(claim: Claim, hcode: str | None, found: _Findings) -> ClaimIdentifier | None:
    expected = (
        systems.invoice_system(hcode)
        if hcode
        else f"{systems.HOSPITAL_NAMESPACE_ROOT}/{{HCODE}}/Inv"
    )
    for j, ident in enumerate(claim.identifier or []):
        if ident.system == expected and ident.value and ident.value.strip():
            value = hospital_number(ident.value, f"{CLAIM}.identifier[{j}].value", found)
            return ClaimIdentifier(system=ident.system, value=value) if value else None
    found.add("invoice-missing", f"{CLAIM}.identifier", system=expected)
    return None


def hospital_number(raw: str, path: str, found: _Findings) -> str | None:
    """An invoice, HN, AN or VN: NFKC, then only limits.IDENTIFIER_CHARACTERS (issue 10, 5)."""
    value = limits.normalise_identifier(raw)
    refused = limits.identifier_refusal(value)
    if refused:
        allowed = limits.IDENTIFIER_CHARACTERS_TEXT
        found.add("identifier-character", path, character=refused, allowed=allowed)
        return None
    if len(value) > limits.INVOICE_MAX:
        found.add("identifier-too-long", path, limit=limits.INVOICE_MAX)
        return None
    return value


def _lines(claim: Claim, found: _Findings) -> list[ClaimLine]:
    if not claim.item:
        found.add("items-missing", f"{CLAIM}.item")
        return []
    lines: list[ClaimLine] = []
    sequences: set[int] = set()
    for i, item in enumerate(claim.item):
        line = _line(item, f"{CLAIM}.item[{i}]", sequences, found)
        if line is not None:
            lines.append(line)
    return lines


def _line(item: ClaimItem, path: str, sequences: set[int], found: _Findings) -> ClaimLine | None:
    ok = True
    if not item.sequence or item.sequence < 1 or item.sequence in sequences:
        found.add("item-sequence", f"{path}.sequence")
        ok = False
    sequences.add(item.sequence or 0)
    coding = next((c for c in (item.productOrService.coding or []) if c.code), None)
    if coding is None:
        found.add("item-product", f"{path}.productOrService")
        ok = False
    net = _amount(item.net, f"{path}.net", "item-net", found)
    _amount(item.unitPrice, f"{path}.unitPrice", None, found)
    ok = _line_fits_columns(item, coding, path, found) and ok
    if not ok or net is None or coding is None or item.sequence is None or coding.code is None:
        return None
    return ClaimLine(
        sequence=item.sequence,
        product_system=coding.system,
        product_code=coding.code,
        product_display=coding.display,
        category_code=_category(item),
        quantity=Decimal(item.quantity.value)
        if item.quantity and item.quantity.value
        else Decimal(1),
        unit_price=Decimal(item.unitPrice.value)
        if item.unitPrice and item.unitPrice.value
        else None,
        net=net,
        serviced_date=_as_date(item.servicedDate)
        or (_as_date(item.servicedPeriod.start) if item.servicedPeriod else None),
    )


def _line_fits_columns(item: ClaimItem, coding: Any, path: str, found: _Findings) -> bool:
    """Code lengths and the quantity against the claim_lines columns (fhir_mappings/limits)."""
    ok = True
    texts = [
        (coding.code if coding else None, limits.PRODUCT_CODE_MAX, "productOrService"),
        (coding.system if coding else None, limits.IDENTIFIER_SYSTEM_MAX, "productOrService"),
        (_category(item), limits.CATEGORY_CODE_MAX, "category"),
    ]
    for text, limit, part in texts:
        if text is not None and len(text) > limit:
            found.add("identifier-too-long", f"{path}.{part}", limit=limit)
            ok = False
    quantity = item.quantity.value if item.quantity else None
    if quantity is not None and not limits.quantity_fits(Decimal(quantity)):
        found.add(
            "value-out-of-range",
            f"{path}.quantity.value",
            found=quantity,
            limit=limits.QUANTITY_MAX,
        )
        ok = False
    return ok


def _amount(money: Any, path: str, required_rule: str | None, found: _Findings) -> Decimal | None:
    if money is None or money.value is None:
        if required_rule:
            found.add(required_rule, path)
        return None
    if money.currency not in (None, systems.CURRENCY):
        found.add("currency", f"{path}.currency", found=money.currency)
        return None
    if money.value < 0:
        found.add("amount-negative", f"{path}.value")
        return None
    if not limits.money_fits(Decimal(money.value)):
        found.add("value-out-of-range", f"{path}.value", found=money.value, limit=limits.MONEY_MAX)
        return None
    return Decimal(money.value)


def _category(item: ClaimItem) -> str | None:
    for coding in (item.category.coding or []) if item.category else []:
        if coding.system == systems.FEE_CATEGORY_SYSTEM:
            return coding.code
    return None


def _total(claim: Claim, lines: list[ClaimLine], found: _Findings) -> Decimal:
    if claim.total is None or claim.total.value is None:
        found.add("total-missing", f"{CLAIM}.total")
        return Decimal(0)
    if claim.total.currency != systems.CURRENCY:
        found.add("currency", f"{CLAIM}.total.currency", found=claim.total.currency)
    total = Decimal(claim.total.value)
    if not limits.money_fits(total):
        found.add("value-out-of-range", f"{CLAIM}.total.value", found=total, limit=limits.MONEY_MAX)
        return Decimal(0)
    nets = sum((line.net for line in lines), Decimal(0))
    if len(lines) == len(claim.item or []) and abs(total - nets) >= CENT:
        found.add("total-mismatch", f"{CLAIM}.total.value", total=total, sum=nets)
    return total


def _check_dates(claim: Claim, lines: list[ClaimLine], now: datetime, found: _Findings) -> None:
    today = now.astimezone(THAI_TIME).date()
    period = claim.billablePeriod
    start = _as_datetime(period.start) if period else None
    end = _as_datetime(period.end) if period else None
    for path, moment in (
        (f"{CLAIM}.billablePeriod.start", start),
        (f"{CLAIM}.billablePeriod.end", end),
    ):
        if moment is not None and moment > now + CLOCK_SKEW:
            found.add("date-future", path, found=moment.isoformat())
    if start and end and end < start:
        found.add("billable-period", f"{CLAIM}.billablePeriod", reason="end before start")
    elif start and end and (end - start).days > MAX_BILLABLE_DAYS:
        found.add("billable-period", f"{CLAIM}.billablePeriod", reason="longer than a year")
    for i, item in enumerate(claim.item or []):
        served = _as_date(item.servicedDate)
        if served is not None and served > today:
            found.add("date-future", f"{CLAIM}.item[{i}].servicedDate", found=served.isoformat())


def _setting(parsed: ParsedBundle) -> tuple[CareSetting, datetime | None, datetime | None]:
    for item in parsed.claim.item or []:
        for ref in item.encounter or []:
            target = parsed.resource(ref.reference)
            if target is None or target[1].get_resource_type() != "Encounter":
                continue
            encounter = target[1]
            code = encounter.class_fhir.code if encounter.class_fhir else None
            period = encounter.period
            admitted = _as_datetime(period.start) if period else None
            discharged = _as_datetime(period.end) if period else None
            return _setting_for_class(code), admitted, discharged
    claim_type = _first_code(parsed.claim.type)
    return (CareSetting.IPD if claim_type == "institutional-ipd" else CareSetting.OPD), None, None


def _encounter_key(parsed: ParsedBundle) -> str | None:
    """The claim's first Encounter: `system|value` of its identifier, else its start."""
    for item in parsed.claim.item or []:
        for ref in item.encounter or []:
            target = parsed.resource(ref.reference)
            if target is None or target[1].get_resource_type() != "Encounter":
                continue
            encounter = target[1]
            for ident in encounter.identifier or []:
                if ident.value:
                    value = limits.normalise_identifier(ident.value)
                    return f"{ident.system or ''}|{value}"[:300]
            start = _as_datetime(encounter.period.start) if encounter.period else None
            return f"start|{start.isoformat()}" if start else None
    return None


def _check_hospital_numbers(parsed: ParsedBundle, found: _Findings) -> None:
    """HN, AN and VN identifiers anywhere in the bundle follow the invoice's character set."""
    for i, entry in enumerate(parsed.bundle.entry or []):
        idents = getattr(entry.resource, "identifier", None)
        for j, ident in enumerate(idents if isinstance(idents, list) else []):
            system = ident.system or ""
            if ident.value and system.rsplit("/", 1)[-1] in ("HN", "AN", "VN"):
                hospital_number(ident.value, f"Bundle.entry[{i}].resource.identifier[{j}]", found)


def _setting_for_class(code: str | None) -> CareSetting:
    if code in ("IMP", "ACUTE", "NONAC", "SS"):
        return CareSetting.IPD
    if code == "EMER":
        return CareSetting.EMERGENCY
    return CareSetting.OPD


def _diagnoses(parsed: ParsedBundle) -> tuple[str, ...]:
    codes: list[str] = []
    for diagnosis in parsed.claim.diagnosis or []:
        concept = diagnosis.diagnosisCodeableConcept
        if concept is None and diagnosis.diagnosisReference is not None:
            target = parsed.resource(diagnosis.diagnosisReference.reference)
            concept = getattr(target[1], "code", None) if target else None
        code = _first_code(concept)
        if code:
            codes.append(code)
    return tuple(codes)


def _procedures(parsed: ParsedBundle) -> tuple[str, ...]:
    codes: list[str] = []
    for procedure in parsed.claim.procedure or []:
        concept = procedure.procedureCodeableConcept
        if concept is None and procedure.procedureReference is not None:
            target = parsed.resource(procedure.procedureReference.reference)
            concept = getattr(target[1], "code", None) if target else None
        code = _first_code(concept)
        if code:
            codes.append(code)
    return tuple(codes)


def _related(claim: Claim) -> ClaimIdentifier | None:
    for related in claim.related or []:
        ident = related.claim.identifier if related.claim else None
        if ident is not None and ident.system and ident.value:
            return ClaimIdentifier(system=ident.system, value=ident.value)
    return None


def _drg(claim: Claim) -> DrgGrouping | None:
    for ext in claim.extension or []:
        if ext.url != systems.DRG_EXTENSION:
            continue
        parts = {sub.url: sub for sub in ext.extension or []}
        code = parts.get("drg")
        if code is None or not (code.valueCode or code.valueString):
            return None
        return DrgGrouping(
            drg=str(code.valueCode or code.valueString),
            rw=_decimal_part(parts.get("rw")),
            adj_rw=_decimal_part(parts.get("adjrw")),
        )
    return None


def _decimal_part(ext: Any) -> Decimal | None:
    return Decimal(ext.valueDecimal) if ext is not None and ext.valueDecimal is not None else None


def _first_code(concept: Any) -> str | None:
    for coding in (concept.coding or []) if concept is not None else []:
        if coding.code:
            return str(coding.code)
    return None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=THAI_TIME)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=THAI_TIME)
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(THAI_TIME).date()
    if isinstance(value, date):
        return value
    return None
