"""Claim features, the same for one claim online and for a whole history in batch (pandas).

Claim-level features compare amounts with the reference tariff and the stay with the DRG; the
person's history counts earlier claims (see `fraud.history` for what "earlier" means); the
hospital surge compares the last week's volume with the four weeks before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final

import numpy as np
import pandas as pd

from fraud.calendar import is_thai_holiday
from fraud.facts import ClaimFacts
from fraud.history import LATEST, ClaimHistory, PriorClaim
from fraud.norms import NORM_FEATURES, Norms, RecentPrices, primary_key, recent_prices
from fraud.reference import CHILDBEARING_AGES, CHILDBIRTH_CODES, CHILDBIRTH_DRG_PREFIX, DRGS, ITEMS

CLAIM_FEATURES: Final = (
    "amount_log",
    "lines",
    "price_ratio",
    "max_unit_ratio",
    "max_quantity_log",
    "stay_ratio",
    "adjrw_ratio",
    "off_hours",
    "weekend_or_holiday",
    "misfit",
    "component_lines",
)
HISTORY_FEATURES: Final = (
    "person_claims_7d",
    "person_claims_30d",
    "person_hospitals_30d",
    "first_visit",
    "same_care_2d",
    "identical_same_day",
    "hospital_surge",
)
STANDING_FEATURES: Final = ("hospital_standing",)
FEATURES: Final = CLAIM_FEATURES + HISTORY_FEATURES + NORM_FEATURES + STANDING_FEATURES
STANDING_DAYS: Final = 28
STANDING_MIN_PRICE_Z: Final = 1.5
COMPONENT_CODES: Final = frozenset({"LAB-HB", "LAB-HCT", "LAB-WBC", "LAB-PLT"})
FIRST_VISIT_LOOKBACK: Final = 365
SURGE_WEEKS: Final = 4
DAY_BITS: Final = 2**21


def peer_group(facts: ClaimFacts) -> str:
    """The kind of care a claim is compared within (dialysis, birth, dental, ipd, er, opd, ...)."""
    codes = set(facts.codes)
    for code, group in (
        ("DIALYSIS-HD", "dialysis"),
        ("BIRTH-LUMPSUM", "birth"),
        ("PRENATAL-VISIT", "prenatal"),
    ):
        if code in codes:
            return group
    if any(code.startswith("DENT-") for code in codes):
        return "dental"
    if facts.setting == "IPD":
        return "ipd"
    if facts.setting == "EMERGENCY" or "ER-OPD" in codes:
        return "er"
    return "opd"


def claim_features(facts: ClaimFacts) -> dict[str, float]:
    """Features of the claim alone."""
    price_ratio, max_unit_ratio = _price_ratios(facts)
    return {
        "amount_log": math.log1p(max(facts.total, 0.0)),
        "lines": float(len(facts.codes)),
        "price_ratio": price_ratio,
        "max_unit_ratio": max_unit_ratio,
        "max_quantity_log": math.log1p(max(facts.quantities, default=0.0)),
        "stay_ratio": _stay_ratio(facts),
        "adjrw_ratio": _adjrw_ratio(facts),
        "off_hours": 1.0 if facts.hour >= 21 or 0 <= facts.hour <= 5 else 0.0,
        "weekend_or_holiday": 1.0
        if facts.day.weekday() >= 5 or is_thai_holiday(facts.day)
        else 0.0,
        "misfit": float(len(misfit_codes(facts))),
        "component_lines": float(sum(1 for code in facts.codes if code in COMPONENT_CODES)),
    }


def _price_ratios(facts: ClaimFacts) -> tuple[float, float]:
    billed = reference = 0.0
    worst = 1.0
    first = True
    for code, quantity, unit in zip(facts.codes, facts.quantities, facts.unit_prices, strict=True):
        item = ITEMS.get(code)
        if item is None or item.price <= 0:
            continue
        billed += unit * quantity
        reference += item.price * quantity
        worst = unit / item.price if first else max(worst, unit / item.price)
        first = False
    return (billed / reference if reference > 0 else 1.0), worst


def _stay_ratio(facts: ClaimFacts) -> float:
    norm = DRGS.get(facts.drg or "")
    if norm is None or facts.stay_days is None:
        return 0.0
    return facts.stay_days / norm.wtlos


def _adjrw_ratio(facts: ClaimFacts) -> float:
    norm = DRGS.get(facts.drg or "")
    base = norm.rw if norm else facts.rw
    if facts.adj_rw is None or not base:
        return 0.0
    return facts.adj_rw / base


def misfit_codes(facts: ClaimFacts) -> tuple[str, ...]:
    """Codes that do not fit the patient's sex or age (childbirth care for men or children)."""
    low, high = CHILDBEARING_AGES
    fits = facts.sex == "female" and (facts.age is None or low <= facts.age <= high)
    if fits:
        return ()
    found = [code for code in facts.codes if code in CHILDBIRTH_CODES]
    if (facts.drg or "").startswith(CHILDBIRTH_DRG_PREFIX):
        found.append(f"DRG {facts.drg}")
    return tuple(found)


def history_features(
    facts: ClaimFacts, history: ClaimHistory, sequence: int = LATEST
) -> dict[str, float]:
    """The person's and hospital's earlier claims, seen from this claim."""
    d, before = facts.day, (facts.day, sequence)
    prior = history.person_claims(facts.cid, d - timedelta(days=FIRST_VISIT_LOOKBACK), before)
    recent = [p for p in prior if p.day >= d - timedelta(days=29)]
    week = history.hospital_claim_count(facts.hcode, d - timedelta(days=6), d, before)
    earlier = history.hospital_claim_count(
        facts.hcode, d - timedelta(days=6 + 7 * SURGE_WEEKS), d - timedelta(days=7), before
    )
    return {
        "person_claims_7d": float(sum(1 for p in recent if p.day >= d - timedelta(days=6))),
        "person_claims_30d": float(len(recent)),
        "person_hospitals_30d": float(len({p.hcode for p in recent} | {facts.hcode})),
        "first_visit": 0.0 if any(p.hcode == facts.hcode and p.day < d for p in prior) else 1.0,
        "same_care_2d": float(
            sum(1 for p in recent if _same_care(p, facts) and p.day >= d - timedelta(days=1))
        ),
        "identical_same_day": float(sum(1 for p in recent if _identical(p, facts))),
        "hospital_surge": _surge(week, earlier),
    }


def _same_care(prior: PriorClaim, facts: ClaimFacts) -> bool:
    return prior.hcode == facts.hcode and prior.signature == facts.signature


def _identical(prior: PriorClaim, facts: ClaimFacts) -> bool:
    return (
        _same_care(prior, facts)
        and prior.day == facts.day
        and round(prior.total, 2) == round(facts.total, 2)
    )


def _surge(week: int | np.ndarray, earlier: int | np.ndarray) -> float:
    return float((week + 1) / (earlier / SURGE_WEEKS + 1))


def standing_window(day: date) -> tuple[date, date]:
    """The days whose claims make a hospital's standing on `day`: the 28 days before it."""
    return day - timedelta(days=STANDING_DAYS), day - timedelta(days=1)


def hospital_standing(
    alerts: np.ndarray | float, claims: np.ndarray | float, rate: float, price_z: np.ndarray | float
) -> np.ndarray:
    """How far the hospital's recent share of price alerts exceeds the training rate (z-score).

    Counted only for a claim that is itself priced above its norm: the hospital's standing
    sharpens suspicion of an inflated claim, it does not make every claim of it suspect.
    """
    a, n, z = np.asarray(alerts, float), np.asarray(claims, float), np.asarray(price_z, float)
    excess = (a - n * rate) / np.sqrt(n * rate * (1.0 - rate) + 1.0)
    return np.asarray(np.where(z >= STANDING_MIN_PRICE_Z, np.maximum(excess, 0.0), 0.0))


def online_features(
    facts: ClaimFacts,
    history: ClaimHistory,
    sequence: int = LATEST,
    norms: Norms | None = None,
    standing: tuple[int, int] = (0, 0),
    recent: RecentPrices | None = None,
) -> np.ndarray:
    """The feature vector of one claim, in `FEATURES` order.

    `standing` is (price alerts, claims) of the hospital in `standing_window(facts.day)` and
    `recent` its usual prices over those days (`fraud.norms.recent_prices`).
    """
    values = claim_features(facts) | history_features(facts, history, sequence)
    values |= norms.features(facts, recent) if norms else dict.fromkeys(NORM_FEATURES, 0.0)
    rate = norms.alert_rate if norms else 0.0
    values["hospital_standing"] = float(
        hospital_standing(standing[0], standing[1], rate, values["price_z"])
    )
    return np.array([values[name] for name in FEATURES], dtype=np.float64)


def facts_frame(facts: Iterable[ClaimFacts]) -> pd.DataFrame:
    """One row per claim, in arrival order, with the columns batch features need."""
    rows = [
        (
            f.identifier,
            f.hcode,
            f.cid,
            f.day.toordinal(),
            f.signature,
            round(f.total, 2),
            peer_group(f),
            primary_key(f),
            f.setting,
            *claim_features(f).values(),
        )
        for f in facts
    ]
    columns = [
        "identifier",
        "hcode",
        "cid",
        "day",
        "signature",
        "total",
        "peer",
        "key",
        "setting",
        *CLAIM_FEATURES,
    ]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["position"] = np.arange(len(frame), dtype=np.int64)
    return frame


def batch_features(frame: pd.DataFrame) -> pd.DataFrame:
    """History features for every row of `facts_frame`, vectorised over the whole history."""
    out = frame.copy()
    person = pd.factorize(frame["cid"])[0]
    out["person_claims_7d"] = _earlier_in_window(person, frame, 6)
    out["person_claims_30d"] = _earlier_in_window(person, frame, 29)
    out["person_hospitals_30d"] = _distinct_hospitals(person, frame, 29)
    pair = pd.factorize(frame["cid"] + "|" + frame["hcode"])[0]
    out["first_visit"] = (_days_between(pair, frame, FIRST_VISIT_LOOKBACK, 1) == 0).astype(float)
    care = pd.factorize(frame["cid"] + "|" + frame["hcode"] + "|" + frame["signature"])[0]
    out["same_care_2d"] = _earlier_in_window(care, frame, 1)
    same = pd.factorize(
        frame["cid"]
        + "|"
        + frame["hcode"]
        + "|"
        + frame["signature"]
        + "|"
        + frame["total"].map("{:.2f}".format)
    )[0]
    out["identical_same_day"] = _earlier_in_window(same, frame, 0)
    out["hospital_surge"] = _hospital_surge(frame)
    return out


def _sorted_keys(group: np.ndarray, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Keys (group, day) sorted by (group, day, arrival), and each row's rank in that order."""
    key = group.astype(np.int64) * DAY_BITS + frame["day"].to_numpy(np.int64)
    order = np.lexsort((frame["position"].to_numpy(), key))
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key))
    return key[order], rank


def _earlier_in_window(group: np.ndarray, frame: pd.DataFrame, days: int) -> np.ndarray:
    keys, rank = _sorted_keys(group, frame)
    lower = np.searchsorted(
        keys, group.astype(np.int64) * DAY_BITS + frame["day"].to_numpy() - days
    )
    return np.asarray((rank - lower).astype(float))


def _days_between(group: np.ndarray, frame: pd.DataFrame, oldest: int, newest: int) -> np.ndarray:
    keys, _ = _sorted_keys(group, frame)
    base = group.astype(np.int64) * DAY_BITS + frame["day"].to_numpy()
    return np.asarray(
        np.searchsorted(keys, base - newest, side="right") - np.searchsorted(keys, base - oldest)
    )


def _distinct_hospitals(group: np.ndarray, frame: pd.DataFrame, days: int) -> np.ndarray:
    keys, rank = _sorted_keys(group, frame)
    lower = np.searchsorted(
        keys, group.astype(np.int64) * DAY_BITS + frame["day"].to_numpy() - days
    )
    by_rank = np.empty(len(rank), dtype=object)
    by_rank[rank] = frame["hcode"].to_numpy()
    hcodes = by_rank.tolist()
    return np.array(
        [
            float(len(set(hcodes[lo : r + 1])))
            for lo, r in zip(lower.tolist(), rank.tolist(), strict=True)
        ]
    )


def _hospital_surge(frame: pd.DataFrame) -> np.ndarray:
    hospital = pd.factorize(frame["hcode"])[0]
    week = _earlier_in_window(hospital, frame, 6)
    earlier = _days_between(hospital, frame, 6 + 7 * SURGE_WEEKS, 7)
    return (week + 1) / (earlier / SURGE_WEEKS + 1)


def with_norms(frame: pd.DataFrame, facts: list[ClaimFacts], norms: Norms) -> pd.DataFrame:
    """The batch frame with the norm features and the hospital standing added."""
    out = frame.copy()
    recent = _recent_by_hospital_day(frame, facts)
    rows = [
        norms.features(f, recent[(f.hcode, int(day))])
        for f, day in zip(facts, frame["day"].to_numpy(), strict=True)
    ]
    for name in NORM_FEATURES:
        out[name] = np.array([r[name] for r in rows], dtype=np.float64)
    out["price_alert"] = [norms.price_alert(f) for f in facts]
    alerts, claims = _standing_counts(out)
    out["hospital_standing"] = hospital_standing(
        alerts, claims, norms.alert_rate, out["price_z"].to_numpy()
    )
    return out


def _recent_by_hospital_day(
    frame: pd.DataFrame, facts: list[ClaimFacts]
) -> dict[tuple[str, int], RecentPrices]:
    """Per hospital and service day, its usual prices over `standing_window` (earlier days)."""
    out: dict[tuple[str, int], RecentPrices] = {}
    days = frame["day"].to_numpy()
    for hcode, rows in frame.groupby("hcode").indices.items():
        order = rows[np.argsort(days[rows], kind="stable")]
        sorted_days = days[order]
        for day in np.unique(sorted_days):
            low = np.searchsorted(sorted_days, day - STANDING_DAYS)
            high = np.searchsorted(sorted_days, day)
            out[(str(hcode), int(day))] = recent_prices([facts[i] for i in order[low:high]])
    return out


def _standing_counts(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the hospital's price alerts and claims in `standing_window` (earlier days)."""
    hospital = pd.factorize(frame["hcode"])[0].astype(np.int64)
    key = hospital * DAY_BITS + frame["day"].to_numpy(np.int64)
    order = np.argsort(key, kind="stable")
    keys = key[order]
    cumulative = np.concatenate([[0], np.cumsum(frame["price_alert"].to_numpy(int)[order])])
    low = np.searchsorted(keys, key - STANDING_DAYS)
    high = np.searchsorted(keys, key)
    return (cumulative[high] - cumulative[low]).astype(float), (high - low).astype(float)


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The `FEATURES` columns of a batch frame as a float matrix."""
    return np.asarray(frame.loc[:, list(FEATURES)].to_numpy(dtype=np.float64))


def day_of(ordinal: int) -> date:
    """A batch frame's day column back as a date."""
    return date.fromordinal(ordinal)
