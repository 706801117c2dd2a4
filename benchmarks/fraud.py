"""Fraud analytics figures: quality under robustness checks, and (`--timing`) speed.

Run: `.venv/bin/python benchmarks/fraud.py --claims 20000 --eval-claims 20000 [--checks ...]`.
Training history uses seed 1; evaluation uses seeds 101 and 102, never looked at while tuning
(development used seeds 2 and 7). Checks (each rewrites history and evaluation alike):
- `baseline`: the generator as it is;
- `unknown_codes`: every item code replaced by an opaque code the tariff does not know;
- `price_level`: every hospital's prices multiplied by its own factor in 0.5–2×;
- `calendar`: every hospital's service times shifted by its own −12…+12 hours;
- `clean_history`: trained on a history without any fraud;
- `all_three_clean_history`: the three rewrites at once on a clean history;
- `clean_eval`: no fraud in the history nor in the evaluation set (the flag rate is the
  false-alarm rate);
- `synthea`: claims built from the Synthea fixtures (codes, prices and hours we did not write,
  see `fraud/synthea.py`), trained on a clean and on a fraud-bearing history.
Every timing is measured in this run; the pyod baseline is measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `fraud` package; the repository root goes there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import numpy as np  # noqa: E402
import orjson  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from fraud.audit import score_claims  # noqa: E402
from fraud.evaluate import Labels, evaluate, scored_frame  # noqa: E402
from fraud.facts import facts_from_bundle  # noqa: E402
from fraud.features import feature_matrix, peer_group  # noqa: E402
from fraud.history import MemoryHistory  # noqa: E402
from fraud.model import dump_model, fit_detectors, load_model  # noqa: E402
from fraud.providers import period_alerts  # noqa: E402
from fraud.rules import MemoryRoster  # noqa: E402
from fraud.scoring import OnlineScorer  # noqa: E402
from fraud.synth import (  # noqa: E402
    FraudRates,
    LabelledBundle,
    build_world,
    default_network,
    generate_history,
    roster_rows,
)
from fraud.training import facts_of_file, featurise, normed, train_model  # noqa: E402

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


def quality(
    model: Any, facts: list[Any], labels: Labels, roster: MemoryRoster | None
) -> dict[str, Any]:
    """ROC-AUC, AP, precision@k, per-pattern figures, calibration and hospital rank."""
    scored = score_claims(model, facts, roster)
    frame = scored_frame(
        [s.identifier for s in scored],
        [f.hcode for f in facts],
        [s.score for s in scored],
        labels,
        flagged=[s.flagged for s in scored],
        price_alerts=period_alerts(facts, model.norms),
    )
    out: dict[str, Any] = evaluate(frame, threshold=model.threshold.risk).as_dict()
    if scored and scored[0].supervised is not None:
        frame["score"] = [s.supervised for s in scored]
        sup = evaluate(frame)
        out["supervised"] = {
            "roc_auc": sup.roc_auc,
            "average_precision": sup.average_precision,
            "precision_at": {str(k): v for k, v in sup.precision_at.items()},
        }
    return out


# Robustness checks: each rewrites the facts of training history and evaluation set alike.
def _opaque_codes(facts: list[Any], seed: int) -> list[Any]:
    def opaque(code: str) -> str:
        return "C" + hashlib.blake2b(f"{seed}:{code}".encode(), digest_size=4).hexdigest()

    return [replace(f, codes=tuple(opaque(c) for c in f.codes)) for f in facts]


def _price_level(facts: list[Any], seed: int) -> list[Any]:
    def level(hcode: str) -> float:
        return math.exp(random.Random(f"{seed}:{hcode}").uniform(math.log(0.5), math.log(2.0)))

    return [
        replace(
            f,
            unit_prices=tuple(u * level(f.hcode) for u in f.unit_prices),
            total=f.total * level(f.hcode),
        )
        for f in facts
    ]


def _calendar(facts: list[Any], seed: int) -> list[Any]:
    def shift(hcode: str) -> int:
        return random.Random(f"{seed}:{hcode}").randrange(-12, 13)

    out = []
    for f in facts:
        if f.hour < 0:
            out.append(f)
            continue
        hours = f.hour + shift(f.hcode)
        out.append(replace(f, hour=hours % 24, day=f.day + timedelta(days=hours // 24)))
    return out


TRANSFORMS: dict[str, tuple[Any, ...]] = {
    "unknown_codes": (_opaque_codes,),
    "price_level": (_price_level,),
    "calendar": (_calendar,),
    "all_three": (_opaque_codes, _price_level, _calendar),
}
CHECKS = (
    "baseline",
    "unknown_codes",
    "price_level",
    "calendar",
    "clean_history",
    "all_three_clean_history",
    "clean_eval",
    "synthea",
)


def _items(claims: int, seed: int, scale: float = 1.0) -> list[LabelledBundle]:
    return list(
        generate_history(
            claims=claims,
            seed=seed,
            hospitals=default_network(),
            end=END,
            rates=FraudRates().scaled(scale),
        )
    )


def _roster(seed: int, claims: int) -> MemoryRoster:
    world = build_world(seed=seed, hospitals=default_network(), claims=claims, rates=FraudRates())
    return MemoryRoster.from_rows(roster_rows(world))


def _facts(items: list[LabelledBundle], transforms: tuple[Any, ...]) -> list[Any]:
    facts = [facts_from_bundle(i.bundle) for i in items]
    for transform in transforms:
        facts = transform(facts, 7)
    return facts


def _labels(items: list[LabelledBundle]) -> Labels:
    return Labels({i.identifier: i.label for i in items}, {i.identifier: i.pattern for i in items})


def check(name: str, claims: int, eval_claims: int, seeds: tuple[int, ...]) -> list[dict[str, Any]]:
    """Train on seed 1 and evaluate on `seeds`, with and without the roster, for one check."""
    if name == "synthea":
        return _synthea_check(claims, eval_claims, seeds)
    transforms = TRANSFORMS.get(name.removesuffix("_clean_history"), ())
    clean = name.endswith("clean_history") or name == "clean_eval"
    train_items = _items(claims, 1, 0.0 if clean else 1.0)
    started = time.perf_counter()
    model = train_model(
        featurise(_facts(train_items, transforms)),
        seed=0,
        version=f"bench-{name}",
        labels=_labels(train_items).label,
        roster=_roster(1, claims),
    )
    fit = time.perf_counter() - started
    rows = []
    for seed in seeds:
        items = _items(eval_claims, seed, 0.0 if name == "clean_eval" else 1.0)
        facts, labels = _facts(items, transforms), _labels(items)
        for roster_name, roster in (("no", None), ("yes", _roster(seed, eval_claims))):
            q = quality(model, facts, labels, roster)
            rows.append({"check": name, "seed": seed, "roster": roster_name, "fit_s": fit, **q})
    return rows


def _synthea_check(claims: int, eval_claims: int, seeds: tuple[int, ...]) -> list[dict[str, Any]]:
    from fraud.synthea import synthea_history

    rows = []
    for scale, name in ((0.0, "synthea_clean_history"), (1.0, "synthea")):
        train_items = list(synthea_history(claims=claims, seed=1, end=END, fraud_scale=scale))
        model = train_model(
            featurise(_facts(train_items, ())),
            seed=0,
            version=f"bench-{name}",
            labels=_labels(train_items).label,
        )
        for seed in seeds:
            items = list(synthea_history(claims=eval_claims, seed=seed, end=END))
            q = quality(model, _facts(items, ()), _labels(items), None)
            rows.append({"check": name, "seed": seed, "roster": "n/a", **q})
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    """One line per check, seed and roster, then per-pattern ROC-AUC."""
    for r in rows:
        p = r["precision_at"]
        sup = r.get("supervised")
        print(
            f"{r['check']:24s} seed {r['seed']} roster {r['roster']:3s} "
            f"ROC-AUC {_f(r['roc_auc'])} AP {_f(r['average_precision'])} "
            f"P@50 {_f(p.get('50'))} P@100 {_f(p.get('100'))} P@200 {_f(p.get('200'))} "
            f"flagged {r['flagged_share']:.2%} ECE {_f(r['calibration'].get('ece'))} "
            f"colluder rank {r['colluding_hospital_rank']}"
            + (
                f" | supervised ROC-AUC {_f(sup['roc_auc'])} "
                f"P@100 {_f(sup['precision_at'].get('100'))}"
                if sup
                else ""
            )
        )
        print(
            "    " + ", ".join(f"{k} {_f(v)}" for k, v in sorted(r["roc_auc_by_pattern"].items()))
        )


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20_000, help="training history size")
    parser.add_argument("--eval-claims", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(EVAL_SEEDS))
    parser.add_argument("--checks", nargs="*", default=list(CHECKS), choices=CHECKS)
    parser.add_argument("--timing", action="store_true", help="training time, latency, pyod")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.timing:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), args.claims, args.eval_claims)
    for name in args.checks:
        print_rows(check(name, args.claims, args.eval_claims, tuple(args.seeds)))
        sys.stdout.flush()
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


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
    print(f"artefact: {len(artefact) / 1024:.0f} KiB, peer groups {len(model.groups)}")
    path = folder / "eval.ndjson"
    write_history(path, eval_claims, EVAL_SEEDS[0])
    online_figures(model, path, _roster(EVAL_SEEDS[0], eval_claims))


def online_figures(model: Any, path: Path, roster: MemoryRoster) -> None:
    history = normed(featurise(facts_of_file(path)), model.norms)
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
