"""Norms learned from the training history, for any code system, frozen as aggregates only.

The detector must not depend on our own tariff list: the SSO trains on its own history, whose
codes, prices and habits are not the generator's. From the history it learns, per item code,
per hospital and code, and per hospital price tier (hospitals of a similar price level):
- the usual unit price (median and the 10th–90th percentile band, on a log scale),
- the usual quantity,
- per primary key (care setting + first billed code) the usual number of lines, the usual
  claim amount and how often every other code comes with it (companion codes),
- per care setting and per hospital the usual hour of service.

Only aggregates of at least `MIN_CELL` claims are kept (smaller cells are dropped, and a code
seen fewer times counts as unknown): no claim row, identifier or citizen ID enters a norm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from fraud.facts import ClaimFacts

MIN_CELL: Final = 5
MIN_HOUR_CLAIMS: Final = 50
PRICE_SCALE_FLOOR: Final = 0.1
QUANTITY_SCALE_FLOOR: Final = 0.25
AMOUNT_SCALE_FLOOR: Final = 0.1
PRICE_ALERT_Z: Final = 3.0
TIERS: Final = 3
NORM_FEATURES: Final = (
    "price_z",
    "amount_z",
    "quantity_z",
    "extra_lines",
    "rare_companions",
    "hour_rarity",
)


def primary_key(facts: ClaimFacts) -> str:
    """The data-driven peer key of a claim: care setting and its first billed code."""
    return f"{facts.setting}|{facts.codes[0] if facts.codes else '-'}"


@dataclass(frozen=True, slots=True)
class LinePrice:
    """How far one billed line is from its learned norm, and the norm itself (THB)."""

    code: str
    unit: float
    z: float
    usual_low: float
    usual_high: float
    peer_low: float | None
    peer_high: float | None


@dataclass(slots=True)
class Norms:
    """The learned norms; `as_dict`/`from_dict` give the artefact's JSON (aggregates only)."""

    codes: dict[str, list[float]] = field(default_factory=dict)
    hospital_codes: dict[str, list[float]] = field(default_factory=dict)
    tier_codes: dict[str, list[float]] = field(default_factory=dict)
    hospital_index: dict[str, float] = field(default_factory=dict)
    hospital_tier: dict[str, int] = field(default_factory=dict)
    keys: dict[str, list[float]] = field(default_factory=dict)
    companions: dict[str, dict[str, int]] = field(default_factory=dict)
    hours: dict[str, list[int]] = field(default_factory=dict)
    alert_rate: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "codes": self.codes,
            "hospital_codes": self.hospital_codes,
            "tier_codes": self.tier_codes,
            "hospital_index": self.hospital_index,
            "hospital_tier": self.hospital_tier,
            "keys": self.keys,
            "companions": self.companions,
            "hours": self.hours,
            "alert_rate": self.alert_rate,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Norms:
        return cls(**data)

    def line_prices(self, facts: ClaimFacts) -> list[LinePrice]:
        """Every line with a learned norm, with its distance from the norm in robust units."""
        out = []
        index = self.hospital_index.get(facts.hcode, 0.0)
        tier = self.hospital_tier.get(facts.hcode)
        for code, unit in zip(facts.codes, facts.unit_prices, strict=True):
            norm = self.codes.get(code)
            if norm is None or unit <= 0:
                continue
            median, scale, p10, p90 = norm[0], norm[1], norm[2], norm[3]
            own = self.hospital_codes.get(f"{facts.hcode}|{code}")
            if own is not None:
                centre, low, high = own[0], own[1], own[2]
            else:
                centre, low, high = median + index, p10 + index, p90 + index
            peer = self.tier_codes.get(f"{tier}|{code}") if tier is not None else None
            out.append(
                LinePrice(
                    code,
                    unit,
                    (math.log(unit) - centre) / scale,
                    math.exp(low),
                    math.exp(high),
                    math.exp(peer[0]) if peer else None,
                    math.exp(peer[1]) if peer else None,
                )
            )
        return out

    def price_z(self, facts: ClaimFacts, recent: RecentPrices | None = None) -> float:
        """The highest line price against its norm, in robust standard units (0 without norms).

        With `recent` (the hospital's usual price per code over the 28 days before), a line
        counts only as far as it is above both: a hospital whose prices all moved since the
        training history is a price change, not an inflated claim.
        """
        worst = 0.0
        for line in self.line_prices(facts):
            z = line.z
            if recent is not None and line.code in recent:
                z = min(z, (math.log(line.unit) - recent[line.code]) / self.codes[line.code][1])
            worst = max(worst, z)
        return worst

    def features(self, facts: ClaimFacts, recent: RecentPrices | None = None) -> dict[str, float]:
        """The norm features of one claim (the same function serves batch and online)."""
        key = primary_key(facts)
        usual = self.keys.get(key)
        return {
            "price_z": _clip(self.price_z(facts, recent)),
            "amount_z": _clip(self._amount_z(facts, usual)),
            "quantity_z": _clip(self._quantity_z(facts)),
            "extra_lines": float(len(facts.codes)) - usual[2] if usual else 0.0,
            "rare_companions": self.companion_rarity(facts)[0],
            "hour_rarity": self.hour_rarity(facts),
        }

    def _amount_z(self, facts: ClaimFacts, usual: list[float] | None) -> float:
        if usual is None or facts.total <= 0:
            return 0.0
        index = self.hospital_index.get(facts.hcode, 0.0)
        return (math.log(facts.total) - usual[3] - index) / usual[4]

    def _quantity_z(self, facts: ClaimFacts) -> float:
        worst = 0.0
        for code, quantity in zip(facts.codes, facts.quantities, strict=True):
            norm = self.codes.get(code)
            if norm is not None and quantity > 0:
                worst = max(worst, (math.log(quantity) - norm[4]) / norm[5])
        return worst

    def companion_rarity(self, facts: ClaimFacts) -> tuple[float, str | None, float]:
        """-log10 of how often the rarest companion code comes with the claim's primary key.

        Returns the rarity, that code, and its share of the key's training claims.
        """
        key = primary_key(facts)
        usual = self.keys.get(key)
        seen = self.companions.get(key)
        if usual is None or seen is None:
            return 0.0, None, 1.0
        n = usual[0]
        rarest, rarest_share = None, 1.0
        for code in set(facts.codes[1:]):
            share = (seen.get(code, 0) + 0.5) / (n + 1.0)
            if share < rarest_share:
                rarest, rarest_share = code, share
        return (-math.log10(rarest_share) if rarest else 0.0), rarest, rarest_share

    def hour_rarity(self, facts: ClaimFacts) -> float:
        """-log10 of the share of the hospital's (or else the setting's) claims at this hour."""
        if facts.hour < 0:
            return 0.0
        counts = self.hours.get(f"{facts.hcode}|{facts.setting}") or self.hours.get(facts.setting)
        if not counts:
            return 0.0
        return -math.log10((counts[facts.hour] + 0.5) / (sum(counts) + 12.0))

    def usual_hours(self, facts: ClaimFacts) -> tuple[int, int] | None:
        """The hours that hold the middle 90% of the hospital's (or setting's) claims."""
        counts = self.hours.get(f"{facts.hcode}|{facts.setting}") or self.hours.get(facts.setting)
        if not counts or not sum(counts):
            return None
        order = np.argsort(counts)[::-1]
        kept, total = [], sum(counts)
        for hour in order:
            kept.append(int(hour))
            if sum(counts[h] for h in kept) >= 0.9 * total:
                break
        return min(kept), max(kept)

    def price_alert(self, facts: ClaimFacts) -> bool:
        """A line priced far above its learned norm (the hospital-level statistic counts these)."""
        return self.price_z(facts) >= PRICE_ALERT_Z


RecentPrices = dict[str, float]


def recent_prices(claims: Sequence[ClaimFacts]) -> RecentPrices:
    """Median log unit price per code over `claims` (codes with at least `MIN_CELL` lines)."""
    found: dict[str, list[float]] = {}
    for f in claims:
        for code, unit in zip(f.codes, f.unit_prices, strict=True):
            if unit > 0:
                found.setdefault(code, []).append(math.log(unit))
    return {
        code: float(np.median(np.asarray(values)))
        for code, values in found.items()
        if len(values) >= MIN_CELL
    }


def _clip(value: float) -> float:
    return float(min(max(value, -20.0), 50.0))


def _robust_scale(values: pd.Series, floor: float) -> float:
    mad = float((values - values.median()).abs().median()) * 1.4826
    return max(mad, floor)


def line_frame(facts: Sequence[ClaimFacts]) -> pd.DataFrame:
    """One row per billed line with a positive price and quantity (training only)."""
    rows = [
        (i, f.hcode, code, quantity, unit)
        for i, f in enumerate(facts)
        for code, quantity, unit in zip(f.codes, f.quantities, f.unit_prices, strict=True)
    ]
    frame = pd.DataFrame.from_records(rows, columns=["claim", "hcode", "code", "quantity", "unit"])
    frame = frame[(frame["unit"] > 0) & (frame["quantity"] > 0)].copy()
    frame["log_unit"] = np.log(frame["unit"])
    frame["log_quantity"] = np.log(frame["quantity"])
    return frame


def learn_norms(facts: Sequence[ClaimFacts]) -> Norms:
    """Every norm from a training history (aggregates of at least `MIN_CELL` claims)."""
    norms = Norms()
    lines = line_frame(facts)
    if len(lines):
        _learn_prices(norms, lines)
    _learn_keys(norms, facts)
    _learn_hours(norms, facts)
    alerts = [norms.price_alert(f) for f in facts]
    norms.alert_rate = float(np.mean(alerts)) if alerts else 0.0
    return norms


def _learn_prices(norms: Norms, lines: pd.DataFrame) -> None:
    counts = lines.groupby("code")["claim"].nunique()
    lines = lines[lines["code"].map(counts) >= MIN_CELL].copy()
    code_median = lines.groupby("code")["log_unit"].median()
    lines["ratio"] = lines["log_unit"] - lines["code"].map(code_median)
    index = lines.groupby("hcode")["ratio"].median()
    pair = lines["hcode"] + "|" + lines["code"]
    pair_n = lines.groupby(pair)["claim"].nunique()
    pair_median = lines.groupby(pair)["log_unit"].median()
    own = pair.map(pair_median).where(pair.map(pair_n) >= MIN_CELL)
    centre = own.fillna(lines["code"].map(code_median) + lines["hcode"].map(index))
    lines["residual"] = lines["log_unit"] - centre
    for code, part in lines.groupby("code"):
        adjusted = part["log_unit"] - part["hcode"].map(index)
        norms.codes[str(code)] = [
            float(code_median[code]),
            _robust_scale(part["residual"], PRICE_SCALE_FLOOR),
            float(adjusted.quantile(0.1)),
            float(adjusted.quantile(0.9)),
            float(part["log_quantity"].median()),
            _robust_scale(part["log_quantity"], QUANTITY_SCALE_FLOOR),
        ]
    for name, part in lines.groupby(pair):
        if pair_n[name] >= MIN_CELL:
            norms.hospital_codes[str(name)] = [
                float(part["log_unit"].median()),
                float(part["log_unit"].quantile(0.1)),
                float(part["log_unit"].quantile(0.9)),
                float(pair_n[name]),
            ]
    norms.hospital_index = {str(h): float(v) for h, v in index.items()}
    _learn_tiers(norms, lines, index)


def _learn_tiers(norms: Norms, lines: pd.DataFrame, index: pd.Series) -> None:
    """Hospitals of a kind: price tiers by the hospital's usual price level."""
    ranks = index.rank(method="first") - 1
    tiers = (ranks * TIERS // max(len(index), 1)).astype(int)
    norms.hospital_tier = {str(h): int(t) for h, t in tiers.items()}
    key = lines["hcode"].map(norms.hospital_tier).astype(str) + "|" + lines["code"]
    for name, part in lines.groupby(key):
        if part["claim"].nunique() >= MIN_CELL:
            norms.tier_codes[str(name)] = [
                float(part["log_unit"].quantile(0.1)),
                float(part["log_unit"].quantile(0.9)),
                float(part["claim"].nunique()),
            ]


def _learn_keys(norms: Norms, facts: Sequence[ClaimFacts]) -> None:
    frame = pd.DataFrame(
        {
            "key": [primary_key(f) for f in facts],
            "lines": [len(f.codes) for f in facts],
            "log_total": [math.log(f.total) if f.total > 0 else np.nan for f in facts],
            "adjust": [norms.hospital_index.get(f.hcode, 0.0) for f in facts],
        }
    )
    frame["adjusted"] = frame["log_total"] - frame["adjust"]
    for key, part in frame.groupby("key"):
        if len(part) < MIN_CELL:
            continue
        totals = part["adjusted"].dropna()
        norms.keys[str(key)] = [
            float(len(part)),
            float(part["lines"].median()),
            float(part["lines"].quantile(0.95)),
            float(totals.median()) if len(totals) else 0.0,
            _robust_scale(totals, AMOUNT_SCALE_FLOOR) if len(totals) else 1.0,
        ]
    together: dict[str, dict[str, int]] = {}
    for f in facts:
        key = primary_key(f)
        if key in norms.keys:
            seen = together.setdefault(key, {})
            for code in set(f.codes[1:]):
                seen[code] = seen.get(code, 0) + 1
    norms.companions = {
        key: {code: n for code, n in seen.items() if n >= MIN_CELL}
        for key, seen in together.items()
    }


def _learn_hours(norms: Norms, facts: Sequence[ClaimFacts]) -> None:
    counts: dict[str, list[int]] = {}
    for f in facts:
        if f.hour < 0:
            continue
        for name in (f.setting, f"{f.hcode}|{f.setting}"):
            counts.setdefault(name, [0] * 24)[f.hour] += 1
    norms.hours = {
        name: hours
        for name, hours in counts.items()
        if "|" not in name or sum(hours) >= MIN_HOUR_CLAIMS
    }
