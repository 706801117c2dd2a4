"""Learned norms, evidence weighted by rarity in history, calibration, hospitals, misses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pytest

from fraud.facts import ClaimFacts, facts_from_bundle
from fraud.features import FEATURES
from fraud.misses import estimate
from fraud.model import Calibration, FraudModel
from fraud.norms import learn_norms, recent_prices
from fraud.providers import ProviderClaim, rank_hospitals
from fraud.reasons import Reason
from fraud.rules import RULES
from fraud.scoring import combine_evidence, evidence_matrix, parse_reasons
from fraud.synth import LabelledBundle


def _opaque(facts: ClaimFacts) -> ClaimFacts:
    codes = tuple("Z" + hashlib.blake2b(c.encode(), digest_size=3).hexdigest() for c in facts.codes)
    return replace(facts, codes=codes)


def test_a_rule_that_never_fires_in_history_outranks_several_peer_tails(
    trained_model: FraudModel,
) -> None:
    rates = dict(trained_model.calibration.rule_rate)
    rare = min(rates, key=lambda code: rates[code])
    common = next(code for code in rates if code != rare)
    rates[common] = 0.4  # a rule that fires on 40% of the history
    calibration = Calibration(**{**trained_model.calibration.as_dict(), "rule_rate": rates})
    model = replace(trained_model, calibration=calibration)
    assert rates[rare] < 1 / 1000
    codes = [r.code for r in RULES]
    hits = np.zeros((3, len(RULES)), dtype=bool)
    hits[0, codes.index(rare)] = True
    hits[2, codes.index(common)] = True
    tail = np.ones((3, len(FEATURES)))
    tail[1, :4] = 0.01  # four features each in their peers' top 1% at once
    evidence = combine_evidence(evidence_matrix(model, hits, tail, np.full(3, 0.5)))
    assert evidence[0] > evidence[1] > 0
    assert evidence[0] > 3 * evidence[2]


def test_learned_reference_price_catches_doubled_prices_on_opaque_codes(
    training_items: list[LabelledBundle], held_out_items: list[LabelledBundle]
) -> None:
    history = [_opaque(facts_from_bundle(i.bundle)) for i in training_items]
    norms = learn_norms(history)
    clean = [_opaque(facts_from_bundle(i.bundle)) for i in held_out_items if i.label == 0]
    doubled = [
        replace(f, unit_prices=tuple(2 * u for u in f.unit_prices), total=2 * f.total)
        for f in clean
    ]
    assert np.mean([norms.price_alert(f) for f in clean]) < 0.02
    assert np.mean([norms.price_alert(f) for f in doubled]) > 0.95
    worst = max(norms.line_prices(doubled[0]), key=lambda line: line.z)
    assert 0.8 * worst.usual_low <= worst.unit / 2 <= 1.25 * worst.usual_high


def test_reasons_are_stored_in_one_string_and_parse_back() -> None:
    reasons = [
        Reason("PRICE-ABOVE-NORM", "billed 4,200 THB, usually 1,100–1,600 THB", "ปกติ 1,100 บาท"),
        Reason("DUP-EXACT", "Exact duplicate", "ซ้ำ"),
    ]
    stored = ";".join(r.stored() for r in reasons)
    assert parse_reasons(stored) == [r.as_tuple() for r in reasons]
    assert parse_reasons("PEER-LINES: old style text") == [("PEER-LINES", "old style text", "")]
    assert parse_reasons("DUP-NEAR: Near duplicate (ใกล้เคียง) [medium]") == [
        ("DUP-NEAR", "Near duplicate", "ใกล้เคียง")
    ]
    assert parse_reasons(None) == []


def test_labels_calibrate_the_risk_and_fit_a_supervised_layer(
    trained_model: FraudModel, labelled_model: FraudModel
) -> None:
    assert trained_model.calibration.platt is None
    assert labelled_model.calibration.platt is not None
    assert labelled_model.calibration.supervised is not None
    assert labelled_model.meta["labels"]["used"]


def test_a_hospital_inflating_a_few_percent_of_claims_ranks_first() -> None:
    claims = []
    for h in range(12):
        n = 300 + 150 * (h % 4)
        inflated = n * (0.05 if h == 7 else 0.01)
        claims += [ProviderClaim(f"H{h}", i < inflated, i % 50 == 0, 0.1) for i in range(n)]
    ranked = rank_hospitals(claims, names={"H7": "Colluding Hospital"})
    assert ranked[0]["hcode"] == "H7"
    assert ranked[0]["name"] == "Colluding Hospital"
    assert ranked[0]["alert_share_low"] < ranked[0]["alert_share"] < ranked[0]["alert_share_high"]
    assert isinstance(ranked[0]["claims"], int)


def test_a_lone_hospital_is_compared_with_the_training_rate() -> None:
    claims = [ProviderClaim("H1", i % 10 == 0, i % 3 == 0) for i in range(100)]
    ranked = rank_hospitals(claims, baseline=0.01)
    assert ranked[0]["excess_z"] > 3
    assert ranked[0]["flagged_share"] == pytest.approx(0.34)


@dataclass
class _Label:
    label: int
    source: str
    decided_at: date


def test_misses_and_precision_come_with_intervals_from_reviewers_labels() -> None:
    labels = [_Label(int(i < 30), "flagged", date(2026, 10, 5)) for i in range(40)]
    labels += [_Label(int(i < 2), "random-audit", date(2026, 10, 6)) for i in range(100)]
    figures = estimate(labels, {"2026-10": (40, 5000)})
    overall = figures["overall"]
    assert overall["flag_precision"]["value"] == pytest.approx(0.75)
    low, high = overall["miss_rate"]["ci95"]
    assert low < 0.02 < high
    assert overall["estimated_missed"]["value"] == pytest.approx(100.0)
    assert 0 < overall["estimated_recall"]["value"] < 1
    assert set(figures["by_month"]) == {"2026-10"}


def test_a_hospital_that_repriced_every_claim_is_a_price_change_not_inflation(
    training_items: list[LabelledBundle],
) -> None:
    facts = [facts_from_bundle(i.bundle) for i in training_items]
    norms = learn_norms(facts)
    claim = next(f for f in facts if f.codes[0] == "OPD-VISIT")

    def priced(by: float) -> ClaimFacts:
        return replace(claim, unit_prices=tuple(by * u for u in claim.unit_prices))

    recent = recent_prices([priced(1.6)] * 5)  # the hospital's last 28 days, all at 1.6×
    assert norms.price_z(priced(1.6)) >= 3
    assert norms.price_z(priced(1.6), recent) < 1
    assert norms.price_z(priced(3.2), recent) >= 3
