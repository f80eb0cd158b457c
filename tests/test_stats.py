"""Paired tests and corrections against scipy, scikit-learn and simulations."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import binom, binomtest, norm, ttest_rel
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from fairuse_estimators._audit import fair_use_statistics
from fairuse_estimators._metrics import Evidence, risk_matrix
from fairuse_estimators._stats import (
    TestOptions,
    _percentile,
    adjust_pvalues,
    bootstrap_risks,
    paired_t_pvalues,
    paired_tests,
    replicate_risks,
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
    return paired_tests(evidence, risk_matrix(evidence), comparisons, options)


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


def _reference_ece(y, proba):
    confidence, outcome = proba[:, 1], (y == 1).astype(float)
    bins = np.minimum((confidence * 10).astype(int), 9)
    return sum(abs((confidence - outcome)[bins == b].sum()) for b in range(10)) / len(y)


def _reference_risk(metric, y, evidence):
    if metric == "error":
        return np.mean(evidence != y)
    if metric == "auc":
        return 1 - roc_auc_score(y, evidence)
    if metric == "log_loss":
        return log_loss(y, evidence, labels=[0, 1])
    if metric == "brier":
        return brier_score_loss(y, evidence[:, 1])
    return _reference_ece(y, evidence)


@pytest.mark.parametrize("metric", ["error", "auc", "log_loss", "brier", "ece"])
def test_replicate_risks_equal_metrics_on_repeated_rows(metric):
    """Check that resampling counts give the metric of the rows repeated."""
    y, scores = _binary_world(0, n=120)
    proba = 1 / (1 + np.exp(-(scores - 0.5)))
    evidence = {
        "error": (scores > 0.5).astype(int),
        "auc": scores,
    }.get(metric, np.stack([1 - proba, proba], axis=2))
    rng = np.random.default_rng(1)
    counts = np.vstack(
        [np.bincount(rng.integers(120, size=120), minlength=120) for _ in range(5)]
    ).astype(float)
    replicates = replicate_risks(metric, y, evidence)(counts)
    for b, row_counts in enumerate(counts.astype(int)):
        rows = np.repeat(np.arange(120), row_counts)
        for c in range(len(evidence)):
            expected = _reference_risk(metric, y[rows], evidence[c, rows])
            assert_allclose(replicates[b, c], expected, atol=1e-12)


def test_bootstrap_risks_keep_label_counts_and_center_on_the_estimate():
    """Check that every replicate keeps the class counts of the group."""
    y, scores = _binary_world(2, n=80)
    replicates = bootstrap_risks("auc", y, scores, 300, np.random.default_rng(0))
    assert replicates.shape == (300, 3)
    assert np.isfinite(replicates).all()  # one class would make AUC undefined
    point = [1 - roc_auc_score(y, s) for s in scores]
    assert_allclose(replicates.mean(axis=0), point, atol=0.02)


def test_bootstrap_error_patterns_match_row_resampling():
    """Check that pattern counts for error give the law of row resampling."""
    y, scores = _binary_world(3, n=200)
    labels = (scores > 0.5).astype(int)
    fast = bootstrap_risks("error", y, labels, 20000, np.random.default_rng(0))
    order = np.argsort(y, kind="stable")
    sizes = np.bincount(y)
    rng = np.random.default_rng(1)
    counts = np.hstack(
        [rng.multinomial(size, np.full(size, 1 / size), size=20000) for size in sizes]
    )
    rows = replicate_risks("error", y[order], labels[:, order])(counts.astype(float))
    assert_allclose(fast.mean(axis=0), rows.mean(axis=0), atol=1e-3)
    assert_allclose(fast.std(axis=0), rows.std(axis=0), rtol=0.05)
    gap_fast, gap_rows = fast[:, 0] - fast[:, 1], rows[:, 0] - rows[:, 1]
    assert_allclose(gap_fast.std(), gap_rows.std(), rtol=0.05)


def test_percentile_p_values_follow_the_formula():
    """Check p = (1 + #{gain* <= 0}) / (B + 1) and its mirror."""
    replicates = np.column_stack([np.linspace(-1, 3, 9), np.zeros(9)])
    result = _percentile(replicates, np.array([[0, 1], [1, 0]]), 0.2)
    gains = replicates[:, 0]
    assert result[0, 3] == (1 + (gains <= 0).sum()) / 10
    assert result[0, 4] == (1 + (gains >= 0).sum()) / 10
    assert result[1, 3] == result[0, 4]
    assert_allclose(result[0, 1:3], np.quantile(gains, [0.1, 0.9]))


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
        interval = binomtest(a_worse, n).proportion_ci(1 - ALPHA)
        scale = n / rows.sum()
        assert_allclose(
            [low, high],
            [(2 * interval.low - 1) * scale, (2 * interval.high - 1) * scale],
        )


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
    return auc_b - auc_a, norm.sf(z), norm.cdf(z), np.sqrt(var)


def test_delong_equals_the_pairwise_reference():
    """Check DeLong's test against the O(mn) formula and sklearn's AUC."""
    y, scores = _binary_world(4, n=160, shift=(0.0, 0.3, -0.2))
    comparisons = np.array([[0, 0, 1], [0, 2, 1], [0, 1, 2]])
    result, _ = _paired("delong", "auc", y, scores, np.zeros(160, int), comparisons)
    for (_, a, b), row in zip(comparisons, result):
        gain, p_gain, p_violation, sd = _delong_reference(y, scores[a], scores[b])
        assert_allclose(gain, roc_auc_score(y, scores[b]) - roc_auc_score(y, scores[a]))
        assert_allclose(row[[0, 3, 4]], [gain, p_gain, p_violation])
        assert_allclose(row[2] - row[0], norm.ppf(1 - ALPHA / 2) * sd)


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


def test_paired_t_pvalues_equal_scipy_ttest_rel():
    """Check the gate's one-sided paired t-test against scipy, group by group."""
    rng = np.random.default_rng(0)
    group_ids = np.repeat([0, 1, 2], [25, 60, 19])
    losses = rng.exponential(size=(3, len(group_ids)))
    losses[1, group_ids == 1] -= 1.0  # candidate 1 gains on group 1
    comparisons = np.array([[0, 0, 1], [0, 0, 2], [1, 0, 1], [1, 2, 1], [2, 0, 1]])
    p_gain = paired_t_pvalues(losses, group_ids, comparisons)
    for (g, a, b), p in zip(comparisons[:4], p_gain[:4]):
        rows = group_ids == g
        expected = ttest_rel(losses[a, rows], losses[b, rows], alternative="greater")
        assert_allclose(p, expected.pvalue, rtol=1e-10)
    assert p_gain[2] < 0.01
    assert np.isnan(p_gain[4])  # 19 rows < MIN_TEST_ROWS: left to the metric's test


def test_paired_t_pvalues_on_constant_differences():
    """Check that identical losses give no evidence and a constant gain certainty."""
    group_ids = np.zeros(30, int)
    losses = np.vstack([np.ones(30), np.ones(30), np.full(30, 0.5)])
    comparisons = np.array([[0, 0, 1], [0, 0, 2], [0, 2, 0]])
    assert_array_equal(paired_t_pvalues(losses, group_ids, comparisons), [1, 0, 1])


def test_paired_t_pvalues_hold_their_level_under_the_null():
    """Check the type I error of the t-test on skewed per-row log losses."""
    rng = np.random.default_rng(1)
    rejections = 0
    n_worlds = 400
    for _ in range(n_worlds):
        # Two exchangeable candidates: per-row log losses with heavy right tails.
        p = rng.beta(0.5, 0.5, size=(2, 40)).clip(1e-6, 1 - 1e-6)
        losses = -np.log(p)
        p_gain = paired_t_pvalues(losses, np.zeros(40, int), np.array([[0, 0, 1]]))
        rejections += p_gain[0] <= ALPHA
    # Binomial(400, 0.1) exceeds 55 with probability below 0.01.
    assert rejections <= 55


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
