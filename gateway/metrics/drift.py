"""Score drift: the population stability index (PSI) of today's scores against training.

The fraud side owns the reference distribution. After loading or promoting a model, call
`set_reference(reference_from_scores(training_scores, model_version=...))` in every gateway
process (for example inside `build_scorer`), or build a `ScoreReference` from proportions
stored in the model artefact. Until a reference is set, no drift metric is exported.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FLOOR = 1e-4  # keeps empty bins from making the index infinite


@dataclass(frozen=True, slots=True)
class ScoreReference:
    """Training scores binned: inner bin edges (ascending) and the share of scores per bin."""

    edges: tuple[float, ...]
    proportions: tuple[float, ...]
    model_version: str | None = None

    def __post_init__(self) -> None:
        if len(self.proportions) != len(self.edges) + 1:
            raise ValueError("a reference needs one more proportion than inner edges")
        if list(self.edges) != sorted(set(self.edges)):
            raise ValueError("edges must be strictly ascending")
        if any(p < 0 for p in self.proportions) or not math.isclose(
            sum(self.proportions), 1.0, abs_tol=1e-6
        ):
            raise ValueError("proportions must be non-negative and sum to 1")

    def bin_of(self, score: float) -> int:
        """The bin a score falls in (a score equal to an edge goes to the upper bin)."""
        return bisect_right(self.edges, score)


def reference_from_scores(
    scores: Sequence[float], *, bins: int = 10, model_version: str | None = None
) -> ScoreReference:
    """A reference with quantile bins of the training scores."""
    ordered = sorted(scores)
    if not ordered:
        raise ValueError("a reference needs training scores")
    cuts = {ordered[min(len(ordered) - 1, (len(ordered) * i) // bins)] for i in range(1, bins)}
    edges = tuple(sorted(c for c in cuts if c > ordered[0]))
    counts = bin_counts(ScoreReference(edges, _even(len(edges) + 1)), ordered)
    return ScoreReference(edges, tuple(c / len(ordered) for c in counts), model_version)


def bin_counts(reference: ScoreReference, scores: Iterable[float]) -> list[int]:
    """How many scores fall in each bin of the reference."""
    counts = [0] * (len(reference.edges) + 1)
    for score in scores:
        counts[reference.bin_of(score)] += 1
    return counts


def population_stability(reference: ScoreReference, counts: Sequence[int]) -> float | None:
    """PSI = sum((actual - expected) * ln(actual / expected)); None without scores."""
    total = sum(counts)
    if total == 0:
        return None
    index = 0.0
    for expected, count in zip(reference.proportions, counts, strict=True):
        e, a = max(expected, FLOOR), max(count / total, FLOOR)
        index += (a - e) * math.log(a / e)
    return index


def _even(n: int) -> tuple[float, ...]:
    return tuple([1.0 / n] * n)


_lock = threading.Lock()
_reference: ScoreReference | None = None


def set_reference(reference: ScoreReference) -> None:
    """Use this training distribution for the drift metric from now on (this process)."""
    global _reference
    with _lock:
        _reference = reference


def clear_reference() -> None:
    """Stop exporting drift (no model promoted)."""
    global _reference
    with _lock:
        _reference = None


def current_reference() -> ScoreReference | None:
    """The reference in use, if any."""
    return _reference
