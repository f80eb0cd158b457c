"""How fast are the bootstrap tests of rationality and envy-freeness?

Times one fair-use audit (rationality and envy-freeness of one personalized
model with ``m`` groups: a pool of ``1 + m`` candidates scored on every row)
with the vectorized bootstrap of :mod:`fairuse_estimators._stats`, against a
straightforward implementation that loops over replicates and groups and
recomputes the metric on the resampled rows with scikit-learn, as published
research code does. Both use B replicates on the same data.

The loop is timed on ``--loop-replicates`` replicates and its time scaled
linearly to B (the loop does the same work for every replicate); the ratio
printed is loop time / vectorized time at the same n and B.

Run from the repository root::

    .venv/bin/python benchmarks/audit_speed.py
"""

import argparse
import platform
import time

import numpy as np
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score

from fairuse_estimators._audit import fair_use_statistics
from fairuse_estimators._metrics import Evidence, risk_matrix
from fairuse_estimators._stats import TestOptions


def simulate(n, n_groups, seed=0):
    """Labels, group ids and 1 + m candidates' labels and scores; for
    ``squared_error`` a continuous target (``y`` plus the shared signal) and
    the scores as predicted values."""
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=n)
    group_ids = rng.integers(n_groups, size=n)
    shared = rng.normal(size=n)
    scores = np.array(
        [y * (1 + 0.05 * c) + shared + rng.normal(size=n) for c in range(n_groups + 1)]
    )
    return group_ids, {
        "error": (y, (scores > 0.5).astype(np.intp)),
        "auc": (y, scores),
        "squared_error": (y + shared, scores),
    }


def vectorized(metric, y, group_ids, evidence, n_bootstrap):
    n_groups = int(group_ids.max()) + 1
    start = time.perf_counter()
    record = Evidence(metric, y, evidence, group_ids, n_groups)
    fair_use_statistics(
        record,
        risk_matrix(record),
        np.arange(1, n_groups + 1)[None],
        TestOptions("bootstrap", 0.1, "holm", n_bootstrap, 0),
    )
    return time.perf_counter() - start


def loop(metric, y, group_ids, evidence, n_bootstrap):
    """Per replicate and group: resample rows, recompute every comparison."""
    score = {
        "error": lambda t, p: 1 - accuracy_score(t, p),
        "auc": lambda t, p: 1 - roc_auc_score(t, p),
        "squared_error": mean_squared_error,
    }[metric]
    rng = np.random.default_rng(0)
    n_groups = int(group_ids.max()) + 1
    start = time.perf_counter()
    for _ in range(n_bootstrap):
        for g in range(n_groups):
            rows = np.flatnonzero(group_ids == g)
            # Within label for the classification metrics; a continuous
            # target's rows are resampled as they are.
            by = np.zeros(len(rows)) if metric == "squared_error" else y[rows]
            strata = [rows[by == label] for label in np.unique(by)]
            sample = np.concatenate([rng.choice(s, size=len(s)) for s in strata])
            own = score(y[sample], evidence[1 + g, sample])
            generic = score(y[sample], evidence[0, sample])
            _ = generic - own
            for other in range(n_groups):
                if other != g:
                    _ = score(y[sample], evidence[1 + other, sample]) - own
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--groups", type=int, default=6)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--loop-replicates", type=int, default=20)
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {platform.python_version()}; "
        f"B={args.replicates}, {args.groups} groups, {args.groups + 1} candidates"
    )
    columns = ("metric", "n", "vectorized s", "loop s (scaled)", "ratio")
    print(" ".join(f"{c:>{w}}" for c, w in zip(columns, (13, 8, 13, 16, 7))))
    for metric in ("error", "auc", "squared_error"):
        for n in args.n:
            group_ids, found = simulate(n, args.groups)
            y, evidence = found[metric]
            fast = vectorized(metric, y, group_ids, evidence, args.replicates)
            slow = loop(metric, y, group_ids, evidence, args.loop_replicates) * (
                args.replicates / args.loop_replicates
            )
            print(
                f"{metric:>13} {n:>8} {fast:>13.2f} {slow:>16.1f} {slow / fast:>7.0f}"
            )


if __name__ == "__main__":
    main()
