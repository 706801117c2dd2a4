"""Hospitals ranked by a statistic that a few percent of inflated claims moves.

For every hospital: the share of its claims with a line priced far above the learned norm for
that code at that hospital and far above what the hospital billed for that code in the period
itself (`period_alerts`: a hospital that re-priced a code for every claim moves its own period
median and is a price change, not a few inflated claims), with a 95% Wilson interval, against
the same share over all other hospitals (its peers in the period). The ranking is by the
two-proportion z-score of that excess, so a hospital that inflates 3% of its claims stands out
even when its price level, volume or case mix differ from the others. The share of flagged
claims and the mean risk are shown beside it, but do not drive the order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any, Final

from fraud.facts import ClaimFacts
from fraud.norms import MIN_CELL, PRICE_ALERT_Z, Norms

Z95: Final = 1.959964


def period_alerts(facts: Sequence[ClaimFacts], norms: Norms) -> list[bool]:
    """Per claim: a line far above its learned norm and far above the period's usual price."""
    lines = [norms.line_prices(f) for f in facts]
    prices: dict[tuple[str, str], list[float]] = defaultdict(list)
    for f, priced in zip(facts, lines, strict=True):
        for line in priced:
            prices[(f.hcode, line.code)].append(math.log(line.unit))
    usual = {key: median(values) for key, values in prices.items() if len(values) >= MIN_CELL}
    out = []
    for f, priced in zip(facts, lines, strict=True):
        out.append(
            any(
                line.z >= PRICE_ALERT_Z
                and (
                    (f.hcode, line.code) not in usual
                    or (math.log(line.unit) - usual[(f.hcode, line.code)])
                    / norms.codes[line.code][1]
                    >= PRICE_ALERT_Z
                )
                for line in priced
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ProviderClaim:
    """What the hospital statistic needs of one claim."""

    hcode: str
    price_alert: bool
    flagged: bool = False
    score: float | None = None


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rank_hospitals(
    claims: Sequence[ProviderClaim],
    *,
    names: Mapping[str, str] | None = None,
    baseline: float | None = None,
) -> list[dict[str, Any]]:
    """One row per hospital, the most excessive share of price alerts first.

    `baseline` is the expected alert share when there are no peer hospitals (e.g. the model's
    training rate); with peers the other hospitals' pooled share is the baseline.
    """
    per: dict[str, list[int]] = {}
    scores: dict[str, list[float]] = {}
    for c in claims:
        row = per.setdefault(c.hcode, [0, 0, 0])
        row[0] += 1
        row[1] += int(c.price_alert)
        row[2] += int(c.flagged)
        if c.score is not None:
            scores.setdefault(c.hcode, []).append(c.score)
    total_n = sum(r[0] for r in per.values())
    total_a = sum(r[1] for r in per.values())
    out: list[dict[str, Any]] = []
    for hcode, (n, alerts, flagged) in per.items():
        peer_n, peer_a = total_n - n, total_a - alerts
        peer = peer_a / peer_n if peer_n else (baseline or 0.0)
        low, high = wilson(alerts, n)
        out.append(
            {
                "hcode": hcode,
                "name": (names or {}).get(hcode, ""),
                "claims": n,
                "price_alerts": alerts,
                "alert_share": alerts / n,
                "alert_share_low": low,
                "alert_share_high": high,
                "peer_alert_share": peer,
                "excess_z": _excess_z(alerts, n, peer_a, peer_n, peer),
                "flagged": flagged,
                "flagged_share": flagged / n,
                "mean_score": sum(scores[hcode]) / len(scores[hcode]) if hcode in scores else None,
            }
        )
    out.sort(key=lambda r: (-r["excess_z"], -r["flagged_share"], r["hcode"]))
    for rank, ranked in enumerate(out, start=1):
        ranked["rank"] = rank
    return out


def _excess_z(alerts: int, n: int, peer_a: int, peer_n: int, peer: float) -> float:
    """Two-proportion z-score of the hospital's alert share against its peers' (pooled variance)."""
    if n == 0:
        return 0.0
    if peer_n == 0:
        p = max(peer, 1e-6)
        return (alerts / n - p) / math.sqrt(p * (1 - p) / n)
    pooled = (alerts + peer_a) / (n + peer_n)
    spread = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / n + 1 / peer_n))
    return (alerts / n - peer) / spread
