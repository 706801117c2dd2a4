"""Reasons a reviewer reads: stable codes and sentences in English and Thai with the learned norm.

A reason is shown only when its signal was rare in the training history (a rule that fired on
at most 2% of training claims, a feature value that at most 1% of the claim's peers reached),
so an ordinary claim carries none. A flagged claim always carries at least one.

Stored in `claims.fraud_reasons` as `CODE: English || Thai` joined by `;` (see `Reason.stored`,
`Reason.parse_many`); `fraud.scoring.parse_reasons` reads it back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from fraud.facts import ClaimFacts
from fraud.features import FEATURES
from fraud.norms import primary_key
from fraud.rules import RULES

if TYPE_CHECKING:
    from fraud.model import FraudModel, GroupModel

RULE_REASON_MAX_RATE: Final = 0.02
FEATURE_REASON_MAX_SHARE: Final = 0.01
MODEL_REASON_MIN: Final = 0.995
MAX_FEATURE_REASONS: Final = 3
SEPARATOR: Final = " || "
LEGACY_RULE_TEXT: Final = re.compile(r"^(?P<en>.*?) \((?P<th>[^()]*)\)(?: \[\w+\])?$")
SETTING_WORDS: Final = {
    "OPD": ("outpatient", "ผู้ป่วยนอก"),
    "IPD": ("inpatient", "ผู้ป่วยใน"),
    "EMERGENCY": ("emergency", "ฉุกเฉิน"),
}
FEATURE_CODES: Final = {
    "price_z": "PRICE-ABOVE-NORM",
    "amount_z": "AMOUNT-ABOVE-NORM",
    "quantity_z": "QUANTITY-ABOVE-NORM",
    "extra_lines": "EXTRA-LINES",
    "rare_companions": "RARE-COMPANION",
    "hour_rarity": "RARE-HOUR",
    "hospital_standing": "HOSPITAL-STANDING",
}
FEATURE_WORDS: Final = {
    "amount_log": ("the claim total", "ยอดเงินรวมของคำขอเบิก"),
    "lines": ("the number of billed lines", "จำนวนรายการที่เรียกเก็บ"),
    "price_ratio": ("the price against the reference tariff", "ราคาเทียบกับอัตราอ้างอิง"),
    "max_unit_ratio": (
        "the highest unit price against the reference tariff",
        "ราคาต่อหน่วยสูงสุดเทียบกับอัตราอ้างอิง",
    ),
    "max_quantity_log": ("the largest billed quantity", "จำนวนหน่วยสูงสุดที่เรียกเก็บ"),
    "stay_ratio": (
        "the length of stay against the DRG's expected stay",
        "วันนอนเทียบกับวันนอนมาตรฐานของ DRG",
    ),
    "adjrw_ratio": ("the adjusted RW against the DRG's RW", "ค่า AdjRW เทียบกับ RW ของ DRG"),
    "off_hours": ("night-time service", "การให้บริการกลางคืน"),
    "weekend_or_holiday": ("service on a weekend or holiday", "การให้บริการวันหยุด"),
    "misfit": (
        "codes that do not fit the patient's sex or age",
        "รหัสที่ไม่สอดคล้องกับเพศหรืออายุ",
    ),
    "component_lines": (
        "the number of separately billed test components",
        "รายการตรวจย่อยที่แยกเรียกเก็บ",
    ),
    "person_claims_7d": (
        "the number of the patient's claims in the last 7 days",
        "จำนวนคำขอเบิกของผู้ป่วยใน 7 วันที่ผ่านมา",
    ),
    "person_claims_30d": (
        "the number of the patient's claims in the last 30 days",
        "จำนวนคำขอเบิกของผู้ป่วยใน 30 วันที่ผ่านมา",
    ),
    "person_hospitals_30d": (
        "the number of the hospitals the patient used in 30 days",
        "จำนวนโรงพยาบาลที่ผู้ป่วยใช้บริการใน 30 วัน",
    ),
    "first_visit": ("a first visit at this hospital", "การมารับบริการครั้งแรกที่โรงพยาบาลนี้"),
    "same_care_2d": (
        "the number of repeats of the same care within 2 days",
        "การรับบริการเดียวกันซ้ำภายใน 2 วัน",
    ),
    "identical_same_day": (
        "the number of identical claims on the same day",
        "คำขอเบิกที่เหมือนกันในวันเดียวกัน",
    ),
    "hospital_surge": (
        "the hospital's claim volume this week against the 4 weeks before",
        "ปริมาณคำขอเบิกของโรงพยาบาลสัปดาห์นี้เทียบกับ 4 สัปดาห์ก่อน",
    ),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a claim scored as it did: a stable code and one sentence in English and in Thai."""

    code: str
    text_en: str
    text_th: str = ""

    @property
    def text(self) -> str:
        return self.text_en

    def stored(self) -> str:
        """`CODE: English || Thai`, safe to join with `;`."""
        clean = [t.replace(";", ",") for t in (self.text_en, self.text_th)]
        return (
            f"{self.code}: {clean[0]}{SEPARATOR}{clean[1]}"
            if clean[1]
            else f"{self.code}: {clean[0]}"
        )

    def __str__(self) -> str:
        return self.stored()

    def as_tuple(self) -> tuple[str, str, str]:
        return self.code, self.text_en, self.text_th

    @classmethod
    def parse(cls, stored: str) -> Reason:
        """One stored reason (also the older `CODE: English (Thai) [severity]` form)."""
        code, _, text = stored.strip().partition(": ")
        en, found, th = text.partition(SEPARATOR)
        if not found and (legacy := LEGACY_RULE_TEXT.match(text)) is not None:
            en, th = legacy["en"], legacy["th"]
        return cls(code.strip(), en.strip(), th.strip())

    @classmethod
    def parse_many(cls, stored: str | None) -> list[Reason]:
        return [cls.parse(part) for part in (stored or "").split(";") if part.strip()]


def thb(value: float) -> str:
    """An amount as a reviewer reads it: 4,200 or 1.50."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def band(low: float, high: float) -> str:
    """A usual range in THB, or one amount when the range is a single price."""
    return thb(low) if thb(low) == thb(high) else f"{thb(low)}–{thb(high)}"


def percent(share: float) -> str:
    return f"{share * 100:.2f}%" if share < 0.01 else f"{share * 100:.1f}%"


def peer_words(group_name: str) -> tuple[str, str]:
    """The claims a claim was compared with, in words."""
    if group_name.startswith("setting:"):
        en, th = SETTING_WORDS.get(group_name.removeprefix("setting:"), ("", ""))
        return f"{en} claims".strip(), f"คำขอเบิก{th}"
    if "|" in group_name:
        setting, code = group_name.split("|", 1)
        en, th = SETTING_WORDS.get(setting, ("", ""))
        return (
            f"{en} claims whose first item is {code}".strip(),
            f"คำขอเบิก{th}ที่มีรายการแรกเป็น {code}",
        )
    return "claims", "คำขอเบิก"


def explain(
    model: FraudModel,
    facts: ClaimFacts,
    x: np.ndarray,
    *,
    hits: np.ndarray,
    tail: np.ndarray,
    model_score: float,
    group: GroupModel,
    group_name: str,
    flagged: bool,
) -> tuple[Reason, ...]:
    """The rare signals of a claim as sentences; at least one when it is flagged."""
    reasons = _rule_reasons(model, hits)
    order = [int(j) for j in np.argsort(tail, kind="stable")]
    notable = [j for j in order if tail[j] <= FEATURE_REASON_MAX_SHARE][:MAX_FEATURE_REASONS]
    context = _Context(model, facts, x, tail, group, group_name)
    reasons += [context.sentence(j) for j in notable]
    if model_score >= MODEL_REASON_MIN or (flagged and not reasons):
        reasons.append(_anomaly(model_score, group_name))
    return tuple(reasons)


def _rule_reasons(model: FraudModel, hits: np.ndarray) -> list[Reason]:
    from fraud.scoring import rule_rate

    n = int(model.meta.get("training_claims", 1000))
    out = []
    for j, rule in enumerate(RULES):
        if not hits[j]:
            continue
        rate = rule_rate(model, rule.code, n)
        if rate > RULE_REASON_MAX_RATE:
            continue
        measured = rule.code in model.calibration.rule_measured
        seen_en = f" (seen in {percent(rate)} of training claims)" if measured else ""
        seen_th = f" (พบใน {percent(rate)} ของคำขอเบิกในประวัติ)" if measured else ""
        out.append(Reason(rule.code, rule.text_en + seen_en, rule.text_th + seen_th))
    return out


def _anomaly(model_score: float, group_name: str) -> Reason:
    en, th = peer_words(group_name)
    share = percent(min(model_score, 0.9999))
    return Reason(
        "ANOMALY",
        f"the anomaly detectors place this claim above {share} of {en} in the training history",
        f"ตัวตรวจจับความผิดปกติจัดให้คำขอเบิกนี้ผิดปกติกว่า {share} ของ{th}ในประวัติ",
    )


@dataclass(frozen=True, slots=True)
class _Context:
    model: FraudModel
    facts: ClaimFacts
    x: np.ndarray
    tail: np.ndarray
    group: GroupModel
    group_name: str

    def sentence(self, j: int) -> Reason:
        name = FEATURES[j]
        special: dict[str, Callable[[], Reason | None]] = {
            "price_z": self._price,
            "amount_z": self._amount,
            "quantity_z": self._quantity,
            "extra_lines": self._lines,
            "rare_companions": self._companion,
            "hour_rarity": self._hour,
            "hospital_standing": self._standing,
        }
        found = special[name]() if name in special else None
        return found or self._generic(j)

    def _generic(self, j: int) -> Reason:
        name = FEATURES[j]
        en_words, th_words = FEATURE_WORDS.get(name, (name.replace("_", " "), name))
        value = _readable(name, float(self.x[j]))
        peers_en, peers_th = peer_words(self.group_name)
        share = percent(float(self.tail[j]))
        return Reason(
            FEATURE_CODES.get(name, f"PEER-{name.upper()}"),
            f"{en_words} is {value}, and only {share} of {peers_en} in the training history "
            "reached that",
            f"{th_words} เท่ากับ {value} มีเพียง {share} ของ{peers_th} ในประวัติที่ถึงระดับนี้",
        )

    def _price(self) -> Reason | None:
        lines = self.model.norms.line_prices(self.facts)
        if not lines:
            return None
        worst = max(lines, key=lambda line: line.z)
        peer_en = peer_th = ""
        if worst.peer_low is not None and worst.peer_high is not None:
            peers = band(worst.peer_low, worst.peer_high)
            peer_en = f" (hospitals of its price level: {peers} THB)"
            peer_th = f" และโรงพยาบาลระดับราคาเดียวกันมักเรียกเก็บ {peers} บาท"
        own = band(worst.usual_low, worst.usual_high)
        return Reason(
            "PRICE-ABOVE-NORM",
            f"billed {thb(worst.unit)} THB per unit for code {worst.code}, while this hospital "
            f"usually bills {own} THB{peer_en}",
            f"เรียกเก็บ {thb(worst.unit)} บาทต่อหน่วยสำหรับรหัส {worst.code} "
            f"ปกติโรงพยาบาลนี้เรียกเก็บ {own} บาท{peer_th}",
        )

    def _amount(self) -> Reason | None:
        norms = self.model.norms
        key = primary_key(self.facts)
        usual = norms.keys.get(key)
        if usual is None:
            return None
        typical = math.exp(usual[3] + norms.hospital_index.get(self.facts.hcode, 0.0))
        en, th = peer_words(key)
        return Reason(
            "AMOUNT-ABOVE-NORM",
            f"the claim totals {thb(self.facts.total)} THB, while {en} at a hospital of this price "
            f"level usually total about {thb(typical)} THB",
            f"ยอดรวม {thb(self.facts.total)} บาท ปกติ{th}ของโรงพยาบาลระดับราคานี้รวมประมาณ "
            f"{thb(typical)} บาท",
        )

    def _quantity(self) -> Reason | None:
        norms = self.model.norms
        worst, found = 0.0, None
        for code, quantity in zip(self.facts.codes, self.facts.quantities, strict=True):
            norm = norms.codes.get(code)
            if norm is not None and quantity > 0:
                z = (math.log(quantity) - norm[4]) / norm[5]
                if found is None or z > worst:
                    worst, found = z, (code, quantity, math.exp(norm[4]))
        if found is None:
            return None
        code, quantity, usual = found
        return Reason(
            "QUANTITY-ABOVE-NORM",
            f"{quantity:g} units of code {code} were billed, while the usual quantity is {usual:g}",
            f"เรียกเก็บรหัส {code} จำนวน {quantity:g} หน่วย ปกติเรียกเก็บ {usual:g} หน่วย",
        )

    def _lines(self) -> Reason | None:
        key = primary_key(self.facts)
        usual = self.model.norms.keys.get(key)
        if usual is None:
            return None
        en, th = peer_words(key)
        lines = len(self.facts.codes)
        return Reason(
            "EXTRA-LINES",
            f"{lines} lines were billed, while 95% of {en} have at most {usual[2]:g}",
            f"เรียกเก็บ {lines} รายการ ขณะที่ 95% ของ{th}มีไม่เกิน {usual[2]:g} รายการ",
        )

    def _companion(self) -> Reason | None:
        _, code, share = self.model.norms.companion_rarity(self.facts)
        if code is None:
            return None
        first = self.facts.codes[0]
        return Reason(
            "RARE-COMPANION",
            f"code {code} is billed together with {first}, which only {percent(share)} of such "
            "claims in the history do",
            f"รหัส {code} ถูกเรียกเก็บร่วมกับ {first} ซึ่งพบเพียง {percent(share)} ของคำขอเบิกลักษณะนี้ในประวัติ",
        )

    def _hour(self) -> Reason | None:
        hours = self.model.norms.usual_hours(self.facts)
        if hours is None:
            return None
        en, th = SETTING_WORDS.get(self.facts.setting, ("", ""))
        low, high = hours
        return Reason(
            "RARE-HOUR",
            f"served at {self.facts.hour:02d}:00, while this hospital's {en} care usually happens "
            f"between {low:02d}:00 and {high:02d}:59",
            f"ให้บริการเวลา {self.facts.hour:02d}:00 น. ปกติบริการ{th}ของโรงพยาบาลนี้อยู่ระหว่าง "
            f"{low:02d}:00–{high:02d}:59 น.",
        )

    def _standing(self) -> Reason | None:
        z = float(self.x[FEATURES.index("hospital_standing")])
        rate = percent(self.model.norms.alert_rate)
        return Reason(
            "HOSPITAL-STANDING",
            f"this claim is priced above its norm, at a hospital whose share of such claims "
            f"over the last 28 days is well above the usual {rate} (z = {z:.1f})",
            f"คำขอเบิกนี้ราคาสูงกว่าปกติ และโรงพยาบาลนี้มีสัดส่วนคำขอเบิกราคาสูงผิดปกติใน 28 วัน"
            f"ที่ผ่านมาสูงกว่าระดับปกติ {rate} อย่างชัดเจน (z = {z:.1f})",
        )


def _readable(name: str, value: float) -> str:
    if name in ("amount_log",):
        return f"{thb(math.expm1(value))} THB"
    if name == "max_quantity_log":
        return f"{math.expm1(value):g}"
    return f"{value:g}" if value == int(value) else f"{value:.2f}"
