"""Light simulations: every verdict holds its error rate on the nulls users meet.

The full size tables are ``benchmarks/validity.py``; these run a few hundred
worlds per case and fail only when a rate is significantly above ``alpha``
(a binomial tail below 0.001), which the tests these replaced did on each of
these worlds.
"""

import numpy as np
import pytest
from nulls import draw
from scipy.stats import binom

from fairuse_estimators._audit import fair_use_statistics
from fairuse_estimators._metrics import Evidence, evidence_kind, risk_matrix
from fairuse_estimators._stats import FIELD, TestOptions, paired_tests, verdicts

ALPHA = 0.1


def _predictions(metric, proba):
    kind = evidence_kind(metric)
    if kind == "label":
        return proba.argmax(axis=2)
    return proba[:, :, 1] if kind == "score" else proba


def _sizes(test, metric, family, n, n_worlds, seed=0, n_bootstrap=300):
    """Rejection counts of both one-sided tests over null worlds."""
    y, proba, ids = draw(family, n_worlds, n, np.random.default_rng(seed), metric)
    evidence = Evidence(metric, y, _predictions(metric, proba), ids, n_worlds)
    comparisons = np.column_stack(
        [np.arange(n_worlds), np.zeros(n_worlds, int), np.ones(n_worlds, int)]
    )
    options = TestOptions(test, ALPHA, "none", n_bootstrap, seed)
    tests = paired_tests(evidence, risk_matrix(evidence), comparisons, options)
    tested = ~np.isnan(tests.result[:, FIELD["p_gain"]])
    result = tests.result[tested]
    return [
        int((result[:, FIELD[field]] <= ALPHA).sum())
        for field in ("p_gain", "p_violation")
    ], int(tested.sum())


def _assert_level(counts, n_worlds):
    for count in counts:
        assert binom.sf(count - 1, n_worlds, ALPHA) > 0.001, (count, n_worlds)


@pytest.mark.parametrize("metric", ["error", "log_loss", "brier", "ece"])
def test_bootstrap_holds_its_level_when_candidates_trade_errors(metric):
    """Check the bootstrap on candidates trading errors between the classes,
    where resampling within classes rejected up to 0.19 of true nulls."""
    counts, tested = _sizes("bootstrap", metric, "trade", 60, 400)
    _assert_level(counts, tested)


def test_ece_comparison_of_calibrated_models_of_different_sharpness():
    """Check that two calibrated models are not told apart on calibration,
    where the plug-in ECE said "worse" in over 90% of worlds."""
    counts, tested = _sizes("bootstrap", "ece", "sharpness", 60, 400)
    _assert_level(counts, tested)


@pytest.mark.parametrize("n", [30, 60])
def test_delong_holds_its_level_with_few_positives(n):
    """Check DeLong's test at a prevalence of 0.2, where the normal reference
    rejected 0.17 of true nulls at 30 rows; groups with fewer than 10 rows of
    a class are untested."""
    counts, tested = _sizes("delong", "auc", "imbalanced", n, 600)
    assert tested >= (100 if n == 30 else 500)
    _assert_level(counts, tested)


def test_family_model_keeps_any_false_verdict_below_alpha():
    """Check that family="model" controls the chance of any false verdict
    about a model, where the four condition families together reach about
    four times alpha."""
    m, n, n_worlds = 3, 60, 150
    y, proba, ids = draw(
        "exchangeable", n_worlds * m, n, np.random.default_rng(1), "error",
        n_candidates=m + 1,
    )  # fmt: skip
    labels = proba.argmax(axis=2)
    false = {"condition": 0, "model": 0}
    for w in range(n_worlds):
        rows = slice(w * m * n, (w + 1) * m * n)
        evidence = Evidence("error", y[rows], labels[:, rows], ids[rows] - w * m, m)
        for family in false:
            options = TestOptions("mcnemar", ALPHA, "holm", 1, w, family)
            stats = fair_use_statistics(
                evidence, risk_matrix(evidence), np.arange(1, m + 1)[None], options
            )
            blocks = [stats[key][0] for key in ("rationality", "envy")]
            found = any(
                np.nan_to_num(block[..., FIELD[field]] <= ALPHA).any()
                for block in blocks
                for field in ("p_gain_adjusted", "p_violation_adjusted")
            )
            false[family] += found
    _assert_level([false["model"]], n_worlds)
    assert false["condition"] >= false["model"]


def test_bounds_never_contradict_verdicts():
    """Check, over many audits, that a bound excludes 0 exactly when its
    verdict is significant, for every test."""
    for test, metric in [("mcnemar", "error"), ("delong", "auc"),
                         ("bootstrap", "log_loss"), ("bootstrap", "ece")]:  # fmt: skip
        m = 4
        y, proba, ids = draw(
            "trade", m, 80, np.random.default_rng(2), metric, n_candidates=m + 1,
            noise=(1.0, 1.3, 0.8, 1.1, 1.5),
        )  # fmt: skip
        evidence = Evidence(metric, y, _predictions(metric, proba), ids, m)
        options = TestOptions(test, ALPHA, "holm", 300, 0)
        stats = fair_use_statistics(
            evidence, risk_matrix(evidence), np.arange(1, m + 1)[None], options
        )
        for block in (stats["rationality"][0], stats["envy"][0]):
            tested = ~np.isnan(block[..., FIELD["p_gain"]])
            verdict = verdicts(
                block[..., FIELD["p_gain_adjusted"]],
                block[..., FIELD["p_violation_adjusted"]],
                ALPHA,
            )[tested]
            low, high = block[tested, FIELD["low"]], block[tested, FIELD["high"]]
            assert ((low > 0) == (verdict == "gain")).all(), test
            assert ((high < 0) == (verdict == "violation")).all(), test


def test_envy_tests_can_pass_with_many_groups():
    """Check that with 12 groups a real envy violation is found by the
    bootstrap: with 1,000 replicates and Holm over 132 pairs no envy test
    could pass before the replicates grew with the family."""
    m, n = 12, 150
    rng = np.random.default_rng(0)
    y, proba, ids = draw("exchangeable", m, n, rng, "log_loss", n_candidates=m + 1)
    # Group 0's own candidate is blurred toward the wrong class on its rows:
    # it envies every other group's predictions.
    own = proba[1, ids == 0]
    proba[1, ids == 0] = 0.6 * own[:, ::-1] + 0.4 * own
    evidence = Evidence("log_loss", y, proba, ids, m)
    options = TestOptions("bootstrap", ALPHA, "holm", 1000, 0)
    stats = fair_use_statistics(
        evidence, risk_matrix(evidence), np.arange(1, m + 1)[None], options
    )
    assert stats["n_bootstrap"] > 2 * m * (m - 1) / ALPHA - 2
    envy = stats["envy"][0]
    assert (envy[0, 1:, FIELD["p_violation_adjusted"]] <= ALPHA).any()


@pytest.mark.parametrize(
    "family, metric",
    [
        ("heavy_tailed", "squared_error"),
        ("heteroscedastic", "absolute_error"),
        ("skewed", "squared_error"),
        ("overdispersed", "poisson"),
    ],
)
def test_regression_losses_hold_their_level_in_small_groups(family, metric):
    """Check the bootstrap-t test of a regression loss at n = 30 on its nulls:
    heavy-tailed and heteroscedastic noise, skewed loss differences and
    overdispersed counts."""
    from nulls import draw_regression

    n_worlds = 400
    y, predictions, ids = draw_regression(
        family, n_worlds, 30, np.random.default_rng(0), metric
    )
    evidence = Evidence(metric, y, predictions, ids, n_worlds)
    comparisons = np.column_stack(
        [np.arange(n_worlds), np.zeros(n_worlds, int), np.ones(n_worlds, int)]
    )
    options = TestOptions("bootstrap", ALPHA, "none", 300, 0)
    tests = paired_tests(evidence, risk_matrix(evidence), comparisons, options)
    assert not np.isnan(tests.result[:, FIELD["p_gain"]]).any()
    counts = [
        int((tests.result[:, FIELD[field]] <= ALPHA).sum())
        for field in ("p_gain", "p_violation")
    ]
    _assert_level(counts, n_worlds)
