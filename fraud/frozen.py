"""pyod detectors frozen into plain numpy parameters, and their scoring without pyod.

- ECOD: per feature, the training ECDF as knots (values and cumulative counts) and the sign of
  the skewness. pyod recomputes the ECDF over training rows plus the scored batch; the frozen
  form counts the scored value in as one extra row, so a claim's score never depends on its
  batch and stays rank-equivalent to pyod on held-out data.
- IForest: every tree's split features, thresholds, children and per-node path length.
- HBOS: per feature, bin edges and log-densities.
No training row is kept, only distribution summaries.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from scipy.stats import skew

MAX_KNOTS: Final = 4096
FOREST_ROWS: Final = 2048


def row_sum(values: np.ndarray) -> np.ndarray:
    """Each row's sum, added strictly left to right.

    `ndarray.sum` picks pairwise or sequential order depending on the array's shape, so a row
    summed alone could differ in the last bit from the same row in a batch; a running sum cannot.
    """
    return np.asarray(np.cumsum(values, axis=1)[:, -1])


@dataclass(frozen=True, slots=True)
class FrozenEcdf:
    """Per-feature ECDF knots: sorted values, training rows at or below and strictly below each."""

    values: tuple[np.ndarray, ...]
    at_or_below_counts: tuple[np.ndarray, ...]
    below_counts: tuple[np.ndarray, ...]
    rows: int
    padded: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "padded", _pad(self.values, self.at_or_below_counts, self.below_counts)
        )

    def counts(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training rows at or below, and strictly below, each value (n × features).

        Exact at a knot; between two thinned knots the rows in the gap are spread linearly.
        Every step is element-wise, so a row's result never depends on the other rows.
        """
        v, le, lt, sizes = self.padded
        f = np.arange(len(self.values))
        idx = np.column_stack(
            [np.searchsorted(knots, x[:, j], side="right") for j, knots in enumerate(self.values)]
        )
        lo, hi = np.maximum(idx - 1, 0), np.minimum(idx, sizes - 1)
        v_lo, v_hi, le_lo = v[f, lo], v[f, hi], le[f, lo]
        on_knot = (idx > 0) & (v_lo == x)
        base = np.where(idx > 0, le_lo, 0.0)
        inside = (idx > 0) & (idx < sizes)
        span = np.where(v_hi > v_lo, v_hi - v_lo, 1.0)
        share = np.minimum(np.maximum((x - v_lo) / span, 0.0), 1.0)
        between = base + np.where(inside, (lt[f, hi] - le_lo) * share, 0.0)
        return np.where(on_knot, le_lo, between), np.where(on_knot, lt[f, lo], between)


def _pad(
    values: tuple[np.ndarray, ...], le: tuple[np.ndarray, ...], lt: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Knots of all features in one (features × knots) array, each row padded with its last knot."""
    width = max(len(v) for v in values)
    stacked = [
        np.stack([np.pad(a, (0, width - len(a)), mode="edge") for a in arrays])
        for arrays in (values, le, lt)
    ]
    return stacked[0], stacked[1], stacked[2], np.array([len(v) for v in values])


def freeze_ecdf(train: np.ndarray) -> FrozenEcdf:
    """ECDF knots of every column; thinned to MAX_KNOTS quantiles when a column has more values."""
    values, at_or_below, below = [], [], []
    for column in train.T:
        unique, per_value = np.unique(column, return_counts=True)
        cumulative = np.cumsum(per_value).astype(np.float64)
        strictly = cumulative - per_value
        if len(unique) > MAX_KNOTS:
            keep = np.unique(np.linspace(0, len(unique) - 1, MAX_KNOTS).round().astype(int))
            unique, cumulative, strictly = unique[keep], cumulative[keep], strictly[keep]
        values.append(unique.astype(np.float64))
        at_or_below.append(cumulative)
        below.append(strictly)
    return FrozenEcdf(tuple(values), tuple(at_or_below), tuple(below), int(train.shape[0]))


@dataclass(frozen=True, slots=True)
class FrozenEcod:
    """ECOD from its ECDF knots and skewness signs."""

    ecdf: FrozenEcdf
    skew_sign: np.ndarray

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.score_counts(*self.ecdf.counts(x))

    def score_counts(self, at_or_below: np.ndarray, below: np.ndarray) -> np.ndarray:
        """ECOD from ECDF counts, counting the scored value in as one more row (as pyod does)."""
        n = self.ecdf.rows + 1
        left = (at_or_below + 1) / n
        right = (self.ecdf.rows - below + 1) / n
        u_left, u_right = -np.log(left), -np.log(right)
        u_skew = u_left * -np.sign(self.skew_sign - 1) + u_right * np.sign(self.skew_sign + 1)
        return row_sum(np.maximum(np.maximum(u_left, u_right), u_skew))


def freeze_ecod(train: np.ndarray) -> FrozenEcod:
    """ECOD's parameters from its training matrix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant columns: skewness 0, as in pyod
        signs = np.sign(np.nan_to_num(skew(train, axis=0)))
    return FrozenEcod(freeze_ecdf(train), signs)


@dataclass(frozen=True, slots=True)
class FrozenForest:
    """An isolation forest as padded arrays, one row per tree."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    path: np.ndarray
    depth: int
    normaliser: float

    flat: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)
    steps: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        trees, width = self.feature.shape
        offset = (np.arange(trees) * width)[:, None]
        left = np.where(self.left >= 0, self.left + offset, -1).ravel()
        right = np.where(self.right >= 0, self.right + offset, -1).ravel()
        object.__setattr__(
            self,
            "flat",
            (
                self.feature.ravel(),
                self.threshold.ravel(),
                left,
                right,
                self.path.ravel(),
                offset.ravel(),
            ),
        )
        # Leaves point to themselves and split on column 0, so every row takes `depth` steps
        # without a mask. Built once: per call it was most of the time of a one-claim score.
        inner = self.feature.ravel() >= 0
        own = np.arange(inner.shape[0])
        split = np.where(inner, self.feature.ravel(), 0).astype(np.intp)
        children = np.column_stack([np.where(inner, left, own), np.where(inner, right, own)])
        object.__setattr__(self, "steps", (split, children.ravel()))

    def score(self, x: np.ndarray) -> np.ndarray:
        """2^(-mean path length / c(max_samples)) - 0.5; sklearn compares float32 features."""
        _, threshold, _, _, path, roots = self.flat
        # Rows go in blocks that stay in cache (the same leaves, faster).
        split, children = self.steps
        xs = x.astype(np.float32).astype(np.float64)
        leaves = np.empty((xs.shape[0], roots.shape[0]), dtype=np.intp)
        for start in range(0, xs.shape[0], FOREST_ROWS):
            block = xs[start : start + FOREST_ROWS]
            node = np.repeat(roots[None, :], block.shape[0], axis=0)
            row = np.arange(block.shape[0])[:, None]
            for _ in range(self.depth):
                go_right = ~(block[row, split[node]] <= threshold[node])
                node = children[2 * node + go_right]
            leaves[start : start + FOREST_ROWS] = node
        return np.asarray(2 ** (-row_sum(path[leaves]) / self.normaliser) - 0.5)


def freeze_forest(forest: Any) -> FrozenForest:
    """Trees of a fitted sklearn IsolationForest (as wrapped by pyod's IForest)."""
    trees = [est.tree_ for est in forest.estimators_]
    width = max(t.node_count for t in trees)
    shape = (len(trees), width)
    feature, left, right = (np.full(shape, -1, np.int64) for _ in range(3))
    threshold, path = np.zeros(shape), np.zeros(shape)
    for i, (tree, per_node, depths) in enumerate(
        zip(trees, forest._average_path_length_per_tree, forest._decision_path_lengths, strict=True)
    ):
        n = tree.node_count
        feature[i, :n] = np.where(tree.children_left[:n] >= 0, tree.feature[:n], -1)
        threshold[i, :n], left[i, :n], right[i, :n] = (
            tree.threshold[:n],
            tree.children_left[:n],
            tree.children_right[:n],
        )
        path[i, :n] = depths + per_node - 1.0
    depth = max(t.max_depth for t in trees) + 1
    normaliser = len(trees) * _average_path_length(forest._max_samples)
    return FrozenForest(feature, threshold, left, right, path, depth, normaliser)


def _average_path_length(n: int) -> float:
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return float(2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n)


@dataclass(frozen=True, slots=True)
class FrozenHbos:
    """HBOS histograms: per feature, bin edges and log2(density + alpha)."""

    edges: np.ndarray
    log_density: np.ndarray
    tol: float

    def score(self, x: np.ndarray) -> np.ndarray:
        edges, dens = self.edges, self.log_density
        bins = edges.shape[0] - 1
        f = np.arange(edges.shape[1])
        idx = (edges[None, :, :] < x[:, None, :]).sum(axis=1)
        inner = dens[np.minimum(np.maximum(idx - 1, 0), bins - 1), f]
        below_near = (edges[0] - x) <= (edges[1] - edges[0]) * self.tol
        above_near = (x - edges[-1]) <= (edges[-1] - edges[-2]) * self.tol
        lowest = dens.min(axis=0)
        low = np.where(below_near, dens[0], lowest)
        high = np.where(above_near, dens[bins - 1], lowest)
        return np.asarray(-row_sum(np.where(idx == 0, low, np.where(idx == bins + 1, high, inner))))


def freeze_hbos(hbos: Any) -> FrozenHbos:
    """Histograms of a fitted pyod HBOS (fixed bin count)."""
    return FrozenHbos(
        np.asarray(hbos.bin_edges_, dtype=np.float64),
        np.log2(np.asarray(hbos.hist_, dtype=np.float64) + hbos.alpha),
        float(hbos.tol),
    )
