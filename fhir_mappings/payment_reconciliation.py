"""PaymentReconciliation resources: a hospital's payment statement for one batch (R4B)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir_mappings import systems

BATCH_ID_SYSTEM = f"{systems.PROJECT_BASE}/id/payment-batch"
BANK_REFERENCE_SYSTEM = f"{systems.PROJECT_BASE}/id/bank-transfer"
CATEGORY_TOTAL_EXTENSION = f"{systems.PROJECT_BASE}/StructureDefinition/payment-category-total"
PAYMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/payment-type"
PAYMENT_CATEGORY_SYSTEM = f"{systems.PROJECT_BASE}/CodeSystem/payment-category"
UNCATEGORISED = "uncategorised"
"""The category of benefit on lines without a fee category, and of adjustments to a claim."""


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One claim paid by a batch."""

    claim_id: str
    response_id: str | None
    invoice_system: str
    invoice: str
    service_date: date | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    """A payment batch as the hospital sees it."""

    batch_id: str
    hcode: str
    period_start: date
    period_end: date
    created: datetime
    confirmed: datetime | None
    bank_reference: str | None
    category_totals: dict[str, Decimal]
    lines: tuple[StatementLine, ...]

    @property
    def amount(self) -> Decimal:
        """What the batch pays: the sum of its lines."""
        return sum((line.amount for line in self.lines), Decimal(0))


def payment_reconciliation(statement: Statement, base_url: str) -> dict[str, Any]:
    """The PaymentReconciliation of a batch: one detail per claim; paymentAmount is their sum."""
    paid = statement.confirmed is not None
    resource: dict[str, Any] = {
        "resourceType": "PaymentReconciliation",
        "id": statement.batch_id,
        "identifier": [{"system": BATCH_ID_SYSTEM, "value": statement.batch_id}],
        "status": "active",
        "period": {
            "start": statement.period_start.isoformat(),
            "end": statement.period_end.isoformat(),
        },
        "created": statement.created.isoformat(),
        "paymentIssuer": {"display": "Social Security Office (สำนักงานประกันสังคม)"},
        "outcome": "complete" if paid else "queued",
        "disposition": _disposition(statement, paid),
        "paymentDate": (statement.confirmed or statement.created).date().isoformat(),
        "paymentAmount": money(statement.amount),
        "detail": [_detail(line, statement) for line in statement.lines],
    }
    if statement.bank_reference:
        resource["paymentIdentifier"] = {
            "system": BANK_REFERENCE_SYSTEM,
            "value": statement.bank_reference,
        }
    if statement.category_totals:
        totals = sorted(statement.category_totals.items())
        resource["extension"] = [_category_total(code, amount) for code, amount in totals]
    return resource


def _disposition(statement: Statement, paid: bool) -> str:
    count = len(statement.lines)
    if paid:
        return f"{count} claims paid by bank transfer {statement.bank_reference}."
    return f"{count} claims batched for payment; the transfer is not yet confirmed."


def _detail(line: StatementLine, statement: Statement) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "identifier": {"system": line.invoice_system, "value": line.invoice},
        "type": {"coding": [{"system": PAYMENT_TYPE_SYSTEM, "code": "payment"}]},
        "request": {"reference": f"Claim/{line.claim_id}"},
        "payee": {"identifier": {"system": systems.HCODE_SYSTEM, "value": statement.hcode}},
        "amount": money(line.amount),
    }
    if line.response_id:
        detail["response"] = {"reference": f"ClaimResponse/{line.response_id}"}
    if line.service_date:
        detail["date"] = line.service_date.isoformat()
    return detail


def _category_total(code: str, amount: Decimal) -> dict[str, Any]:
    return {
        "url": CATEGORY_TOTAL_EXTENSION,
        "extension": [
            {
                "url": "category",
                "valueCoding": {
                    "system": PAYMENT_CATEGORY_SYSTEM
                    if code == UNCATEGORISED
                    else systems.FEE_CATEGORY_SYSTEM,
                    "code": code,
                },
            },
            {"url": "amount", "valueMoney": money(amount)},
        ],
    }


def money(value: Decimal) -> dict[str, Any]:
    """A THB Money to the satang."""
    return {"value": float(value.quantize(Decimal("0.01"))), "currency": systems.CURRENCY}
