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
from fraud.features import batch_features, facts_frame, feature_matrix
from fraud.model import FraudModel, Threshold, choose_threshold, new_version, train_groups
from fraud.rules import RULES_VERSION
from fraud.scoring import score_vectors

CHUNK: Final = 50_000
THRESHOLD_SAMPLE: Final = 100_000


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


def train_model(
    history: History,
    *,
    mode: str = "percentile",
    value: float = 99.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    version: str | None = None,
) -> FraudModel:
    """Train, freeze and set the threshold on a sample of training risk."""
    started = time.perf_counter()
    groups = train_groups(history.frame, seed=seed, progress=progress)
    draft = FraudModel(version or new_version(), groups, Threshold(mode, value, 1.0))
    sample = _sample(len(history.facts), seed)
    x = feature_matrix(history.frame.iloc[sample])
    scored = score_vectors(draft, [history.facts[i] for i in sample], x)
    risk = np.array([s.score for s in scored])
    days = int(history.frame["day"].nunique()) * len(sample) / max(len(history.facts), 1)
    draft.threshold = choose_threshold(risk, max(1, round(days)), mode=mode, value=value)
    draft.meta = _metadata(history, groups, risk, draft.threshold, time.perf_counter() - started)
    return draft


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
        "combination": "mean training percentile of the three detectors per peer group",
        "score_distribution": score_distribution(risk),
        "metrics": {
            "train_flagged_share": float(np.mean(risk >= threshold.risk)) if len(risk) else 0.0,
            "train_risk_p50": float(np.median(risk)) if len(risk) else 0.0,
            "fit_seconds": round(seconds, 2),
        },
    }
