"""The project's adjudication-reason CodeSystem: stable codes with English and Thai display.

A code, once published, keeps its meaning: hospitals build work lists on them. Add new codes;
never rename or reuse one.
"""

from __future__ import annotations

from typing import Final

from fhir_mappings.adjudication import AdjudicationReason

_CATALOGUE: Final[tuple[tuple[str, str, str], ...]] = (
    ("not-insured", "The patient is not on the SSO insured roster.", "ไม่พบผู้ป่วยในทะเบียนผู้ประกันตน"),
    (
        "not-covered-on-date",
        "The patient was not covered by the SSO on the service date.",
        "ผู้ป่วยไม่มีสิทธิประกันสังคมในวันที่รับบริการ",
    ),
    (
        "deceased",
        "The service date is after the patient's recorded death date.",
        "วันที่รับบริการอยู่หลังวันที่เสียชีวิตของผู้ป่วย",
    ),
    (
        "insufficient-contributions",
        "Too few contribution months in the last 15 months for medical benefits.",
        "จำนวนเดือนที่ส่งเงินสมทบใน 15 เดือนไม่ครบตามเงื่อนไขสิทธิรักษาพยาบาล",
    ),
    (
        "section-40-no-medical",
        "Section 40 insured persons have no SSO medical benefit; bill the UCS (NHSO) instead.",
        "ผู้ประกันตนมาตรา 40 ไม่มีสิทธิรักษาพยาบาลจากสำนักงานประกันสังคม ให้เบิกสิทธิบัตรทอง (สปสช.)",
    ),
    (
        "not-registered-hospital",
        "Routine care must be given by the registered main hospital, its network or on referral.",
        "การรักษาทั่วไปต้องรับบริการที่สถานพยาบาลตามสิทธิ เครือข่าย หรือมีใบส่งตัว",
    ),
    (
        "service-date-missing",
        "The claim has no service date to check coverage against.",
        "ไม่มีวันที่รับบริการสำหรับตรวจสอบสิทธิ",
    ),
    (
        "no-rules-on-date",
        "No SSO benefit rules are in force on the service date.",
        "ไม่มีหลักเกณฑ์สิทธิประโยชน์ประกันสังคมที่มีผลในวันที่รับบริการ",
    ),
    (
        "unmapped-code",
        "The billed code is not mapped to an SSO tariff item for this hospital.",
        "รหัสที่เรียกเก็บยังไม่ได้จับคู่กับรายการอัตราค่าบริการของสำนักงานประกันสังคม",
    ),
    (
        "not-in-tariff-on-date",
        "The tariff item is not in force on the service date.",
        "รายการอัตราค่าบริการไม่มีผลใช้ในวันที่รับบริการ",
    ),
    (
        "not-covered-section",
        "The tariff item does not cover the patient's section.",
        "รายการนี้ไม่ครอบคลุมผู้ประกันตนตามมาตราของผู้ป่วย",
    ),
    (
        "not-covered-setting",
        "The tariff item does not apply to this care setting (OPD/IPD/ER).",
        "รายการนี้ไม่ใช้กับประเภทการรับบริการนี้ (ผู้ป่วยนอก/ใน/ฉุกเฉิน)",
    ),
    (
        "above-tariff",
        "The billed amount is above the tariff price; the excess is not payable.",
        "ยอดเรียกเก็บสูงกว่าอัตราที่กำหนด ส่วนเกินไม่สามารถเบิกได้",
    ),
    ("limit-visit", "The per-visit limit of this benefit is reached.", "เกินเพดานสิทธิประโยชน์ต่อครั้ง"),
    ("limit-day", "The per-day limit of this benefit is reached.", "เกินเพดานสิทธิประโยชน์ต่อวัน"),
    ("limit-week", "The per-week limit of this benefit is reached.", "เกินเพดานสิทธิประโยชน์ต่อสัปดาห์"),
    ("limit-month", "The per-month limit of this benefit is reached.", "เกินเพดานสิทธิประโยชน์ต่อเดือน"),
    (
        "limit-year",
        "The yearly limit of this benefit is reached for this person.",
        "เกินเพดานสิทธิประโยชน์ต่อปีของผู้ประกันตน",
    ),
    (
        "limit-period",
        "The limit of this benefit over its multi-year or multi-day period is reached.",
        "เกินเพดานสิทธิประโยชน์ในช่วงเวลาที่กำหนด",
    ),
    (
        "frequency-limit",
        "This benefit was already used as often as allowed in its period.",
        "ใช้สิทธิประโยชน์นี้ครบจำนวนครั้งที่กำหนดแล้ว",
    ),
    (
        "emergency-rate-cap",
        "Emergency care at a non-contracted hospital is paid up to the emergency rates.",
        "การรักษาฉุกเฉินที่สถานพยาบาลนอกสิทธิจ่ายไม่เกินอัตราฉุกเฉินที่กำหนด",
    ),
    (
        "emergency-window-exceeded",
        "Emergency care at a non-contracted hospital is covered for the first 72 hours only.",
        "การรักษาฉุกเฉินที่สถานพยาบาลนอกสิทธิคุ้มครองเฉพาะ 72 ชั่วโมงแรก",
    ),
    (
        "drg-rate",
        "The inpatient case is paid at adjRW x base rate (Thai DRG).",
        "ผู้ป่วยในจ่ายตามค่าน้ำหนักสัมพัทธ์ที่ปรับแล้ว (adjRW) คูณอัตราฐาน",
    ),
    (
        "drg-rate-missing",
        "No DRG base rate is in force on the discharge date; priced by item.",
        "ไม่มีอัตราฐานต่อ adjRW ที่มีผลในวันจำหน่าย คิดราคาตามรายการ",
    ),
    (
        "drg-adjrw-missing",
        "The DRG grouping has no adjRW; an officer must check the case.",
        "ไม่มีค่า adjRW ในผลการจัดกลุ่ม DRG ต้องให้เจ้าหน้าที่ตรวจสอบ",
    ),
    (
        "drg-adjrw-out-of-range",
        "The adjRW is outside the plausible range; pended for review.",
        "ค่า adjRW อยู่นอกช่วงที่สมเหตุสมผล ส่งให้เจ้าหน้าที่ตรวจสอบ",
    ),
    (
        "drg-los-implausible",
        "The length of stay does not fit the adjRW (or the dates); pended for review.",
        "จำนวนวันนอนไม่สอดคล้องกับค่า adjRW หรือวันที่รับ/จำหน่าย ส่งให้เจ้าหน้าที่ตรวจสอบ",
    ),
    (
        "review-approved",
        "An SSO officer reviewed the claim and approved it as priced.",
        "เจ้าหน้าที่สำนักงานประกันสังคมตรวจสอบแล้ว อนุมัติตามราคาที่คำนวณ",
    ),
    (
        "review-adjusted",
        "An SSO officer reviewed the claim and reduced the payable amount of this line.",
        "เจ้าหน้าที่สำนักงานประกันสังคมตรวจสอบแล้ว ปรับลดยอดที่จ่ายได้ของรายการนี้",
    ),
    (
        "review-denied",
        "An SSO officer reviewed the claim and denied it; nothing is paid.",
        "เจ้าหน้าที่สำนักงานประกันสังคมตรวจสอบแล้ว ปฏิเสธการจ่าย",
    ),
    (
        "review-info-requested",
        "An SSO officer needs more information; send a correction naming this claim in related.",
        "เจ้าหน้าที่สำนักงานประกันสังคมขอข้อมูลเพิ่มเติม กรุณาส่งเคลมแก้ไขโดยอ้างอิงเคลมนี้ใน related",
    ),
)

REASONS: Final[dict[str, AdjudicationReason]] = {
    code: AdjudicationReason(code=code, display_en=en, display_th=th) for code, en, th in _CATALOGUE
}


def reason(code: str) -> AdjudicationReason:
    """The catalogued reason for a code; unknown codes are a programming error."""
    return REASONS[code]
