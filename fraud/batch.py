"""Features, norms, rules and scores over whole columns: the batch path of training and audits.

Every value here equals, claim for claim, what the one-claim path of the gateway computes
(`fraud.features.online_features`, `fraud.rules.rule_hits`, `fraud.scoring.OnlineScorer`);
tests compare them bit for bit. Where numpy's vectorised logarithm may round differently from
Python's `math` (it does, in the last bit, for a few values in a thousand), the logarithm is
taken value by value with `math`: parity is worth the fraction of a second.

"Earlier" follows `fraud.history`: the service day, then arrival (row) order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal, TypeVar

import numpy as np
import pandas as pd

from fraud.calendar import is_thai_holiday
from fraud.columnar import NO_ID, ClaimColumns, person_hash, workers_for
from fraud.compiled_forest import CompiledForest
from fraud.features import (
    COMPONENT_CODES,
    DAY_BITS,
    FEATURES,
    FIRST_VISIT_LOOKBACK,
    STANDING_DAYS,
    SURGE_WEEKS,
    hospital_standing,
)
from fraud.forking import forked_pool
from fraud.model import FraudModel, GroupModel
from fraud.norms import (
    AMOUNT_SCALE_FLOOR,
    MIN_CELL,
    MIN_HOUR_CLAIMS,
    PRICE_ALERT_Z,
    PRICE_SCALE_FLOOR,
    QUANTITY_SCALE_FLOOR,
    TIERS,
    Norms,
)
from fraud.reasons import Reason, explain
from fraud.reference import CHILDBEARING_AGES, CHILDBIRTH_CODES, CHILDBIRTH_DRG_PREFIX, DRGS, ITEMS
from fraud.rules import ELECTIVE_PEERS, RULES, InsuredRoster
from fraud.scoring import (
    BANDWIDTHS,
    HIGH_RULE_FLAGS_BELOW,
    ScoredClaim,
    combine_evidence,
    evidence_matrix,
    risk_of,
    rule_rate,
    supervised_of,
)

PEERS: Final = ("dialysis", "birth", "prenatal", "dental", "ipd", "er", "opd")
BLOCK: Final = 50_000
PARTITION_LINES: Final = 250_000
CLAIM_BLOCK: Final = 500_000
MATH_BLOCK: Final = 1 << 20


def math_map(function: Callable[[float], float], values: np.ndarray) -> np.ndarray:
    """`function` (from `math`) applied value by value: the online path's exact rounding.

    In blocks: a block's values exist as Python floats (32 bytes each), not the whole column's.
    """
    out = np.empty(values.shape[0], dtype=np.float64)
    for start in range(0, values.shape[0], MATH_BLOCK):
        part = values[start : start + MATH_BLOCK]
        out[start : start + part.shape[0]] = np.fromiter(
            map(function, part.tolist()), dtype=np.float64, count=part.shape[0]
        )
    return out


def distinct(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` by one sort: numpy 2's hash-based unique of millions of integers
    takes a hundred times as long as sorting them (1.7 s against 0.02 s for 2,000,000)."""
    ordered = np.sort(values)
    keep = np.ones(ordered.shape[0], dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return np.asarray(ordered[keep])


def factorize(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids (0..k-1) of the values, and k."""
    uniques, inverse = np.unique(values, return_inverse=True)
    return inverse.astype(np.int64), int(uniques.shape[0])


@dataclass(frozen=True, slots=True)
class LineIndex:
    """The lines of a history grouped by their position in the claim (for in-order sums)."""

    claim: np.ndarray
    position: np.ndarray
    by_position: list[np.ndarray]

    @classmethod
    def of(cls, cols: ClaimColumns) -> LineIndex:
        # 32-bit rows and positions: half the memory of a history's lines (issue 12).
        claim, position = cols.line_claim.astype(np.int32), cols.line_position.astype(np.int32)
        order = np.argsort(position, kind="stable").astype(np.int32)
        bounds = np.concatenate([[0], np.cumsum(np.bincount(position))]) if len(position) else [0]
        return cls(
            claim,
            position,
            [order[bounds[j] : bounds[j + 1]] for j in range(len(bounds) - 1)],
        )

    def running(
        self, values: np.ndarray, n: int, step: Callable[[np.ndarray, np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Per claim, `step` folded over its lines in billed order (NaN lines are skipped)."""
        out = np.full(n, np.nan)
        for lines in self.by_position:
            rows, value = self.claim[lines], values[lines]
            keep = ~np.isnan(value)
            rows, value = rows[keep], value[keep]
            current = out[rows]
            out[rows] = np.where(np.isnan(current), value, step(current, value))
        return out


# ---------------------------------------------------------------- claim features
def code_table(cols: ClaimColumns, pick: Callable[[str], float | None]) -> np.ndarray:
    """A value per vocabulary code (NaN where `pick` gives None)."""
    return np.array([_nan(pick(code)) for code in cols.codes] + [math.nan], dtype=np.float64)


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def claim_matrix(cols: ClaimColumns, lines: LineIndex) -> dict[str, np.ndarray]:
    """`fraud.features.claim_features` for every claim."""
    n = len(cols)
    counts = np.diff(cols.offsets).astype(np.float64)
    price = code_table(
        cols, lambda c: ITEMS[c].price if c in ITEMS and ITEMS[c].price > 0 else None
    )
    ref = price[cols.line_code]
    priced = ~np.isnan(ref)
    billed = lines.running(np.where(priced, cols.line_unit * cols.line_quantity, np.nan), n, np.add)
    reference = lines.running(np.where(priced, ref * cols.line_quantity, np.nan), n, np.add)
    worst = lines.running(np.where(priced, cols.line_unit / ref, np.nan), n, np.maximum)
    has_ref = ~np.isnan(reference) & (np.nan_to_num(reference) > 0)
    top_quantity = lines.running(cols.line_quantity.copy(), n, np.maximum)
    return {
        "amount_log": math_map(math.log1p, np.maximum(cols.total, 0.0)),
        "lines": counts,
        "price_ratio": np.where(
            has_ref, np.nan_to_num(billed) / np.where(has_ref, reference, 1.0), 1.0
        ),
        "max_unit_ratio": np.where(np.isnan(worst), 1.0, worst),
        "max_quantity_log": math_map(
            math.log1p, np.where(np.isnan(top_quantity), 0.0, top_quantity)
        ),
        "stay_ratio": _stay_ratio(cols),
        "adjrw_ratio": _adjrw_ratio(cols),
        "off_hours": ((cols.hour >= 21) | ((cols.hour >= 0) & (cols.hour <= 5))).astype(np.float64),
        "weekend_or_holiday": _weekend_or_holiday(cols.day),
        "misfit": misfit_counts(cols, lines),
        "component_lines": _per_claim_count(
            cols, np.isin(cols.line_code, cols.code_ids(COMPONENT_CODES))
        ),
    }


def _per_claim_count(cols: ClaimColumns, line_mask: np.ndarray) -> np.ndarray:
    return np.bincount(cols.line_claim[line_mask], minlength=len(cols)).astype(np.float64)


def _drg_table(cols: ClaimColumns, field: str) -> np.ndarray:
    values = [getattr(DRGS[d], field) if d in DRGS else math.nan for d in cols.drgs]
    return np.array([*values, math.nan], dtype=np.float64)


def _stay_ratio(cols: ClaimColumns) -> np.ndarray:
    wtlos = _drg_table(cols, "wtlos")[cols.drg]
    ok = ~np.isnan(wtlos) & ~np.isnan(cols.stay_days)
    return np.where(ok, cols.stay_days / np.where(ok, wtlos, 1.0), 0.0)


def _adjrw_ratio(cols: ClaimColumns) -> np.ndarray:
    norm_rw = _drg_table(cols, "rw")[cols.drg]
    base = np.where(np.isnan(norm_rw), cols.rw, norm_rw)
    ok = ~np.isnan(cols.adj_rw) & ~np.isnan(base) & (np.nan_to_num(base) != 0)
    return np.where(ok, cols.adj_rw / np.where(ok, base, 1.0), 0.0)


def _weekend_or_holiday(days: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(days, return_inverse=True)
    marks = [
        1.0 if date.fromordinal(d).weekday() >= 5 or is_thai_holiday(date.fromordinal(d)) else 0.0
        for d in unique.tolist()
    ]
    return np.asarray(np.array(marks, dtype=np.float64)[inverse])


def misfit_counts(cols: ClaimColumns, lines: LineIndex) -> np.ndarray:
    """`len(misfit_codes(facts))`: childbirth care for men or for ages outside 10–55."""
    low, high = CHILDBEARING_AGES
    female = np.isin(cols.sex, [i for i, s in enumerate(cols.sexes) if s == "female"])
    fits = female & (np.isnan(cols.age) | ((cols.age >= low) & (cols.age <= high)))
    births = _per_claim_count(cols, np.isin(cols.line_code, cols.code_ids(CHILDBIRTH_CODES)))
    drg_birth = np.array(
        [d.startswith(CHILDBIRTH_DRG_PREFIX) for d in cols.drgs] + [False], dtype=bool
    )[cols.drg]
    return np.where(fits, 0.0, births + drg_birth)


def peer_groups(cols: ClaimColumns) -> np.ndarray:
    """`fraud.features.peer_group` per claim, as an index into `PEERS`."""

    def has(codes: Iterable[str]) -> np.ndarray:
        mask = np.isin(cols.line_code, cols.code_ids(codes))
        return np.bincount(cols.line_claim[mask], minlength=len(cols)) > 0

    dental = has(c for c in cols.codes if c.startswith("DENT-"))
    setting = np.array(cols.settings + [""], dtype=object)[cols.setting]
    peer = np.full(len(cols), PEERS.index("opd"), dtype=np.int64)
    for mask, name in (
        ((setting == "EMERGENCY") | has(["ER-OPD"]), "er"),
        (setting == "IPD", "ipd"),
        (dental, "dental"),
        (has(["PRENATAL-VISIT"]), "prenatal"),
        (has(["BIRTH-LUMPSUM"]), "birth"),
        (has(["DIALYSIS-HD"]), "dialysis"),
    ):
        peer[mask] = PEERS.index(name)
    return peer


# ---------------------------------------------------------------- history features
class _Order:
    """Rows sorted by (group, day, arrival): windows of earlier claims are contiguous slices."""

    def __init__(self, group: np.ndarray, day: np.ndarray) -> None:
        self.base = group * DAY_BITS + day
        # A stable sort keeps arrival (row) order among equal (group, day) keys.
        self.order = np.argsort(self.base, kind="stable")
        self.keys = self.base[self.order]
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(group.shape[0])

    def earlier_within(self, days: int) -> np.ndarray:
        """Earlier rows of the group served at most `days` days before (arrival-aware)."""
        return np.asarray(self.rank - self.before(days), np.float64)

    def between(self, oldest: int, newest: int) -> np.ndarray:
        """Rows of the group served from `oldest` to `newest` days before (any arrival)."""
        return np.asarray(self.before(newest, "right") - self.before(oldest))

    def before(self, days: int, side: Literal["left", "right"] = "left") -> np.ndarray:
        """Per row, where its key less `days` falls among the sorted keys.

        Searched in key order, then put back in row order: sorted probes let each binary search
        start where the previous one ended (a third of the time of probes in row order).
        """
        return np.asarray(np.searchsorted(self.keys, self.keys - days, side=side)[self.rank])


def history_matrix(cols: ClaimColumns) -> dict[str, np.ndarray]:
    """`fraud.features.history_features` for every claim, earlier = (day, arrival)."""
    return dict(history_columns(cols))


def history_columns(cols: ClaimColumns) -> Iterator[tuple[str, np.ndarray]]:
    """`history_matrix` one feature at a time, each grouping dropped once its features are out.

    At 5,000,000 claims every int64 index array is 40 MB, and a grouping (`_Order`) holds four:
    keeping only the grouping in use is what keeps training within 4 GB (issue 12).
    """
    person, _ = factorize(cols.person)
    by_person = _Order(person, cols.day)
    yield "person_claims_7d", by_person.earlier_within(6)
    yield "person_claims_30d", by_person.earlier_within(29)
    yield "person_hospitals_30d", _distinct_hospitals(by_person, cols.hcode, 29)
    del by_person
    pair, _ = factorize(person * (len(cols.hcodes) + 1) + cols.hcode)
    del person
    first = _Order(pair, cols.day).between(FIRST_VISIT_LOOKBACK, 1) == 0
    yield "first_visit", first.astype(np.float64)
    signature, n_sig = factorize(cols.signature)
    care, _ = factorize(pair * n_sig + signature)
    del pair, signature
    yield "same_care_2d", _Order(care, cols.day).earlier_within(1)
    total, n_total = factorize(cols.total2)
    same, _ = factorize(care * n_total + total)
    del care, total
    yield "identical_same_day", _Order(same, cols.day).earlier_within(0)
    del same
    hospital = _Order(cols.hcode.astype(np.int64), cols.day)
    week = hospital.earlier_within(6)
    earlier = hospital.between(6 + 7 * SURGE_WEEKS, 7)
    del hospital
    yield "hospital_surge", (week + 1) / (earlier / SURGE_WEEKS + 1)


def _distinct_hospitals(by_person: _Order, hcode: np.ndarray, days: int) -> np.ndarray:
    """Distinct hospitals among the person's earlier claims within `days` days, and this one.

    A row in the window counts when the next row of the same person and hospital (in sorted
    order) lies past the window's end: each hospital is then counted once, at its last row.
    """
    n = hcode.shape[0]
    lower = np.searchsorted(by_person.keys, by_person.keys - days)
    pair = (by_person.keys // DAY_BITS) * (int(hcode.max(initial=0)) + 1) + hcode[by_person.order]
    order = np.argsort(pair, kind="stable")
    following = np.full(n, n + 1, dtype=np.int64)
    same = pair[order[1:]] == pair[order[:-1]]
    del pair
    following[order[:-1][same]] = order[1:][same]
    del order, same
    count = np.zeros(n, dtype=np.float64)
    active, k = np.arange(n), 0
    while active.size:
        at = active - k
        keep = at >= lower[active]
        active, at = active[keep], at[keep]
        count[active] += following[at] > active
        k += 1
    return np.asarray(count[by_person.rank])


# ---------------------------------------------------------------- norms, learned in batch
def _lines_frame(cols: ClaimColumns) -> pd.DataFrame:
    keep = (cols.line_unit > 0) & (cols.line_quantity > 0)
    frame = pd.DataFrame(
        {
            "claim": cols.line_claim[keep],
            "hcode": cols.hcode[cols.line_claim[keep]],
            "code": cols.line_code[keep],
            "log_unit": np.log(cols.line_unit[keep]),
            "log_quantity": np.log(cols.line_quantity[keep]),
        }
    )
    return frame


def _robust(values: pd.Series, by: pd.Series | np.ndarray, floor: float) -> pd.Series:
    """Per group: max(1.4826 × median absolute deviation from the median, floor)."""
    median = values.groupby(by).transform("median")
    return ((values - median).abs().groupby(by).median() * 1.4826).clip(lower=floor)


def learn_norms_batch(cols: ClaimColumns, lines: LineIndex | None = None) -> Norms:
    """`fraud.norms.learn_norms` over columns: the same aggregates, by group-bys.

    `lines` is not needed (kept for callers that pass it): the norms group lines by code.
    """
    norms = Norms()
    frame = _lines_frame(cols)
    if len(frame):
        _learn_prices(norms, cols, frame)
    _learn_keys(norms, cols)
    _learn_hours(norms, cols)
    alerts = price_z_batch(cols, norms, None) >= PRICE_ALERT_Z
    norms.alert_rate = float(np.mean(alerts)) if len(alerts) else 0.0
    return norms


def _code_partitions(code: np.ndarray) -> list[np.ndarray]:
    """Line rows grouped by item code, in parts of whole codes of about `PARTITION_LINES` lines.

    Every price norm is an aggregate per code, per (hospital, code) or per (tier, code), so a
    part holding every line of its codes gives exactly the values the whole would: memory
    holds one part's group-bys instead of the whole history's (issue 12: 5,000,000 claims).
    """
    order = np.argsort(code, kind="stable")
    if not order.shape[0]:
        return [order]
    starts = np.flatnonzero(np.diff(code[order])) + 1
    parts, begin = [], 0
    for start in [*starts.tolist(), order.shape[0]]:
        if start - begin >= PARTITION_LINES or start == order.shape[0]:
            parts.append(order[begin:start])
            begin = start
    return parts


def _learn_prices(norms: Norms, cols: ClaimColumns, frame: pd.DataFrame) -> None:
    """Price norms: per code, per hospital and code, per tier and code; a price index per hospital.

    Two passes over code parts (`_code_partitions`) around the one aggregate that spans codes,
    the hospital price index (a median per hospital, over two narrow columns).
    """
    width = len(cols.codes) + 1
    medians, pair_ns, pair_medians, kept = [], [], [], []
    for rows in _code_partitions(frame["code"].to_numpy()):
        lines = frame.iloc[rows]
        claims_per_code = lines.groupby("code")["claim"].nunique()
        keep = (lines["code"].map(claims_per_code) >= MIN_CELL).to_numpy()
        lines = lines[keep]
        medians.append(lines.groupby("code")["log_unit"].median())
        by_pair = lines.groupby(lines["hcode"].astype(np.int64) * width + lines["code"])
        pair_ns.append(by_pair["claim"].nunique())
        pair_medians.append(by_pair["log_unit"].median())
        kept.append(rows[keep])
    code_median = pd.concat(medians).sort_index()
    pair_n, pair_median = pd.concat(pair_ns).sort_index(), pd.concat(pair_medians).sort_index()
    del medians, pair_ns, pair_medians
    rows = np.sort(np.concatenate(kept))
    code = frame["code"].to_numpy()[rows]
    hcode = frame["hcode"].to_numpy()[rows]
    ratio = frame["log_unit"].to_numpy()[rows] - code_median.reindex(code).to_numpy()
    hospital_ids = pd.Series(ratio).groupby(hcode).median()
    del rows, code, hcode, ratio
    index = pd.Series(
        hospital_ids.to_numpy(), index=[cols.hcodes[h] for h in hospital_ids.index]
    ).sort_index()
    norms.hospital_index = {str(h): float(v) for h, v in index.items()}
    ranks = index.rank(method="first") - 1
    tiers = (ranks * TIERS // max(len(index), 1)).astype(int)
    norms.hospital_tier = {str(h): int(t) for h, t in tiers.items()}
    tier_of = np.array([norms.hospital_tier.get(h, -1) for h in cols.hcodes] + [-1])
    tables, pair_tables, cells = [], [], []
    for rows in kept:
        lines = frame.iloc[rows].copy()
        lines["pair"] = lines["hcode"].astype(np.int64) * width + lines["code"]
        own = lines["pair"].map(pair_median).where(lines["pair"].map(pair_n) >= MIN_CELL)
        lines["index"] = lines["hcode"].map(hospital_ids)
        centre = own.fillna(lines["code"].map(code_median) + lines["index"])
        lines["residual"] = lines["log_unit"] - centre
        lines["adjusted"] = lines["log_unit"] - lines["index"]
        by = lines.groupby("code")
        tables.append(
            pd.DataFrame(
                {
                    "median": by["log_unit"].median(),
                    "scale": _robust(lines["residual"], lines["code"], PRICE_SCALE_FLOOR),
                    "p10": by["adjusted"].quantile(0.1),
                    "p90": by["adjusted"].quantile(0.9),
                    "qmedian": by["log_quantity"].median(),
                    "qscale": _robust(lines["log_quantity"], lines["code"], QUANTITY_SCALE_FLOOR),
                }
            )
        )
        kept_pairs = pair_n[pair_n >= MIN_CELL].index
        part = lines[lines["pair"].isin(kept_pairs)].groupby("pair")["log_unit"]
        pair_tables.append(
            pd.DataFrame(
                {"median": part.median(), "p10": part.quantile(0.1), "p90": part.quantile(0.9)}
            )
        )
        lines["tier"] = tier_of[lines["hcode"].to_numpy()]
        by_tier = lines.groupby(["tier", "code"])
        cells.append(
            pd.DataFrame(
                {
                    "p10": by_tier["log_unit"].quantile(0.1),
                    "p90": by_tier["log_unit"].quantile(0.9),
                    "claims": by_tier["claim"].nunique(),
                }
            )
        )
    table = pd.concat(tables).sort_index()
    norms.codes = {cols.codes[int(c)]: [float(v) for v in row] for c, row in table.iterrows()}
    pairs = pd.concat(pair_tables).sort_index()
    norms.hospital_codes = {
        f"{cols.hcodes[int(p) // width]}|{cols.codes[int(p) % width]}": [
            float(r["median"]),
            float(r["p10"]),
            float(r["p90"]),
            float(pair_n[p]),
        ]
        for p, r in pairs.iterrows()
    }
    norms.tier_codes = {
        f"{int(t)}|{cols.codes[int(c)]}": [float(r["p10"]), float(r["p90"]), float(r["claims"])]
        for (t, c), r in pd.concat(cells).sort_index().iterrows()
        if r["claims"] >= MIN_CELL
    }


def primary_keys(cols: ClaimColumns) -> tuple[np.ndarray, list[str]]:
    """`fraud.norms.primary_key` per claim as an id, and the key names."""
    counts = np.diff(cols.offsets)
    first = np.full(len(cols), NO_ID, dtype=np.int64)
    has = counts > 0
    first[has] = cols.line_code[cols.offsets[:-1][has]]
    width = len(cols.codes) + 1
    uniques, ids = np.unique(
        cols.setting.astype(np.int64) * width + (first + 1), return_inverse=True
    )
    names = [
        f"{cols.settings[u // width]}|{cols.codes[u % width - 1] if u % width else '-'}"
        for u in uniques.tolist()
    ]
    return ids.astype(np.int64), names


def _learn_keys(norms: Norms, cols: ClaimColumns) -> None:
    key, names = primary_keys(cols)
    index = np.array([norms.hospital_index.get(h, 0.0) for h in cols.hcodes] + [0.0])
    total = cols.total
    log_total = np.where(total > 0, np.log(np.where(total > 0, total, 1.0)), np.nan)
    frame = pd.DataFrame(
        {
            "key": key,
            "lines": np.diff(cols.offsets),
            "adjusted": log_total - index[cols.hcode],
        }
    )
    by = frame.groupby("key")
    sizes = by.size()
    adjusted = frame.dropna(subset=["adjusted"])
    table = pd.DataFrame(
        {
            "n": sizes,
            "lines_median": by["lines"].median(),
            "lines_p95": by["lines"].quantile(0.95),
            "median": adjusted.groupby("key")["adjusted"].median(),
            "scale": _robust(adjusted["adjusted"], adjusted["key"], AMOUNT_SCALE_FLOOR),
        }
    )
    table = table[table["n"] >= MIN_CELL]
    norms.keys = {
        names[int(k)]: [
            float(r["n"]),
            float(r["lines_median"]),
            float(r["lines_p95"]),
            0.0 if math.isnan(r["median"]) else float(r["median"]),
            1.0 if math.isnan(r["scale"]) else float(r["scale"]),
        ]
        for k, r in table.iterrows()
    }
    claim = cols.line_claim
    later = cols.line_position > 0
    width = len(cols.codes) + 1
    seen = distinct(claim[later] * width + cols.line_code[later])
    rows, codes = seen // width, seen % width
    cell, counts = np.unique(key[rows] * width + codes, return_counts=True)
    kept_keys = {k for k, name in enumerate(names) if name in norms.keys}
    companions: dict[str, dict[str, int]] = {names[k]: {} for k in sorted(kept_keys)}
    for c, n in zip(cell.tolist(), counts.tolist(), strict=True):
        k = c // width
        if k in kept_keys and n >= MIN_CELL:
            companions[names[k]][cols.codes[c % width]] = int(n)
    norms.companions = companions


def _learn_hours(norms: Norms, cols: ClaimColumns) -> None:
    known = cols.hour >= 0
    hours: dict[str, list[int]] = {}
    for s, name in enumerate(cols.settings):
        rows = known & (cols.setting == s)
        if rows.any():
            hours[name] = np.bincount(cols.hour[rows], minlength=24).tolist()
    pair = cols.hcode.astype(np.int64) * (len(cols.settings) + 1) + cols.setting
    pairs, ids = np.unique(pair[known], return_inverse=True)
    # One bincount for every (hospital, setting) and hour, not one pass over all claims per pair.
    table = np.bincount(ids * 24 + cols.hour[known], minlength=pairs.shape[0] * 24)
    for p, row in zip(pairs.tolist(), table.reshape(-1, 24).tolist(), strict=True):
        counts = [int(c) for c in row]
        if sum(counts) >= MIN_HOUR_CLAIMS:
            h, s = divmod(p, len(cols.settings) + 1)
            hours[f"{cols.hcodes[h]}|{cols.settings[s]}"] = counts
    norms.hours = hours


# ---------------------------------------------------------------- norm features
def _code_norm(cols: ClaimColumns, norms: Norms, field: int) -> np.ndarray:
    return np.array(
        [norms.codes[c][field] if c in norms.codes else math.nan for c in cols.codes] + [math.nan]
    )


def _line_z(cols: ClaimColumns, norms: Norms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line with a learned norm and a positive price: z against the norm, log unit, scale."""
    median, scale = _code_norm(cols, norms, 0), _code_norm(cols, norms, 1)
    hospital_index = np.array([norms.hospital_index.get(h, 0.0) for h in cols.hcodes] + [0.0])
    own_table = {
        (h, c): norms.hospital_codes[f"{hname}|{cname}"][0]
        for h, hname in enumerate(cols.hcodes)
        for c, cname in enumerate(cols.codes)
        if f"{hname}|{cname}" in norms.hospital_codes
    }
    claim = cols.line_claim
    hcode = cols.hcode[claim]
    usable = ~np.isnan(median[cols.line_code]) & (cols.line_unit > 0)
    rows = np.flatnonzero(usable)
    code, h = cols.line_code[rows], hcode[rows]
    centre = median[code] + hospital_index[h]
    if own_table:
        width = len(cols.codes) + 1
        keys = np.array([a * width + b for a, b in own_table], dtype=np.int64)
        values = np.array(list(own_table.values()))
        order = np.argsort(keys)
        keys, values = keys[order], values[order]
        probe = h.astype(np.int64) * width + code
        at = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
        found = keys[at] == probe
        centre = np.where(found, values[at], centre)
    log_unit = math_map(math.log, cols.line_unit[rows])
    z = np.full(cols.line_code.shape[0], np.nan)
    z[rows] = (log_unit - centre) / scale[code]
    logs = np.full(cols.line_code.shape[0], np.nan)
    logs[rows] = log_unit
    scales = scale[cols.line_code]
    return z, logs, scales


def price_z_batch(cols: ClaimColumns, norms: Norms, recent: np.ndarray | None) -> np.ndarray:
    """`Norms.price_z` per claim (unclipped); `recent` per line: the hospital's usual log price."""
    return price_z_pair(cols, norms, recent)[0 if recent is not None else 1]


def price_z_pair(
    cols: ClaimColumns, norms: Norms, recent: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """`Norms.price_z` per claim with the hospital's `recent` prices, and without them.

    Both from one pass over the lines (their z against the norms is what costs). Every step is
    per line, then per claim: done in blocks of claims, so the dozen per-line arrays exist for
    one block at a time (issue 12: 5,000,000 claims within 4 GB).
    """
    with_recent, plain = np.zeros(len(cols)), np.zeros(len(cols))
    for start in range(0, len(cols), CLAIM_BLOCK):
        end = min(start + CLAIM_BLOCK, len(cols))
        low, high = int(cols.offsets[start]), int(cols.offsets[end])
        part = cols.slice(start, end)
        z, logs, scales = _line_z(part, norms)
        plain[start:end] = _worst(part, z)
        if recent is not None:
            near = recent[low:high]
            z = np.where(np.isnan(near) | np.isnan(z), z, np.minimum(z, (logs - near) / scales))
            with_recent[start:end] = _worst(part, z)
    return with_recent, plain


def _worst(cols: ClaimColumns, z: np.ndarray) -> np.ndarray:
    """Per claim, its lines' highest z (0 when no line has one)."""
    worst = np.zeros(len(cols))
    ok = ~np.isnan(z)
    np.maximum.at(worst, cols.line_claim[ok], z[ok])
    return worst


def recent_medians(cols: ClaimColumns) -> np.ndarray:
    """Per line, `recent_prices` of its hospital over the 28 days before its claim's day.

    The median log unit price of the code at that hospital on those days, when at least
    `MIN_CELL` lines with a positive price were billed; NaN otherwise.
    """
    claim = cols.line_claim
    width = len(cols.codes) + 1
    cell = (cols.hcode[claim].astype(np.int64) * width + cols.line_code) * DAY_BITS
    key = cell + cols.day[claim]
    del claim, cell  # per line 8 bytes each: dropped as soon as they are used (issue 12)
    positive = np.flatnonzero(cols.line_unit > 0)
    logs = math_map(math.log, cols.line_unit[positive])
    positive_keys = key[positive]
    del positive
    order = np.argsort(positive_keys, kind="stable")
    sorted_keys, sorted_logs = positive_keys[order], logs[order]
    del positive_keys, logs, order
    wanted, inverse = np.unique(key, return_inverse=True)
    del key
    low = np.searchsorted(sorted_keys, wanted - STANDING_DAYS)
    high = np.searchsorted(sorted_keys, wanted)
    out = np.full(wanted.shape[0], np.nan)
    for i in np.flatnonzero(high - low >= MIN_CELL).tolist():
        out[i] = float(np.median(sorted_logs[low[i] : high[i]]))
    return np.asarray(out[inverse])


def norm_matrix(
    cols: ClaimColumns, norms: Norms, recent: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """`Norms.features` per claim with the hospital's recent prices, and the standing.

    `recent`: `recent_medians(cols)` when the caller has it already.
    """
    key, names = primary_keys(cols)
    table = np.array([norms.keys.get(name, [math.nan] * 5) for name in names], dtype=np.float64)
    usual = table.reshape(len(names), 5)[key]
    has_usual = ~np.isnan(usual[:, 0])
    index = np.array([norms.hospital_index.get(h, 0.0) for h in cols.hcodes] + [0.0])[cols.hcode]
    amount = np.zeros(len(cols))
    ok = has_usual & (cols.total > 0)
    amount[ok] = (math_map(math.log, cols.total[ok]) - usual[ok, 3] - index[ok]) / usual[ok, 4]
    recent = recent_medians(cols) if recent is None else recent
    price, plain = price_z_pair(cols, norms, recent)
    alerts = plain >= PRICE_ALERT_Z
    values = {
        "price_z": _clip(price),
        "amount_z": _clip(amount),
        "quantity_z": _clip(_quantity_z(cols, norms)),
        "extra_lines": np.where(has_usual, np.diff(cols.offsets) - np.nan_to_num(usual[:, 2]), 0.0),
        "rare_companions": _rare_companions(cols, norms, key, names, usual[:, 0]),
        "hour_rarity": _hour_rarity(cols, norms),
    }
    low_alerts, claims = _standing_counts(cols, alerts)
    values["hospital_standing"] = hospital_standing(
        low_alerts, claims, norms.alert_rate, values["price_z"]
    )
    values["price_alert"] = alerts.astype(np.float64)
    return values


def _clip(values: np.ndarray) -> np.ndarray:
    return np.asarray(np.minimum(np.maximum(values, -20.0), 50.0))


def _quantity_z(cols: ClaimColumns, norms: Norms) -> np.ndarray:
    qmedian, qscale = _code_norm(cols, norms, 4), _code_norm(cols, norms, 5)
    rows = np.flatnonzero(~np.isnan(qmedian[cols.line_code]) & (cols.line_quantity > 0))
    code = cols.line_code[rows]
    z = (math_map(math.log, cols.line_quantity[rows]) - qmedian[code]) / qscale[code]
    worst = np.zeros(len(cols))
    np.maximum.at(worst, cols.line_claim[rows], z)
    return worst


def _rare_companions(
    cols: ClaimColumns, norms: Norms, key: np.ndarray, names: list[str], n: np.ndarray
) -> np.ndarray:
    width = len(cols.codes) + 1
    later = np.flatnonzero(cols.line_position > 0)
    seen = distinct(cols.line_claim[later] * width + cols.line_code[later])
    rows, codes = seen // width, seen % width
    usual = ~np.isnan(n[rows])
    with_seen = np.array([name in norms.companions for name in names] + [False])[key[rows]]
    rows, codes = rows[usual & with_seen], codes[usual & with_seen]
    lookup = np.zeros((len(names), width))
    code_id = {code: c for c, code in enumerate(cols.codes)}
    for k, name in enumerate(names):
        for code, seen_with in norms.companions.get(name, {}).items():
            if code in code_id:
                lookup[k, code_id[code]] = seen_with
    counts = lookup[key[rows], codes]
    share = (counts + 0.5) / (n[rows] + 1.0)
    rarest = np.ones(len(cols))
    np.minimum.at(rarest, rows, share)
    found = np.zeros(len(cols), dtype=bool)
    found[rows] = True
    out = np.zeros(len(cols))
    out[found] = -math_map(math.log10, rarest[found])
    return out


def _hour_rarity(cols: ClaimColumns, norms: Norms) -> np.ndarray:
    width = len(cols.settings) + 1
    combos, inverse = np.unique(
        cols.hcode.astype(np.int64) * width + cols.setting, return_inverse=True
    )
    tables = []
    for c in combos.tolist():
        h, s = divmod(c, width)
        counts = norms.hours.get(f"{cols.hcodes[h]}|{cols.settings[s]}") or norms.hours.get(
            cols.settings[s]
        )
        tables.append(counts if counts else [0] * 24)
        tables[-1] = [*tables[-1], sum(counts) if counts else -1]
    table = np.array(tables, dtype=np.float64).reshape(len(combos), 25)
    claims = table[inverse, 24]  # one lookup per claim, never a claims × 25 matrix (issue 12)
    known = (cols.hour >= 0) & (claims >= 0)
    out = np.zeros(len(cols))
    picked = table[inverse[known], np.maximum(cols.hour[known], 0)]
    out[known] = -math_map(math.log10, (picked + 0.5) / (claims[known] + 12.0))
    return out


def _standing_counts(cols: ClaimColumns, alerts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per claim, its hospital's price alerts and claims over the 28 days before its day."""
    by_day = _Order(cols.hcode.astype(np.int64), cols.day)
    cumulative = np.concatenate([[0], np.cumsum(alerts[by_day.order].astype(np.int64))])
    low, high = by_day.before(STANDING_DAYS), by_day.before(0)
    return (cumulative[high] - cumulative[low]).astype(float), (high - low).astype(float)


# ---------------------------------------------------------------- everything together
@dataclass(frozen=True, slots=True)
class BatchFeatures:
    """The feature matrix of a history (`FEATURES` order) and what rules and scores reuse."""

    x: np.ndarray
    peer: np.ndarray
    key: np.ndarray
    key_names: list[str]
    price_alert: np.ndarray


def featurise_columns(
    cols: ClaimColumns, norms: Norms, lines: LineIndex | None = None
) -> BatchFeatures:
    """Every feature of every claim, against `norms`.

    The norm features are computed in a second process while this one computes the claim and
    history features (they need nothing from each other).
    """
    x = np.empty((len(cols), len(FEATURES)), dtype=np.float64)
    with beside(cols, _norm_values_shared, norms) as norm_values:
        _fill_norm_free(x, cols, lines)
        values = norm_values()
    return _with_norm_values(x, cols, values)


def learn_and_featurise(cols: ClaimColumns) -> tuple[Norms, BatchFeatures]:
    """The norms of a training history and every feature of its claims against them.

    The norms are learned in a second process while this one computes the features that need
    none (claim, history, the hospitals' recent prices); then the norm features.
    """
    x = np.empty((len(cols), len(FEATURES)), dtype=np.float64)
    with beside(cols, _learn_norms_shared) as learned:
        _fill_norm_free(x, cols, None)
        recent = recent_medians(cols)
        norms = learned()
    return norms, _with_norm_values(x, cols, norm_matrix(cols, norms, recent))


def _fill_norm_free(x: np.ndarray, cols: ClaimColumns, lines: LineIndex | None) -> None:
    """The claim and history features into `x`.

    One family at a time, copied into `x` and dropped: at most one family's arrays beside x
    (and the line index only while the claim features need it, when the caller gave none).
    """
    column = {name: j for j, name in enumerate(FEATURES)}
    for name, array in claim_matrix(cols, lines or LineIndex.of(cols)).items():
        x[:, column[name]] = array
    for name, array in history_columns(cols):
        x[:, column[name]] = array
        del array


def _with_norm_values(
    x: np.ndarray, cols: ClaimColumns, values: dict[str, np.ndarray]
) -> BatchFeatures:
    column = {name: j for j, name in enumerate(FEATURES)}
    price_alert = values.pop("price_alert") > 0
    for name, array in values.items():
        x[:, column[name]] = array
    del values
    key, names = primary_keys(cols)
    return BatchFeatures(x, peer_groups(cols), key, names, price_alert)


# The history a forked helper process reads (inherited copy-on-write, never pickled).
_SHARED_COLS: ClaimColumns | None = None
Result = TypeVar("Result")


@contextmanager
def beside(
    cols: ClaimColumns, function: Callable[..., Result], *args: Any
) -> Iterator[Callable[[], Result]]:
    """`function(cols, *args)` started in a forked process; yields a getter of its result.

    With one CPU (or a small history), the getter computes it in this process instead. The
    child reads `cols` from the fork, so only `args` and the result are pickled.
    """
    global _SHARED_COLS
    if workers_for(len(cols)) < 2:
        yield lambda: function(cols, *args)
        return
    _SHARED_COLS = cols
    try:
        with forked_pool(1) as pool:
            yield pool.submit(_call_shared, function, *args).result
    finally:
        _SHARED_COLS = None


def _call_shared(function: Callable[..., Result], *args: Any) -> Result:
    assert _SHARED_COLS is not None
    return function(_SHARED_COLS, *args)


def _learn_norms_shared(cols: ClaimColumns) -> Norms:
    return learn_norms_batch(cols)


def _norm_values_shared(cols: ClaimColumns, norms: Norms) -> dict[str, np.ndarray]:
    return norm_matrix(cols, norms)


# ---------------------------------------------------------------- rules
@dataclass(frozen=True, slots=True)
class RosterColumns:
    """The insured roster keyed like `ClaimColumns.person`, as sorted arrays."""

    person: np.ndarray
    section: np.ndarray
    main_hcode: list[str]
    start: np.ndarray
    end: np.ndarray
    death: np.ndarray

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, str]], key: Callable[[str], str] = lambda cid: cid
    ) -> RosterColumns:
        """`member import` CSV rows; `key` turns a CID into the person key the claims carry."""
        found: dict[int, tuple[int, str, int, int, int]] = {}
        for row in rows:
            found[person_hash(key(row["cid"]))] = (
                int(row["section"]),
                row["main_hcode"],
                _ordinal(row.get("coverage_start")),
                _ordinal(row.get("coverage_end")),
                _ordinal(row.get("death_date")),
            )
        people = np.array(sorted(found), dtype=np.int64)
        values = [found[p] for p in people.tolist()]

        def column(i: int) -> np.ndarray:
            return np.array([v[i] for v in values], dtype=np.int64)

        return cls(people, column(0), [v[1] for v in values], column(2), column(3), column(4))

    @classmethod
    def from_roster(cls, roster: InsuredRoster, cids: Iterable[str]) -> RosterColumns:
        """The enrolments `roster` gives for the persons of a history (claims keyed by CID)."""
        rows = []
        for cid in set(cids):
            e = roster.enrollment(cid)
            if e is not None:
                rows.append(
                    {
                        "cid": cid,
                        "section": str(e.section),
                        "main_hcode": e.main_hcode,
                        "coverage_start": e.coverage_start.isoformat() if e.coverage_start else "",
                        "coverage_end": e.coverage_end.isoformat() if e.coverage_end else "",
                        "death_date": e.death_date.isoformat() if e.death_date else "",
                    }
                )
        return cls.from_rows(rows)


def _ordinal(value: str | None) -> int:
    return date.fromisoformat(value).toordinal() if value else -1


def rule_matrix(
    cols: ClaimColumns, features: BatchFeatures, roster: RosterColumns | None = None
) -> np.ndarray:
    """`fraud.rules.rule_hits` for every claim, as claims × `RULES` booleans."""
    x = {name: features.x[:, j] for j, name in enumerate(FEATURES)}
    peer = features.peer
    setting = np.array(cols.settings + [""], dtype=object)[cols.setting]
    hits = {
        "DUP-EXACT": x["identical_same_day"] >= 1,
        "DUP-NEAR": (x["same_care_2d"] >= 1) & (x["identical_same_day"] == 0),
        "UNIT-LIMIT": _unit_limit(cols),
        "DIALYSIS-FREQ": (peer == PEERS.index("dialysis")) & (x["person_claims_7d"] >= 3),
        "DENTAL-CAP": (peer == PEERS.index("dental")) & (cols.total > 900),
        "UNBUNDLING": _unbundled(cols),
        "SEX-AGE": x["misfit"] >= 1,
        "NIGHT-ELECTIVE": (x["off_hours"] > 0)
        & (setting == "OPD")
        & np.isin(peer, [PEERS.index(p) for p in ELECTIVE_PEERS]),
        "EXCESSIVE-VISITS": x["person_claims_7d"] >= 4,
        "DOCTOR-SHOPPING": x["person_hospitals_30d"] >= 4,
    }
    if roster is not None:
        hits |= _roster_rules(cols, peer, setting, roster)
    out = np.zeros((len(cols), len(RULES)), dtype=bool)
    for j, rule in enumerate(RULES):
        if rule.code in hits:
            out[:, j] = hits[rule.code]
    return out


def _codes_mask(cols: ClaimColumns, test: Callable[[str], bool]) -> np.ndarray:
    table = np.array([test(c) for c in cols.codes] + [False], dtype=bool)
    return np.asarray(table[cols.line_code])


def _unit_limit(cols: ClaimColumns) -> np.ndarray:
    claim = cols.line_claim
    q, unit = cols.line_quantity, cols.line_unit
    stay = cols.stay_days[claim]
    over = (
        (_codes_mask(cols, lambda c: c == "DIALYSIS-HD") & ((q > 1) | (unit > 1500)))
        | (_codes_mask(cols, lambda c: c.startswith("DRUG-") and c != "DRUG-CEF") & (q > 120))
        | (_codes_mask(cols, lambda c: c == "IPD-ROOM") & ~np.isnan(stay) & (q > stay + 1))
    )
    return np.bincount(claim[over], minlength=len(cols)) > 0


def _unbundled(cols: ClaimColumns) -> np.ndarray:
    claim = cols.line_claim

    def has(code: int) -> np.ndarray:
        """Per claim: a line of this code (one bincount per code, never a sort of all lines)."""
        return np.bincount(claim[cols.line_code == code], minlength=len(cols)) > 0

    def billed_count(names: Iterable[str]) -> np.ndarray:
        """Per claim: how many of these codes it bills (each code counted once)."""
        count = np.zeros(len(cols), dtype=np.int64)
        for code in cols.code_ids(names).tolist():
            count += has(code)
        return count

    parts = billed_count(COMPONENT_CODES)
    return np.asarray(
        ((billed_count(["LAB-CBC"]) > 0) & (parts > 0))
        | (parts >= 2)
        | ((billed_count(["BIRTH-LUMPSUM"]) > 0) & (billed_count(["IPD-ROOM"]) > 0))
    )


def _roster_rules(
    cols: ClaimColumns, peer: np.ndarray, setting: np.ndarray, roster: RosterColumns
) -> dict[str, np.ndarray]:
    at = np.minimum(np.searchsorted(roster.person, cols.person), max(len(roster.person) - 1, 0))
    found = (
        roster.person[at] == cols.person if len(roster.person) else np.zeros(len(cols), dtype=bool)
    )
    at = np.where(found, at, 0)
    day = cols.day

    def pick(values: np.ndarray) -> np.ndarray:
        return np.where(found, values[at], -1) if len(values) else np.full(len(cols), -1)

    death, start, end, section = (
        pick(roster.death),
        pick(roster.start),
        pick(roster.end),
        pick(roster.section),
    )
    main = np.array(roster.main_hcode + [""], dtype=object)[
        np.where(found, at, len(roster.main_hcode))
    ]
    hcode = np.array(cols.hcodes + [""], dtype=object)[cols.hcode]
    return {
        "AFTER-DEATH": found & (death >= 0) & (death < day),
        "OUT-OF-COVERAGE": ~found
        | ~np.isin(section, [33, 39])
        | ((start >= 0) & (day < start))
        | ((end >= 0) & (day > end)),
        "NOT-REGISTERED": found
        & (main != hcode)
        & (setting != "EMERGENCY")
        & ~np.isin(peer, [PEERS.index("er"), PEERS.index("dialysis")]),
    }


# ---------------------------------------------------------------- scores
@dataclass(frozen=True, slots=True)
class BatchScores:
    """Scores of many claims: the arrays behind `fraud.scoring.ScoredClaim`, claim by claim."""

    score: np.ndarray
    flagged: np.ndarray
    model_score: np.ndarray
    evidence: np.ndarray
    supervised: np.ndarray | None
    price_alert: np.ndarray
    hits: np.ndarray
    tail: np.ndarray
    group: np.ndarray
    group_names: list[str]


def group_ids(model: FraudModel, features: BatchFeatures) -> tuple[np.ndarray, list[str]]:
    """`FraudModel.group_for` per claim: an id into the returned group names."""
    chosen = [model.group_for(name, name.split("|", 1)[0])[0] for name in features.key_names]
    names = sorted(set(chosen))
    per_key = np.array([names.index(c) for c in chosen], dtype=np.int64)
    return per_key[features.key], names


def signal_arrays(
    model: FraudModel, x: np.ndarray, group: np.ndarray, names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Detector scores and feature tail shares, group by group, in blocks (row by row equal).

    Blocks are scored in threads, one per CPU: numpy and the compiled trees release the GIL
    for most of the work, and each block writes only its own rows.
    """
    model_scores, tail = np.zeros(x.shape[0]), np.ones_like(x)
    blocks: list[tuple[GroupModel, CompiledForest, np.ndarray]] = []
    for g, name in enumerate(names):
        rows = np.flatnonzero(group == g)
        peers = model.groups[name]
        forest = CompiledForest.of(peers.forest, x.shape[1])
        blocks += [(peers, forest, rows[at : at + BLOCK]) for at in range(0, rows.shape[0], BLOCK)]

    def score_block(block: tuple[GroupModel, CompiledForest, np.ndarray]) -> None:
        peers, forest, part = block
        n = peers.ecod.ecdf.rows
        model_scores[part], below = peers.score_and_below(
            x[part], x[part] - BANDWIDTHS, forest.score
        )
        tail[part] = (n - below + 1.0) / (n + 1.0)

    with ThreadPoolExecutor(workers_for(x.shape[0])) as pool:
        list(pool.map(score_block, blocks))
    return model_scores, tail


def score_batch(
    model: FraudModel,
    cols: ClaimColumns,
    features: BatchFeatures,
    roster: RosterColumns | None = None,
) -> BatchScores:
    """Every claim's risk, flag and evidence (`fraud.scoring.score_vectors`, vectorised)."""
    hits = rule_matrix(cols, features, roster)
    group, names = group_ids(model, features)
    model_scores, tail = signal_arrays(model, features.x, group, names)
    evidence = evidence_matrix(model, hits, tail, model_scores)
    total = combine_evidence(evidence)
    risk = risk_of(model, total)
    n_train = int(model.meta.get("training_claims", 1000))
    high = np.array(
        [
            rule.severity == "high" and rule_rate(model, rule.code, n_train) < HIGH_RULE_FLAGS_BELOW
            for rule in RULES
        ]
    )
    flagged = (risk >= model.threshold.risk) | (hits & high).any(axis=1)
    return BatchScores(
        score=math_map(lambda v: round(v, 6), risk),
        flagged=flagged,
        model_score=model_scores,
        evidence=total,
        supervised=supervised_of(model, evidence),
        price_alert=features.x[:, FEATURES.index("price_z")] >= PRICE_ALERT_Z,
        hits=hits,
        tail=tail,
        group=group,
        group_names=names,
    )


def reasons_of(
    model: FraudModel, cols: ClaimColumns, features: BatchFeatures, scores: BatchScores, row: int
) -> tuple[Reason, ...]:
    """The reasons of one scored claim (as `fraud.reasons.explain` gives them online)."""
    name = scores.group_names[int(scores.group[row])]
    return explain(
        model,
        cols.facts(row),
        features.x[row],
        hits=scores.hits[row],
        tail=scores.tail[row],
        model_score=float(scores.model_score[row]),
        group=model.groups[name],
        group_name=name,
        flagged=bool(scores.flagged[row]),
    )


def scored_claims(
    model: FraudModel,
    cols: ClaimColumns,
    features: BatchFeatures,
    scores: BatchScores,
    rows: Iterable[int] | None = None,
) -> list[ScoredClaim]:
    """`ScoredClaim`s (with reasons) of the given rows, default all: for small batches."""
    out = []
    for i in range(len(cols)) if rows is None else rows:
        out.append(
            ScoredClaim(
                cols.identifier[i] if cols.identifier is not None else "",
                float(scores.score[i]),
                bool(scores.flagged[i]),
                float(scores.model_score[i]),
                reasons_of(model, cols, features, scores, i),
                float(scores.evidence[i]),
                None if scores.supervised is None else float(scores.supervised[i]),
                bool(scores.price_alert[i]),
            )
        )
    return out
