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
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score  # noqa: E402

PRECISION_AT: Final = (50, 100, 200)
THAI_FONTS: Final = ("Loma", "Garuda", "Waree", "Sawasdee", "Norasi")


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
        }


def scored_frame(
    identifiers: Sequence[str], hcodes: Sequence[str], scores: Sequence[float], labels: Labels
) -> pd.DataFrame:
    """Scores joined with labels; claims without a label count as `none`."""
    frame = pd.DataFrame(
        {"identifier": list(identifiers), "hcode": list(hcodes), "score": list(scores)}
    )
    frame["label"] = frame["identifier"].map(labels.label).fillna(0).astype(int)
    frame["pattern"] = frame["identifier"].map(labels.pattern).fillna("none")
    return frame


def evaluate(
    frame: pd.DataFrame, *, top_share: float = 0.01, colluder: str | None = None
) -> Evaluation:
    """Every figure the report shows."""
    y, s = frame["label"].to_numpy(), frame["score"].to_numpy()
    both = 0 < y.sum() < len(y)
    order = np.argsort(-s, kind="stable")
    top = set(order[: max(1, int(round(len(s) * top_share)))].tolist())
    hospitals = hospital_risk(frame)
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
    )


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


def hospital_risk(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Hospitals by how far their mean risk exceeds the median hospital's, riskiest first."""
    top_cut = frame["score"].quantile(0.99) if len(frame) else 1.0
    grouped = frame.groupby("hcode").agg(
        claims=("score", "size"),
        mean_score=("score", "mean"),
        top_share=("score", lambda s: float((s >= top_cut).mean())),
    )
    grouped = grouped.sort_values(["top_share", "mean_score"], ascending=False)
    return [
        {"hcode": str(h), **{k: float(v) for k, v in row.items()}} for h, row in grouped.iterrows()
    ]


def _likely_colluder(frame: pd.DataFrame) -> str | None:
    rows = frame[frame["pattern"] == "collusion"]
    return str(rows["hcode"].mode().iloc[0]) if len(rows) else None


def _rank_of(hospitals: list[dict[str, Any]], hcode: str | None) -> int | None:
    ranks = [i for i, h in enumerate(hospitals, start=1) if h["hcode"] == hcode]
    return ranks[0] if ranks else None


def use_thai_font() -> str | None:
    """Point matplotlib at an installed Thai font family, if any (else Thai draws as boxes)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in THAI_FONTS:
        if family in installed:
            plt.rcParams["font.family"] = [family, "DejaVu Sans"]
            return family
    return None


def write_report(
    frame: pd.DataFrame, result: Evaluation, folder: Path, *, model_version: str
) -> list[Path]:
    """PNG plots, metrics JSON and a Markdown summary in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    font = use_thai_font()
    paths = [
        _pr_curve(frame, folder / "precision_recall.png"),
        _distributions(frame, folder / "score_by_pattern.png"),
        _hospitals(result, folder / "hospital_risk.png"),
    ]
    summary = folder / "summary.md"
    summary.write_text(
        markdown_summary(result, model_version=model_version, font=font), encoding="utf-8"
    )
    return [*paths, summary]


def _pr_curve(frame: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if 0 < frame["label"].sum() < len(frame):
        precision, recall, _ = precision_recall_curve(frame["label"], frame["score"])
        ax.plot(recall, precision)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (ความแม่นยำ-ความครบถ้วน)")
    return _save(fig, path)


def _distributions(frame: pd.DataFrame, path: Path) -> Path:
    patterns = sorted(frame["pattern"].unique(), key=lambda p: (p != "none", p))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(patterns) + 2))
    ax.boxplot(
        [frame.loc[frame["pattern"] == p, "score"] for p in patterns],
        orientation="horizontal",
        tick_labels=patterns,
    )
    ax.set(xlabel="risk score", title="Score by fraud pattern (คะแนนความเสี่ยงตามรูปแบบ)")
    return _save(fig, path)


def _hospitals(result: Evaluation, path: Path) -> Path:
    rows = result.hospital_risk[:20]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 2))
    ax.barh([r["hcode"] for r in rows][::-1], [r["top_share"] for r in rows][::-1])
    ax.set(
        xlabel="share of claims in the overall top 1%", title="Hospital risk (ความเสี่ยงรายโรงพยาบาล)"
    )
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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
        f"- plot font: {font or 'default (no Thai font installed)'}",
        "",
        f"| pattern | recall in top {result.top_share:.0%} | ROC-AUC vs clean |",
        "|---|---|---|",
    ]
    lines += [
        f"| {p} | {_fmt(r)} | {_fmt(result.auc_by_pattern.get(p))} |"
        for p, r in sorted(result.recall_in_top.items())
    ]
    lines += ["", "Plots: `precision_recall.png`, `score_by_pattern.png`, `hospital_risk.png`.", ""]
    return "\n".join(lines)
