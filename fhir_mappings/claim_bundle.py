"""Build SSO claim bundles (Claim first, then everything it references) from plain values."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir_mappings import systems
from fhir_mappings.claim import CareSetting

ENCOUNTER_CLASS = {CareSetting.OPD: "AMB", CareSetting.IPD: "IMP", CareSetting.EMERGENCY: "EMER"}


@dataclass(frozen=True, slots=True)
class LineSpec:
    """One billed item."""

    code: str
    display: str
    unit_price: Decimal
    quantity: Decimal = Decimal(1)
    category: str | None = None
    system: str = systems.TARIFF_SYSTEM
    serviced: date | None = None

    @property
    def net(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class ClaimSpec:
    """Everything needed to write one claim bundle."""

    hcode: str
    hospital_name: str
    invoice: str
    cid: str
    birth_date: date
    sex: str
    setting: CareSetting
    start: datetime
    end: datetime
    lines: tuple[LineSpec, ...]
    diagnoses: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    related_invoice: str | None = None
    referral: bool = False
    drg: tuple[str, Decimal, Decimal] | None = None
    seed_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


def _urn(spec: ClaimSpec, part: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.UUID(spec.seed_uuid), part)}"


def build_claim_bundle(spec: ClaimSpec) -> dict[str, Any]:
    """A `collection` Bundle: Claim, Patient, Organization, Coverage, Encounter, Conditions."""
    patient, org, coverage, encounter = (
        _urn(spec, "patient"),
        _urn(spec, "org"),
        _urn(spec, "coverage"),
        _urn(spec, "encounter"),
    )
    conditions = [_urn(spec, f"condition-{i}") for i in range(len(spec.diagnoses))]
    entries = [
        (_urn(spec, "claim"), _claim(spec, patient, org, coverage, encounter, conditions)),
        (patient, _patient(spec)),
        (org, _organization(spec)),
        (coverage, _coverage(spec, patient, org)),
        (encounter, _encounter(spec, patient, org)),
        *[
            (url, _condition(code, patient))
            for url, code in zip(conditions, spec.diagnoses, strict=True)
        ],
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }


def _claim(
    spec: ClaimSpec, patient: str, org: str, coverage: str, encounter: str, conditions: list[str]
) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "identifier": [{"system": systems.invoice_system(spec.hcode), "value": spec.invoice}],
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": systems.CLAIM_TYPE_SYSTEM,
                    "code": "institutional" if spec.setting is CareSetting.IPD else "professional",
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": patient},
        "billablePeriod": {"start": spec.start.isoformat(), "end": spec.end.isoformat()},
        "created": spec.end.isoformat(),
        "provider": {"reference": org},
        "priority": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                    "code": "stat" if spec.setting is CareSetting.EMERGENCY else "normal",
                }
            ]
        },
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": coverage}}],
        "item": [_item(i, line, spec, encounter) for i, line in enumerate(spec.lines, start=1)],
        "total": {
            "value": float(sum((line.net for line in spec.lines), Decimal(0))),
            "currency": systems.CURRENCY,
        },
    }
    if conditions:
        claim["diagnosis"] = [
            {"sequence": i, "diagnosisReference": {"reference": url}}
            for i, url in enumerate(conditions, start=1)
        ]
    if spec.procedures:
        claim["procedure"] = [
            {
                "sequence": i,
                "procedureCodeableConcept": {
                    "coding": [{"system": systems.ICD9CM_SYSTEM, "code": code}]
                },
            }
            for i, code in enumerate(spec.procedures, start=1)
        ]
    if spec.related_invoice:
        claim["related"] = [
            {
                "claim": {
                    "identifier": {
                        "system": systems.invoice_system(spec.hcode),
                        "value": spec.related_invoice,
                    }
                },
                "relationship": {"coding": [{"code": "prior"}]},
            }
        ]
    if spec.referral:
        claim["referral"] = {"display": "referral letter"}
    if spec.drg:
        drg, rw, adj_rw = spec.drg
        claim["extension"] = [
            {
                "url": systems.DRG_EXTENSION,
                "extension": [
                    {"url": "drg", "valueCode": drg},
                    {"url": "rw", "valueDecimal": float(rw)},
                    {"url": "adjrw", "valueDecimal": float(adj_rw)},
                ],
            }
        ]
    return claim


def _item(sequence: int, line: LineSpec, spec: ClaimSpec, encounter: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "sequence": sequence,
        "productOrService": {
            "coding": [{"system": line.system, "code": line.code, "display": line.display}]
        },
        "servicedDate": (line.serviced or spec.start.date()).isoformat(),
        "quantity": {"value": float(line.quantity)},
        "unitPrice": {"value": float(line.unit_price), "currency": systems.CURRENCY},
        "net": {"value": float(line.net), "currency": systems.CURRENCY},
        "encounter": [{"reference": encounter}],
    }
    if line.category:
        item["category"] = {
            "coding": [{"system": systems.FEE_CATEGORY_SYSTEM, "code": line.category}]
        }
    return item


def _patient(spec: ClaimSpec) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": systems.CID_SYSTEM, "value": spec.cid}],
        "gender": spec.sex,
        "birthDate": spec.birth_date.isoformat(),
    }


def _organization(spec: ClaimSpec) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": systems.HCODE_SYSTEM, "value": spec.hcode}],
        "name": spec.hospital_name,
    }


def _coverage(spec: ClaimSpec, patient: str, org: str) -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "status": "active",
        "beneficiary": {"reference": patient},
        "payor": [{"display": "Social Security Office"}],
        "type": {
            "coding": [{"system": f"{systems.PROJECT_BASE}/CodeSystem/scheme", "code": "SSS"}]
        },
    }


def _encounter(spec: ClaimSpec, patient: str, org: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": systems.ENCOUNTER_CLASS_SYSTEM, "code": ENCOUNTER_CLASS[spec.setting]},
        "subject": {"reference": patient},
        "serviceProvider": {"reference": org},
        "period": {"start": spec.start.isoformat(), "end": spec.end.isoformat()},
    }


def _condition(code: str, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "code": {"coding": [{"system": systems.ICD10_SYSTEM, "code": code}]},
        "subject": {"reference": patient},
    }
