"""Features: typed claim and raw bundle agree, and batch (pandas) equals the online path."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import orjson

from fhir_mappings.bundle import parse_claim_bundle
from fhir_mappings.claim import SubmittedClaim
from fhir_mappings.profile import map_claim
from fraud.facts import ClaimFacts, facts_from_bundle, facts_from_claim
from fraud.features import (
    FEATURES,
    batch_features,
    facts_frame,
    feature_matrix,
    online_features,
    peer_group,
    with_norms,
)
from fraud.history import MemoryHistory
from fraud.model import FraudModel
from fraud.scoring import OnlineScorer
from fraud.synth import LabelledBundle
from fraud.training import History, normed
from tests.fraud.conftest import labelled


def _mapped(bundle: dict[str, object]) -> SubmittedClaim:
    parsed = parse_claim_bundle(orjson.dumps(bundle), max_entries=100)
    assert not isinstance(parsed, list)
    claim = map_claim(parsed, acting_hcode=facts_from_bundle(bundle).hcode)
    assert isinstance(claim, SubmittedClaim)
    return claim


def test_typed_claim_and_raw_bundle_give_the_same_facts(
    training_items: list[LabelledBundle],
) -> None:
    for item in training_items[:150]:
        assert facts_from_claim(_mapped(item.bundle)) == facts_from_bundle(item.bundle)


def _online(model: FraudModel, facts: list[ClaimFacts]) -> np.ndarray:
    history = MemoryHistory()
    history.extend(facts)
    scorer = OnlineScorer(model, history)
    return np.vstack(
        [
            online_features(
                f, history, i, model.norms, scorer.standing(f)[:2], scorer.standing(f)[2]
            )
            for i, f in enumerate(facts)
        ]
    )


def test_batch_and_online_features_are_identical(
    training_history: History, trained_model: FraudModel
) -> None:
    batch = feature_matrix(normed(training_history, trained_model.norms).frame)
    assert np.array_equal(_online(trained_model, training_history.facts), batch)
    standing = FEATURES.index("hospital_standing")
    assert batch[:, FEATURES.index("price_z")].max() > 3
    assert np.isfinite(batch[:, standing]).all()


def test_batch_and_online_agree_when_claims_arrive_out_of_service_order(
    trained_model: FraudModel,
) -> None:
    facts = [facts_from_bundle(i.bundle) for i in labelled(800, seed=21, scale=5.0)]
    shuffled = [facts[i] for i in np.random.default_rng(0).permutation(len(facts))]
    frame = with_norms(batch_features(facts_frame(shuffled)), shuffled, trained_model.norms)
    assert np.array_equal(_online(trained_model, shuffled), feature_matrix(frame))


def _claim(**changes: object) -> ClaimFacts:
    base = facts_from_bundle(labelled(5, seed=1, scale=0.0)[0].bundle)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_repeated_claim_counts_as_identical_and_as_the_same_care() -> None:
    first = _claim(identifier="A")
    history = MemoryHistory()
    history.add(first)
    values = dict(zip(FEATURES, online_features(_claim(identifier="B"), history), strict=True))
    assert values["identical_same_day"] == 1
    assert values["same_care_2d"] == 1
    assert values["first_visit"] == 1
    assert values["person_claims_7d"] == 1


def test_price_against_the_reference_tariff() -> None:
    doubled = _claim(codes=("OPD-VISIT",), quantities=(1.0,), unit_prices=(300.0,), total=300.0)
    values = dict(zip(FEATURES, online_features(doubled, MemoryHistory()), strict=True))
    assert values["price_ratio"] == 2.0
    assert values["max_unit_ratio"] == 2.0


def test_unknown_codes_are_just_categories() -> None:
    odd = _claim(codes=("LOCAL-123",), quantities=(2.0,), unit_prices=(999.0,), total=1998.0)
    values = dict(zip(FEATURES, online_features(odd, MemoryHistory()), strict=True))
    assert values["price_ratio"] == 1.0
    assert peer_group(odd) in ("opd", "er", "ipd")


def test_childbirth_code_for_a_man_is_a_misfit() -> None:
    odd = _claim(codes=("BIRTH-LUMPSUM",), quantities=(1.0,), unit_prices=(15000.0,), sex="male")
    values = dict(zip(FEATURES, online_features(odd, MemoryHistory()), strict=True))
    assert values["misfit"] == 1
