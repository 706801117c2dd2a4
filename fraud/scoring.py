"""One calibrated risk score from rules, learned norms and the frozen detectors, with reasons.

Every signal is weighed by how rare it was in the training history:
- a rule that fired on a share `r` of training claims gives evidence -ln r (a rule that never
  fired is strong evidence; one that fires on 40% of the history is weak);
- a feature whose value only a share `p` of the claim's training peers reached gives
  evidence -ln(K p), K being the number of features (so that one claim with many mildly unusual
  features does not outrank one clear breach);
- the detectors' combined percentile `q` gives -ln(1 - q).
A claim's evidence is its strongest signal plus a decaying share of the next ones. The risk is
the evidence's percentile in training (no labels) or P(fraud) fitted on labels (Platt); with
labels a supervised combiner over all signals is reported beside it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import numpy as np

from fhir_mappings.adjudication import Adjudication
from fhir_mappings.claim import SubmittedClaim
from fraud.assessment import FraudAssessment
from fraud.facts import ClaimFacts, facts_from_claim
from fraud.features import FEATURES, online_features, standing_window
from fraud.frozen import row_sum
from fraud.history import LATEST, ClaimHistory, DayStamp, ReadsAhead
from fraud.model import FraudModel, GroupModel
from fraud.norms import MIN_CELL, PRICE_ALERT_Z, RecentPrices, primary_key
from fraud.reasons import Reason, explain
from fraud.rules import RULES, InsuredRoster, rule_hits

__all__ = ["OnlineScorer", "Reason", "ScoredClaim", "parse_reasons", "score_vectors"]

SIGNALS: Final = (
    *(f"rule:{rule.code}" for rule in RULES),
    *(f"feature:{name}" for name in FEATURES),
    "model",
)
DECAY: Final = (1.0, 0.5, 0.25, 0.125)
# How far beyond its peers a value must be before it counts: a learned-norm feature is
# compared one bandwidth lower, so a claim just past the history's maximum (a clean history
# has short tails) is not taken for an extreme one. Units are the features' own.
BANDWIDTH: Final = {
    "price_z": 2.0,
    "amount_z": 2.0,
    "quantity_z": 2.0,
    "extra_lines": 1.0,
    "rare_companions": 0.5,
    "hour_rarity": 0.5,
    "hospital_standing": 2.0,
    "adjrw_ratio": 0.1,
    "stay_ratio": 0.25,
    "price_ratio": 0.2,
    "max_unit_ratio": 0.2,
}
BANDWIDTHS: Final = np.array([BANDWIDTH.get(name, 0.0) for name in FEATURES])
PRIOR_RULE_RATE: Final = {"high": 0.0, "medium": 0.01, "low": 0.1}
HIGH_RULE_FLAGS_BELOW: Final = 0.01
MAX_EVIDENCE: Final = 25.0


@dataclass(frozen=True, slots=True)
class ScoredClaim:
    """A claim's risk, whether it is flagged, why, and the evidence behind it."""

    identifier: str
    score: float
    flagged: bool
    model_score: float
    reasons: tuple[Reason, ...]
    evidence: float = 0.0
    supervised: float | None = None
    price_alert: bool = False

    def assessment(self, version: str) -> FraudAssessment:
        return FraudAssessment(
            score=self.score,
            flagged=self.flagged,
            reasons=tuple(r.stored() for r in self.reasons),
            model_version=version,
        )


def parse_reasons(stored: str | None) -> list[tuple[str, str, str]]:
    """`claims.fraud_reasons` back into (code, English text, Thai text) per reason."""
    return [reason.as_tuple() for reason in Reason.parse_many(stored)]


def rule_rate(model: FraudModel, code: str, training_claims: int) -> float:
    """The share of training claims a rule fired on (a prior by severity when not measured)."""
    rate = model.calibration.rule_rate.get(code)
    if rate is not None:
        return rate
    severity = next(rule.severity for rule in RULES if rule.code == code)
    return max(PRIOR_RULE_RATE[severity], 1.0 / (training_claims + 2))


def evidence_matrix(
    model: FraudModel, hits: np.ndarray, tail: np.ndarray, model_score: np.ndarray
) -> np.ndarray:
    """Per claim and signal, the evidence: -ln of how rare the signal was in training."""
    n_train = int(model.meta.get("training_claims", 1000))
    rates = np.array([rule_rate(model, rule.code, n_train) for rule in RULES])
    rule_e = np.where(hits, -np.log(rates), 0.0)
    feature_e = np.maximum(-np.log(len(FEATURES) * tail), 0.0)
    model_e = -np.log(np.maximum(1.0 - model_score, 1.0 / 2001))
    return np.asarray(np.minimum(np.column_stack([rule_e, feature_e, model_e]), MAX_EVIDENCE))


def combine_evidence(evidence: np.ndarray) -> np.ndarray:
    """The strongest signal plus a decaying share of the next three."""
    top = -np.sort(-evidence, axis=1)[:, : len(DECAY)]
    return row_sum(top * np.array(DECAY[: top.shape[1]]))


def risk_of(model: FraudModel, evidence: np.ndarray) -> np.ndarray:
    """Calibrated risk: P(fraud) when fitted on labels, else the training percentile."""
    cal = model.calibration
    if cal.platt:
        a, b = cal.platt
        return np.asarray(1.0 / (1.0 + np.exp(-(a * evidence + b))))
    knots = _knot_array(cal.evidence_knots)
    return np.asarray(np.searchsorted(knots, evidence, side="right") / len(knots))


# The knots as an array, per knot list: converting a list of thousands of floats on every
# claim was a tenth of a millisecond of the per-claim score. Keyed by the list's identity
# (the list is kept, so its id cannot be reused); a model's knots never change once trained.
_KNOT_ARRAYS: dict[int, tuple[list[float], np.ndarray]] = {}


def _knot_array(knots: list[float]) -> np.ndarray:
    if not knots:
        return np.zeros(1)
    found = _KNOT_ARRAYS.get(id(knots))
    if found is None or found[0] is not knots or len(found[1]) != len(knots):
        if len(_KNOT_ARRAYS) >= 16:
            _KNOT_ARRAYS.clear()
        found = _KNOT_ARRAYS[id(knots)] = (knots, np.asarray(knots, dtype=np.float64))
    return found[1]


def supervised_of(model: FraudModel, evidence: np.ndarray) -> np.ndarray | None:
    """The supervised combiner's P(fraud), when the model was trained with labels."""
    sup = model.calibration.supervised
    if not sup:
        return None
    logit = row_sum(evidence * np.asarray(sup["coef"])) + float(sup["intercept"])
    return np.asarray(1.0 / (1.0 + np.exp(-logit)))


def rule_hit_matrix(
    facts: Sequence[ClaimFacts], x: np.ndarray, roster: InsuredRoster | None
) -> np.ndarray:
    hits = np.zeros((len(facts), len(RULES)), dtype=bool)
    index = {rule.code: j for j, rule in enumerate(RULES)}
    for i, f in enumerate(facts):
        for rule in rule_hits(f, dict(zip(FEATURES, x[i].tolist(), strict=True)), roster):
            hits[i, index[rule.code]] = True
    return hits


def signal_evidence(
    model: FraudModel,
    facts: Sequence[ClaimFacts],
    x: np.ndarray,
    roster: InsuredRoster | None = None,
    hits: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Rule hits, feature tail shares, detector scores, evidence matrix and group per claim."""
    names = [model.group_for(primary_key(f), f.setting)[0] for f in facts]
    peers = np.array(names, dtype=object)
    model_scores, tail = np.zeros(len(facts)), np.ones_like(x)
    for name in set(names):
        rows = np.flatnonzero(peers == name)
        group = model.groups[name]
        model_scores[rows], below = group.score_and_below(x[rows], x[rows] - BANDWIDTHS)
        n = group.ecod.ecdf.rows
        tail[rows] = (n - below + 1.0) / (n + 1.0)
    if hits is None:
        hits = rule_hit_matrix(facts, x, roster)
    return hits, tail, model_scores, evidence_matrix(model, hits, tail, model_scores), names


def score_vectors(
    model: FraudModel,
    facts: Sequence[ClaimFacts],
    x: np.ndarray,
    roster: InsuredRoster | None = None,
) -> list[ScoredClaim]:
    """Score many claims whose feature vectors are already computed (batch path)."""
    if not len(facts):
        return []
    hits, tail, model_scores, evidence, names = signal_evidence(model, facts, x, roster)
    total = combine_evidence(evidence)
    risk = risk_of(model, total)
    supervised = supervised_of(model, evidence)
    n_train = int(model.meta.get("training_claims", 1000))
    high = np.array(
        [
            rule.severity == "high" and rule_rate(model, rule.code, n_train) < HIGH_RULE_FLAGS_BELOW
            for rule in RULES
        ]
    )
    out = []
    for i, f in enumerate(facts):
        flagged = bool(risk[i] >= model.threshold.risk or (hits[i] & high).any())
        reasons = explain(
            model,
            f,
            x[i],
            hits=hits[i],
            tail=tail[i],
            model_score=float(model_scores[i]),
            group=model.groups[names[i]],
            group_name=names[i],
            flagged=flagged,
        )
        out.append(
            ScoredClaim(
                f.identifier,
                round(float(risk[i]), 6),
                flagged,
                float(model_scores[i]),
                reasons,
                float(total[i]),
                None if supervised is None else float(supervised[i]),
                bool(x[i][FEATURES.index("price_z")] >= PRICE_ALERT_Z),
            )
        )
    return out


Standing = tuple[int, int, RecentPrices]


@dataclass(frozen=True, slots=True)
class DaySummary:
    """One service day of a hospital, as its standing needs it: read once while `stamp` holds."""

    stamp: DayStamp
    alerts: int
    claims: int
    log_prices: dict[str, tuple[float, ...]]


@dataclass(slots=True)
class StandingCache:
    """Hospital standings per (hcode, day), and the per-day summaries they are summed from.

    Kept per process for one model version (price alerts depend on its norms). A standing is
    computed at the first claim of its hospital and day, as before; only the days whose stamp
    changed since they were summarised are read again, so in steady state that is yesterday.
    Per hospital, days before the latest window are dropped, which bounds the memory.
    """

    standings: dict[str, dict[date, Standing]] = field(default_factory=lambda: defaultdict(dict))
    days: dict[str, dict[date, DaySummary]] = field(default_factory=lambda: defaultdict(dict))

    def forget_before(self, hcode: str, first: date) -> None:
        """Drop the hospital's standings and day summaries of days before `first`."""
        for per_day in (self.standings[hcode], self.days[hcode]):
            for old in [d for d in list(per_day) if d < first]:  # a copy: threads share it
                per_day.pop(old, None)


class OnlineScorer:
    """Scores one claim at a time against earlier claims, as the gateway does in `$submit`.

    The hospital's standing (its price alerts over the 28 days before the claim's day) is
    computed once per hospital and day and kept in `standing_cache` (pass a shared one to keep
    it across scorers).
    """

    def __init__(
        self,
        model: FraudModel,
        history: ClaimHistory,
        roster: InsuredRoster | None = None,
        standing_cache: StandingCache | None = None,
    ) -> None:
        self.model = model
        self.history = history
        self.roster = roster
        self.standing_cache = StandingCache() if standing_cache is None else standing_cache

    def standing(self, facts: ClaimFacts) -> Standing:
        """(price alerts, claims, usual prices) of the hospital in the 28 days before the day."""
        standings = self.standing_cache.standings[facts.hcode]
        found = standings.get(facts.day)
        if found is None:
            found = standings[facts.day] = self._standing_of(facts.hcode, facts.day)
        return found

    def _standing_of(self, hcode: str, day: date) -> Standing:
        start, end = standing_window(day)
        stamps = self.history.hospital_days(hcode, start, end)
        cached = self.standing_cache.days[hcode]
        # Summaries are collected locally: another request's thread may prune the shared dict.
        known = {d: summary for d in stamps if (summary := cached.get(d)) is not None}
        stale = [d for d, stamp in stamps.items() if d not in known or known[d].stamp != stamp]
        if stale:
            by_day: dict[date, list[ClaimFacts]] = defaultdict(list)
            for claim in self.history.hospital_claims(hcode, min(stale), max(stale)):
                by_day[claim.day].append(claim)
            for d in stale:
                known[d] = cached[d] = _summary(by_day[d], stamps[d], self.model.norms.price_alert)
        summaries = [known[d] for d in sorted(stamps)]
        found = (
            sum(s.alerts for s in summaries),
            sum(s.claims for s in summaries),
            _median_prices(summaries),
        )
        if max(list(self.standing_cache.standings[hcode]), default=day) <= day:
            self.standing_cache.forget_before(hcode, start)
        return found

    def score_facts(self, facts: ClaimFacts, sequence: int = LATEST) -> ScoredClaim:
        """The risk of one claim."""
        if isinstance(self.history, ReadsAhead):
            self.history.prepare(facts)
        alerts, claims, recent = self.standing(facts)
        vector = online_features(
            facts, self.history, sequence, self.model.norms, (alerts, claims), recent
        )
        return score_vectors(self.model, [facts], vector[None, :], self.roster)[0]

    def __call__(self, claim: SubmittedClaim, adjudication: Adjudication) -> FraudAssessment:
        return self.score_facts(facts_from_claim(claim)).assessment(self.model.version)


def _summary(
    claims: list[ClaimFacts], stamp: DayStamp, alert: Callable[[ClaimFacts], bool]
) -> DaySummary:
    log_prices: dict[str, list[float]] = {}
    for f in claims:
        for code, unit in zip(f.codes, f.unit_prices, strict=True):
            if unit > 0:
                log_prices.setdefault(code, []).append(math.log(unit))
    frozen = {code: tuple(values) for code, values in log_prices.items()}
    return DaySummary(stamp, sum(1 for c in claims if alert(c)), len(claims), frozen)


def _median_prices(days: Sequence[DaySummary]) -> RecentPrices:
    """`fraud.norms.recent_prices` of the days' claims, from their per-day log prices."""
    found: dict[str, list[float]] = {}
    for day in days:
        for code, values in day.log_prices.items():
            found.setdefault(code, []).extend(values)
    return {code: _median(values) for code, values in found.items() if len(values) >= MIN_CELL}


def _median(values: list[float]) -> float:
    """`np.median`, bit for bit (the middle value, or the mean of the two middle ones)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def peer_share_below(group: GroupModel, x: np.ndarray) -> np.ndarray:
    """Per feature, the share of the peer group's training claims strictly below the value."""
    _, below = group.ecod.ecdf.counts(x)
    return np.asarray(below / max(group.ecod.ecdf.rows, 1))


def evidence_of_rule(model: FraudModel, code: str) -> float:
    """The evidence a rule hit carries in this model (for tests and docs)."""
    return -math.log(rule_rate(model, code, int(model.meta.get("training_claims", 1000))))
