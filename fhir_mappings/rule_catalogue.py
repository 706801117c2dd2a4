"""Every validation rule with its FHIR issue code and its English and Thai text.

The rule id is also the `details.coding.code` of the issue and a metric label, so it is a
bounded set. Messages are templates filled with the values found in the bundle; they never
carry a citizen ID or a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fhir_mappings.problems import Problem, ProblemKind


@dataclass(frozen=True, slots=True)
class Rule:
    """A validation rule: FHIR issue type, failure kind and bilingual message templates."""

    code: str
    kind: ProblemKind
    en: str
    th: str


S, B, F, L = (
    ProblemKind.STRUCTURE,
    ProblemKind.BUSINESS,
    ProblemKind.FORBIDDEN,
    ProblemKind.TOO_LARGE,
)

RULES: Final[dict[str, Rule]] = {
    "body-empty": Rule("structure", S, "The request body is empty.", "ไม่มีข้อมูลในคำขอ"),
    "json-invalid": Rule(
        "structure", S, "The body is not valid JSON: {error}.", "ข้อมูลไม่ใช่ JSON ที่ถูกต้อง: {error}"
    ),
    "not-a-bundle": Rule(
        "structure",
        S,
        "Expected a FHIR Bundle resource, got {found}.",
        "ต้องส่งทรัพยากร FHIR ชนิด Bundle แต่ได้รับ {found}",
    ),
    "fhir-invalid": Rule(
        "structure", S, "Not valid FHIR R4B: {error}.", "ไม่เป็นไปตามมาตรฐาน FHIR R4B: {error}"
    ),
    "too-many-entries": Rule(
        "too-costly",
        L,
        "The bundle has {count} entries; at most {limit} are accepted.",
        "Bundle มี {count} รายการ รับได้ไม่เกิน {limit} รายการ",
    ),
    "body-too-large": Rule(
        "too-costly",
        L,
        "The body is larger than {limit} bytes.",
        "ข้อมูลมีขนาดเกิน {limit} ไบต์",
    ),
    "bundle-type": Rule(
        "structure",
        S,
        "Bundle.type must be 'collection', got '{found}'.",
        "Bundle.type ต้องเป็น 'collection' แต่ได้รับ '{found}'",
    ),
    "bundle-empty": Rule("required", S, "The bundle has no entries.", "Bundle ไม่มีรายการใดเลย"),
    "first-entry-claim": Rule(
        "structure",
        S,
        "The first entry must be the Claim, got {found}.",
        "รายการแรกของ Bundle ต้องเป็น Claim แต่ได้รับ {found}",
    ),
    "fullurl-missing": Rule("required", S, "Every entry needs a fullUrl.", "ทุกรายการต้องมี fullUrl"),
    "fullurl-duplicate": Rule(
        "structure",
        S,
        "fullUrl '{url}' appears more than once.",
        "fullUrl '{url}' ซ้ำกันมากกว่าหนึ่งครั้ง",
    ),
    "reference-unresolved": Rule(
        "not-found",
        B,
        "Reference '{reference}' does not resolve to an entry in this bundle.",
        "การอ้างอิง '{reference}' ไม่พบใน Bundle นี้",
    ),
    "reference-wrong-type": Rule(
        "invalid",
        B,
        "Reference must point to a {expected}, got {found}.",
        "การอ้างอิงต้องชี้ไปที่ {expected} แต่พบ {found}",
    ),
    "claim-use": Rule(
        "value",
        B,
        "Claim.use must be 'claim' to submit, got '{found}'.",
        "Claim.use ต้องเป็น 'claim' สำหรับการเบิกจ่าย แต่ได้รับ '{found}'",
    ),
    "claim-status": Rule(
        "value",
        B,
        "Claim.status must be 'active' to submit, got '{found}'.",
        "Claim.status ต้องเป็น 'active' แต่ได้รับ '{found}'",
    ),
    "invoice-missing": Rule(
        "required",
        B,
        "Claim.identifier needs the invoice number in system {system}.",
        "Claim.identifier ต้องมีเลขที่ใบแจ้งหนี้ในระบบ {system}",
    ),
    "patient-missing": Rule(
        "required",
        B,
        "Claim.patient must reference a Patient in the bundle.",
        "Claim.patient ต้องอ้างอิง Patient ที่อยู่ใน Bundle",
    ),
    "cid-missing": Rule(
        "required",
        B,
        "The patient has no Thai citizen ID (identifier system {system}).",
        "ผู้ป่วยไม่มีเลขประจำตัวประชาชน (identifier system {system})",
    ),
    "cid-invalid": Rule(
        "value",
        B,
        "The Thai citizen ID {masked} is not valid: {reason}.",
        "เลขประจำตัวประชาชน {masked} ไม่ถูกต้อง: {reason_th}",
    ),
    "provider-missing": Rule(
        "required",
        B,
        "Claim.provider must be an Organization identified by its HCODE ({system}).",
        "Claim.provider ต้องเป็น Organization ที่ระบุด้วยรหัสสถานพยาบาล ({system})",
    ),
    "hcode-invalid": Rule(
        "value",
        B,
        "HCODE '{found}' is not a 5 or 9 digit MOPH hospital code.",
        "รหัสสถานพยาบาล '{found}' ต้องเป็นตัวเลข 5 หรือ 9 หลัก",
    ),
    "provider-not-caller": Rule(
        "forbidden",
        F,
        "The claim's provider {found} is not the hospital of this token ({expected}).",
        "สถานพยาบาลผู้เบิก {found} ไม่ตรงกับสถานพยาบาลของโทเคน ({expected})",
    ),
    "currency": Rule(
        "value",
        B,
        "Claim.total.currency must be THB, got '{found}'.",
        "สกุลเงินต้องเป็น THB แต่ได้รับ '{found}'",
    ),
    "total-missing": Rule("required", B, "Claim.total is required.", "ต้องระบุยอดรวม Claim.total"),
    "total-mismatch": Rule(
        "value",
        B,
        "Claim.total {total} does not equal the sum of item nets {sum}.",
        "ยอดรวม {total} ไม่เท่ากับผลรวมของรายการ {sum}",
    ),
    "items-missing": Rule("required", B, "The claim has no items.", "ไม่มีรายการค่าใช้จ่ายในการเบิก"),
    "item-sequence": Rule(
        "required",
        B,
        "Every item needs a unique positive sequence.",
        "ทุกรายการต้องมีลำดับ (sequence) ที่ไม่ซ้ำและมากกว่าศูนย์",
    ),
    "item-product": Rule(
        "required",
        B,
        "Every item needs a coded productOrService.",
        "ทุกรายการต้องมีรหัสบริการ (productOrService)",
    ),
    "item-net": Rule(
        "required",
        B,
        "Every item needs a net amount in THB.",
        "ทุกรายการต้องมีจำนวนเงินสุทธิ (net) เป็นบาท",
    ),
    "amount-negative": Rule("value", B, "Amounts must not be negative.", "จำนวนเงินต้องไม่ติดลบ"),
    "date-future": Rule(
        "value",
        B,
        "Date {found} lies in the future.",
        "วันที่ {found} เป็นวันในอนาคต",
    ),
    "billable-period": Rule(
        "value",
        B,
        "Claim.billablePeriod is not sane: {reason}.",
        "ช่วงเวลาการรับบริการไม่ถูกต้อง: {reason}",
    ),
    "identifier-duplicate": Rule(
        "duplicate",
        B,
        "Invoice {found} was already submitted with different content; "
        "send a correction with Claim.related.claim instead.",
        "เลขที่ใบแจ้งหนี้ {found} ถูกส่งแล้วด้วยข้อมูลอื่น ให้ส่งเป็นการแก้ไขผ่าน Claim.related.claim",
    ),
    "idempotency-key-reused": Rule(
        "conflict",
        B,
        "The Idempotency-Key was already used with a different body.",
        "Idempotency-Key นี้ถูกใช้แล้วกับข้อมูลอื่น",
    ),
    # Bounds of fhir_mappings/limits.py: what a stored claim may hold (issue 10).
    "json-too-deep": Rule(
        "structure",
        S,
        "The body nests deeper than {limit} levels.",
        "ข้อมูลซ้อนกันลึกเกิน {limit} ชั้น",
    ),
    "character-forbidden": Rule(
        "invalid",
        S,
        "A text value holds the control character {character}.",
        "ข้อความมีอักขระควบคุม {character} ซึ่งไม่อนุญาต",
    ),
    "text-too-long": Rule(
        "too-costly",
        S,
        "A text value is longer than {limit} characters.",
        "ข้อความยาวเกิน {limit} ตัวอักษร",
    ),
    "too-many-items": Rule(
        "too-costly",
        B,
        "The claim has {count} items; at most {limit} are accepted.",
        "เคลมมี {count} รายการ รับได้ไม่เกิน {limit} รายการ",
    ),
    "identifier-character": Rule(
        "value",
        B,
        "The identifier holds {character}; use only {allowed}.",
        "เลขอ้างอิงมีอักขระ {character} ใช้ได้เฉพาะ {allowed}",
    ),
    "identifier-too-long": Rule(
        "value",
        B,
        "The identifier is longer than {limit} characters.",
        "เลขอ้างอิงยาวเกิน {limit} ตัวอักษร",
    ),
    "value-out-of-range": Rule(
        "value",
        B,
        "The value {found} is outside the accepted range (at most {limit}).",
        "ค่า {found} อยู่นอกช่วงที่รับได้ (ไม่เกิน {limit})",
    ),
}


def problem(rule: str, expression: str, **values: object) -> Problem:
    """A Problem for a catalogued rule, with its messages filled in."""
    spec = RULES[rule]
    text = {k: str(v) for k, v in values.items()}
    return Problem(
        rule=rule,
        code=spec.code,
        expression=expression,
        message_en=spec.en.format(**text),
        message_th=spec.th.format(**text),
        kind=spec.kind,
    )
