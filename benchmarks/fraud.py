"""Fraud analytics figures: training time and memory, online latency vs pyod, size, quality.

Run: `.venv/bin/python benchmarks/fraud.py --claims 200000` (about 5 minutes on 2 cores).
Training history uses seed 1; evaluation uses seeds 101 and 102, never looked at while tuning.
Every timing is measured in this run; the pyod baseline is measured in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `fraud` package; the repository root goes there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import numpy as np  # noqa: E402
import orjson  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from fraud.evaluate import Labels, evaluate, scored_frame  # noqa: E402
from fraud.features import feature_matrix, peer_group  # noqa: E402
from fraud.history import MemoryHistory  # noqa: E402
from fraud.model import dump_model, fit_detectors, load_model  # noqa: E402
from fraud.rules import MemoryRoster  # noqa: E402
from fraud.scoring import OnlineScorer, score_vectors  # noqa: E402
from fraud.synth import FraudRates, build_world, default_network, generate_history, roster_rows  # noqa: E402
from fraud.training import facts_of_file, featurise, train_model  # noqa: E402

END = date(2026, 10, 31)
EVAL_SEEDS = (101, 102)


def write_history(path: Path, claims: int, seed: int) -> Labels:
    """Stream a labelled history to NDJSON."""
    label, pattern = {}, {}
    with path.open("wb") as handle:
        for item in generate_history(
            claims=claims, seed=seed, hospitals=default_network(), end=END
        ):
            handle.write(orjson.dumps(item.bundle) + b"\n")
            label[item.identifier], pattern[item.identifier] = item.label, item.pattern
    return Labels(label, pattern)


def _train_child(path: str, out: str, queue: Any) -> None:
    started = time.perf_counter()
    history = featurise(facts_of_file(Path(path)))
    read = time.perf_counter() - started
    model = train_model(history, mode="percentile", value=99.0, seed=0, version="fwa-bench")
    Path(out).write_bytes(dump_model(model))
    queue.put({"read_and_features_s": read, "total_s": time.perf_counter() - started})


def train_in_child(path: Path, out: Path) -> dict[str, float]:
    """Train in a child process so its peak memory is measured alone."""
    queue: Any = multiprocessing.Queue()
    child = multiprocessing.Process(target=_train_child, args=(str(path), str(out), queue))
    child.start()
    figures: dict[str, float] = queue.get()
    child.join()
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return figures


def latency(
    model: Any, facts: list[Any], history: MemoryHistory, roster: MemoryRoster
) -> np.ndarray:
    """Per-claim online scoring time (features from history, rules, frozen model), in ms."""
    scorer = OnlineScorer(model, history, roster)
    times = []
    for i, f in enumerate(facts):
        started = time.perf_counter()
        scorer.score_facts(f, sequence=i)
        times.append((time.perf_counter() - started) * 1000)
    return np.array(times)


def pyod_baseline(train_x: np.ndarray, claims: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Per-claim time of the plain pyod decision_function (ECOD + IForest + HBOS), and Spearman."""
    detectors = fit_detectors(train_x, seed=0)
    times = []
    for row in claims[:30]:
        started = time.perf_counter()
        for detector in detectors:
            detector.decision_function(row[None, :])
        times.append((time.perf_counter() - started) * 1000)
    from fraud.frozen import freeze_ecod, freeze_forest, freeze_hbos

    ecod, forest, hbos = detectors
    frozen = (freeze_ecod(ecod.X_train), freeze_forest(forest.detector_), freeze_hbos(hbos))
    sample = claims[:300]
    rho = {}
    for name, detector, fz in zip(("ecod", "iforest", "hbos"), detectors, frozen, strict=True):
        one = np.array([detector.decision_function(r[None, :])[0] for r in sample])
        rho[f"{name}_one_at_a_time"] = float(spearmanr(one, fz.score(sample)).statistic)
        rho[f"{name}_whole_batch"] = float(
            spearmanr(detector.decision_function(sample), fz.score(sample)).statistic
        )
    return np.array(times), rho


def quality(model: Any, path: Path, labels: Labels, roster: MemoryRoster | None) -> dict[str, Any]:
    """ROC-AUC, AP, precision@k and per-pattern figures on a never-tuned seed."""
    history = featurise(facts_of_file(path))
    scored = score_vectors(model, history.facts, feature_matrix(history.frame), roster)
    frame = scored_frame(
        [s.identifier for s in scored],
        [f.hcode for f in history.facts],
        [s.score for s in scored],
        labels,
    )
    return evaluate(frame).as_dict()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--eval-claims", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args.claims, args.eval_claims)


def run(folder: Path, claims: int, eval_claims: int) -> None:
    started = time.perf_counter()
    write_history(folder / "train.ndjson", claims, seed=1)
    print(
        f"generated {claims:,} training claims in {time.perf_counter() - started:.1f} s "
        f"({(folder / 'train.ndjson').stat().st_size / 1e6:.0f} MB NDJSON)"
    )
    figures = train_in_child(folder / "train.ndjson", folder / "model.npz")
    per_million = figures["total_s"] * 1_000_000 / claims
    print(
        f"training on {claims:,} claims: {figures['total_s']:.1f} s (read+features "
        f"{figures['read_and_features_s']:.1f} s), peak RSS {figures['peak_rss_mb']:.0f} MB; "
        f"linear extrapolation to 1,000,000: {per_million:.0f} s"
    )
    artefact = (folder / "model.npz").read_bytes()
    model = load_model(artefact)
    print(f"artefact: {len(artefact) / 1024:.0f} KiB, peer groups {sorted(model.groups)}")
    for seed in EVAL_SEEDS:
        report_seed(folder, model, seed, eval_claims)


def report_seed(folder: Path, model: Any, seed: int, eval_claims: int) -> None:
    path = folder / f"eval-{seed}.ndjson"
    labels = write_history(path, eval_claims, seed)
    world = build_world(
        seed=seed, hospitals=default_network(), claims=eval_claims, rates=FraudRates()
    )
    roster = MemoryRoster.from_rows(roster_rows(world))
    for name, used in (("without roster", None), ("with roster", roster)):
        q = quality(model, path, labels, used)
        print(
            f"seed {seed} {name}: ROC-AUC {q['roc_auc']:.3f}, AP {q['average_precision']:.3f}, "
            f"precision@50/100/200 {q['precision_at']}, "
            f"colluding hospital rank {q['colluding_hospital_rank']}"
        )
        for pattern, auc in q["roc_auc_by_pattern"].items():
            print(
                f"    {pattern:16s} ROC-AUC {auc:.3f}  "
                f"recall in top 1% {q['recall_in_top_by_pattern'][pattern]:.2f}"
            )
    if seed == EVAL_SEEDS[0]:
        online_figures(model, path, roster)


def online_figures(model: Any, path: Path, roster: MemoryRoster) -> None:
    history = featurise(facts_of_file(path))
    memory = MemoryHistory()
    memory.extend(history.facts)
    ms = latency(model, history.facts[:3000], memory, roster)
    x = feature_matrix(history.frame)
    opd = np.array([peer_group(f) == "opd" for f in history.facts])
    train_x = x[opd]
    baseline, rho = pyod_baseline(train_x[: len(train_x) // 2], train_x[len(train_x) // 2 :])
    print(
        "online scoring per claim (features + rules + frozen model): "
        f"p50 {np.percentile(ms, 50):.3f} ms, "
        f"p99 {np.percentile(ms, 99):.3f} ms"
    )
    print(
        "plain pyod decision_function per claim "
        f"(ECOD+IForest+HBOS, {len(train_x) // 2:,} training rows): "
        f"p50 {np.percentile(baseline, 50):.1f} ms, p99 {np.percentile(baseline, 99):.1f} ms; "
        f"ratio p50 pyod/frozen {np.percentile(baseline, 50) / np.percentile(ms, 50):.0f}x"
    )
    print(
        "Spearman frozen vs pyod on held-out claims: "
        + ", ".join(f"{k} {v:.5f}" for k, v in rho.items())
    )


if __name__ == "__main__":
    main()
