"""Train pyod detectors per peer group, freeze them, and save or load the versioned artefact.

The artefact is one compressed NPZ: frozen detector parameters, per-detector rank knots that
turn a raw score into a training percentile, and JSON metadata (training window, features,
metrics, threshold). It holds no claim rows, identifiers or citizen IDs.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from fraud.columnar import workers_for
from fraud.compiled_forest import CompiledForest
from fraud.features import FEATURES
from fraud.forking import forked_pool
from fraud.frozen import (
    FrozenEcdf,
    FrozenEcod,
    FrozenForest,
    FrozenHbos,
    freeze_ecdf,
    freeze_ecod,
    freeze_forest,
    freeze_hbos,
)
from fraud.norms import Norms

if TYPE_CHECKING:
    from pyod.models.ecod import ECOD
    from pyod.models.hbos import HBOS
    from pyod.models.iforest import IForest

DETECTORS: Final = ("ecod", "iforest", "hbos")
POOLED: Final = "all"
MIN_GROUP_ROWS: Final = 200
RANK_KNOTS: Final = 2001
SCORE_SAMPLE: Final = 50_000
FOREST_FIT_ROWS: Final = 262_144
HBOS_BINS: Final = 20
HBOS_ALPHA: Final = 0.1
HBOS_TOL: Final = 0.5
SUMMARY_COLUMNS: Final = 5
ARTEFACT_FORMAT: Final = "claimgw-fraud-model/2"


@dataclass(frozen=True, slots=True)
class Threshold:
    """Where flagging starts: a percentile of training risk, or the top k claims per day."""

    mode: str
    value: float
    risk: float

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "value": self.value, "risk": self.risk}


@dataclass(frozen=True, slots=True)
class GroupModel:
    """The three frozen detectors of one peer group and their rank knots."""

    ecod: FrozenEcod
    forest: FrozenForest
    hbos: FrozenHbos
    knots: np.ndarray
    rows: int

    def raw_scores(self, x: np.ndarray) -> np.ndarray:
        """Each detector's raw score, one column per detector."""
        return np.column_stack([self.ecod.score(x), self.forest.score(x), self.hbos.score(x)])

    def score(self, x: np.ndarray) -> np.ndarray:
        """Mean training percentile of the three detectors (rank combination), in [0, 1]."""
        return self.score_and_share(x)[0]

    def score_and_below(
        self,
        x: np.ndarray,
        shifted: np.ndarray,
        forest: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The combined score of `x`, and training rows strictly below `shifted`, per feature.

        One ECDF lookup serves both (every step is element-wise, so rows never mix). `forest`
        scores as `self.forest.score` does, faster (batch: `CompiledForest.score`).
        """
        k = x.shape[0]
        at_or_below, below = self.ecod.ecdf.counts(np.vstack([x, shifted]))
        raw = np.column_stack(
            [
                self.ecod.score_counts(at_or_below[:k], below[:k]),
                (forest or self.forest.score)(x),
                self.hbos.score(x),
            ]
        )
        ranks = [
            np.searchsorted(self.knots[:, j], raw[:, j], side="right") / self.knots.shape[0]
            for j in range(raw.shape[1])
        ]
        return (ranks[0] + ranks[1] + ranks[2]) / 3, below[k:]

    def score_and_share(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The combined score and, per feature, the share of peer training claims strictly below."""
        at_or_below, below = self.ecod.ecdf.counts(x)
        raw = np.column_stack(
            [self.ecod.score_counts(at_or_below, below), self.forest.score(x), self.hbos.score(x)]
        )
        ranks = [
            np.searchsorted(self.knots[:, j], raw[:, j], side="right") / self.knots.shape[0]
            for j in range(raw.shape[1])
        ]
        return (ranks[0] + ranks[1] + ranks[2]) / 3, below / max(self.ecod.ecdf.rows, 1)

    def peer_percentile(self, x: np.ndarray) -> np.ndarray:
        """Share of the group's training claims at or below each feature value (0..1)."""
        at_or_below, _ = self.ecod.ecdf.counts(x)
        return np.asarray(at_or_below / max(self.ecod.ecdf.rows, 1))


@dataclass(slots=True)
class Calibration:
    """How much each signal weighs, learned from the training history (and labels, if any).

    - `rule_rate`: the share of training claims each rule fired on (evidence = -ln rate);
    - `evidence_knots`: quantiles of training evidence (unsupervised risk = training percentile);
    - `platt`: (a, b) of P(fraud) = sigmoid(a * evidence + b), fitted on labels;
    - `supervised`: a logistic combiner over every signal's evidence, fitted on labels.
    """

    rule_rate: dict[str, float] = field(default_factory=dict)
    rule_measured: list[str] = field(default_factory=list)
    evidence_knots: list[float] = field(default_factory=list)
    platt: list[float] | None = None
    supervised: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_rate": self.rule_rate,
            "rule_measured": self.rule_measured,
            "evidence_knots": self.evidence_knots,
            "platt": self.platt,
            "supervised": self.supervised,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(**data)


@dataclass(slots=True)
class FraudModel:
    """A trained, frozen model version."""

    version: str
    groups: dict[str, GroupModel]
    threshold: Threshold
    meta: dict[str, Any] = field(default_factory=dict)
    norms: Norms = field(default_factory=Norms)
    calibration: Calibration = field(default_factory=Calibration)

    def group_for(self, key: str, setting: str = "") -> tuple[str, GroupModel]:
        """The claim's own peer group (setting and first code), else its setting's, else pooled."""
        for name in (key, f"setting:{setting}"):
            if name in self.groups:
                return name, self.groups[name]
        return POOLED, self.groups[POOLED]


Progress = Callable[[str], None]


def train_groups(
    frame: pd.DataFrame, *, seed: int = 0, progress: Progress | None = None
) -> dict[str, GroupModel]:
    """Fit ECOD, IForest and HBOS on every peer group big enough, plus the pooled fallback."""
    x_all = frame.loc[:, list(FEATURES)].to_numpy(dtype=np.float64)
    groups = {POOLED: train_group(x_all, seed=seed)}
    names = pd.concat([frame["key"], "setting:" + frame["setting"]], ignore_index=True)
    rows = np.concatenate([np.arange(len(frame)), np.arange(len(frame))])
    for peer, index in names.groupby(names).indices.items():
        if len(index) >= MIN_GROUP_ROWS:
            if progress:
                progress(f"peer group {peer}: {len(index)} claims")
            groups[str(peer)] = train_group(x_all[rows[index]], seed=seed)
    return groups


def fit_detectors(x: np.ndarray, *, seed: int) -> tuple[ECOD, IForest, HBOS]:
    """The three pyod detectors, fitted."""
    from pyod.models.ecod import ECOD  # training only: the gateway never imports pyod
    from pyod.models.hbos import HBOS
    from pyod.models.iforest import IForest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pyod's skewness of constant columns
        ecod = ECOD().fit(x)
    forest = IForest(n_estimators=100, random_state=seed).fit(x)
    hbos = HBOS(n_bins=20).fit(x)
    return ecod, forest, hbos


def train_group(x: np.ndarray, *, seed: int) -> GroupModel:
    """Fit and freeze one peer group's detectors; rank knots from training scores."""
    ecod, forest, hbos = fit_detectors(x, seed=seed)
    draft = GroupModel(
        freeze_ecod(ecod.X_train),
        freeze_forest(forest.detector_),
        freeze_hbos(hbos),
        np.zeros((1, 3)),
        int(x.shape[0]),
    )
    sample = (
        x
        if x.shape[0] <= SCORE_SAMPLE
        else x[np.random.default_rng(seed).choice(x.shape[0], SCORE_SAMPLE, replace=False)]
    )
    raw = draft.raw_scores(sample)
    knots = np.quantile(raw, np.linspace(0, 1, min(RANK_KNOTS, raw.shape[0])), axis=0)
    return GroupModel(draft.ecod, draft.forest, draft.hbos, knots, draft.rows)


def train_groups_arrays(
    x: np.ndarray,
    key: np.ndarray,
    key_names: list[str],
    *,
    seed: int = 0,
    progress: Progress | None = None,
    processes: int | None = None,
) -> dict[str, GroupModel]:
    """`train_groups` over a feature matrix and each row's primary-key id (batch path).

    Every group is fitted on its own (its own seeded generators), so the groups are fitted in
    parallel worker processes, largest first, and the result is the same as one at a time.
    """
    jobs = [(POOLED, None), *_peer_rows(key, key_names)]
    fitted = dict(_fit_groups(x, jobs, seed=seed, progress=progress, processes=processes))
    return {name: fitted[name] for name, _ in jobs}


def _peer_rows(key: np.ndarray, key_names: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Each peer group big enough to fit (own primary key, or its setting) and its rows."""
    members: dict[str, list[int]] = {}
    for k, name in enumerate(key_names):
        members.setdefault(name, []).append(k)
        members.setdefault("setting:" + name.split("|", 1)[0], []).append(k)
    per_key = np.bincount(key, minlength=len(key_names))
    for peer in sorted(members):
        ids = np.array(members[peer])
        if per_key[ids].sum() >= MIN_GROUP_ROWS:
            yield peer, np.flatnonzero(np.isin(key, ids))


# The feature matrix the forked group workers read (inherited copy-on-write, never pickled).
_SHARED_X: np.ndarray | None = None


def _fit_groups(
    x: np.ndarray,
    jobs: list[tuple[str, np.ndarray | None]],
    *,
    seed: int,
    progress: Progress | None,
    processes: int | None,
) -> Iterator[tuple[str, GroupModel]]:
    """(name, fitted group) for every job, in the order they finish."""
    global _SHARED_X
    count = min(processes or workers_for(x.shape[0]), len(jobs))
    sizes = {name: x.shape[0] if rows is None else rows.shape[0] for name, rows in jobs}
    for name, _ in jobs:
        if progress:
            progress(f"peer group {name}: {sizes[name]} claims")
    if count <= 1:
        for name, rows in jobs:
            yield name, train_group_rows(x, rows, seed=seed)
        return
    from sklearn.ensemble import IsolationForest  # noqa: F401 -- imported once, before forking

    # Largest groups first, so that the workers finish at about the same time.
    ordered = sorted(jobs, key=lambda job: -sizes[job[0]])
    _SHARED_X = x
    try:
        with forked_pool(count) as pool:
            futures = [pool.submit(_fit_shared, (name, rows, seed)) for name, rows in ordered]
            for done in as_completed(futures):
                yield done.result()
    finally:
        _SHARED_X = None


def _fit_shared(job: tuple[str, np.ndarray | None, int]) -> tuple[str, GroupModel]:
    name, rows, seed = job
    assert _SHARED_X is not None
    return name, train_group_rows(_SHARED_X, rows, seed=seed)


def train_group_rows(x: np.ndarray, rows: np.ndarray | None, *, seed: int) -> GroupModel:
    """`train_group` on `x[rows]` (all rows when None) without pyod and without copying them.

    ECOD and HBOS are summaries of each column, computed here as pyod would (ECDF knots and
    skewness signs; `np.histogram` with 20 bins, alpha 0.1, tol 0.5). The isolation forest is
    scikit-learn's (pyod's IForest wraps it), fitted on at most `FOREST_FIT_ROWS` rows drawn at
    random: each tree sees only 256 of them anyway.
    """
    from sklearn.ensemble import IsolationForest  # training only

    count = x.shape[0] if rows is None else rows.shape[0]
    rng = np.random.default_rng(seed)

    def pick(index: np.ndarray | None) -> np.ndarray:
        if rows is None:
            return x if index is None else np.asarray(x[index])
        return np.asarray(x[rows] if index is None else x[rows[index]])

    ecod, hbos = _column_summaries(x, rows)
    fit_rows = (
        None
        if count <= FOREST_FIT_ROWS
        else np.sort(rng.choice(count, FOREST_FIT_ROWS, replace=False))
    )
    forest = IsolationForest(n_estimators=100, contamination="auto", random_state=seed)
    forest.fit(pick(fit_rows))
    frozen = freeze_forest(forest)
    sample = pick(
        None
        if count <= SCORE_SAMPLE
        else np.random.default_rng(seed).choice(count, SCORE_SAMPLE, replace=False)
    )
    raw = np.column_stack(
        [
            ecod.score(sample),
            CompiledForest.of(frozen, x.shape[1]).score(sample),
            hbos.score(sample),
        ]
    )
    knots = np.quantile(raw, np.linspace(0, 1, min(RANK_KNOTS, raw.shape[0])), axis=0)
    return GroupModel(ecod, frozen, hbos, knots, int(count))


def skewness(x: np.ndarray) -> np.ndarray:
    """`scipy.stats.skew(x, axis=0)` (biased), with scipy 1.17's arithmetic step for step.

    The mean, the deviations, the mean of their squares and of squares × deviations, and the
    zero-variance test, each as scipy computes it, so the values are the same bit for bit
    (tested); without scipy's precision checks and copies it takes a twentieth of the time
    (1.9 s of the 3 s fit of a million-claim group). Columns are summed row by row, as pyod's
    2-D fit sums them: a column summed alone (pairwise) could change a near-constant column's
    sign.
    """
    mean = np.mean(x, axis=0, keepdims=True)
    deviation = x - mean
    power = deviation**2
    m2 = np.mean(power, axis=0)
    power *= deviation
    m3 = np.mean(power, axis=0)
    with np.errstate(all="ignore"):
        zero = m2 <= (np.finfo(m2.dtype).eps * np.squeeze(mean, axis=0)) ** 2
        return np.asarray(np.where(zero, np.nan, m3 / m2**1.5))


def _column_summaries(x: np.ndarray, rows: np.ndarray | None) -> tuple[FrozenEcod, FrozenHbos]:
    """ECOD's and HBOS's per-column summaries of `x[rows]` (all rows when None).

    A few columns at a time, copied out together: the skewness sums a block's columns row by
    row as it would the whole matrix (never a column alone, see `skewness`), and a group of
    4,000,000 claims holds one block's copy (160 MB), not the whole group's.
    """
    signs, values, at_or_below, below, hist, edges = [], [], [], [], [], []
    for columns in np.array_split(np.arange(x.shape[1]), max(1, x.shape[1] // SUMMARY_COLUMNS)):
        low, high = int(columns[0]), int(columns[-1]) + 1
        block = np.ascontiguousarray(x[:, low:high] if rows is None else x[rows, low:high])
        signs.append(np.sign(np.nan_to_num(skewness(block))))  # constant: NaN, sign 0 (as pyod)
        for column in block.T:
            ecdf = freeze_ecdf(column[:, None])
            values.append(ecdf.values[0])
            at_or_below.append(ecdf.at_or_below_counts[0])
            below.append(ecdf.below_counts[0])
            density, bins = np.histogram(column, bins=HBOS_BINS, density=True)
            hist.append(density)
            edges.append(bins)
    count = x.shape[0] if rows is None else rows.shape[0]
    ecod = FrozenEcod(
        FrozenEcdf(tuple(values), tuple(at_or_below), tuple(below), int(count)),
        np.concatenate(signs).astype(np.float64),
    )
    hbos = FrozenHbos(np.column_stack(edges), np.log2(np.column_stack(hist) + HBOS_ALPHA), HBOS_TOL)
    return ecod, hbos


def choose_threshold(risk: np.ndarray, days: int, *, mode: str, value: float) -> Threshold:
    """The risk at which flagging starts: `percentile` (e.g. 99) or `top_k_per_day` (e.g. 20)."""
    if mode == "percentile":
        share = 1 - value / 100
    elif mode == "top_k_per_day":
        share = min(1.0, value * max(days, 1) / max(len(risk), 1))
    else:
        raise ValueError(f"unknown threshold mode {mode!r}")
    cut = float(np.quantile(risk, 1 - share)) if len(risk) else 1.0
    return Threshold(mode, float(value), cut)


def new_version(now: datetime | None = None) -> str:
    """A sortable version name."""
    return (now or datetime.now(UTC)).strftime("fwa-%Y%m%d-%H%M%S")


def dump_model(model: FraudModel) -> bytes:
    """The artefact: compressed NPZ of frozen parameters plus JSON metadata."""
    arrays: dict[str, np.ndarray] = {}
    for name, group in model.groups.items():
        _dump_group(arrays, name, group)
    meta = {
        "format": ARTEFACT_FORMAT,
        "version": model.version,
        "groups": sorted(model.groups),
        "threshold": model.threshold.as_dict(),
        "features": list(FEATURES),
        "norms": model.norms.as_dict(),
        "calibration": model.calibration.as_dict(),
        **model.meta,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def _dump_group(arrays: dict[str, np.ndarray], name: str, group: GroupModel) -> None:
    p = f"{name}."
    ecdf = group.ecod.ecdf
    for j, (v, le, lt) in enumerate(
        zip(ecdf.values, ecdf.at_or_below_counts, ecdf.below_counts, strict=True)
    ):
        arrays[f"{p}ecdf.{j}.values"], arrays[f"{p}ecdf.{j}.le"], arrays[f"{p}ecdf.{j}.lt"] = (
            v,
            le,
            lt,
        )
    arrays[f"{p}ecod.skew"] = group.ecod.skew_sign
    arrays[f"{p}ecod.rows"] = np.array([ecdf.rows, group.rows, group.forest.depth])
    f = group.forest
    arrays[f"{p}forest.feature"], arrays[f"{p}forest.threshold"] = (
        f.feature.astype(np.int32),
        f.threshold,
    )
    arrays[f"{p}forest.left"], arrays[f"{p}forest.right"] = (
        f.left.astype(np.int32),
        f.right.astype(np.int32),
    )
    arrays[f"{p}forest.path"], arrays[f"{p}forest.normaliser"] = f.path, np.array([f.normaliser])
    arrays[f"{p}hbos.edges"], arrays[f"{p}hbos.log_density"] = (
        group.hbos.edges,
        group.hbos.log_density,
    )
    arrays[f"{p}hbos.tol"], arrays[f"{p}knots"] = np.array([group.hbos.tol]), group.knots


def load_model(data: bytes) -> FraudModel:
    """A model from its artefact bytes."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes().decode())
    if meta.get("format") != ARTEFACT_FORMAT:
        raise ValueError(f"not a fraud model artefact: {meta.get('format')!r}")
    if meta["features"] != list(FEATURES):
        raise ValueError("the artefact was trained on other features than this code computes")
    groups = {name: _load_group(arrays, name, len(meta["features"])) for name in meta["groups"]}
    t = meta.pop("threshold")
    norms = Norms.from_dict(meta.pop("norms"))
    calibration = Calibration.from_dict(meta.pop("calibration"))
    extra = {k: v for k, v in meta.items() if k not in ("format", "version", "groups", "features")}
    threshold = Threshold(t["mode"], t["value"], t["risk"])
    return FraudModel(meta["version"], groups, threshold, extra, norms, calibration)


def _load_group(arrays: dict[str, np.ndarray], name: str, width: int) -> GroupModel:
    p = f"{name}."
    rows, group_rows, depth = (int(v) for v in arrays[f"{p}ecod.rows"])
    ecdf = FrozenEcdf(
        tuple(arrays[f"{p}ecdf.{j}.values"] for j in range(width)),
        tuple(arrays[f"{p}ecdf.{j}.le"] for j in range(width)),
        tuple(arrays[f"{p}ecdf.{j}.lt"] for j in range(width)),
        rows,
    )
    forest = FrozenForest(
        arrays[f"{p}forest.feature"].astype(np.int64),
        arrays[f"{p}forest.threshold"],
        arrays[f"{p}forest.left"].astype(np.int64),
        arrays[f"{p}forest.right"].astype(np.int64),
        arrays[f"{p}forest.path"],
        depth,
        float(arrays[f"{p}forest.normaliser"][0]),
    )
    hbos = FrozenHbos(
        arrays[f"{p}hbos.edges"], arrays[f"{p}hbos.log_density"], float(arrays[f"{p}hbos.tol"][0])
    )
    return GroupModel(
        FrozenEcod(ecdf, arrays[f"{p}ecod.skew"]), forest, hbos, arrays[f"{p}knots"], group_rows
    )
