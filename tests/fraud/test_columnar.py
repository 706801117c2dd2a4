"""The batch (columnar) path gives what the one-claim path gives, fact by fact and bit by bit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import orjson

from fraud.batch import LineIndex, featurise_columns, learn_norms_batch, rule_matrix
from fraud.columnar import facts_of_row, from_facts, read_ndjson, row_of_bundle
from fraud.facts import facts_from_bundle
from fraud.features import FEATURES
from fraud.history import MemoryHistory
from fraud.model import FraudModel
from fraud.norms import learn_norms
from fraud.rules import RULES, rule_hits
from fraud.scoring import OnlineScorer
from fraud.synth import LabelledBundle
from fraud.synthea import synthea_history
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
