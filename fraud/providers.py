"""Hospitals ranked by risk against their peers: share flagged, new-patient surge, amount skew."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

ClaimRow = tuple[str, str, str, date, float, float | None, str]


def rank_providers(
    rows: Sequence[ClaimRow], seen_before: set[tuple[str, str]]
) -> list[dict[str, Any]]:
    """One row per hospital, riskiest first; `risk` is the mean of three peer z-scores."""
    if not rows:
        return []
    frame = pd.DataFrame(
        list(rows), columns=["hcode", "cid", "setting", "day", "amount", "score", "status"]
    )
    frame["flagged"] = frame["status"] == "pended_review"
    frame["new_patient"] = [
        (h, c) not in seen_before for h, c in zip(frame["hcode"], frame["cid"], strict=True)
    ]
    peer_mean = frame.groupby("setting")["amount"].transform("mean")
    frame["amount_skew"] = frame["amount"] / peer_mean.replace(0, np.nan)
    per = frame.groupby("hcode").agg(
        claims=("amount", "size"),
        flagged_share=("flagged", "mean"),
        new_patient_share=("new_patient", "mean"),
        amount_skew=("amount_skew", "mean"),
        mean_score=("score", "mean"),
    )
    per = per.fillna(0.0)
    measures = ["flagged_share", "new_patient_share", "amount_skew"]
    z = (per[measures] - per[measures].median()) / per[measures].std(ddof=0).replace(0, 1.0)
    per["risk"] = z.mean(axis=1)
    per = per.sort_values("risk", ascending=False)
    return [
        {"hcode": str(h), **{k: round(float(v), 4) for k, v in row.items()}}
        for h, row in per.iterrows()
    ]
