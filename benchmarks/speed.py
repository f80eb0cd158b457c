"""Speed and memory of FairUseClassifier and FairUseRegressor against the work
they cannot avoid.

Sections (each prints ratios measured side by side in one run):

- ``overhead``: ``FairUseClassifier(LogisticRegression()).fit`` on n x 20
  features with 6 groups, ``n_jobs=1``, against the same base fits done by
  hand on the same arrays (same folds, same refits). Everything else the
  classifier does (encoding, splitting, scoring, tests, routing) is overhead.
  A second reference adds, by hand, the held-out predictions the
  out-of-fold evidence cannot do without, so that the ratio to it is the
  overhead of everything else. Measured with one BLAS thread, with BLAS as
  installed, and as installed with a CPU-bound process on another core.
- ``regression``: the same for ``FairUseRegressor(LinearRegression())`` on
  the same rows with a continuous target (splits stratified by group).
- ``parallel``: ``n_jobs=2`` against ``n_jobs=1`` in interleaved pairs (and
  that the routes and predictions are identical).
- ``predict``: routed ``predict_proba`` on 1,000,000 rows against the usual
  one-hot pipeline (``ColumnTransformer(OneHotEncoder(groups), passthrough)``
  and the same base) on the same DataFrame, then the latency of one row at a
  time (the median of 200 interleaved calls each).
- ``ensemble``: what deploying the fold models (``ensemble=True``) costs
  against refitting (the default): fit time, ``predict_proba`` time on the
  prediction rows and the size of the pickled model, for logistic regression
  (n rows) and histogram gradient boosting (n / 5 rows).
- ``memory``: peak resident memory on 1,000,000 x 20 float64, each in a fresh
  process: ``fit`` with 6 groups (goal 1 GB), ``fit`` then ``audit`` on the
  training rows with 64 groups (goal 2.5 GB for each; the audit's figure is
  the peak of the whole process, so never below the fit's).
- ``scaling``: fit and audit time for m = 4, 16, 64 groups and
  n = 10^4, 10^5, 10^6.

Run from the repository root::

    .venv/bin/python benchmarks/speed.py                 # every section
    .venv/bin/python benchmarks/speed.py overhead predict
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from fairuse_estimators import FairUseClassifier, FairUseRegressor
from fairuse_estimators._evidence import make_splits
from fairuse_estimators._groups import encode_groups, split_columns
from fairuse_estimators._metrics import n_labels


def make_data(n, n_features=20, levels=(2, 3), seed=0):
    """Features, group columns with the given numbers of levels, and labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    codes = [rng.integers(k, size=n) for k in levels]
    group = np.ravel_multi_index(codes, levels)
    shift = rng.normal(scale=0.7, size=int(np.prod(levels)))
    logits = X[:, 0] + 0.5 * X[:, 1] + shift[group] + rng.logistic(size=n)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(n_features)])
    names = [f"g{j}" for j in range(len(levels))]
    for name, code, k in zip(names, codes, levels):
        frame[name] = np.array([f"level{c}" for c in range(k)])[code]
    return frame, (logits > 0).astype(int), names


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def hand_fits(clf, X, y, names, score=False):
    """The base fits a fitted ``clf`` performed, redone by hand; with
    ``score``, each fold's models also predict the fold's held-out rows as
    every candidate they serve (a block variant's model once per reported
    group), the least the out-of-fold evidence needs."""
    # The same feature array, groups and splits as the classifier's stages.
    features, columns = split_columns(X, clf.group_indices_)
    encoding, group_ids = encode_groups(columns, names)
    classes = getattr(clf, "classes_", None)  # None: a regressor's values
    y_codes = y if classes is None else np.searchsorted(classes, y)
    splits, refit = make_splits(
        clf.cv, y_codes, group_ids, n_labels(classes), clf.random_state
    )
    trainings = [(train, test) for train, test in splits]
    trainings += [(np.arange(len(y)), None)] if refit else []
    all_groups = np.arange(encoding.n_groups)
    blocks = {
        "onehot": (encoding.onehot_block(group_ids), encoding.onehot_block(all_groups)),
        "intersectional": (
            encoding.intersectional_block(group_ids),
            encoding.intersectional_block(all_groups),
        ),
    }
    decoupled = [g for g, model in enumerate(clf.estimators_["decoupled"]) if model]
    base = clf.estimator
    predict = getattr(base, "predict_proba", None) if clf.metric != "error" else None

    def scored(model, design):
        return model.predict_proba(design) if predict else model.predict(design)

    def run():
        for train, test in trainings:
            scoring = score and test is not None
            model = clone(base).fit(features[train], y_codes[train])
            if scoring:
                scored(model, features[test])
            for block, reported in blocks.values():
                design = np.hstack([features[train], block[train]])
                model = clone(base).fit(design, y_codes[train])
                if scoring:
                    rows = features[test]
                    scored(
                        model,
                        np.vstack(
                            [
                                np.hstack([rows, np.tile(r, (len(rows), 1))])
                                for r in reported
                            ]
                        ),
                    )
            for g in decoupled:
                rows = train[group_ids[train] == g]
                model = clone(base).fit(features[rows], y_codes[rows])
                if scoring:
                    scored(model, features[test])

    return timed(run)[0]


@contextmanager
def busy_core():
    """A CPU-bound process running on another core for the duration."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it start spinning
        yield
    finally:
        spinner.kill()
        spinner.wait()


#: (label, BLAS thread limit, whether another core is kept busy)
CONDITIONS = (
    ("1 BLAS thread", 1, False),
    ("BLAS as installed", None, False),
    ("BLAS as installed, other core busy", None, True),
)


def overhead(n, repeats=3, regression=False):
    X, y, names = make_data(n)
    if regression:  # the same rows, the latent score as a continuous target
        y = X["x0"].to_numpy() + 0.5 * X["x1"].to_numpy() + y
        clf = FairUseRegressor(LinearRegression(), group_columns=names, random_state=0)
    else:
        clf = FairUseClassifier(
            LogisticRegression(), group_columns=names, random_state=0
        )
    clf.fit(X, y)  # warm caches and imports once
    name = type(clf).__name__
    print(f"overhead: {name}, n={n:,} x 20, 6 groups, n_jobs=1, best of {repeats}")
    for label, limit, busy in CONDITIONS:
        times = {"fit": [], "hand": [], "scored": []}
        with threadpool_limits(limit), busy_core() if busy else nullcontext():
            for _ in range(repeats):  # interleaved, so that load drifts hit both
                times["fit"].append(timed(clone(clf).fit, X, y)[0])
                times["hand"].append(hand_fits(clf, X, y, names))
                times["scored"].append(hand_fits(clf, X, y, names, score=True))
        fit_time, hand_time = min(times["fit"]), min(times["hand"])
        scored_time = min(times["scored"])
        print(
            f"  {label}: {name}.fit {fit_time:.2f} s, same base fits by "
            f"hand {hand_time:.2f} s, ratio {fit_time / hand_time:.3f} (goal <= 1.05); "
            f"the fits and their held-out predictions by hand {scored_time:.2f} s, "
            f"ratio {fit_time / scored_time:.3f}"
        )
    if regression:
        return
    log_loss_gate = clone(clf).set_params(gate_loss="log_loss")
    with threadpool_limits(1):
        fit_time = min(timed(clone(clf).fit, X, y)[0] for _ in range(repeats))
        log_loss_time = min(timed(log_loss_gate.fit, X, y)[0] for _ in range(repeats))
    print(
        f"  1 BLAS thread, gate_loss='log_loss' {log_loss_time:.2f} s: the "
        f"log-loss gate costs {log_loss_time / fit_time:.3f}x the default fit"
    )


def parallel(n, repeats=5):
    X, y, names = make_data(n)
    clf = FairUseClassifier(LogisticRegression(), group_columns=names, random_state=0)
    print(
        f"parallel: n={n:,} x 20, 6 groups, {repeats} interleaved pairs: the "
        "speed-up of the median times, and the range of the pairs' speed-ups"
    )
    clone(clf).set_params(n_jobs=2).fit(X, y)  # start the workers once
    for label, limit in (("BLAS threads as installed", None), ("1 BLAS thread", 1)):
        serial, both = [], []
        with threadpool_limits(limit):
            for _ in range(repeats):  # a pair at a time, so that load drifts hit both
                serial.append(timed(clone(clf).set_params(n_jobs=1).fit, X, y)[0])
                both.append(timed(clone(clf).set_params(n_jobs=2).fit, X, y)[0])
        serial_time, parallel_time = np.median(serial), np.median(both)
        pairs = np.array(serial) / np.array(both)
        print(
            f"  {label}: n_jobs=1 {serial_time:.2f} s, n_jobs=2 {parallel_time:.2f} s, "
            f"speed-up {serial_time / parallel_time:.2f} (pairs {pairs.min():.2f} "
            f"to {pairs.max():.2f}; goal >= 1.6)"
        )
    serial = clone(clf).set_params(n_jobs=1).fit(X, y)
    both = clone(clf).set_params(n_jobs=2).fit(X, y)
    difference = np.abs(serial.predict_proba(X) - both.predict_proba(X)).max()
    print(
        f"  same routes: {dict(serial.routing_) == dict(both.routing_)}; same "
        f"predictions: {np.array_equal(serial.predict(X), both.predict(X))}; "
        f"largest probability difference {difference:.1e}"
    )


def predict(n_train, n_predict):
    X, y, names = make_data(n_train)
    X_new, _, _ = make_data(n_predict, seed=1)
    clf = FairUseClassifier(
        LogisticRegression(), group_columns=names, routing="best", random_state=0
    ).fit(X, y)
    onehot = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), names), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(X, y)
    routes = sorted({v for v, _ in clf.routing_.values()})
    routed = min(timed(lambda: clf.predict_proba(X_new))[0] for _ in range(3))
    usual = min(timed(lambda: onehot.predict_proba(X_new))[0] for _ in range(3))
    print(f"predict: predict_proba on {n_predict:,} rows, routes use {routes}")
    print(f"  routed FairUseClassifier {routed:6.2f} s")
    print(f"  one-hot pipeline         {usual:6.2f} s")
    print(f"  ratio {routed / usual:.2f} (goal <= 1.0)")
    one_routed, one_usual = single_row_latency(clf, onehot, X_new)
    print("  one row at a time (median of 200 calls each, interleaved)")
    print(f"  routed FairUseClassifier {one_routed * 1e3:6.2f} ms")
    print(f"  one-hot pipeline         {one_usual * 1e3:6.2f} ms")
    print(f"  ratio {one_routed / one_usual:.2f} (goal <= 0.57)")


def ensemble(n_train, n_predict):
    import pickle

    from sklearn.ensemble import HistGradientBoostingClassifier

    X_new, _, _ = make_data(n_predict, seed=1)
    print(f"ensemble: ensemble=True against refit; predict_proba on {n_predict:,}")
    for base, n in (
        (LogisticRegression(), n_train),
        (HistGradientBoostingClassifier(random_state=0), n_train // 5),
    ):
        X, y, names = make_data(n)
        fitted, fit_s, predict_s, size = {}, {}, {}, {}
        for flag in (False, True):
            clf = FairUseClassifier(
                base, group_columns=names, routing="best", ensemble=flag,
                random_state=0,
            )  # fmt: skip
            fit_s[flag], fitted[flag] = timed(clf.fit, X, y)
            predict_s[flag] = min(
                timed(fitted[flag].predict_proba, X_new)[0] for _ in range(3)
            )
            size[flag] = len(pickle.dumps(fitted[flag])) / 2**10
        print(
            f"  {type(base).__name__}, n={n:,}: fit {fit_s[False]:.2f} s refit vs "
            f"{fit_s[True]:.2f} s ensemble ({fit_s[True] / fit_s[False]:.2f}x); "
            f"predict {predict_s[False]:.2f} vs {predict_s[True]:.2f} s "
            f"({predict_s[True] / predict_s[False]:.2f}x); pickled "
            f"{size[False]:,.0f} vs {size[True]:,.0f} kB "
            f"({size[True] / size[False]:.2f}x)"
        )


def single_row_latency(clf, pipeline, X_new, calls=200):
    """Median seconds of ``predict_proba`` on one row of ``X_new``, for the
    classifier and the pipeline, calls interleaved so load hits both alike."""
    rows = [X_new.iloc[[i]] for i in range(calls)]
    routed, usual = [], []
    for row in rows:
        routed.append(timed(clf.predict_proba, row)[0])
        usual.append(timed(pipeline.predict_proba, row)[0])
    return np.median(routed), np.median(usual)


def measure_memory(n, levels, audit):
    """Print as JSON the peak resident memory (MB) after making the data, after
    the fit and after the audit, with their times; :func:`memory` runs it in a
    fresh process."""

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6

    X, y, names = make_data(n, levels=levels)
    figures = {"data": peak()}
    clf = FairUseClassifier(LogisticRegression(), group_columns=names, random_state=0)
    figures["fit s"], _ = timed(clf.fit, X, y)
    figures["fit"] = peak()
    if audit:
        figures["audit s"], _ = timed(clf.audit, X, y)
        figures["audit"] = peak()
    print(json.dumps(figures))


def memory(n):
    """Peak resident memory of a fit with 6 groups, and of a fit then an audit
    with 64 groups, each in a fresh process."""
    print(f"memory: n={n:,} x 20 float64 ({n * 160 / 1e6:.0f} MB of features)")
    for levels, steps, goal in (
        ((2, 3), ("fit",), 1000),
        ((32, 2), ("fit", "audit"), 2500),
    ):
        code = (
            "import sys, warnings; sys.path.insert(0, 'benchmarks');"
            "warnings.filterwarnings('ignore', category=UserWarning);"
            "from speed import measure_memory;"
            f"measure_memory({n}, {levels}, {len(steps) > 1})"
        )
        output = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        figures = json.loads(output.splitlines()[-1])
        print(f"  {np.prod(levels)} groups: after the data {figures['data']:5.0f} MB")
        for step in steps:
            verdict = "met" if figures[step] <= goal else "missed"
            print(
                f"    peak after the {step:5} {figures[step]:5.0f} MB in "
                f"{figures[step + ' s']:6.1f} s (goal <= {goal} MB, {verdict})"
            )


def scaling(sizes, group_counts):
    print("scaling: fit and audit (on the training rows) time in s, n_jobs=1")
    print(f"  {'m':>4} {'n':>10} {'fit s':>8} {'audit s':>8} {'fit us/row':>11}")
    for m in group_counts:
        levels = (m // 2, 2) if m > 2 else (m,)
        for n in sizes:
            X, y, names = make_data(n, levels=levels)
            clf = FairUseClassifier(
                LogisticRegression(), group_columns=names, random_state=0
            )
            fit_time, _ = timed(clf.fit, X, y)
            audit_time, _ = timed(clf.audit, X, y)
            print(
                f"  {m:>4} {n:>10,} {fit_time:>8.2f} {audit_time:>8.2f} "
                f"{fit_time / n * 1e6:>11.1f}"
            )


SECTIONS = (
    "overhead", "regression", "parallel", "predict", "ensemble", "memory", "scaling"
)  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", default=list(SECTIONS))
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--scaling-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000]
    )
    parser.add_argument("--scaling-groups", type=int, nargs="*", default=[4, 16, 64])
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    print(
        f"{platform.machine()}, Python {platform.python_version()}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    for section in args.sections:
        if section == "overhead":
            overhead(args.n)
        elif section == "regression":
            overhead(args.n, regression=True)
        elif section == "parallel":
            parallel(args.n)
        elif section == "predict":
            predict(args.n, args.predict_rows)
        elif section == "ensemble":
            ensemble(args.n, args.predict_rows)
        elif section == "memory":
            memory(args.memory_rows)
        elif section == "scaling":
            scaling(args.scaling_sizes, args.scaling_groups)
        else:
            parser.error(f"unknown section {section!r}; choose from {SECTIONS}")


if __name__ == "__main__":
    main()
