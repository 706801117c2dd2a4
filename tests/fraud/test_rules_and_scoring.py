"""Rules, one combined score, reasons in words, and the same scores online and in batch."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np

from fraud.audit import score_claims
from fraud.facts import ClaimFacts, facts_from_bundle
from fraud.features import FEATURES, online_features
from fraud.history import MemoryHistory
from fraud.model import FraudModel
from fraud.rules import RULES, Enrollment, MemoryRoster, rule_hits
from fraud.scoring import OnlineScorer
from fraud.synth import LabelledBundle
from tests.fraud.conftest import labelled


def _claim(**changes: object) -> ClaimFacts:
    base = facts_from_bundle(labelled(5, seed=1, scale=0.0)[0].bundle)
    return replace(base, **changes)  # type: ignore[arg-type]


def _codes(
    facts: ClaimFacts, history: MemoryHistory | None = None, roster: MemoryRoster | None = None
) -> set[str]:
    vector = online_features(facts, history or MemoryHistory())
    return {
        r.code for r in rule_hits(facts, dict(zip(FEATURES, vector.tolist(), strict=True)), roster)
    }


def test_rule_table_is_complete_and_bilingual() -> None:
    codes = [rule.code for rule in RULES]
    assert len(codes) == len(set(codes))
    for rule in RULES:
        assert rule.severity in ("high", "medium", "low")
        assert rule.text_en
        assert rule.source
        assert any("\u0e00" <= ch <= "\u0e7f" for ch in rule.text_th)
    assert {
        "DUP-EXACT",
        "DUP-NEAR",
        "AFTER-DEATH",
        "OUT-OF-COVERAGE",
        "UNIT-LIMIT",
        "UNBUNDLING",
        "SEX-AGE",
        "NIGHT-ELECTIVE",
    } <= set(codes)


def test_exact_and_near_duplicates() -> None:
    history = MemoryHistory()
    history.add(_claim(identifier="A"))
    assert "DUP-EXACT" in _codes(_claim(identifier="B"), history)
    near = _claim(identifier="C", total=_claim().total + 3)
    assert "DUP-NEAR" in _codes(near, history)
    assert "DUP-EXACT" not in _codes(near, history)


def test_service_after_death_needs_the_roster_and_degrades_without_it() -> None:
    facts = _claim()
    dead = MemoryRoster(
        {
            facts.cid: Enrollment(
                33, facts.hcode, date(2015, 1, 1), None, facts.day - timedelta(days=3)
            )
        }
    )
    assert "AFTER-DEATH" in _codes(facts, roster=dead)
    assert "AFTER-DEATH" not in _codes(facts)
    assert "OUT-OF-COVERAGE" in _codes(facts, roster=MemoryRoster({}))
    assert "OUT-OF-COVERAGE" not in _codes(facts)


def test_unbundled_components_unit_limits_sex_and_night() -> None:
    unbundled = _claim(
        codes=("OPD-VISIT", "LAB-CBC", "LAB-HB"), quantities=(1.0,) * 3, unit_prices=(150.0, 90, 40)
    )
    assert "UNBUNDLING" in _codes(unbundled)
    dialysis = _claim(codes=("DIALYSIS-HD",), quantities=(2.0,), unit_prices=(1500.0,))
    assert "UNIT-LIMIT" in _codes(dialysis)
    birth = _claim(codes=("PRENATAL-VISIT",), quantities=(1.0,), unit_prices=(300.0,), sex="male")
    assert "SEX-AGE" in _codes(birth)
    night = _claim(
        hour=2, setting="OPD", codes=("DENT-FILLING",), quantities=(1.0,), unit_prices=(350.0,)
    )
    assert "NIGHT-ELECTIVE" in _codes(night)
    assert "NIGHT-ELECTIVE" not in _codes(replace(night, setting="EMERGENCY"))


def test_online_and_batch_scores_are_identical(
    trained_model: FraudModel, held_out_items: list[LabelledBundle]
) -> None:
    facts = [facts_from_bundle(i.bundle) for i in held_out_items[:400]]
    batch = score_claims(trained_model, facts)
    history = MemoryHistory()
    history.extend(facts)
    scorer = OnlineScorer(trained_model, history)
    online = [scorer.score_facts(f, sequence=i) for i, f in enumerate(facts)]
    assert [s.score for s in online] == [s.score for s in batch]
    assert [s.reasons for s in online] == [s.reasons for s in batch]


def test_every_flagged_claim_has_reasons_in_english_and_thai(
    trained_model: FraudModel, held_out_items: list[LabelledBundle]
) -> None:
    scored = score_claims(trained_model, [facts_from_bundle(i.bundle) for i in held_out_items])
    flagged = [s for s in scored if s.flagged]
    assert flagged
    for s in flagged:
        assert s.reasons
        for r in s.reasons:
            assert r.text_en
            assert any("\u0e00" <= ch <= "\u0e7f" for ch in r.text_th)
            assert ";" not in r.stored()
    texts = [r.text_en for s in flagged for r in s.reasons]
    assert any("THB" in t and "usually bills" in t for t in texts)


def test_reasons_are_rare_on_clean_claims(trained_model: FraudModel) -> None:
    clean = [facts_from_bundle(i.bundle) for i in labelled(800, seed=13, scale=0.0)]
    scored = score_claims(trained_model, clean)
    assert sum(1 for s in scored if s.reasons) / len(scored) < 0.05
    assert sum(s.flagged for s in scored) / len(scored) < 0.05


def test_model_ranks_injected_fraud_above_clean_claims(
    trained_model: FraudModel, held_out_items: list[LabelledBundle]
) -> None:
    scored = score_claims(trained_model, [facts_from_bundle(i.bundle) for i in held_out_items])
    scores = np.array([s.score for s in scored])
    labels = np.array([i.label for i in held_out_items])
    assert scores[labels == 1].mean() > scores[labels == 0].mean() + 0.1
    assert all(0.0 <= s <= 1.0 for s in scores)
