"""Paired tests and corrections against scipy, scikit-learn and simulations."""

import numpy as np
import pytest
from nulls import draw
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import binom, binomtest, ttest_rel
from scipy.stats import t as t_dist
from sklearn.metrics import roc_auc_score

from fairuse_estimators._audit import fair_use_statistics
from fairuse_estimators._metrics import Evidence, risk_matrix, row_losses
from fairuse_estimators._stats import (
    TestOptions,
    adjust_pvalues,
    loss_tests,
    paired_tests,
    resolve_test,
)

ALPHA = 0.1


def _evidence(metric, y, predictions, group_ids):
    group_ids = np.asarray(group_ids)
    n_groups = int(group_ids.max()) + 1
    return Evidence(metric, np.asarray(y), np.asarray(predictions), group_ids, n_groups)


def _paired(test, metric, y, predictions, group_ids, comparisons, **options):
    """paired_tests on hand-built evidence, its risk matrix and options."""
    evidence = _evidence(metric, y, predictions, group_ids)
    options = TestOptions(
        test,
        options.get("alpha", ALPHA),
        "holm",
        options.get("n_bootstrap", 1),
        options.get("random_state"),
    )
    tests = paired_tests(evidence, risk_matrix(evidence), comparisons, options)
    return tests.result, tests.untested


def _statistics(metric, y, predictions, group_ids, assignments, **options):
    """fair_use_statistics on hand-built evidence and its risk matrix."""
    has_generic = options.pop("has_generic", True)
    evidence = _evidence(metric, y, predictions, group_ids)
    return fair_use_statistics(
        evidence,
        risk_matrix(evidence),
        assignments,
        TestOptions(**options),
        has_generic=has_generic,
    )


def _binary_world(seed, n=300, n_candidates=3, shift=(0.0, 0.0, 0.0)):
    """Labels and correlated candidate scores; ``shift`` adds signal per candidate."""
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=n)
    shared = rng.normal(size=n)
    scores = np.array(
        [
            (1.0 + shift[c]) * y + shared + rng.normal(size=n)
            for c in range(n_candidates)
        ]
    )
    return y, np.round(scores, 1)  # rounding plants ties


def test_mcnemar_equals_scipy_binomtest():
    """Check exact McNemar p-values against binomtest on discordant pairs."""
    rng = np.random.default_rng(0)
    y = rng.integers(2, size=150)
    labels = np.array(
        [np.where(rng.random(150) < p, 1 - y, y) for p in (0.2, 0.3, 0.2)]
    )
    group_ids = rng.integers(2, size=150)
    comparisons = np.array(
        [[g, a, b] for g in range(2) for a in range(3) for b in range(3) if a != b]
    )
    result, untested = _paired("mcnemar", "error", y, labels, group_ids, comparisons)
    assert untested == [""] * len(comparisons)
    for (g, a, b), (gain, low, high, p_gain, p_violation) in zip(comparisons, result):
        rows = group_ids == g
        wrong_a, wrong_b = labels[a, rows] != y[rows], labels[b, rows] != y[rows]
        a_worse, b_worse = (wrong_a & ~wrong_b).sum(), (wrong_b & ~wrong_a).sum()
        n = a_worse + b_worse
        assert_allclose(p_gain, binomtest(a_worse, n, alternative="greater").pvalue)
        assert_allclose(
            p_violation, binomtest(b_worse, n, alternative="greater").pvalue
        )
        assert_allclose(gain, wrong_a.mean() - wrong_b.mean())
        # One-sided bounds at ALPHA are the ends of two-sided 1 - 2 ALPHA
        # Clopper-Pearson intervals: of the share of discordant rows where a
        # is wrong, and of the discordant rate, taken on the wider side.
        share = binomtest(a_worse, n).proportion_ci(1 - 2 * ALPHA)
        rate = binomtest(n, rows.sum()).proportion_ci(1 - 2 * ALPHA)
        side_low, side_high = 2 * share.low - 1, 2 * share.high - 1
        expected_low = side_low * (rate.low if side_low >= 0 else rate.high)
        expected_high = side_high * (rate.high if side_high >= 0 else rate.low)
        assert_allclose([low, high], [expected_low, expected_high])


def _delong_reference(y, a, b):
    """DeLong et al. (1988) with explicit pairwise kernels."""
    pos, neg = y == 1, y == 0

    def components(s):
        kernel = (s[pos][:, None] > s[neg][None]) + 0.5 * (
            s[pos][:, None] == s[neg][None]
        )
        return kernel.mean(axis=1), kernel.mean(axis=0), kernel.mean()

    v10_a, v01_a, auc_a = components(a)
    v10_b, v01_b, auc_b = components(b)
    s10 = np.cov(np.vstack([v10_a, v10_b]))
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    cov = s10 / pos.sum() + s01 / neg.sum()
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    z = (auc_b - auc_a) / np.sqrt(var)
    df = min(pos.sum(), neg.sum()) - 1
    return auc_b - auc_a, t_dist.sf(z, df), t_dist.cdf(z, df), np.sqrt(var), df


def test_delong_equals_the_pairwise_reference():
    """Check DeLong's test against the O(mn) formula and sklearn's AUC."""
    y, scores = _binary_world(4, n=160, shift=(0.0, 0.3, -0.2))
    comparisons = np.array([[0, 0, 1], [0, 2, 1], [0, 1, 2]])
    result, _ = _paired("delong", "auc", y, scores, np.zeros(160, int), comparisons)
    for (_, a, b), row in zip(comparisons, result):
        gain, p_gain, p_violation, sd, df = _delong_reference(y, scores[a], scores[b])
        assert_allclose(gain, roc_auc_score(y, scores[b]) - roc_auc_score(y, scores[a]))
        assert_allclose(row[[0, 3, 4]], [gain, p_gain, p_violation])
        # One-sided bounds at ALPHA, from the same Student t.
        assert_allclose(row[2] - row[0], t_dist.ppf(1 - ALPHA, df) * sd)
        assert_allclose(row[0] - row[1], t_dist.ppf(1 - ALPHA, df) * sd)


def test_holm_matches_the_step_down_definition():
    """Check Holm's adjusted p-values give the step-down decisions at every level."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.uniform(0, 0.3, size=7) ** 2
        p[rng.integers(7)] = np.nan
        adjusted = adjust_pvalues(p, "holm")
        tested = ~np.isnan(p)
        assert np.isnan(adjusted[~tested]).all()
        for level in (0.01, 0.05, 0.1):
            order = np.argsort(p[tested])
            size = tested.sum()
            reject = np.zeros(size, bool)
            for rank, index in enumerate(order):
                if p[tested][index] > level / (size - rank):
                    break
                reject[index] = True
            assert_array_equal(adjusted[tested] <= level, reject)
    assert_allclose(adjust_pvalues([0.01, 0.2, np.nan], "bonferroni")[:2], [0.02, 0.4])
    assert_allclose(adjust_pvalues([0.01, 0.7], "bonferroni"), [0.02, 1.0])
    assert_allclose(adjust_pvalues([0.01, 0.7], "none"), [0.01, 0.7])


def test_resolve_test_picks_and_checks():
    """Check that auto picks McNemar or DeLong and mismatches are explained."""
    assert resolve_test("auto", "error") == "mcnemar"
    assert resolve_test("auto", "auc") == "delong"
    assert resolve_test("auto", "ece") == "bootstrap"
    with pytest.raises(ValueError, match="test='mcnemar' applies to metric='error'"):
        resolve_test("mcnemar", "auc")
    with pytest.raises(ValueError, match="test must be one of"):
        resolve_test("wilcoxon", "error")


def test_paired_tests_mark_small_and_one_class_groups_untested():
    """Check that too-small or one-class groups are untested with a reason."""
    y = np.array([0, 1] * 10 + [1] * 30)
    group_ids = np.array([0] * 20 + [1] * 30)
    scores = np.random.default_rng(0).normal(size=(2, 50))
    comparisons = np.array([[0, 0, 1], [1, 0, 1]])
    options = {"alpha": ALPHA, "n_bootstrap": 50, "random_state": 0}
    result, untested = _paired(
        "delong", "auc", y, scores, group_ids, comparisons, **options
    )
    assert np.isfinite(result[0]).all() and np.isnan(result[1]).all()
    assert "single class" in untested[1]
    small = np.array([0, 1] * 5)
    _, untested = _paired(
        "bootstrap",
        "brier",
        small,
        np.full((2, 10, 2), 0.5),
        np.zeros(10, int),
        np.array([[0, 0, 1]]),
        **options,
    )
    assert "10 rows < 20" in untested[0]


def _loss_tests(losses, group_ids, comparisons, n_bootstrap=1000, seed=0):
    options = TestOptions("bootstrap", ALPHA, "none", n_bootstrap, seed)
    return loss_tests(losses, group_ids, comparisons, options)


def test_loss_tests_take_the_larger_of_t_test_and_bootstrap_t():
    """Check the gate's test: never below scipy's paired t-test, equal to it
    when the bootstrap-t has more evidence, and left to the metric's test for
    groups below MIN_TEST_ROWS."""
    rng = np.random.default_rng(0)
    group_ids = np.repeat([0, 1, 2], [25, 60, 19])
    losses = rng.exponential(size=(3, len(group_ids)))
    losses[1, group_ids == 1] -= 1.0  # candidate 1 gains on group 1
    comparisons = np.array([[0, 0, 1], [0, 0, 2], [1, 0, 1], [1, 2, 1], [2, 0, 1]])
    p_gain = _loss_tests(losses, group_ids, comparisons)
    for (g, a, b), p in zip(comparisons[:4], p_gain[:4]):
        rows = group_ids == g
        t_test = ttest_rel(losses[a, rows], losses[b, rows], alternative="greater")
        assert p >= t_test.pvalue - 1e-12
    assert p_gain[2] < 0.01
    assert np.isnan(p_gain[4])  # 19 rows < MIN_TEST_ROWS: left to the metric's test


def test_loss_tests_on_constant_differences():
    """Check that identical losses give no evidence and a constant gain the
    smallest p-value the bootstrap can give."""
    group_ids = np.zeros(30, int)
    losses = np.vstack([np.ones(30), np.ones(30), np.full(30, 0.5)])
    comparisons = np.array([[0, 0, 1], [0, 0, 2], [0, 2, 0]])
    assert_allclose(
        _loss_tests(losses, group_ids, comparisons, n_bootstrap=99),
        [1, 0.01, 1],
    )


@pytest.mark.parametrize("family", ["exchangeable", "trade", "skewed", "imbalanced"])
@pytest.mark.parametrize("metric", ["log_loss", "brier"])
def test_loss_tests_hold_their_level_on_null_worlds(family, metric):
    """Check the size of the gain test at 30 rows on every null family,
    including skewed loss differences, where the t-test alone rejected up to
    0.17 of true nulls."""
    n_worlds, n = 300, 30
    y, proba, group_ids = draw(family, n_worlds, n, np.random.default_rng(5), metric)
    losses = row_losses(metric, y, proba)
    comparisons = np.column_stack([np.arange(n_worlds), np.zeros(n_worlds, int),
                                   np.ones(n_worlds, int)])  # fmt: skip
    p_gain = _loss_tests(losses, group_ids, comparisons, n_bootstrap=400)
    mirror = _loss_tests(losses, group_ids, comparisons[:, [0, 2, 1]], n_bootstrap=400)
    for p in (p_gain, mirror):
        assert binom.sf(np.sum(p <= ALPHA) - 1, n_worlds, ALPHA) > 0.001


def _null_error_world(rng, n_groups, n_per_group, n_candidates):
    """Candidates that are each wrong on 30% of rows, partly on the same rows."""
    n = n_groups * n_per_group
    y = rng.integers(2, size=n)
    shared = rng.random(n) < 0.15
    labels = np.array(
        [
            np.where(shared | (rng.random(n) < 0.18), 1 - y, y)
            for _ in range(n_candidates)
        ]
    )
    return y, labels, np.repeat(np.arange(n_groups), n_per_group)


def _null_auc_world(rng, n_groups, n_per_group, n_candidates):
    n = n_groups * n_per_group
    y = rng.integers(2, size=n)
    shared = rng.normal(size=n)
    scores = np.array([y + shared + rng.normal(size=n) for _ in range(n_candidates)])
    return y, scores, np.repeat(np.arange(n_groups), n_per_group)


def _null_proba_world(rng, n_groups, n_per_group, n_candidates):
    y, scores, group_ids = _null_auc_world(rng, n_groups, n_per_group, n_candidates)
    proba = 1 / (1 + np.exp(-(scores - 0.5)))
    return y, np.stack([1 - proba, proba], axis=2), group_ids


@pytest.mark.parametrize(
    "test, metric, world, n_bootstrap",
    [
        ("mcnemar", "error", _null_error_world, 1),
        ("delong", "auc", _null_auc_world, 1),
        ("bootstrap", "error", _null_error_world, 200),
        ("bootstrap", "auc", _null_auc_world, 200),
        ("bootstrap", "log_loss", _null_proba_world, 200),
    ],
)
def test_fair_use_statistics_control_family_wise_error_under_the_null(
    test, metric, world, n_bootstrap
):
    """Check that null worlds give a false verdict in at most alpha of families."""
    n_worlds, n_groups = 200, 3
    rng = np.random.default_rng(0)
    false = np.zeros((n_worlds, 4), dtype=bool)
    for w in range(n_worlds):
        y, evidence, group_ids = world(rng, n_groups, 60, n_groups + 1)
        stats = _statistics(
            metric,
            y,
            evidence,
            group_ids,
            np.arange(1, n_groups + 1)[None],
            test=test,
            alpha=ALPHA,
            correction="holm",
            n_bootstrap=n_bootstrap,
            random_state=w,
        )
        for j, block in enumerate((stats["rationality"][0], stats["envy"][0])):
            false[w, 2 * j] = (block[..., 5] <= ALPHA).any()  # false gain
            false[w, 2 * j + 1] = (block[..., 6] <= ALPHA).any()  # false violation
    # Each family's rejection count must not be significantly above alpha.
    for family, count in zip(
        [
            "rationality gains",
            "rationality violations",
            "envy gains",
            "envy violations",
        ],
        false.sum(axis=0),
    ):
        assert binom.sf(count - 1, n_worlds, ALPHA) > 0.01, (family, count)
    assert false.any(), "the tests never reject: the simulation has no power to check"


def test_fair_use_statistics_same_seed_same_p_values():
    """Check that the bootstrap is reproducible with random_state and seed-dependent."""
    rng = np.random.default_rng(0)
    y, evidence, group_ids = _null_proba_world(rng, 3, 60, 4)
    options = {
        "test": "bootstrap",
        "alpha": ALPHA,
        "correction": "holm",
        "n_bootstrap": 200,
        "has_generic": True,
    }
    runs = [
        _statistics(
            "brier",
            y,
            evidence,
            group_ids,
            np.array([[1, 2, 3]]),
            random_state=seed,
            **options,
        )["envy"]
        for seed in (7, 7, 8)
    ]
    assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2], equal_nan=True)


def test_untested_comparisons_keep_no_bounds_at_any_level():
    """Check that a comparison left untested because too few rows' losses
    differ has no bound, at the test's level or at a corrected one, so no
    bound can read as a verdict the test did not give."""
    rng = np.random.default_rng(0)
    y = rng.integers(2, size=200)
    predictions = np.vstack([y, y])
    predictions[1, :2] = 1 - y[:2]  # the two differ on 2 rows only
    evidence = _evidence("error", y, predictions, np.zeros(200, int))
    options = TestOptions("bootstrap", ALPHA, "holm", 200, 0)
    tests = paired_tests(
        evidence, risk_matrix(evidence), np.array([[0, 0, 1]]), options
    )
    assert "2 rows where the losses differ" in tests.untested[0]
    assert np.isnan(tests.result[0, 1:5]).all()
    low, high = tests.bounds(ALPHA / 4, ALPHA / 4)
    assert np.isnan(low).all() and np.isnan(high).all()
