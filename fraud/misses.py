"""What the model misses, from reviewers' decisions: flag precision and miss rate, with intervals.

Reviewers decide two kinds of claims: flagged ones (source `flagged`) and a random audit
sample of unflagged ones (source `random-audit`). A label is 1 when the reviewer denied the
claim or adjusted it down, 0 when it was approved as billed.
- precision of flags = share of reviewed flagged claims labelled 1;
- miss rate = share of audited unflagged claims labelled 1 (fraud among what was let through);
- estimated missed claims = miss rate × unflagged claims; estimated recall =
  flagged frauds / (flagged frauds + missed frauds), from the two point estimates.
Intervals are 95% Wilson intervals (the recall interval combines the two intervals' ends).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from fraud.providers import wilson


class LabelLike(Protocol):
    """The fields of `gateway.review.labels.ReviewerLabel` this module reads."""

    @property
    def label(self) -> int: ...

    @property
    def source(self) -> str: ...

    @property
    def decided_at(self) -> datetime | date | None: ...


@dataclass(frozen=True, slots=True)
class Proportion:
    """A share with its 95% Wilson interval."""

    hits: int
    n: int

    @property
    def value(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.hits, self.n) if self.n else None

    def as_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "n": self.n, "value": self.value, "ci95": self.interval}


def month_of(moment: datetime | date | None) -> str:
    return moment.strftime("%Y-%m") if moment is not None else "unknown"


def estimate(
    labels: Iterable[LabelLike],
    claim_counts: Mapping[str, tuple[int, int]],
) -> dict[str, Any]:
    """Overall and per-month precision, miss rate and recall.

    `claim_counts` maps a month (YYYY-MM) to (flagged claims, unflagged claims) in it.
    """
    per: dict[str, list[int]] = {}
    for item in labels:
        row = per.setdefault(month_of(item.decided_at), [0, 0, 0, 0])
        audit = item.source == "random-audit"
        row[2 if audit else 0] += int(item.label)
        row[3 if audit else 1] += 1
    months = sorted(set(per) | set(claim_counts))
    by_month = {m: _figures(per.get(m, [0, 0, 0, 0]), claim_counts.get(m, (0, 0))) for m in months}
    totals = [sum(per.get(m, [0, 0, 0, 0])[i] for m in months) for i in range(4)]
    counts = (
        sum(claim_counts.get(m, (0, 0))[0] for m in months),
        sum(claim_counts.get(m, (0, 0))[1] for m in months),
    )
    return {"overall": _figures(totals, counts), "by_month": by_month}


def _figures(row: list[int], counts: tuple[int, int]) -> dict[str, Any]:
    precision, misses = Proportion(row[0], row[1]), Proportion(row[2], row[3])
    flagged, unflagged = counts
    out: dict[str, Any] = {
        "flagged_claims": flagged,
        "unflagged_claims": unflagged,
        "flag_precision": precision.as_dict(),
        "miss_rate": misses.as_dict(),
        "estimated_missed": None,
        "estimated_recall": None,
    }
    if precision.n and misses.n:
        p_lo, p_hi = precision.interval or (0.0, 1.0)
        m_lo, m_hi = misses.interval or (0.0, 1.0)
        out["estimated_missed"] = {
            "value": (misses.value or 0.0) * unflagged,
            "ci95": (m_lo * unflagged, m_hi * unflagged),
        }
        out["estimated_recall"] = {
            "value": _recall(precision.value or 0.0, misses.value or 0.0, flagged, unflagged),
            "ci95": (
                _recall(p_lo, m_hi, flagged, unflagged),
                _recall(p_hi, m_lo, flagged, unflagged),
            ),
        }
    return out


def _recall(precision: float, miss_rate: float, flagged: int, unflagged: int) -> float | None:
    caught, missed = precision * flagged, miss_rate * unflagged
    return caught / (caught + missed) if caught + missed > 0 else None
