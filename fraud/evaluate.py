"""Judge scores against labels: ROC-AUC, AP, precision@k, recall per pattern, plots, summary."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score  # noqa: E402

from fraud.providers import ProviderClaim, rank_hospitals  # noqa: E402

PRECISION_AT: Final = (50, 100, 200)
THAI_FONTS: Final = ("Loma", "Garuda", "Waree", "Sawasdee", "Norasi")
CALIBRATION_BINS: Final = 10


@dataclass(frozen=True, slots=True)
class Labels:
    """Ground truth per claim identifier: label (0/1) and pattern."""

    label: dict[str, int]
    pattern: dict[str, str]

    @classmethod
    def from_csv(cls, path: Path) -> Labels:
        """Columns `identifier,label,pattern` (from `claimgw synth` or reviewer decisions)."""
        label, pattern = {}, {}
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                label[row["identifier"]] = int(row["label"])
                pattern[row["identifier"]] = row.get("pattern") or (
                    "none" if row["label"] == "0" else "unknown"
                )
        return cls(label, pattern)


@dataclass(slots=True)
class Evaluation:
    """The figures of one evaluation."""

    claims: int
    positives: int
    roc_auc: float | None
    average_precision: float | None
    precision_at: dict[int, float]
    top_share: float
    recall_in_top: dict[str, float]
    auc_by_pattern: dict[str, float | None]
    colluding_rank: int | None = None
    hospital_risk: list[dict[str, Any]] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)
    flagged_share: float | None = None
    threshold: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "claims": self.claims,
            "positives": self.positives,
            "roc_auc": self.roc_auc,
            "average_precision": self.average_precision,
            "precision_at": {str(k): v for k, v in self.precision_at.items()},
            "top_share": self.top_share,
            "recall_in_top_by_pattern": self.recall_in_top,
            "roc_auc_by_pattern": self.auc_by_pattern,
            "colluding_hospital_rank": self.colluding_rank,
            "calibration": self.calibration,
            "flagged_share": self.flagged_share,
            "hospitals": self.hospital_risk,
        }


def scored_frame(
    identifiers: Sequence[str],
    hcodes: Sequence[str],
    scores: Sequence[float],
    labels: Labels,
    *,
    flagged: Sequence[bool] | None = None,
    price_alerts: Sequence[bool] | None = None,
) -> pd.DataFrame:
    """Scores joined with labels; claims without a label count as `none`."""
    frame = pd.DataFrame(
        {"identifier": list(identifiers), "hcode": list(hcodes), "score": list(scores)}
    )
    frame["flagged"] = list(flagged) if flagged is not None else False
    frame["price_alert"] = list(price_alerts) if price_alerts is not None else False
    frame["label"] = frame["identifier"].map(labels.label).fillna(0).astype(int)
    frame["pattern"] = frame["identifier"].map(labels.pattern).fillna("none")
    return frame


def evaluate(
    frame: pd.DataFrame,
    *,
    top_share: float = 0.01,
    colluder: str | None = None,
    names: dict[str, str] | None = None,
    threshold: float | None = None,
) -> Evaluation:
    """Every figure the report shows."""
    y, s = frame["label"].to_numpy(), frame["score"].to_numpy()
    both = 0 < y.sum() < len(y)
    order = np.argsort(-s, kind="stable")
    top = set(order[: max(1, int(round(len(s) * top_share)))].tolist())
    hospitals = hospital_risk(frame, names=names)
    return Evaluation(
        claims=len(frame),
        positives=int(y.sum()),
        roc_auc=float(roc_auc_score(y, s)) if both else None,
        average_precision=float(average_precision_score(y, s)) if both else None,
        precision_at={k: float(y[order[:k]].mean()) for k in PRECISION_AT if len(y) >= k},
        top_share=top_share,
        recall_in_top=_recall_in_top(frame, top),
        auc_by_pattern=_auc_by_pattern(frame),
        colluding_rank=_rank_of(hospitals, colluder or _likely_colluder(frame)),
        hospital_risk=hospitals,
        calibration=reliability(y, s) if both else {},
        flagged_share=float(frame["flagged"].mean()) if len(frame) else None,
        threshold=threshold,
    )


def reliability(y: np.ndarray, risk: np.ndarray, bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Reliability table (equal-width risk bins) and expected calibration error."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.minimum(np.searchsorted(edges, risk, side="right") - 1, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        rows = which == b
        if not rows.any():
            continue
        mean_risk, observed = float(risk[rows].mean()), float(y[rows].mean())
        ece += rows.mean() * abs(mean_risk - observed)
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "claims": int(rows.sum()),
                "mean_risk": mean_risk,
                "fraud_share": observed,
            }
        )
    return {"ece": float(ece), "table": table}


def _recall_in_top(frame: pd.DataFrame, top: set[int]) -> dict[str, float]:
    out = {}
    for pattern, rows in frame.groupby("pattern").indices.items():
        if pattern != "none":
            out[str(pattern)] = float(np.mean([i in top for i in rows]))
    return out


def _auc_by_pattern(frame: pd.DataFrame) -> dict[str, float | None]:
    clean = frame[frame["pattern"] == "none"]
    out: dict[str, float | None] = {}
    for pattern in sorted(set(frame["pattern"]) - {"none"}):
        part = pd.concat([clean, frame[frame["pattern"] == pattern]])
        y = (part["pattern"] != "none").astype(int)
        out[pattern] = float(roc_auc_score(y, part["score"])) if 0 < y.sum() < len(y) else None
    return out


def hospital_risk(frame: pd.DataFrame, names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Hospitals by the excess of their share of price alerts over their peers'."""
    claims = [
        ProviderClaim(str(h), bool(a), bool(f), float(s))
        for h, a, f, s in zip(
            frame["hcode"], frame["price_alert"], frame["flagged"], frame["score"], strict=True
        )
    ]
    return rank_hospitals(claims, names=names)


def _likely_colluder(frame: pd.DataFrame) -> str | None:
    rows = frame[frame["pattern"] == "collusion"]
    return str(rows["hcode"].mode().iloc[0]) if len(rows) else None


def _rank_of(hospitals: list[dict[str, Any]], hcode: str | None) -> int | None:
    ranks = [i for i, h in enumerate(hospitals, start=1) if h["hcode"] == hcode]
    return ranks[0] if ranks else None


def use_thai_font() -> str | None:
    """Point matplotlib at an installed Thai font family, if any (else Thai draws as boxes)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed & set(THAI_FONTS):
        installed |= _add_system_thai_fonts()
    for family in THAI_FONTS:
        if family in installed:
            plt.rcParams["font.family"] = [family, "DejaVu Sans"]
            return family
    return None


def _add_system_thai_fonts() -> set[str]:
    """Register Thai fonts installed after matplotlib cached its font list (a stale cache).

    matplotlib builds its list once and keeps it in ~/.cache/matplotlib: fonts installed later
    (`apt-get install fonts-thai-tlwg` on a machine that already drew a plot) stay invisible.
    """
    added: set[str] = set()
    for path in font_manager.findSystemFonts():
        if Path(path).stem in THAI_FONTS:  # the regular face: Loma.ttf, Garuda.ttf, ...
            font_manager.fontManager.addfont(path)
            added.add(Path(path).stem)
    return added


def write_report(
    frame: pd.DataFrame, result: Evaluation, folder: Path, *, model_version: str
) -> list[Path]:
    """PNG plots, metrics JSON and a Markdown summary in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    font = use_thai_font()
    paths = [
        _pr_curve(frame, result, folder / "precision_recall.png"),
        _distributions(frame, result, folder / "score_by_pattern.png"),
        _hospitals(result, folder / "hospital_risk.png"),
        _reliability(result, folder / "calibration.png"),
    ]
    summary = folder / "summary.md"
    summary.write_text(
        markdown_summary(result, model_version=model_version, font=font), encoding="utf-8"
    )
    return [*paths, summary]


def _pr_curve(frame: pd.DataFrame, result: Evaluation, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if 0 < frame["label"].sum() < len(frame):
        precision, recall, cuts = precision_recall_curve(frame["label"], frame["score"])
        ax.plot(recall, precision, label="all thresholds")
        if result.threshold is not None:
            at = int(np.searchsorted(cuts, result.threshold))
            at = min(at, len(cuts) - 1)
            ax.plot(
                recall[at],
                precision[at],
                "o",
                color="C3",
                label=f"model threshold (risk ≥ {result.threshold:.1%})",
            )
            ax.axvline(recall[at], color="C3", linestyle="--", linewidth=0.8)
        ax.legend(loc="lower left")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlabel="recall (ความครบถ้วน)",
        ylabel="precision (ความแม่นยำ)",
        title="Precision-recall (ความแม่นยำ-ความครบถ้วน)",
    )
    return _save(fig, path)


def _distributions(frame: pd.DataFrame, result: Evaluation, path: Path) -> Path:
    patterns = sorted(frame["pattern"].unique(), key=lambda p: (p != "none", p))
    counts = frame["pattern"].value_counts()
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(patterns) + 2))
    ax.boxplot(
        [frame.loc[frame["pattern"] == p, "score"] for p in patterns],
        orientation="horizontal",
        tick_labels=[f"{p} (n={counts[p]:,})" for p in patterns],
    )
    if result.threshold is not None:
        ax.axvline(
            result.threshold, color="C3", linestyle="--", label=f"threshold {result.threshold:.1%}"
        )
        ax.legend(loc="best")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlabel="risk score (คะแนนความเสี่ยง)", title="Score by fraud pattern (คะแนนความเสี่ยงตามรูปแบบ)"
    )
    return _save(fig, path)


def _hospitals(result: Evaluation, path: Path) -> Path:
    rows = result.hospital_risk[:20][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(rows) + 2))
    labels = [f"{r['hcode']} {r['name']}".strip() for r in rows]
    share = [r["alert_share"] for r in rows]
    low = [r["alert_share"] - r["alert_share_low"] for r in rows]
    high = [r["alert_share_high"] - r["alert_share"] for r in rows]
    ax.barh(labels, share, xerr=[low, high], color="C0", ecolor="0.3", capsize=3)
    for y, r in enumerate(rows):
        ax.plot(r["peer_alert_share"], y, "|", color="C3", markersize=14)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlabel="claims priced far above the learned norm, 95% CI (red: other hospitals)",
        title="Hospital risk (ความเสี่ยงรายโรงพยาบาล)",
    )
    return _save(fig, path)


def _reliability(result: Evaluation, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    table = result.calibration.get("table", [])
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":")
    ax.plot([r["mean_risk"] for r in table], [r["fraud_share"] for r in table], "o-")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlabel="mean risk in bin",
        ylabel="labelled fraud in bin",
        title=f"Calibration (ECE {result.calibration.get('ece', float('nan')):.3f})",
    )
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def markdown_summary(result: Evaluation, *, model_version: str, font: str | None) -> str:
    """The report's text."""
    lines = [
        f"# Fraud model evaluation: {model_version}",
        "",
        f"- claims: {result.claims}, labelled fraud: {result.positives}",
        f"- ROC-AUC: {_fmt(result.roc_auc)}",
        f"- average precision: {_fmt(result.average_precision)}",
        *[f"- precision@{k}: {_fmt(v)}" for k, v in result.precision_at.items()],
        f"- colluding hospital's rank: {result.colluding_rank if result.colluding_rank else 'n/a'}",
        f"- flagged: {_pct(result.flagged_share)} of claims",
        f"- calibration: expected calibration error {_fmt(result.calibration.get('ece'))}",
        f"- plot font: {font or 'default (no Thai font installed)'}",
        "",
        f"| pattern | recall in top {result.top_share:.0%} | ROC-AUC vs clean |",
        "|---|---|---|",
    ]
    lines += [
        f"| {p} | {_fmt(r)} | {_fmt(result.auc_by_pattern.get(p))} |"
        for p, r in sorted(result.recall_in_top.items())
    ]
    lines += ["", "| risk bin | claims | mean risk | labelled fraud |", "|---|---|---|---|"]
    lines += [
        f"| {r['bin']} | {r['claims']:,} | {_pct(r['mean_risk'])} | {_pct(r['fraud_share'])} |"
        for r in result.calibration.get("table", [])
    ]
    lines += [
        "",
        "Plots: `precision_recall.png`, `score_by_pattern.png`, `hospital_risk.png`, "
        "`calibration.png`.",
        "",
    ]
    return "\n".join(lines)
