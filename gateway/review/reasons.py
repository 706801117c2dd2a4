"""Fraud reasons as stored on a claim, turned back into code, English and Thai for reviewers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from gateway.review.schemas import ReasonOut

RANDOM_AUDIT: Final = ReasonOut(
    code="RANDOM-AUDIT",
    text_en="Drawn at random for audit among claims the model did not flag.",
    text_th="สุ่มตรวจจากเคลมที่แบบจำลองไม่ได้ตั้งข้อสังเกต",
)
INFO_RETURNED: Final = ReasonOut(
    code="INFO-RETURNED",
    text_en="The hospital's correction after an officer asked for more information.",
    text_th="เคลมแก้ไขจากโรงพยาบาลหลังเจ้าหน้าที่ขอข้อมูลเพิ่มเติม",
)
PRICING_PEND: Final = ReasonOut(
    code="PRICING-PEND",
    text_en="Pricing could not settle the claim on its own (see the line reasons).",
    text_th="การคำนวณราคาต้องให้เจ้าหน้าที่ตรวจสอบ (ดูเหตุผลรายบรรทัด)",
)
THAI_BY_PREFIX: Final = {
    "PEER-": "สูงกว่าค่าปกติของเคลมประเภทเดียวกันที่โรงพยาบาลอื่น",
    "MODEL": "คะแนนความเสี่ยงจากแบบจำลองตรวจจับการทุจริต",
}
# "CODE: text" pieces joined by ";"; a new piece starts where an upper-case code and ": " follow.
_PIECE = re.compile(r"(?:^|;)([A-Z][A-Z0-9_-]*[A-Z0-9]): ")
_RULE_TEXT = re.compile(r"^(?P<en>.*?) \((?P<th>[^()]*)\)(?: \[(?P<severity>\w+)\])?$")


def parse_reasons(stored: str | None) -> list[ReasonOut]:
    """The reasons of `claims.fraud_reasons`, each with English and Thai text."""
    if not stored:
        return []
    parser = _fraud_parser()
    if parser is not None:
        return [ReasonOut(code=c, text_en=en, text_th=th) for c, en, th in parser(stored)]
    starts = list(_PIECE.finditer(stored))
    reasons = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(stored)
        reasons.append(_reason(match.group(1), stored[match.end() : end]))
    return reasons


def _reason(code: str, text: str) -> ReasonOut:
    rule = _RULE_TEXT.match(text)
    if rule is not None:
        return ReasonOut(code=code, text_en=rule["en"], text_th=rule["th"])
    thai = next((th for prefix, th in THAI_BY_PREFIX.items() if code.startswith(prefix)), text)
    return ReasonOut(code=code, text_en=text, text_th=thai)


def _fraud_parser() -> Callable[[str], list[tuple[str, str, str]]] | None:
    """The fraud package's own parser of its stored reasons, when it offers one."""
    from fraud import scoring

    parser: Callable[[str], list[tuple[str, str, str]]] | None
    parser = getattr(scoring, "parse_reasons", None)
    return parser


MARKERS: Final = {
    "random-audit": RANDOM_AUDIT,
    "info-returned": INFO_RETURNED,
    "pricing": PRICING_PEND,
}


def reasons_for_review(stored: str | None, source: str | None) -> list[ReasonOut]:
    """Why a claim is in the queue: the fraud reasons, after the marker of how it got there."""
    reasons = [r for r in parse_reasons(stored) if r.code != "MODEL"]
    marker = MARKERS.get(source or "")
    return [marker, *reasons] if marker is not None else reasons
