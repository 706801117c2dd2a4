"""Frozen detectors: rank-faithful to pyod, batch-independent, small, and free of patient data."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from fraud.facts import facts_from_bundle
from fraud.features import feature_matrix
from fraud.frozen import freeze_ecod, freeze_forest, freeze_hbos
from fraud.model import FraudModel, choose_threshold, dump_model, fit_detectors, load_model
from fraud.norms import MIN_CELL, learn_norms, primary_key
from fraud.synth import LabelledBundle
from fraud.training import History, featurise, normed


@pytest.fixture(scope="module")
def split(
    training_history: History, held_out_items: list[LabelledBundle]
) -> tuple[np.ndarray, np.ndarray]:
    held_out = featurise(facts_from_bundle(i.bundle) for i in held_out_items)
    norms = learn_norms(training_history.facts)
    return (
        feature_matrix(normed(training_history, norms).frame),
        feature_matrix(normed(held_out, norms).frame),
    )


def _one_at_a_time(detector: Any, rows: np.ndarray) -> np.ndarray:
    """pyod's score of each claim on its own (ECOD's score otherwise depends on the batch)."""
    return np.array([detector.decision_function(rows[i : i + 1])[0] for i in range(len(rows))])


def test_frozen_detectors_rank_held_out_claims_like_pyod(
    split: tuple[np.ndarray, np.ndarray],
) -> None:
    train, held_out = split
    sample = held_out[::3]
    ecod, forest, hbos = fit_detectors(train, seed=1)
    pairs: list[tuple[Any, Any]] = [
        (ecod, freeze_ecod(ecod.X_train)),
        (forest, freeze_forest(forest.detector_)),
        (hbos, freeze_hbos(hbos)),
    ]
    for detector, frozen in pairs:
        rho = spearmanr(_one_at_a_time(detector, sample), frozen.score(sample)).statistic
        assert rho >= 0.999, type(detector).__name__


def test_pyod_ecod_scores_shift_with_the_batch_but_frozen_scores_do_not(
    split: tuple[np.ndarray, np.ndarray],
) -> None:
    train, held_out = split
    ecod, _, _ = fit_detectors(train, seed=1)
    frozen = freeze_ecod(ecod.X_train)
    assert not np.allclose(
        ecod.decision_function(held_out)[:10], ecod.decision_function(held_out[:10])
    )
    assert np.array_equal(frozen.score(held_out)[:10], frozen.score(held_out[:10]))


def test_a_claims_score_does_not_depend_on_its_batch(
    trained_model: FraudModel, split: tuple[np.ndarray, np.ndarray]
) -> None:
    _, held_out = split
    group = trained_model.groups["all"]
    together = group.score(held_out)
    alone = np.array([group.score(held_out[i : i + 1])[0] for i in range(0, len(held_out), 7)])
    halves = np.concatenate([group.score(held_out[:300]), group.score(held_out[300:])])
    assert np.array_equal(together[::7], alone)
    assert np.array_equal(together, halves)


def test_artefact_round_trip_scores_identically(
    trained_model: FraudModel, split: tuple[np.ndarray, np.ndarray]
) -> None:
    _, held_out = split
    loaded = load_model(dump_model(trained_model))
    assert loaded.version == trained_model.version
    assert loaded.threshold == trained_model.threshold
    for name, group in trained_model.groups.items():
        assert np.array_equal(group.score(held_out), loaded.groups[name].score(held_out))


def test_artefact_holds_no_citizen_id_or_claim_identifier(
    trained_model: FraudModel, training_items: list[LabelledBundle]
) -> None:
    data = dump_model(trained_model)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        plain = b"".join(archive.read(name) for name in archive.namelist())
    facts = [facts_from_bundle(i.bundle) for i in training_items]
    for f in facts[::10]:
        assert f.cid.encode() not in plain
        assert f.identifier.encode() not in plain
        assert f.cid.encode() not in data
    assert not any(name.endswith(".pkl") for name in zipfile.ZipFile(io.BytesIO(data)).namelist())


def test_learned_norms_are_aggregates_of_at_least_a_few_claims(trained_model: FraudModel) -> None:
    norms = load_model(dump_model(trained_model)).norms
    assert norms.codes
    assert norms.hospital_codes
    assert norms.keys
    assert all(cell[3] >= MIN_CELL for cell in norms.hospital_codes.values())
    assert all(cell[2] >= MIN_CELL for cell in norms.tier_codes.values())
    assert all(n >= MIN_CELL for seen in norms.companions.values() for n in seen.values())
    assert all(cell[0] >= MIN_CELL for cell in norms.keys.values())
    assert all(len(hours) == 24 for hours in norms.hours.values())


def test_artefact_records_training_window_features_metrics_and_threshold(
    trained_model: FraudModel,
) -> None:
    loaded = load_model(dump_model(trained_model))
    assert loaded.meta["training_window"]["first_day"] <= loaded.meta["training_window"]["last_day"]
    assert loaded.meta["training_claims"] == 3000
    assert "train_flagged_share" in loaded.meta["metrics"]
    assert loaded.threshold.mode == "percentile"
    assert 0 < loaded.threshold.risk < 1


def test_peer_groups_come_from_the_data_setting_and_first_code(
    trained_model: FraudModel, training_history: History
) -> None:
    keys = training_history.frame["key"].value_counts()
    settings = training_history.frame["setting"].value_counts()
    assert set(trained_model.groups) == {
        "all",
        *[k for k, n in keys.items() if n >= 200],
        *[f"setting:{s}" for s, n in settings.items() if n >= 200],
    }
    opd = next(f for f in training_history.facts if f.codes[0] == "OPD-VISIT")
    assert trained_model.group_for(primary_key(opd), opd.setting)[0] == "OPD|OPD-VISIT"
    assert trained_model.group_for("OPD|NEVER-SEEN", "OPD")[0] == "setting:OPD"
    assert trained_model.group_for("X|Y", "NOWHERE")[0] == "all"


def test_threshold_by_top_k_per_day_flags_about_k_claims_a_day() -> None:
    risk = np.linspace(0, 1, 10_000)
    threshold = choose_threshold(risk, days=100, mode="top_k_per_day", value=5)
    assert int((risk >= threshold.risk).sum()) == pytest.approx(500, abs=2)
    assert choose_threshold(risk, days=100, mode="percentile", value=99).risk == pytest.approx(
        0.99, abs=1e-3
    )
