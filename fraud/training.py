"""From a claim history to a frozen model version: read in chunks, featurise in batch, train."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd

from fraud.batch import (
    RosterColumns,
    distinct,
    group_ids,
    learn_and_featurise,
    rule_matrix,
    signal_arrays,
)
from fraud.columnar import ClaimColumns, from_facts
from fraud.facts import ClaimFacts, facts_from_bundle
from fraud.features import batch_features, facts_frame, with_norms
from fraud.model import (
    Calibration,
    FraudModel,
    Threshold,
    choose_threshold,
    new_version,
    train_groups_arrays,
)
from fraud.norms import Norms
from fraud.rules import RULES, RULES_VERSION, InsuredRoster
from fraud.scoring import combine_evidence, evidence_matrix, risk_of

CHUNK: Final = 50_000
THRESHOLD_SAMPLE: Final = 100_000
EVIDENCE_KNOTS: Final = 2001
MIN_LABELS: Final = 20


@dataclass(frozen=True, slots=True)
class History:
    """A featurised claim history: the batch frame and the facts, in arrival order."""

    frame: pd.DataFrame
    facts: list[ClaimFacts]


def read_bundles(path: Path) -> Iterator[dict[str, Any]]:
    """Bundles of an NDJSON file, one per non-empty line."""
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def featurise(
    facts: Iterable[ClaimFacts], *, progress: Callable[[int], None] | None = None
) -> History:
    """Batch features of a history read in chunks (the frame holds no raw bundle)."""
    kept: list[ClaimFacts] = []
    frames: list[pd.DataFrame] = []
    chunk: list[ClaimFacts] = []
    for item in facts:
        chunk.append(item)
        if len(chunk) == CHUNK:
            frames.append(facts_frame(chunk))
            kept.extend(chunk)
            chunk = []
            if progress:
                progress(len(kept))
    frames.append(facts_frame(chunk))
    kept.extend(chunk)
    frame = pd.concat(frames, ignore_index=True)
    frame["position"] = np.arange(len(frame), dtype=np.int64)
    return History(batch_features(frame), kept)


def facts_of_file(path: Path) -> Iterator[ClaimFacts]:
    """Facts of every bundle in an NDJSON history (trusted: the gateway's or the generator's)."""
    return (facts_from_bundle(bundle) for bundle in read_bundles(path))


def normed(history: History, norms: Norms) -> History:
    """The history with the norm features computed against `norms`."""
    return History(with_norms(history.frame, history.facts, norms), history.facts)


def train_model(
    history: History,
    *,
    mode: str = "percentile",
    value: float = 99.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    version: str | None = None,
    labels: dict[str, int] | None = None,
    roster: InsuredRoster | None = None,
) -> FraudModel:
    """Learn the norms, train and freeze the detectors, weigh every signal, set the threshold.

    `labels` (identifier → 0/1) fit the calibration and the supervised combiner; `roster`
    lets the roster rules' firing rates be measured instead of assumed. The work is done by
    `train_columns` on the history's facts as columns.
    """
    cols = from_facts(history.facts)
    return train_columns(
        cols,
        mode=mode,
        value=value,
        seed=seed,
        progress=progress,
        version=version,
        labels=label_array(cols, labels or {}),
        roster=None
        if roster is None
        else RosterColumns.from_roster(roster, (f.cid for f in history.facts)),
    )


def label_array(cols: ClaimColumns, labels: Mapping[str, int]) -> np.ndarray:
    """Per claim its label, 0 or 1, and -1 where none is known."""
    if not labels or cols.identifier is None:
        return np.full(len(cols), -1, dtype=np.int8)
    return np.array([labels.get(i, -1) for i in cols.identifier], dtype=np.int8)


def train_columns(
    cols: ClaimColumns,
    *,
    mode: str = "percentile",
    value: float = 99.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    version: str | None = None,
    labels: np.ndarray | None = None,
    roster: RosterColumns | None = None,
) -> FraudModel:
    """`train_model` over columns: norms, features, detectors, calibration and threshold.

    `labels` holds each claim's 0/1 label or -1 (unknown).
    """
    started = time.perf_counter()
    _say(progress, f"learning norms and computing features of {len(cols):,} claims")
    norms, features = learn_and_featurise(cols)
    groups = train_groups_arrays(
        features.x, features.key, features.key_names, seed=seed, progress=progress
    )
    draft = FraudModel(version or new_version(), groups, Threshold(mode, value, 1.0), norms=norms)
    draft.meta = {"training_claims": len(cols)}
    hits = rule_matrix(cols, features, roster)
    draft.calibration = _rule_rates(hits, roster is not None)
    sample = _sample(len(cols), seed)
    group, names = group_ids(draft, features)
    model_scores, tail = signal_arrays(draft, features.x[sample], group[sample], names)
    evidence = evidence_matrix(draft, hits[sample], tail, model_scores)
    total = combine_evidence(evidence)
    draft.calibration.evidence_knots = np.quantile(
        total, np.linspace(0, 1, min(EVIDENCE_KNOTS, len(total)))
    ).tolist()
    known = labels[sample] if labels is not None else np.full(len(sample), -1, dtype=np.int8)
    fitted = _fit_labels(draft.calibration, known, evidence, total, seed)
    risk = risk_of(draft, total)
    day_count = int(distinct(cols.day).shape[0])
    days = day_count * len(sample) / max(len(cols), 1)
    draft.threshold = choose_threshold(risk, max(1, round(days)), mode=mode, value=value)
    draft.meta = _metadata(
        cols.day, len(cols), groups, risk, draft.threshold, time.perf_counter() - started
    )
    draft.meta["labels"] = fitted
    return draft


def _say(progress: Callable[[str], None] | None, message: str) -> None:
    if progress:
        progress(message)


def _rule_rates(hits: np.ndarray, roster_measured: bool) -> Calibration:
    n = hits.shape[0]
    rates, measured = {}, []
    for j, rule in enumerate(RULES):
        if rule.needs_roster and not roster_measured:
            continue
        rates[rule.code] = float((hits[:, j].sum() + 1.0) / (n + 2.0))
        measured.append(rule.code)
    return Calibration(rule_rate=rates, rule_measured=measured)


def _fit_labels(
    calibration: Calibration,
    labels: np.ndarray,
    evidence: np.ndarray,
    total: np.ndarray,
    seed: int,
) -> dict[str, Any]:
    """Platt calibration of the evidence and a supervised combiner, when labels are given."""
    known = labels >= 0
    y = labels[known].astype(np.int64)
    positives = int(y.sum())
    summary: dict[str, Any] = {"labelled": int(known.sum()), "positives": positives}
    if positives < MIN_LABELS or len(y) - positives < MIN_LABELS:
        summary["used"] = False
        return summary
    from sklearn.linear_model import LogisticRegression  # training only

    platt = LogisticRegression(C=100.0).fit(total[known, None], y)
    calibration.platt = [float(platt.coef_[0, 0]), float(platt.intercept_[0])]
    combiner = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    combiner.fit(evidence[known], y)
    calibration.supervised = {
        "coef": combiner.coef_[0].tolist(),
        "intercept": float(combiner.intercept_[0]),
    }
    summary["used"] = True
    return summary


def _sample(n: int, seed: int) -> np.ndarray:
    if n <= THRESHOLD_SAMPLE:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, THRESHOLD_SAMPLE, replace=False))


def score_distribution(risk: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """Training risk in quantile bins (inner edges, share per bin): the drift reference.

    Aggregates only; no claim can be recovered from it.
    """
    if not len(risk):
        return {"edges": [], "proportions": [1.0]}
    edges = np.unique(np.quantile(risk, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = edges[edges > risk.min()]
    counts = np.bincount(np.searchsorted(edges, risk, side="right"), minlength=len(edges) + 1)
    return {"edges": edges.tolist(), "proportions": (counts / len(risk)).tolist()}


def _metadata(
    days: np.ndarray,
    claims: int,
    groups: dict[str, Any],
    risk: np.ndarray,
    threshold: Threshold,
    seconds: float,
) -> dict[str, Any]:
    return {
        "rules_version": RULES_VERSION,
        "training_window": {
            "first_day": date.fromordinal(int(days.min())).isoformat() if len(days) else None,
            "last_day": date.fromordinal(int(days.max())).isoformat() if len(days) else None,
        },
        "training_claims": claims,
        "peer_groups": {name: group.rows for name, group in groups.items()},
        "detectors": ["ecod", "iforest", "hbos"],
        "combination": "evidence = strongest signal + decaying share of the next three; "
        "each signal weighted by its rarity in training",
        "score_distribution": score_distribution(risk),
        "metrics": {
            "train_flagged_share": float(np.mean(risk >= threshold.risk)) if len(risk) else 0.0,
            "train_risk_p50": float(np.median(risk)) if len(risk) else 0.0,
            "fit_seconds": round(seconds, 2),
        },
    }
