"""Do the verdicts hold their stated error rate? Size and coverage tables.

Every cell draws ``--worlds`` null worlds (``tests/nulls.py``: two candidates
with equal true risk on one group of ``n`` rows) and runs the library's own
paired test on each, through ``paired_tests`` on one Evidence whose groups are
the worlds. A test's *size* is the share of worlds where it declares a
significant gain, or a significant violation, at ``alpha``: a valid test keeps
both at most ``alpha``. The tolerance of a cell is ``alpha`` plus two binomial
standard errors. A comparison the library declines to test at that size
(``untested``, with its reason) is not counted as a rejection; the share of
such worlds is shown.

Tables:

- ``size``: test x metric x n x null family;
- ``families``: whole audits of 3 groups with exchangeable candidates: the
  share of audits with any false verdict in each family of a model, and in the
  one family over all conditions (``family="model"``);
- ``coverage``: the share of worlds where each one-sided bound of the
  reported interval holds the true gain, in worlds with a real difference;
- ``routing``: the evidence gate at its null boundary with 4 and 8 groups,
  in worlds where personalization lowers the log loss but raises the error,
  and the optimism of the routed model's graded gains, for the default gate
  and the old one (log loss, corrected per group, graded in sample);
- ``regression``: the bootstrap-t test of each regression loss on null
  worlds of a continuous target (``tests/nulls.py``, ``draw_regression``),
  section ``validity-regression``, also run alone with ``--only regression``;
- ``partial``: ``reporting="partial"`` fitted on worlds where no attribute
  helps anyone, or where sex helps women and age helps nobody: the share of
  fits that route any reporting group to a candidate not truly better than
  what it gets by reporting less (section ``validity-partial``, also run
  alone with ``--only partial``, skipped with ``--partial-worlds 0``).

Run from the repository root (about 6 minutes for 1,000 worlds per cell)::

    .venv/bin/python benchmarks/validity.py
    .venv/bin/python benchmarks/validity.py --worlds 2000 --no-write
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _page import write_section  # noqa: E402
from nulls import NULL_FOR, REGRESSION_NULL_FOR, draw, draw_regression  # noqa: E402

from fairuse_estimators._audit import fair_use_statistics  # noqa: E402
from fairuse_estimators._metrics import (  # noqa: E402
    ON_CLASS,
    Evidence,
    Pinball,
    evidence_kind,
    risk_matrix,
    row_losses,
)
from fairuse_estimators._pool import DEFAULT_VARIANTS, build_pool  # noqa: E402
from fairuse_estimators._routing import (  # noqa: E402
    route,
    routes_by_fold,
    with_selected,
)
from fairuse_estimators._stats import (  # noqa: E402
    FIELD,
    TestOptions,
    loss_tests,
    paired_tests,
)

ALPHA = 0.1
SIZES = (30, 60, 200)
#: (test, metric) pairs whose size is measured; "gate" is the evidence gate's
#: test of the log loss when routing on error.
TESTS = [
    ("mcnemar", "error"),
    ("bootstrap", "error"),
    ("delong", "auc"),
    ("bootstrap", "auc"),
    ("bootstrap", "log_loss"),
    ("bootstrap", "brier"),
    ("bootstrap", "ece"),
    ("gate", "log_loss"),
    ("mcnemar", "fnr"),
    ("bootstrap", "balanced_error"),
]


def _predictions(metric, proba):
    kind = evidence_kind(metric)
    if kind == "label":
        return proba.argmax(axis=2)
    if kind == "score":
        return proba[:, :, 1]
    return proba


def one_test(test, metric, family, n, n_worlds, seed, n_bootstrap=1000):
    """Rejection rates of both one-sided tests, and the untested share."""
    rng = np.random.default_rng(seed)
    y, proba, group_ids = draw(family, n_worlds, n, rng, metric)
    if metric in ON_CLASS:  # a rate on one class: only that class's rows
        group_ids = np.where(y == ON_CLASS[metric], group_ids, -1)
    comparisons = np.column_stack(
        [np.arange(n_worlds), np.zeros(n_worlds, int), np.ones(n_worlds, int)]
    )
    if test == "gate":
        options = TestOptions("bootstrap", ALPHA, "none", n_bootstrap, seed)
        losses = row_losses(metric, y, proba)
        p_gain = loss_tests(losses, group_ids, comparisons, options)
        mirrored = loss_tests(losses, group_ids, comparisons[:, [0, 2, 1]], options)
        return p_gain, mirrored
    evidence = Evidence(metric, y, _predictions(metric, proba), group_ids, n_worlds)
    options = TestOptions(test, ALPHA, "none", n_bootstrap, seed)
    tests = paired_tests(evidence, risk_matrix(evidence), comparisons, options)
    return tests.result[:, 3], tests.result[:, 4]


def size_table(n_worlds):
    rows = []
    for test, metric in TESTS:
        for family, metrics in NULL_FOR.items():
            if metric not in metrics:
                continue
            for n in SIZES:
                found = one_test(test, metric, family, n, n_worlds, n)
                rows.append(_size_row(test, metric, family, n, *found))
                _print_row(rows[-1])
    return pd.DataFrame(rows)


def regression_sizes(family, metric, n, n_worlds, seed, n_bootstrap=1000):
    """Rejection rates of both one-sided tests of a regression loss."""
    rng = np.random.default_rng(seed)
    y, predictions, group_ids = draw_regression(family, n_worlds, n, rng, metric)
    resolved = Pinball(0.9) if metric == "pinball" else metric
    evidence = Evidence(resolved, y, predictions, group_ids, n_worlds)
    comparisons = np.column_stack(
        [np.arange(n_worlds), np.zeros(n_worlds, int), np.ones(n_worlds, int)]
    )
    options = TestOptions("bootstrap", ALPHA, "none", n_bootstrap, seed)
    tests = paired_tests(evidence, risk_matrix(evidence), comparisons, options)
    return tests.result[:, 3], tests.result[:, 4]


def regression_size_table(n_worlds):
    """Size of the bootstrap-t test of each regression loss on its nulls."""
    rows = []
    for metric in ("squared_error", "absolute_error", "pinball", "poisson"):
        for family, metrics in REGRESSION_NULL_FOR.items():
            if metric not in metrics:
                continue
            for n in SIZES:
                found = regression_sizes(family, metric, n, n_worlds, n)
                rows.append(_size_row("bootstrap", metric, family, n, *found))
                _print_row(rows[-1])
    return pd.DataFrame(rows)


#: Group sizes from which the tests of a mean loss run the t-test alone
#: (``_bootstrap.STUDENT_ROWS``), and the metrics whose tests that covers.
LARGE_SIZES = (5000, 20000)
LARGE_METRICS = ("log_loss", "brier", "squared_error", "absolute_error", "pinball",
                 "poisson")  # fmt: skip


def large_group_table(n_worlds):
    """Size of the tests of a mean loss in large groups, on every null of each
    metric: the t-test alone serves there."""
    rows = []
    for metric in LARGE_METRICS:
        regression = metric not in NULL_FOR["exchangeable"]
        nulls = REGRESSION_NULL_FOR if regression else NULL_FOR
        for family, metrics in nulls.items():
            if metric not in metrics:
                continue
            for n in LARGE_SIZES:
                if regression:
                    found = regression_sizes(family, metric, n, n_worlds, n)
                else:
                    found = one_test("bootstrap", metric, family, n, n_worlds, n)
                rows.append(_size_row("bootstrap", metric, family, n, *found))
                _print_row(rows[-1])
    return pd.DataFrame(rows)


def skewed_student_sizes(n_worlds, n=5000, chunk=500, seed=11):
    """Size of the one-sided t-test on the skewed nulls of the log loss and
    the Brier score at ``n`` rows, over many worlds at once (the library's
    test from ``STUDENT_ROWS`` rows is scipy's t-test, checked in
    ``tests/test_bootstrap.py``; looking up thousands of large groups through
    ``paired_tests`` would cost most of the run)."""
    from scipy.stats import t as student

    rng = np.random.default_rng(seed)
    rows = []
    for metric in ("log_loss", "brier"):
        gains = violations = 0
        for _ in range(n_worlds // chunk):
            y, proba, _ = draw("skewed", chunk, n, rng, metric)
            losses = row_losses(metric, y, proba)
            differences = (losses[0] - losses[1]).reshape(chunk, n)
            se = differences.std(axis=1, ddof=1) / np.sqrt(n)
            t = differences.mean(axis=1) / se
            gains += int((student.sf(t, n - 1) <= ALPHA).sum())
            violations += int((student.cdf(t, n - 1) <= ALPHA).sum())
        worlds = chunk * (n_worlds // chunk)
        rows.append((metric, worlds, gains / worlds, violations / worlds))
    return rows


def _size_row(test, metric, family, n, p_gain, p_violation):
    tested = ~np.isnan(p_gain)
    return {
        "test": test,
        "metric": metric,
        "null": family,
        "n": n,
        "gain": np.mean(p_gain[tested] <= ALPHA) if tested.any() else 0,
        "violation": np.mean(p_violation[tested] <= ALPHA) if tested.any() else 0,
        "untested": 1 - tested.mean(),
        "tested": int(tested.sum()),
    }


def _print_row(row):
    print(
        f"{row['test']:>9} {row['metric']:>14} {row['null']:>15} n={row['n']:<4} "
        f"gain {row['gain']:.3f} violation {row['violation']:.3f} "
        f"untested {row['untested']:.2f}",
        flush=True,
    )


FAMILY_TESTS = [
    ("mcnemar", "error"),
    ("delong", "auc"),
    ("bootstrap", "log_loss"),
    ("bootstrap", "brier"),
    ("bootstrap", "ece"),
]
FAMILY_NAMES = ("rationality gains", "rationality violations", "envy gains",
                "envy violations")  # fmt: skip


def family_table(n_worlds, n=60, m=3):
    """Shares of null audits with any false verdict, per family and model."""
    rows = []
    for test, metric in FAMILY_TESTS:
        for family in ("exchangeable", "trade"):
            rng = np.random.default_rng(m)
            y, proba, ids = draw(
                family, n_worlds * m, n, rng, metric, n_candidates=m + 1
            )
            predictions = _predictions(metric, proba)
            false = {
                name: 0 for name in (*FAMILY_NAMES, "any (condition)", "any (model)")
            }
            for w in range(n_worlds):
                rows_w = slice(w * m * n, (w + 1) * m * n)
                evidence = Evidence(
                    metric, y[rows_w], predictions[:, rows_w], ids[rows_w] - w * m, m
                )
                risks = risk_matrix(evidence)
                for scope in ("condition", "model"):
                    options = TestOptions(test, ALPHA, "holm", 1000, w, scope)
                    stats = fair_use_statistics(
                        evidence, risks, np.arange(1, m + 1)[None], options
                    )
                    blocks = [
                        stats[key][0][..., field] <= ALPHA
                        for key in ("rationality", "envy")
                        for field in (5, 6)
                    ]
                    found = [bool(np.nan_to_num(block).any()) for block in blocks]
                    if scope == "condition":
                        for name, hit in zip(FAMILY_NAMES, found):
                            false[name] += hit
                    false[f"any ({scope})"] += any(found)
            rows.append(
                {
                    "test": test,
                    "metric": metric,
                    "null": family,
                    "n": n,
                    **{k: v / n_worlds for k, v in false.items()},
                }  # fmt: skip
            )
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def coverage_table(n_worlds):
    """Shares of worlds where each one-sided bound at 1 - alpha holds the true
    gain, in worlds where the second candidate is noisier."""
    rows = []
    covered = [("mcnemar", "error"), ("delong", "auc")]
    covered += [("bootstrap", "log_loss"), ("bootstrap", "brier")]
    for test, metric in covered:
        truth_y, truth_p, truth_ids = draw(
            "exchangeable", 1, 2_000_000, np.random.default_rng(1), metric,
            noise=(1.0, 1.6),
        )  # fmt: skip
        truth = Evidence(metric, truth_y, _predictions(metric, truth_p), truth_ids, 1)
        true_risk = risk_matrix(truth)[0]
        gain = true_risk[0] - true_risk[1]
        for n in SIZES:
            rng = np.random.default_rng(n)
            y, proba, ids = draw(
                "exchangeable", n_worlds, n, rng, metric, noise=(1.0, 1.6)
            )
            evidence = Evidence(metric, y, _predictions(metric, proba), ids, n_worlds)
            comparisons = np.column_stack(
                [np.arange(n_worlds), np.zeros(n_worlds, int), np.ones(n_worlds, int)]
            )
            options = TestOptions(test, ALPHA, "none", 1000, n)
            result = paired_tests(
                evidence, risk_matrix(evidence), comparisons, options
            ).result
            tested = ~np.isnan(result[:, 3])
            rows.append(
                {
                    "test": test, "metric": metric, "n": n, "true gain": gain,
                    "lower holds": np.mean(result[tested, 1] <= gain),
                    "upper holds": np.mean(result[tested, 2] >= gain),
                    "untested": 1 - tested.mean(),
                }
            )  # fmt: skip
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


#: The gate as it was (the log loss, corrected within each group, the routes
#: graded on the evidence that chose them) and as it is.
GATES = {
    "log loss, per group, in-sample grading": ("log_loss", "group"),
    "default: metric, all groups, out-of-fold grading": (None, "all"),
}


def _routing_world(family, m, n, seed, noise=(1.0,)):
    """Evidence of one world of ``m`` groups, its pool, and folds."""
    rng = np.random.default_rng(seed)
    pool = build_pool(DEFAULT_VARIANTS, m, np.ones(m, bool))
    y, proba, _ = draw(family, 1, m * n, rng, "log_loss", n_candidates=pool.size,
                       noise=noise)  # fmt: skip
    ids = np.repeat(np.arange(m), n)
    losses = row_losses("log_loss", y, proba).astype(np.float32)
    folds = rng.permutation(np.arange(m * n) % 5)
    evidence = Evidence("error", y, proba.argmax(axis=2), ids, m, folds=folds)
    return evidence, losses, pool


def _route_world(evidence, losses, pool, gate, seed):
    """Deployed routes, and for each group the share of its rows the graded
    routed model serves off generic, its graded gain and gain verdict."""
    gate_loss, family = GATES[gate]
    options = TestOptions("mcnemar", ALPHA, "holm", 200, seed)
    if gate_loss is not None:
        evidence = evidence._replace(losses=losses)
    risks = risk_matrix(evidence)
    params = {"min_gain": 0.01, "family": family}
    routes, *_ = route("evidence", evidence, risks, pool, options, **params)
    graded, graded_pool, routed = evidence, pool, routes
    m = pool.n_groups
    if gate_loss is None:  # the routed model graded on routes chosen out of fold
        fold_routes = routes_by_fold("evidence", evidence, pool, options, **params)
        graded, graded_pool, routed = with_selected(evidence, pool, fold_routes)
        off = fold_routes[evidence.folds, evidence.group_ids] != 0
    else:
        off = routes[evidence.group_ids] != 0
    share = np.bincount(evidence.group_ids, off, m) / np.bincount(evidence.group_ids)
    graded_risks = risk_matrix(graded)
    stats = fair_use_statistics(graded, graded_risks, routed[None], options)
    gains = graded_risks[:, 0] - graded_risks[np.arange(m), routed]
    verdict = stats["rationality"][0][:, FIELD["p_gain_adjusted"]] <= ALPHA
    return routes, share, gains, np.nan_to_num(verdict).astype(bool)


def routing_table(n_worlds):
    """The gate at its null boundary, in worlds where the candidates lower the
    log loss but not the error, and the optimism of the graded gains."""
    rows = []
    # Every personalized candidate of a world has the same law, so one true
    # error gain per family, from a large two-candidate draw (zero by
    # symmetry in the exchangeable worlds).
    y, proba, ids = draw("calibration", 1, 2_000_000, np.random.default_rng(1))
    risk = risk_matrix(Evidence("error", y, proba.argmax(axis=2), ids, 1))[0]
    true_gain = {"exchangeable": 0.0, "calibration": float(risk[0] - risk[1])}
    for family in ("exchangeable", "calibration"):
        for m in (4, 8) if family == "exchangeable" else (4,):
            for n in SIZES:
                for gate in GATES:
                    worlds = n_worlds if GATES[gate][0] is None else n_worlds // 4
                    rows.append(_routing_cell(family, m, n, gate, worlds, true_gain))
                    print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def _routing_cell(family, m, n, gate, worlds, true_gain):
    """One row of the routing table."""
    any_off = any_worse = any_false = routed_groups = 0
    optimism, deployed_optimism = [], []
    for w in range(worlds):
        world = _routing_world(family, m, n, 1000 * n + w)
        routes, share, gains, gain_verdict = _route_world(*world, gate, w)
        moved, graded = routes != 0, share > 0
        truly = true_gain[family] * share  # the graded routed model's true gain
        any_off += moved.any()
        any_worse += (moved & (true_gain[family] <= 0)).any()
        any_false += (gain_verdict & (truly <= 0)).any()
        routed_groups += moved.sum()
        optimism.extend(gains[graded] - truly[graded])
        deployed_optimism.extend(gains[moved] - true_gain[family])
    return {
        "world": family, "groups": m, "n": n, "gate": gate, "worlds": worlds,
        "any group routed": any_off / worlds,
        "any routed to no better": any_worse / worlds,
        "routed groups per world": routed_groups / worlds,
        "optimism of graded gains": _mean(optimism),
        "optimism, deployed routes": _mean(deployed_optimism),
        "any false gain verdict": any_false / worlds,
    }  # fmt: skip


def _mean(values):
    return float(np.mean(values)) if len(values) else np.nan


def _markdown(frame, digits=3):
    """A frame as a Markdown table."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _routing_markdown(routing):
    """The routing table, with how many default cells exceed the tolerance."""
    default = routing["gate"].str.startswith("default")
    rates = routing[["any routed to no better", "any false gain verdict"]]
    over = (rates.max(axis=1) > tolerance(routing["worlds"])) & default
    return (
        "### Routing\n\nWorlds of 4 or 8 groups of n rows, each with a generic, "
        "a one-hot, an intersectional and a decoupled candidate, routed on the "
        "error with `min_gain=0.01` and McNemar's test, folds of 5. In the "
        "exchangeable worlds every candidate equals generic in truth (the "
        "gate's null boundary); in the calibration worlds the personalized "
        "candidates lower the log loss but raise the error. `any routed to no "
        "better`: the share of worlds where some group leaves generic for a "
        "candidate that is not truly better; `any false gain verdict`: where "
        "the report's routed model shows a significant gain that is not true; "
        "optimism: the routed model's graded gain minus its true gain, over "
        "the groups it serves off generic (graded routes), and over the "
        "groups the deployed routes move (deployed routes; the out-of-fold "
        "grade estimates the routing procedure, and conditioning on the "
        "deployed choice, made with every row, leaves some optimism). The old "
        "gate ran on a quarter of the worlds. Default cells above the "
        f"tolerance: {int(over.sum())} of {int(default.sum())}.\n\n"
        + _markdown(routing)
    )


def tolerance(worlds):
    """alpha plus two binomial standard errors over ``worlds`` worlds."""
    return ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / np.maximum(worlds, 1))


def _size_markdown(sizes):
    """The size table, one row per test, metric and null; n in columns."""
    rows = zip(sizes["gain"], sizes["violation"], sizes["untested"], sizes["tested"])
    sizes = sizes.assign(
        cell=[
            f"{g:.3f} / {v:.3f}"
            + (f" ({u:.0%} untested)" if u > 0.005 else "")
            + (" **over**" if max(g, v) > tolerance(t) else "")
            for g, v, u, t in rows
        ]
    )
    wide = sizes.pivot_table(
        index=["test", "metric", "null"], columns="n", values="cell", aggfunc="first",
        sort=False,
    ).reset_index()  # fmt: skip
    wide.columns = [f"n = {c}" if isinstance(c, int) else c for c in wide.columns]
    return _markdown(wide)


PARTIAL_WORLDS = {
    # name: (group levels, does sex help women, rows)
    "no attribute helps, 2 x 2": ((2, 2), False, 800),
    "no attribute helps, 2 x 3 x 2": ((2, 3, 2), False, 1200),
    "sex helps women, age nobody, 2 x 2": ((2, 2), True, 1500),
    "sex helps women, age nobody, 2 x 3 x 2": ((2, 3, 2), True, 2400),
}


def _partial_world(levels, helps, n, seed):
    """Rows of one world: sex (first column) helps women when ``helps``; the
    other attributes never help anyone."""
    from fairuse_estimators import FairUseClassifier

    rng = np.random.default_rng(seed)
    names = ["sex", "age", "site"][: len(levels)]
    X = pd.DataFrame(rng.normal(size=(n, 2)), columns=["x1", "x2"])
    for name, k in zip(names, levels):
        X[name] = rng.integers(0, k, n).astype(str)
    women = np.zeros(n, bool)
    if helps:  # women ("0") are a minority, so the generic model fits men
        women = rng.random(n) < 0.3
        X["sex"] = np.where(women, "0", "1")
    logit = 1.5 * X["x1"] + np.where(women, 2.5 * X["x2"], 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    clf = FairUseClassifier(group_columns=names, reporting="partial", random_state=seed)
    return clf.fit(X, y), names


def _partial_false_routes(clf, names, helps):
    """Whether a reporting group is routed to a candidate that uses an
    attribute that helps nobody (with no attribute helping: any candidate
    but the generic model), and whether women who report sex are routed to
    a model on sex alone."""
    false, women = False, False
    for group, (variant, reported) in clf.routing_.items():
        if variant == "generic":
            continue
        used = [name for name, value in zip(names, reported) if value is not None]
        false |= not helps or used != ["sex"]
        women |= group[0] == "0" and used == ["sex"]
    return false, women


def partial_table(n_worlds):
    """Shares of partial-reporting fits with any false route, per world."""
    import warnings

    from joblib import Parallel, delayed

    def one(levels, helps, n, seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf, names = _partial_world(levels, helps, n, seed)
        return _partial_false_routes(clf, names, helps)

    rows = []
    for name, (levels, helps, n) in PARTIAL_WORLDS.items():
        found = Parallel(n_jobs=2)(
            delayed(one)(levels, helps, n, seed) for seed in range(n_worlds)
        )
        found = np.array(found, dtype=bool)
        rows.append(
            {
                "world": name,
                "rows": n,
                "any false route": found[:, 0].mean(),
                "tolerance": tolerance(n_worlds),
                "women routed on sex": found[:, 1].mean() if helps else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _partial_markdown(partial, n_worlds, seconds):
    over = int((partial["any false route"] > partial["tolerance"]).sum())
    return (
        f"`.venv/bin/python benchmarks/validity.py --only partial "
        f"--partial-worlds {n_worlds}` ({seconds / 60:.1f} min). "
        '`reporting="partial"` with the defaults (error, McNemar gate, '
        'gate_family="all", alpha = 0.1, min_gain = 0.01, 5-fold cross-fitting, '
        "logistic regression), fitted on each world. A false route is any "
        "reporting group's route that uses an attribute helping nobody (where "
        "no attribute helps: any route off the generic model); the gate of "
        "each of the L subsets runs at alpha / L, so the share of fits with "
        f"any false route should stay at most alpha. Cells above the tolerance: "
        f"{over} of {len(partial)}. `women routed on sex`: the share of fits "
        "where women who report sex get a model on sex alone (power).\n\n"
        + _markdown(partial)
    )


def _regression_markdown(sizes, n_worlds, seconds):
    worst = sizes[["gain", "violation"]].max(axis=1)
    over = int((worst > tolerance(sizes["tested"])).sum())
    return (
        f"`.venv/bin/python benchmarks/validity.py --only regression --worlds "
        f"{n_worlds}` ({seconds / 60:.1f} min on this machine). The bootstrap-t "
        "test of the mean per-row loss difference, as `FairUseRegressor` and "
        "`audit_fair_use` run it on a regressor, on null worlds of one group of "
        "n rows with two candidates of equal true risk (`tests/nulls.py`, "
        "`draw_regression`: exchangeable candidates; Student t(3) noise; "
        "noise growing as exp(signal) with candidates biased by +0.5 and -0.5; "
        "a biased candidate against an unbiased noisy one of equal squared "
        "error; overdispersed counts for the Poisson deviance); `pinball` at "
        f"the 0.9 quantile. alpha = {ALPHA}; each cell is the share of worlds "
        "with a significant gain / a significant violation; the tolerance is "
        f"alpha plus two binomial standard errors ({tolerance(n_worlds):.3f}). "
        f"Cells above it: {over} of {len(sizes)}.\n\n" + _size_markdown(sizes)
    )


def _large_markdown(sizes, n_worlds):
    worst = sizes[["gain", "violation"]].max(axis=1)
    over = int((worst > tolerance(sizes["tested"])).sum())
    return (
        "### Large groups\n\nFrom 5,000 rows a group's test of a mean loss "
        "(log loss, Brier score and the regression losses) is the paired t-test "
        "alone, without the bootstrap-t beside it. Its size on every null of "
        f"each metric at 5,000 and 20,000 rows, {n_worlds} worlds per cell "
        f"(tolerance {tolerance(n_worlds):.3f}). Cells above it: {over} of "
        f"{len(sizes)}.\n\n" + _size_markdown(sizes)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=1000)
    parser.add_argument("--family-worlds", type=int, default=1000)
    parser.add_argument("--routing-worlds", type=int, default=1000)
    parser.add_argument("--partial-worlds", type=int, default=300)
    parser.add_argument("--large-worlds", type=int, default=1000)
    parser.add_argument("--only", choices=["partial", "regression"])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    regression = regression_size_table(args.worlds)
    large = large_group_table(args.large_worlds)
    skewed = skewed_student_sizes(10 * args.large_worlds)
    text = _regression_markdown(regression, args.worlds, time.perf_counter() - start)
    text += (
        "\n\n"
        + _large_markdown(large, args.large_worlds)
        + "\n\n"
        + " ".join(
            f"On the skewed null of {metric} at 5,000 rows, over {worlds} worlds: "
            f"{gain:.3f} / {violation:.3f} (tolerance {tolerance(worlds):.3f})."
            for metric, worlds, gain, violation in skewed
        )
    )
    print(text)
    if not args.no_write:
        write_section("validity-regression", text, "Validity of the regression tests")
    if args.only == "regression":
        return
    start = time.perf_counter()
    if args.partial_worlds:  # 0 skips this section
        partial = partial_table(args.partial_worlds)
        seconds = time.perf_counter() - start
        text = _partial_markdown(partial, args.partial_worlds, seconds)
        print(text)
        if not args.no_write:
            write_section("validity-partial", text, "Validity of partial reporting")
    if args.only:
        return
    start = time.perf_counter()
    sizes = size_table(args.worlds)
    worst = sizes[["gain", "violation"]].max(axis=1)
    over = int((worst > tolerance(sizes["tested"])).sum())
    families = family_table(args.family_worlds)
    coverage = coverage_table(args.worlds)
    routing = routing_table(args.routing_worlds)
    seconds = time.perf_counter() - start
    family_tolerance = tolerance(args.family_worlds)
    text = "\n\n".join(
        [
            f"`.venv/bin/python benchmarks/validity.py --worlds {args.worlds}` "
            f"({seconds / 60:.1f} min on this machine). alpha = {ALPHA}; each cell "
            f"gives the share of null worlds with a significant gain / a "
            f"significant violation, over the worlds the test ran on (the others "
            f"are untested at that size, with the reason); the tolerance is "
            f"alpha plus two binomial standard errors over those worlds "
            f"({tolerance(args.worlds):.3f} when all {args.worlds} ran). Cells "
            f"above it: {over} of {len(sizes)}. `gate` is the evidence gate's "
            "test of the log loss when routing on error.",
            "### Size of each test on each null\n\n" + _size_markdown(sizes),
            "### False verdicts in whole audits\n\nThree groups of 60 rows, the "
            "personalized model and the generic one exchangeable (or trading "
            "errors between the classes), Holm's correction: the share of audits "
            'with any false verdict in each family of `family="condition"`, '
            'across all four, and with `family="model"` (tolerance '
            f"{family_tolerance:.3f} over {args.family_worlds} audits).\n\n"
            + _markdown(families.drop(columns="n")),
            "### Coverage of the one-sided bounds\n\nWorlds where the second "
            "candidate is noisier; the share of worlds where the lower and the "
            "upper bound at one-sided level alpha hold the true gain (computed on "
            "2,000,000 rows); nominal 0.9.\n\n" + _markdown(coverage),
            _routing_markdown(routing),
        ]
    )
    print(text)
    if not args.no_write:
        path = write_section("validity", text, "Validity of the tests")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
