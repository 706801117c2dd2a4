"""Pure pieces of the metrics package: drift index, bounded labels, the multiprocess folder."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.metrics import drift
from gateway.metrics.collector import start_of_day
from gateway.metrics.labels import (
    bundle_outcome,
    claim_type_label,
    code_label,
    hospital_label,
    method_label,
)
from gateway.metrics.multiprocess import MULTIPROC_ENV, worker_metrics_dir


def test_identical_distributions_have_zero_drift() -> None:
    reference = drift.ScoreReference(edges=(0.3, 0.6), proportions=(0.5, 0.3, 0.2))
    assert drift.population_stability(reference, [50, 30, 20]) == pytest.approx(0)


def test_shifted_scores_drift_by_the_textbook_formula() -> None:
    reference = drift.ScoreReference(edges=(0.5,), proportions=(0.8, 0.2))
    expected = (0.5 - 0.8) * math.log(0.5 / 0.8) + (0.5 - 0.2) * math.log(0.5 / 0.2)
    assert drift.population_stability(reference, [10, 10]) == pytest.approx(expected)


def test_no_scores_means_no_drift_value() -> None:
    reference = drift.ScoreReference(edges=(0.5,), proportions=(0.5, 0.5))
    assert drift.population_stability(reference, [0, 0]) is None


def test_reference_from_training_scores_uses_quantile_bins() -> None:
    scores = [i / 100 for i in range(100)]
    reference = drift.reference_from_scores(scores, bins=4, model_version="v1")
    assert reference.edges == (0.25, 0.5, 0.75)
    assert reference.proportions == pytest.approx((0.25, 0.25, 0.25, 0.25))
    assert drift.bin_counts(reference, [0.1, 0.25, 0.9]) == [1, 1, 0, 1]


@pytest.mark.parametrize(
    ("edges", "proportions"),
    [
        ((0.5,), (1.0,)),
        ((0.6, 0.4), (0.3, 0.3, 0.4)),
        ((0.5,), (0.7, 0.7)),
    ],
)
def test_malformed_references_are_refused(
    edges: tuple[float, ...], proportions: tuple[float, ...]
) -> None:
    with pytest.raises(ValueError, match="edge|proportion"):
        drift.ScoreReference(edges=edges, proportions=proportions)


def test_today_starts_at_midnight_in_bangkok() -> None:
    late_evening_utc = datetime(2026, 11, 28, 18, 30, tzinfo=UTC)  # 01:30 on the 29th in Bangkok
    midnight = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
    assert start_of_day(late_evening_utc).astimezone(UTC) == midnight


@pytest.mark.parametrize(
    ("status", "replayed", "outcome"),
    [
        (201, False, "accepted"),
        (200, True, "duplicate"),
        (422, True, "duplicate"),
        (400, False, "invalid"),
        (413, False, "invalid"),
        (415, False, "invalid"),
        (403, False, "rejected"),
        (422, False, "rejected"),
        (401, False, None),
        (409, False, None),
        (429, False, None),
        (503, False, None),
    ],
)
def test_submit_answers_map_to_bundle_outcomes(
    status: int, replayed: bool, outcome: str | None
) -> None:
    assert bundle_outcome(status, replayed=replayed) == outcome


def test_label_values_stay_bounded() -> None:
    assert hospital_label("10661", enabled=True) == "10661"
    assert hospital_label("1101700203450", enabled=True) == "unknown"  # a CID is never a label
    assert hospital_label("10661", enabled=False) == ""
    assert hospital_label(None, enabled=True) == "unknown"
    assert code_label("not-insured") == "not-insured"
    assert code_label("DROP TABLE; <script>") == "other"
    assert claim_type_label("institutional") == "institutional"
    assert claim_type_label("whatever-a-hospital-sends") == "other"
    assert method_label("BREW") == "other"


def test_several_workers_get_a_fresh_folder_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with worker_metrics_dir(2) as folder:
        assert folder is not None
        assert os.environ[MULTIPROC_ENV] == str(folder)
        assert list(folder.iterdir()) == []
    assert not folder.exists()
    assert MULTIPROC_ENV not in os.environ


def test_one_worker_needs_no_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with worker_metrics_dir(1) as folder:
        assert folder is None


def test_an_operator_folder_is_emptied_of_earlier_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "counter_1.db").write_bytes(b"old")
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"mine")
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    with worker_metrics_dir(4) as folder:
        assert folder == tmp_path
        assert [p.name for p in tmp_path.iterdir()] == [f"counter_{os.getpid()}.db"]
    assert tmp_path.exists()
