"""From a claim history to a frozen model version: read in chunks, featurise in batch, train."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd

from fraud.facts import ClaimFacts, facts_from_bundle
from fraud.features import batch_features, facts_frame, feature_matrix, with_norms
from fraud.model import (
    Calibration,
    FraudModel,
    Threshold,
    choose_threshold,
    new_version,
    train_groups,
)
from fraud.norms import Norms, learn_norms
from fraud.rules import RULES, RULES_VERSION, InsuredRoster
from fraud.scoring import combine_evidence, risk_of, rule_hit_matrix, signal_evidence

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
    lets the roster rules' firing rates be measured instead of assumed.
    """
    started = time.perf_counter()
    norms = learn_norms(history.facts)
    history = normed(history, norms)
    groups = train_groups(history.frame, seed=seed, progress=progress)
    draft = FraudModel(version or new_version(), groups, Threshold(mode, value, 1.0), norms=norms)
    draft.meta = {"training_claims": len(history.facts)}
    x_all = feature_matrix(history.frame)
    hits = rule_hit_matrix(history.facts, x_all, roster)
    draft.calibration = _rule_rates(hits, roster is not None)
    sample = _sample(len(history.facts), seed)
    facts = [history.facts[i] for i in sample]
    *_, evidence, _ = signal_evidence(draft, facts, x_all[sample], hits=hits[sample])
    total = combine_evidence(evidence)
    draft.calibration.evidence_knots = np.quantile(
        total, np.linspace(0, 1, min(EVIDENCE_KNOTS, len(total)))
    ).tolist()
    fitted = _fit_labels(draft.calibration, facts, evidence, total, labels or {}, seed)
    risk = risk_of(draft, total)
    days = int(history.frame["day"].nunique()) * len(sample) / max(len(history.facts), 1)
    draft.threshold = choose_threshold(risk, max(1, round(days)), mode=mode, value=value)
    draft.meta = _metadata(history, groups, risk, draft.threshold, time.perf_counter() - started)
    draft.meta["labels"] = fitted
    return draft


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
    facts: list[ClaimFacts],
    evidence: np.ndarray,
    total: np.ndarray,
    labels: dict[str, int],
    seed: int,
) -> dict[str, Any]:
    """Platt calibration of the evidence and a supervised combiner, when labels are given."""
    known = np.array([f.identifier in labels for f in facts])
    y = np.array([labels.get(f.identifier, 0) for f in facts])[known]
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
    history: History, groups: dict[str, Any], risk: np.ndarray, threshold: Threshold, seconds: float
) -> dict[str, Any]:
    days = history.frame["day"]
    return {
        "rules_version": RULES_VERSION,
        "training_window": {
            "first_day": date.fromordinal(int(days.min())).isoformat() if len(days) else None,
            "last_day": date.fromordinal(int(days.max())).isoformat() if len(days) else None,
        },
        "training_claims": len(history.facts),
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
