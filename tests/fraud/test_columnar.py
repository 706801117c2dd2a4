"""The batch (columnar) path gives what the one-claim path gives, fact by fact and bit by bit."""

from __future__ import annotations

import dataclasses
import io
import warnings
from pathlib import Path

import numpy as np
import orjson
import pytest

from fraud import columnar
from fraud.batch import LineIndex, distinct, featurise_columns, learn_norms_batch, rule_matrix
from fraud.columnar import facts_of_row, from_facts, read_ndjson, row_of_bundle
from fraud.compiled_forest import CompiledForest
from fraud.facts import facts_from_bundle
from fraud.features import FEATURES
from fraud.history import MemoryHistory
from fraud.model import FraudModel, dump_model, skewness, train_group_rows
from fraud.norms import learn_norms
from fraud.rules import RULES, rule_hits
from fraud.scoring import OnlineScorer
from fraud.synth import LabelledBundle
from fraud.synthea import synthea_history
from fraud.training import train_columns
from tests.fraud.conftest import HISTORY_END, labelled
from tests.fraud.test_features import _online


def test_fast_bundle_reader_gives_the_facts_of_facts_from_bundle(
    training_items: list[LabelledBundle],
) -> None:
    days: dict[str, int] = {}
    for item in training_items[:600]:
        expected = dataclasses.replace(facts_from_bundle(item.bundle), diagnoses=())
        assert facts_of_row(row_of_bundle(item.bundle, days)) == expected


def test_parallel_file_reader_keeps_arrival_order_and_refuses_bad_lines(tmp_path: Path) -> None:
    items = labelled(400, seed=5)
    path = tmp_path / "claims.ndjson"
    lines = [orjson.dumps(i.bundle) for i in items]
    lines.insert(7, b'{"resourceType": "Patient"}')
    path.write_bytes(b"\n".join(lines) + b"\n")
    found = read_ndjson(path, tolerant=True, processes=2)
    assert found.refused == [8]
    assert found.columns.identifier == [i.identifier for i in items]
    assert len(found.columns) == 400


def test_columnar_features_equal_the_online_features(trained_model: FraudModel) -> None:
    facts = [facts_from_bundle(i.bundle) for i in labelled(900, seed=23, scale=4.0)]
    shuffled = [facts[i] for i in np.random.default_rng(1).permutation(len(facts))]
    batch = featurise_columns(from_facts(shuffled), trained_model.norms)
    assert np.array_equal(_online(trained_model, shuffled), batch.x)
    hits = rule_matrix(from_facts(shuffled), batch)
    for i, f in enumerate(shuffled):
        online = {r.code for r in rule_hits(f, dict(zip(FEATURES, batch.x[i], strict=True)), None)}
        assert online == {rule.code for j, rule in enumerate(RULES) if hits[i, j]}


def test_norms_learned_over_columns_equal_the_per_claim_norms(
    training_items: list[LabelledBundle],
) -> None:
    facts = [facts_from_bundle(i.bundle) for i in training_items]
    cols = from_facts(facts)
    assert learn_norms_batch(cols, LineIndex.of(cols)) == learn_norms(facts)


def test_columnar_scores_equal_online_scores_on_synthea_claims(trained_model: FraudModel) -> None:
    from fraud.audit import score_claims

    items = synthea_history(claims=400, seed=3, end=HISTORY_END, days=30)
    facts = [facts_from_bundle(i.bundle) for i in items]
    history = MemoryHistory()
    history.extend(facts)
    scorer = OnlineScorer(trained_model, history)
    online = [scorer.score_facts(f, sequence=i) for i, f in enumerate(facts)]
    batch = score_claims(trained_model, facts)
    assert [s.score for s in online] == [s.score for s in batch]
    assert [s.flagged for s in online] == [s.flagged for s in batch]
    assert [s.reasons for s in online] == [s.reasons for s in batch]


def test_parallel_training_fits_the_model_sequential_training_fits(
    training_items: list[LabelledBundle], monkeypatch: pytest.MonkeyPatch
) -> None:
    cols = from_facts([facts_from_bundle(i.bundle) for i in training_items])
    sequential = _artefact_arrays(train_columns(cols, version="v"))
    monkeypatch.setattr(columnar, "PARALLEL_FROM", 0)  # forked norms, groups; threaded scores
    assert columnar.workers_for(len(cols)) == columnar.workers()
    parallel = _artefact_arrays(train_columns(cols, version="v"))
    assert sequential.keys() == parallel.keys()
    for name, values in sequential.items():
        assert np.array_equal(values, parallel[name]), name


def _artefact_arrays(model: FraudModel) -> dict[str, np.ndarray]:
    model.meta["metrics"]["fit_seconds"] = 0.0
    with np.load(io.BytesIO(dump_model(model))) as npz:
        return {name: npz[name] for name in npz.files}


def test_skewness_equals_scipy_column_by_column() -> None:
    from scipy.stats import skew

    rng = np.random.default_rng(4)
    n = 20_000
    x = np.column_stack(
        [
            np.full(n, 0.1),  # constant, not a binary fraction: its mean is not exact
            np.r_[np.full(n - 1, 3.3), 3.3000000001],
            rng.normal(size=n),
            rng.exponential(size=n),
            np.r_[np.zeros(n // 2), np.ones(n // 2)],
            np.r_[np.full(n - 3, 1 / 3), [2 / 3] * 3],
            np.r_[np.ones(n - 1), np.nan],
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.array([skew(np.column_stack([c, c]))[0] for c in x.T])
    assert np.array_equal(skewness(x), expected, equal_nan=True)


def test_compiled_forest_scores_equal_the_frozen_forest() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(3_000, len(FEATURES)))
    group = train_group_rows(x, None, seed=2)
    probe = rng.normal(size=(2_000, len(FEATURES))) * 3
    probe[::7, 3] = np.nan
    compiled = CompiledForest.of(group.forest, len(FEATURES))
    assert np.array_equal(compiled.score(probe), group.forest.score(probe))


def test_distinct_is_numpy_unique() -> None:
    values = np.random.default_rng(5).integers(-50, 50, 10_000) * 7_919
    assert np.array_equal(distinct(values), np.unique(values))
    assert distinct(np.array([], dtype=np.int64)).shape == (0,)
