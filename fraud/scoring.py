"""One risk score from rules and the frozen model, with reasons a reviewer can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from fhir_mappings.adjudication import Adjudication
from fhir_mappings.claim import SubmittedClaim
from fraud.assessment import FraudAssessment
from fraud.facts import ClaimFacts, facts_from_claim
from fraud.features import FEATURES, online_features, peer_group
from fraud.history import LATEST, ClaimHistory
from fraud.model import FraudModel, GroupModel
from fraud.rules import InsuredRoster, Rule, rule_hits, rule_risk

NOTABLE_PEER_SHARE: Final = 0.95
MAX_FEATURE_REASONS: Final = 3
FEATURE_WORDS: Final = {
    "amount_log": "amount",
    "lines": "number of billed lines",
    "price_ratio": "price against the reference tariff",
    "max_unit_ratio": "highest unit price against the tariff",
    "max_quantity_log": "largest billed quantity",
    "stay_ratio": "length of stay against the DRG's expected stay",
    "adjrw_ratio": "adjusted RW against the DRG's RW",
    "off_hours": "night-time service",
    "weekend_or_holiday": "weekend or holiday service",
    "misfit": "codes unfit for the patient's sex or age",
    "component_lines": "separately billed test components",
    "person_claims_7d": "the patient's claims in the last 7 days",
    "person_claims_30d": "the patient's claims in the last 30 days",
    "person_hospitals_30d": "hospitals the patient used in 30 days",
    "first_visit": "first visit at this hospital",
    "same_care_2d": "repeats of the same care within 2 days",
    "identical_same_day": "identical claims on the same day",
    "hospital_surge": "the hospital's claim volume this week against the 4 weeks before",
}
PEER_WORDS: Final = {
    "dialysis": "hemodialysis sessions",
    "opd": "outpatient visits",
    "ipd": "inpatient stays",
    "dental": "dental visits",
    "prenatal": "prenatal visits",
    "birth": "childbirths",
    "er": "emergency visits",
    "all": "claims",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a claim scored as it did: a code and a sentence."""

    code: str
    text: str

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


@dataclass(frozen=True, slots=True)
class ScoredClaim:
    """A claim's risk, whether it is flagged, and why."""

    identifier: str
    score: float
    flagged: bool
    model_score: float
    reasons: tuple[Reason, ...]

    def assessment(self, version: str) -> FraudAssessment:
        return FraudAssessment(
            score=self.score,
            flagged=self.flagged,
            reasons=tuple(str(r) for r in self.reasons),
            model_version=version,
        )


def combine(
    model: FraudModel,
    facts: ClaimFacts,
    vector: np.ndarray,
    model_score: float,
    peer_share: np.ndarray,
    roster: InsuredRoster | None,
) -> ScoredClaim:
    """Rules and model as one score in [0, 1]; flagged above the threshold or on a high rule."""
    hits = rule_hits(facts, dict(zip(FEATURES, vector.tolist(), strict=True)), roster)
    risk = 1.0 - (1.0 - model_score) * (1.0 - rule_risk(hits))
    flagged = risk >= model.threshold.risk or any(rule.severity == "high" for rule in hits)
    peer, _ = model.group_for(peer_group(facts))
    reasons = (
        _rule_reasons(hits)
        + _feature_reasons(peer, peer_share, flagged)
        + (Reason("MODEL", f"model {model.version} score {model_score:.3f}, risk {risk:.3f}"),)
    )
    return ScoredClaim(facts.identifier, round(risk, 6), flagged, model_score, reasons)


def _rule_reasons(hits: tuple[Rule, ...]) -> tuple[Reason, ...]:
    return tuple(
        Reason(rule.code, f"{rule.text_en} ({rule.text_th}) [{rule.severity}]") for rule in hits
    )


def _feature_reasons(peer: str, share_below: np.ndarray, flagged: bool) -> tuple[Reason, ...]:
    """Features far into their peer group's upper tail, most extreme first."""
    order = np.argsort(-share_below, kind="stable")
    notable = [j for j in order[:MAX_FEATURE_REASONS] if share_below[j] >= NOTABLE_PEER_SHARE]
    if flagged and not notable:
        notable = [int(order[0])]
    return tuple(
        Reason(
            f"PEER-{FEATURES[j].upper()}",
            f"{FEATURE_WORDS[FEATURES[j]]} is above {_percent(share_below[j])} of "
            f"{PEER_WORDS.get(peer, 'claims')} at peer hospitals",
        )
        for j in notable
    )


def _percent(share: float) -> str:
    return f"{np.floor(share * 1000) / 10:.1f}%"


def peer_share_below(group: GroupModel, x: np.ndarray) -> np.ndarray:
    """Per feature, the share of the peer group's training claims strictly below the value."""
    _, below = group.ecod.ecdf.counts(x)
    return np.asarray(below / max(group.ecod.ecdf.rows, 1))


def score_vectors(
    model: FraudModel,
    facts: Sequence[ClaimFacts],
    x: np.ndarray,
    roster: InsuredRoster | None = None,
) -> list[ScoredClaim]:
    """Score many claims whose feature vectors are already computed (batch path)."""
    peers = np.array([model.group_for(peer_group(f))[0] for f in facts])
    model_scores, shares = np.zeros(len(facts)), np.zeros_like(x)
    for name in np.unique(peers) if len(facts) else []:
        rows = np.flatnonzero(peers == name)
        model_scores[rows], shares[rows] = model.groups[str(name)].score_and_share(x[rows])
    return [
        combine(model, f, x[i], float(model_scores[i]), shares[i], roster)
        for i, f in enumerate(facts)
    ]


class OnlineScorer:
    """Scores one claim at a time against earlier claims, as the gateway does in `$submit`."""

    def __init__(
        self, model: FraudModel, history: ClaimHistory, roster: InsuredRoster | None = None
    ) -> None:
        self.model = model
        self.history = history
        self.roster = roster

    def score_facts(self, facts: ClaimFacts, sequence: int = LATEST) -> ScoredClaim:
        """The risk of one claim."""
        vector = online_features(facts, self.history, sequence)
        return score_vectors(self.model, [facts], vector[None, :], self.roster)[0]

    def __call__(self, claim: SubmittedClaim, adjudication: Adjudication) -> FraudAssessment:
        return self.score_facts(facts_from_claim(claim)).assessment(self.model.version)
