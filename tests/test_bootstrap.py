"""The vectorized bootstrap: replicate risks, resampling laws, tests and bounds."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import roc_auc_score

from fairuse_estimators._bootstrap import (
    _counts,
    _resampling,
    bootstrap_risks,
    bootstrap_t,
    mean_tests,
    percentile,
    replicate_risks,
)
from fairuse_estimators._metrics import group_risks

ALPHA = 0.1


def _world(seed, n=120, n_candidates=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=n)
    shared = rng.normal(size=n)
    scores = np.round(
        np.array([y + shared + rng.normal(size=n) for _ in range(n_candidates)]), 1
    )
    proba = 1 / (1 + np.exp(-(scores - 0.5)))
    return y, scores, np.stack([1 - proba, proba], axis=2)


def _reference_ece(y, proba):
    """Debiased squared ECE, bin by bin: (S^2 - V) / (n n_b)."""
    confidence, outcome = proba[:, 1], (y == 1).astype(float)
    bins = np.minimum((confidence * 10).astype(int), 9)
    total = 0.0
    for b in range(10):
        rows = bins == b
        if rows.any():
            residual = (confidence - outcome)[rows].sum()
            variance = (confidence * (1 - confidence))[rows].sum()
            total += (residual**2 - variance) / rows.sum()
    return total / len(y)


@pytest.mark.parametrize(
    "metric, dtype",
    [("auc", float), ("auc", np.int32), ("auc", np.uint8), ("ece", float)],
)
def test_replicate_risks_equal_metrics_on_repeated_rows(metric, dtype):
    """Check that resampling counts, integer (as AUC draws them) or float,
    give the metric of the rows repeated, ties included."""
    y, scores, proba = _world(0)
    evidence = scores if metric == "auc" else proba
    rng = np.random.default_rng(1)
    counts = np.vstack(
        [np.bincount(rng.integers(120, size=120), minlength=120) for _ in range(5)]
    ).astype(dtype)
    replicates = replicate_risks(metric, y, evidence)(counts)
    for b, row_counts in enumerate(counts.astype(int)):
        rows = np.repeat(np.arange(120), row_counts)
        for c in range(len(evidence)):
            if metric == "auc":
                expected = 1 - roc_auc_score(y[rows], evidence[c, rows])
            else:
                expected = _reference_ece(y[rows], evidence[c, rows])
            assert_allclose(replicates[b, c], expected, atol=1e-12)
    # The risk matrix computes the same debiased estimate.
    if metric == "ece":
        risks = group_risks("ece", y, proba, np.zeros(len(y), int), 1)[0]
        assert_allclose(risks, [_reference_ece(y, p) for p in proba], atol=1e-12)


def test_auc_replicates_of_large_classes_sum_in_64_bits():
    """Check AUC replicates where twice n_pos * n_neg exceeds 32 bits, for
    33,000 rows per class: a ranking that is perfect but for ties at the
    border of the classes (its doubled wins need 64 bits), and a noisy one,
    against sklearn's AUC with the counts as weights."""
    rng = np.random.default_rng(0)
    n = 33_000
    y = np.repeat([0, 1], n)
    nearly = (y + np.round(rng.random(2 * n), 2)) / 2  # both classes hold 0.5
    noisy = np.round(y + rng.normal(size=2 * n), 1)
    counts = np.hstack(
        [rng.multinomial(n, np.full(n, 1 / n), size=2) for _ in range(2)]
    ).astype(np.uint8)
    replicates = replicate_risks("auc", y, np.stack([nearly, noisy]))(counts)
    for b in range(2):
        for c, scores in enumerate([nearly, noisy]):
            expected = 1 - roc_auc_score(y, scores, sample_weight=counts[b])
            assert_allclose(replicates[b, c], expected, atol=1e-12)


def test_one_byte_counts_never_wrap_around():
    """Check that a block of counts with a row drawn more than 255 times is
    kept in 32 bits rather than wrapped to a small count."""

    class Repeats:
        """Draws the first row every time (a resample no generator forbids)."""

        def integers(self, low, high, size):
            return np.zeros(size, dtype=np.int64)

    counts = _counts(300, 2, Repeats(), np.uint8)
    assert counts.dtype == np.int32
    assert_array_equal(counts[:, 0], [300, 300])
    small = _counts(300, 2, np.random.default_rng(0), np.uint8)
    assert small.dtype == np.uint8 and (small.sum(axis=1) == 300).all()


def test_debiased_ece_is_unbiased_for_calibrated_models():
    """Check that calibrated models of any sharpness average an ECE of 0,
    where the plug-in squared error is biased upward by more for the sharper
    model."""
    rng = np.random.default_rng(0)
    q = rng.beta(2, 2, size=(400, 60))
    y = (rng.random(q.shape) < q).astype(int)
    estimates = []
    for sharp in (q, np.where(q < 0.5, 5 / 16, 11 / 16)):
        proba = np.stack([1 - sharp, sharp], axis=2).reshape(1, -1, 2)
        ids = np.repeat(np.arange(400), 60)
        estimates.append(group_risks("ece", y.ravel(), proba, ids, 400)[:, 0])
    for values in estimates:
        assert abs(values.mean()) < 3 * values.std() / np.sqrt(len(values))


def test_bootstrap_risks_of_auc_keep_the_class_counts():
    """Check that AUC replicates resample within each class and center on the
    estimate."""
    y, scores, _ = _world(2, n=80)
    replicates = bootstrap_risks("auc", y, scores, 300, np.random.default_rng(0))
    assert replicates.shape == (300, 3)
    assert np.isfinite(replicates).all()  # one class would make AUC undefined
    point = [1 - roc_auc_score(y, s) for s in scores]
    assert_allclose(replicates.mean(axis=0), point, atol=0.02)


@pytest.mark.parametrize("metric", ["auc", "ece"])
def test_identical_candidates_share_their_replicates_exactly(metric):
    """Check that a candidate repeated among the columns gets the replicates
    of its first copy, drawn from the same resamples as the others."""
    y, scores, proba = _world(2, n=80)
    evidence = {"auc": scores, "ece": proba}[metric]
    repeated = evidence[[0, 1, 0, 2, 1]]
    once = bootstrap_risks(metric, y, evidence, 200, np.random.default_rng(5))
    shared = bootstrap_risks(metric, y, repeated, 200, np.random.default_rng(5))
    assert_allclose(shared, once[:, [0, 1, 0, 2, 1]], rtol=0, atol=0)


def test_pattern_resampling_has_the_law_of_row_resampling():
    """Check that counts over distinct rows give the law of row counts."""
    rng = np.random.default_rng(3)
    differences = rng.integers(-1, 2, size=(200, 2)).astype(float)
    values, (weights,) = _resampling(differences, 20000, np.random.default_rng(0))
    assert len(values) <= 9
    fast = weights @ values / 200
    rows = np.random.default_rng(1).multinomial(200, np.full(200, 1 / 200), 20000)
    slow = rows @ differences / 200
    assert_allclose(fast.mean(axis=0), slow.mean(axis=0), atol=2e-3)
    assert_allclose(fast.std(axis=0), slow.std(axis=0), rtol=0.05)


def test_percentile_p_values_and_bounds_agree():
    """Check p = (1 + #{gain* <= 0}) / (B + 1) on recentred replicates, and
    that a bound at level l excludes 0 exactly when p <= l."""
    rng = np.random.default_rng(0)
    replicates = rng.normal(size=(199, 3)) * [1.0, 1.0, 0.5] + [0.0, 0.3, 0.0]
    pairs = np.array([[0, 1], [1, 0], [2, 0]])
    gains = np.array([0.25, -0.25, 0.05])
    p_gain, p_violation, tails = percentile(replicates, pairs, gains, ALPHA)
    shifted = replicates[:, pairs[:, 0]] - replicates[:, pairs[:, 1]]
    shifted += gains - shifted.mean(axis=0)
    assert_allclose(p_gain, (1 + (shifted <= 0).sum(0)) / 200)
    assert_allclose(p_violation, (1 + (shifted >= 0).sum(0)) / 200)
    for level in (0.01, 0.05, 0.1):
        low, high = tails.bounds(np.full(3, level), np.full(3, level), np.arange(3))
        assert ((low > 0) == (p_gain <= level)).all()
        assert ((high < 0) == (p_violation <= level)).all()


@pytest.mark.parametrize("shift", [0.0, 0.3, -0.4])
def test_bootstrap_t_bounds_invert_its_test(shift):
    """Check that bootstrap-t and mean-test bounds exclude 0 exactly when
    their tests reject, at every level up to alpha."""
    rng = np.random.default_rng(1)
    differences = rng.standard_t(4, size=(50, 4)) + shift
    for tests in (bootstrap_t, mean_tests):
        p_gain, p_violation, bounds = tests(differences, 999, rng, ALPHA)
        for level in (0.002, 0.02, 0.1):
            levels = np.full(4, level)
            low, high = bounds.bounds(levels, levels, np.arange(4))
            assert ((low > 0) == (p_gain <= level)).all()
            assert ((high < 0) == (p_violation <= level)).all()


def test_mean_tests_in_large_groups_is_scipys_one_sided_t_test():
    """Check that from STUDENT_ROWS rows the test of a mean loss difference is
    the paired t-test alone, equal to scipy's one-sided one-sample t-test, with
    Student bounds; below it the p-value is never smaller than the t-test's."""
    from scipy.stats import ttest_1samp

    from fairuse_estimators._bootstrap import STUDENT_ROWS, StudentBounds, mean_tests

    rng = np.random.default_rng(0)
    for n in (STUDENT_ROWS, 3 * STUDENT_ROWS, 200):
        differences = rng.standard_t(3, size=(n, 3)) + [0.0, 0.02, -0.05]
        p_gain, p_violation, bounds = mean_tests(differences, 200, rng, 0.1)
        greater = ttest_1samp(differences, 0.0, alternative="greater").pvalue
        less = ttest_1samp(differences, 0.0, alternative="less").pvalue
        if n >= STUDENT_ROWS:
            assert isinstance(bounds, StudentBounds)
            np.testing.assert_allclose(p_gain, greater, rtol=1e-10)
            np.testing.assert_allclose(p_violation, less, rtol=1e-10)
        else:
            assert (p_gain >= greater - 1e-12).all()
            assert (p_violation >= less - 1e-12).all()
