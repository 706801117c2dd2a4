"""Small synthetic histories and a model trained on one, shared by the fraud tests."""

from __future__ import annotations

from datetime import date

import pytest

from fraud.facts import facts_from_bundle
from fraud.model import FraudModel
from fraud.synth import FraudRates, LabelledBundle, default_network, generate_history
from fraud.training import History, featurise, train_model

HISTORY_END = date(2026, 10, 31)


def labelled(claims: int, seed: int, scale: float = 1.0, days: int = 60) -> list[LabelledBundle]:
    """A labelled synthetic history."""
    return list(
        generate_history(
            claims=claims,
            seed=seed,
            hospitals=default_network(),
            end=HISTORY_END,
            days=days,
            rates=FraudRates().scaled(scale),
        )
    )


@pytest.fixture(scope="session")
def training_items() -> list[LabelledBundle]:
    return labelled(3000, seed=11)


@pytest.fixture(scope="session")
def training_history(training_items: list[LabelledBundle]) -> History:
    return featurise(facts_from_bundle(item.bundle) for item in training_items)


@pytest.fixture(scope="session")
def trained_model(training_history: History) -> FraudModel:
    return train_model(
        training_history, mode="percentile", value=98.0, seed=3, version="fwa-test-1"
    )


@pytest.fixture(scope="session")
def held_out_items() -> list[LabelledBundle]:
    return labelled(1200, seed=12, scale=3.0)


@pytest.fixture(scope="session")
def labelled_model(training_history: History, training_items: list[LabelledBundle]) -> FraudModel:
    return train_model(
        training_history,
        mode="percentile",
        value=98.0,
        seed=3,
        version="fwa-test-labels",
        labels={i.identifier: i.label for i in training_items},
    )
