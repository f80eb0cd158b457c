"""Paired tests of risk differences within groups, and multiple-testing corrections.

A *comparison* ``(g, a, b)`` asks whether candidate ``b`` has lower risk than
candidate ``a`` on the rows of group ``g``. Its *gain* is
``R[g, a] - R[g, b]``, read from the risk matrix: positive when ``b`` is
better. Every comparison is tested in both directions with one-sided tests:
``p_gain`` for ``H_A: gain > 0`` and ``p_violation`` for ``H_A: gain < 0``.
Both predictors are evaluated on the same rows and, for the bootstrap, on the
same resamples. Each test also gives one-sided bounds at any level, computed
by inverting the same test, so that a bound excludes 0 exactly when its test
rejects at that level (:meth:`PairedTests.bounds`).

Tests
-----
``"mcnemar"``
    Exact McNemar test for ``error``: a binomial test with success
    probability 1/2 on the ``d`` rows where exactly one of the two candidates
    is wrong, valid at any size. Its bound combines the Clopper-Pearson bound
    of the share of those rows with the Clopper-Pearson bound of ``d / n`` on
    the side that makes it wider, so that it holds unconditionally.
``"delong"``
    DeLong's test for two correlated ROC AUCs (``auc`` only) against a
    Student t with ``min(n_pos, n_neg) - 1`` degrees of freedom, and bounds
    from the same variance. It needs :data:`MIN_CLASS_ROWS` rows of each
    class.
``"bootstrap"``
    For error, log loss, Brier and the regression losses, the studentized
    bootstrap (bootstrap-t) of the mean per-row loss difference, resampling
    the group's rows, beside the paired t-test (alone from
    :data:`~._bootstrap.STUDENT_ROWS` rows); for
    ECE and AUC, the percentile bootstrap of the gain (AUC resampled within
    each class, since it conditions on the label). See :mod:`._bootstrap`.
    It needs :data:`MIN_TEST_ROWS` rows.
"""

import sys
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from scipy.special import bdtrc, betaincinv, stdtr
from scipy.stats import rankdata
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._bootstrap import StudentBounds, bootstrap_risks, mean_tests, percentile
from ._metrics import (
    METRICS,
    ON_CLASS,
    REGRESSION_METRICS,
    base_metric,
    is_mean,
    metric_name,
    row_losses,
)
from ._power import KINDS, POWER_FIELDS, P
from ._threads import one_blas_thread

TESTS = ("auto", "bootstrap", "mcnemar", "delong")
CORRECTIONS = ("holm", "bonferroni", "none")
#: Fewest rows of a group for the bootstrap and DeLong's test.
MIN_TEST_ROWS = 20
#: Most bootstrap replicates accepted: a million resolve p-values down to
#: 1e-6, enough for Holm over tens of thousands of tests, in seconds per
#: group; more would only make a fit run for hours.
MAX_BOOTSTRAP = 1_000_000
#: Most replicates the bootstrap raises ``n_bootstrap`` to on its own, so
#: that large families of tests can still reach ``alpha``.
MAX_AUTO_BOOTSTRAP = 50_000
#: Families of tests, each with its family-wise error rate at ``alpha``:
#: each condition and direction of a model, or all tests of a model.
FAMILIES = ("condition", "model")
#: Fewest rows of each class of a group for a test of AUC.
MIN_CLASS_ROWS = 10
#: Fewest rows where two candidates' losses differ for the bootstrap of a
#: mean loss difference.
MIN_INFORMATIVE_ROWS = 10
#: Variances below this are zero.
_TOLERANCE = 1e-12
FIELDS = ("gain", "low", "high", "p_gain", "p_violation")
#: Fields of a comparison in a report: the test and its adjusted p-values.
STAT_FIELDS = (*FIELDS, "p_gain_adjusted", "p_violation_adjusted")
#: Position of each of :data:`STAT_FIELDS`.
FIELD = {name: i for i, name in enumerate(STAT_FIELDS)}
#: Verdict of a test: not tested (with the reason recorded), too few rows
#: for power even against the largest possible gain, neither direction
#: significant, significant gain, significant violation.
VERDICTS = ("untested", "untestable", "inconclusive", "gain", "violation")
#: Why a group's rationality is not tested when its model is the generic one;
#: the only reason a report does not repeat in its notes.
SAME_AS_GENERIC = "the group uses the generic model"

#: The one declaration of the test options' domains, shared by the
#: estimator's parameter constraints, :func:`check_test_options` and the
#: command line.
TEST_CONSTRAINTS = {
    "test": [StrOptions(set(TESTS))],
    "alpha": [Interval(Real, 0, 1, closed="neither")],
    "correction": [StrOptions(set(CORRECTIONS))],
    "n_bootstrap": [Interval(Integral, 1, MAX_BOOTSTRAP, closed="both")],
    "family": [StrOptions(set(FAMILIES))],
}


class TestOptions(NamedTuple):
    """How comparisons are tested (transient; see :func:`check_test_options`).

    Attributes
    ----------
    test : {"bootstrap", "mcnemar", "delong"}
        The concrete test.
    alpha : float
    correction : {"holm", "bonferroni", "none"}
    n_bootstrap : int
    random_state : int, RandomState instance or None
    family : {"condition", "model"}
        The family each correction runs over: each condition and direction
        of a model (rationality gains, rationality violations, envy gains,
        envy violations), or all of a model's tests at once, as in the
        paper's correction over every condition of its Definition 1.
    """

    test: str
    alpha: float
    correction: str
    n_bootstrap: int
    random_state: object = None
    family: str = "condition"

    __test__ = False  # not a test class for pytest

    def settings(self, version):
        """The settings a report records next to its results."""
        seed = self.random_state if isinstance(self.random_state, Integral) else None
        return {
            "test": str(self.test),
            "alpha": float(self.alpha),
            "correction": str(self.correction),
            "n_bootstrap": int(self.n_bootstrap),
            "family": str(self.family),
            "random_state": None if seed is None else int(seed),
            "version": version,
        }


def check_test_options(
    metric,
    test="auto",
    alpha=0.1,
    correction="holm",
    n_bootstrap=1000,
    random_state=None,
    family="condition",
):
    """Validate the options of an audit; return them with the concrete test.

    Raises
    ------
    ValueError
        Naming the option, when a value lies outside :data:`TEST_CONSTRAINTS`
        or the test does not apply to ``metric``.
    """
    if isinstance(metric, str) and metric not in METRICS + REGRESSION_METRICS:
        raise ValueError(
            f"metric must be one of {METRICS + REGRESSION_METRICS}; got {metric!r}."
        )
    if isinstance(alpha, bool) or not _satisfies("alpha", alpha):
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}.")
    if isinstance(n_bootstrap, bool) or not _satisfies("n_bootstrap", n_bootstrap):
        raise ValueError(
            f"n_bootstrap must be an integer from 1 to {MAX_BOOTSTRAP:,}; got "
            f"{n_bootstrap!r}."
        )
    if not _satisfies("correction", correction):
        raise ValueError(
            f"correction must be one of {CORRECTIONS}; got {correction!r}."
        )
    if not _satisfies("family", family):
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}.")
    return TestOptions(
        resolve_test(test, metric), alpha, correction, n_bootstrap, random_state, family
    )


def _satisfies(name, value):
    return any(c.is_satisfied_by(value) for c in TEST_CONSTRAINTS[name])


def verdicts(p_gain, p_violation, alpha, untestable=False):
    """The verdict rule: ``"gain"``, ``"violation"``, ``"inconclusive"``,
    ``"untestable"`` or ``"untested"`` for adjusted one-sided p-values at
    level ``alpha``.

    A direction is significant at ``alpha`` and, when both are, the one with
    more evidence wins; ``nan`` in both means the comparison was not tested,
    and ``nan`` in one direction means that direction was not tested. A
    comparison neither significant nor with power against the largest
    possible gain (``untestable``) is ``"untestable"``: a significant result
    is never hidden by it.
    """
    p_gain, p_violation = np.asarray(p_gain, float), np.asarray(p_violation, float)
    with np.errstate(invalid="ignore"):
        gain = (p_gain <= alpha) & ~(p_violation < p_gain)
        violation = (p_violation <= alpha) & ~gain
    untested = np.isnan(p_gain) & np.isnan(p_violation)
    quiet = np.where(untestable, 1, 2)
    codes = np.where(untested, 0, np.where(gain, 3, np.where(violation, 4, quiet)))
    return np.asarray(VERDICTS, dtype=object)[codes]


def comparison_gains(risks, comparisons):
    """Gain ``R[g, a] - R[g, b]`` of every comparison ``(g, a, b)``: positive
    when ``b`` has the lower risk on group ``g``."""
    g, a, b = np.asarray(comparisons, dtype=np.intp).T
    return risks[g, a] - risks[g, b]


def resolve_test(test, metric):
    """Concrete test for ``metric``; ``"auto"`` picks the most powerful one."""
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}; got {test!r}.")
    computed_as = base_metric(metric)
    if test == "auto":
        return {"error": "mcnemar", "auc": "delong"}.get(computed_as, "bootstrap")
    needs = {"mcnemar": "error", "delong": "auc"}.get(test)
    if needs is not None and computed_as != needs:
        raise ValueError(
            f"test={test!r} applies to metric={needs!r} only; got "
            f"metric={metric_name(metric)!r}. Use test='bootstrap' or test='auto'."
        )
    return test


def adjust_pvalues(p_values, correction):
    """Family-wise adjusted p-values; ``nan`` entries are not in the family.

    ``"holm"`` is Holm's step-down procedure and ``"bonferroni"`` multiplies
    by the family size; both control the family-wise error rate under any
    dependence between the tests.
    """
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full(p_values.shape, np.nan)
    tested = ~np.isnan(p_values)
    p = p_values[tested]
    size = len(p)
    if correction == "none" or size == 0:
        adjusted[tested] = p
    elif correction == "bonferroni":
        adjusted[tested] = np.minimum(1.0, p * size)
    else:
        order = np.argsort(p, kind="stable")
        steps = np.maximum.accumulate(p[order] * (size - np.arange(size)))
        holm = np.empty(size)
        holm[order] = np.minimum(1.0, steps)
        adjusted[tested] = holm
    return adjusted


def resolve_rng(random_state):
    """A fast generator seeded from a scikit-learn style ``random_state``."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


class PairedTests(NamedTuple):
    """Results of :func:`paired_tests` for ``K`` comparisons (transient).

    Attributes
    ----------
    result : ndarray of shape (K, 5)
        Columns :data:`FIELDS`: the gain, its one-sided lower and upper
        bounds at level ``alpha``, ``p_gain`` and ``p_violation``; ``nan``
        where a comparison was not tested.
    untested : list of str
        Why each comparison was not tested, ``""`` where it was.
    parts : list of (ndarray, object)
        Which comparisons each group's bound calculator serves.
    power : ndarray of shape (K, len(POWER_FIELDS))
        What the power of each comparison's test is computed from
        (:mod:`._power`), its planning level still ``nan``.
    """

    result: np.ndarray
    untested: list
    parts: list
    power: np.ndarray

    def bounds(self, level_low, level_high, which=None):
        """Lower bounds at one-sided ``level_low`` and upper bounds at
        ``level_high`` of the comparisons ``which`` (all for ``None``);
        ``nan`` where a comparison was not tested.

        A bound at level ``l`` excludes 0 exactly when the test rejects at
        ``l``, so at the level of the adjusted test it agrees with the
        verdict.
        """
        which = np.arange(len(self.result)) if which is None else np.asarray(which)
        level_low = np.broadcast_to(level_low, which.shape)
        level_high = np.broadcast_to(level_high, which.shape)
        low, high = np.full(len(which), np.nan), np.full(len(which), np.nan)
        for comparisons, part in self.parts:
            # Position of each requested comparison among this part's own.
            local = np.searchsorted(comparisons, which)
            mine = comparisons[np.minimum(local, len(comparisons) - 1)] == which
            if mine.any():
                low[mine], high[mine] = part.bounds(
                    level_low[mine], level_high[mine], local[mine]
                )
        # A comparison left untested after its test ran (too few rows whose
        # losses differ) keeps no bound either.
        untested = np.isnan(self.result[which, 3])
        low[untested], high[untested] = np.nan, np.nan
        return low, high


@one_blas_thread
def paired_tests(evidence, risks, comparisons, options, verbose=0):
    """Gain, one-sided bounds and p-values of every comparison.

    Parameters
    ----------
    evidence : Evidence
        Every candidate's predictions; rows are tested by their group.
    risks : ndarray of shape (n_groups, C)
        The risk matrix of ``evidence``; the gains are read from it.
    comparisons : ndarray of int of shape (K, 3)
        Rows ``(group, a, b)``; the gain is ``R[g, a] - R[g, b]``.
    options : TestOptions
    verbose : int, default=0
        1 prints one line to stderr, ``"<test>: K tests on m groups"``; 2 and
        more print ``"<test>: group k/m"`` as the tests of each group start.

    Returns
    -------
    tests : PairedTests
    """
    test, metric = options.test, evidence.metric
    rng = resolve_rng(options.random_state)
    result = np.full((len(comparisons), len(FIELDS)), np.nan)
    power = np.full((len(comparisons), len(POWER_FIELDS)), np.nan)
    untested, parts = [""] * len(comparisons), []
    tested_groups = np.unique(comparisons[:, 0])
    if verbose == 1:
        print(
            f"{test}: {len(comparisons)} tests on {len(tested_groups)} groups",
            file=sys.stderr,
        )
    for step, g in enumerate(tested_groups, start=1):
        if verbose > 1:
            print(f"{test}: group {step}/{len(tested_groups)}", file=sys.stderr)
        which = np.flatnonzero(comparisons[:, 0] == g)
        candidates, pairs = np.unique(comparisons[which, 1:], return_inverse=True)
        pairs = pairs.reshape(-1, 2)
        y_g, evidence_g = evidence.group(g, candidates)
        reason = untested_reason(test, metric, y_g)
        if reason:
            for k in which:
                untested[k] = reason
            continue
        n_g = len(y_g)
        if test == "mcnemar":
            found = _mcnemar(y_g, evidence_g, pairs)
            part = found[2]
            spread = ("mcnemar", (part.worse_a + part.worse_b) / n_g, np.nan, np.nan)
        elif test == "delong":
            *found, reference_sd = _delong(y_g, evidence_g, pairs)
            spread = ("student", found[2].sd, found[2].df, reference_sd)
        elif is_mean(metric):
            found, spread, too_few = _mean_loss_tests(
                metric, y_g, evidence_g, pairs, options, rng
            )
            for k, reason in zip(which, too_few):
                untested[k] = reason or untested[k]
        else:
            found, spread, undefined = _percentile_tests(
                metric, y_g, evidence_g, pairs, risks, comparisons[which], options, rng
            )
            for k, reason in zip(which, undefined):
                untested[k] = reason or untested[k]
        result[which, 3], result[which, 4], part = found
        parts.append((which, part))
        reference = risks[g, comparisons[which, 1]]
        if base_metric(metric) == "custom":  # its best possible risk is unknown
            reference = np.full_like(reference, np.nan)
        power[which] = power_inputs(spread, n_g, reference)
    # The point estimate is the same difference of risks the report shows.
    result[:, 0] = np.where(
        np.isnan(result[:, 3]), np.nan, comparison_gains(risks, comparisons)
    )
    power[np.isnan(result[:, 3]), P["kind"]] = np.nan
    tests = PairedTests(result, untested, parts, power)
    result[:, 1], result[:, 2] = tests.bounds(options.alpha, options.alpha)
    result[np.isnan(result[:, 3]), 1:3] = np.nan
    return tests


def _mean_loss_tests(metric, y, evidence, pairs, options, rng):
    """Tests of a mean per-row loss difference on one group: the results,
    their spread for power, and why each comparison is left untested."""
    losses = row_losses(metric, y, evidence).T
    differences = losses[:, pairs[:, 0]] - losses[:, pairs[:, 1]]
    found = mean_tests(differences, options.n_bootstrap, rng, options.alpha)
    root = np.sqrt(len(y))
    spread = (
        "student",
        differences.std(axis=0, ddof=1) / root,
        len(y) - 1.0,
        losses[:, pairs[:, 0]].std(axis=0, ddof=1) / root,
    )
    # A mean of a few nonzero differences is too discrete for either test
    # (error on small groups): leave those comparisons untested.
    informative = (differences != 0).sum(axis=0)
    too_few = [
        f"{count} rows where the losses differ < {MIN_INFORMATIVE_ROWS}, too few "
        "for the bootstrap test"
        if count < MIN_INFORMATIVE_ROWS
        else ""
        for count in informative
    ]
    return _without(found, informative < MIN_INFORMATIVE_ROWS), spread, too_few


def _percentile_tests(metric, y, evidence, pairs, risks, comparisons, options, rng):
    """Percentile bootstrap tests on one group, their spread for power, and
    why each comparison is left untested: a metric undefined on the group or
    on some of its resamples (a scorer that raised or returned NaN) gives no
    test."""
    replicates = bootstrap_risks(metric, y, evidence, options.n_bootstrap, rng)
    gain = comparison_gains(risks, comparisons)
    found = percentile(replicates, pairs, gain, options.alpha)
    undefined = np.isnan(replicates[:, pairs]).any(axis=(0, 2)) | np.isnan(gain)
    reasons = [
        f"{metric_name(metric)} is undefined on the group or on some of its "
        "bootstrap resamples"
        if skip
        else ""
        for skip in undefined
    ]
    return _without(found, undefined), _replicate_spread(replicates, pairs), reasons


def _replicate_spread(replicates, pairs):
    """Spread for power of percentile tests: the replicate gains' standard
    deviation, and the reference's alone (against a perfect candidate)."""
    gains = replicates[:, pairs[:, 0]] - replicates[:, pairs[:, 1]]
    return "normal", gains.std(axis=0), np.nan, replicates[:, pairs[:, 0]].std(axis=0)


def power_inputs(spread, n, reference_risks):
    """Rows of :data:`POWER_FIELDS` for one group's comparisons: the kind,
    the observed spread, the degrees of freedom, the largest possible gain
    (the reference's risk; for ECE, which can estimate below 0, at least 0)
    and the spread against it; the level is set by the family."""
    kind, observed, df, at_largest = spread
    size = len(reference_risks)
    rows = np.full((size, len(POWER_FIELDS)), np.nan)
    rows[:, P["kind"]] = KINDS.index(kind)
    rows[:, P["n"]] = n
    rows[:, P["spread"]] = observed
    rows[:, P["df"]] = df
    rows[:, P["largest"]] = np.maximum(reference_risks, 0.0)
    rows[:, P["spread_largest"]] = at_largest
    return rows


def _without(found, skipped):
    """Test results with the ``skipped`` comparisons' p-values set to nan."""
    p_gain, p_violation, part = found
    return (
        np.where(skipped, np.nan, p_gain),
        np.where(skipped, np.nan, p_violation),
        part,
    )


@one_blas_thread
def loss_tests(losses, group_ids, comparisons, options):
    """One-sided bootstrap-t tests of gains in a per-row loss.

    The test the evidence gate runs on its per-row losses (for example the
    log loss when routing on error), the same bootstrap-t as
    :func:`paired_tests` runs for a decomposable metric.

    Parameters
    ----------
    losses : ndarray of shape (C, n)
        Loss of every candidate on every row.
    group_ids : ndarray of int of shape (n,)
    comparisons : ndarray of int of shape (K, 3)
        Rows ``(group, a, b)``; the alternative is that ``b`` has the lower
        mean loss on the group's rows.
    options : TestOptions

    Returns
    -------
    p_gain : ndarray of shape (K,)
        ``nan`` for groups with fewer than :data:`MIN_TEST_ROWS` rows.
    """
    rng = resolve_rng(options.random_state)
    p_gain = np.full(len(comparisons), np.nan)
    for g in np.unique(comparisons[:, 0]):
        which = np.flatnonzero(comparisons[:, 0] == g)
        rows = np.flatnonzero(group_ids == g)
        if len(rows) < MIN_TEST_ROWS:
            continue
        a, b = comparisons[which, 1], comparisons[which, 2]
        differences = (losses[a[:, None], rows] - losses[b[:, None], rows]).T
        # A loss not computed on some of the rows (nan) leaves that test to
        # the metric's.
        known = ~np.isnan(differences).any(axis=0)
        if known.any():
            p_gain[which[known]] = mean_tests(
                differences[:, known].astype(float), options.n_bootstrap, rng,
                options.alpha,
            )[0]  # fmt: skip
    return p_gain


def untested_reason(test, metric, y_g):
    """Why a group's comparisons cannot be tested validly, or ``""``."""
    if len(y_g) == 0:
        if metric in ON_CLASS:  # rows of the other class are not evaluated
            side = "positive" if ON_CLASS[metric] else "negative"
            return f"no {side} rows, on which {metric} is defined"
        return "no rows"
    if metric == "auc" and y_g.min() == y_g.max():
        return "auc is undefined: the group has a single class"
    if test == "mcnemar":
        return ""
    if len(y_g) < MIN_TEST_ROWS:
        return f"{len(y_g)} rows < {MIN_TEST_ROWS}, too few for the {test} test"
    if metric == "auc" and np.bincount(y_g).min() < MIN_CLASS_ROWS:
        return (
            f"{np.bincount(y_g).min()} rows of the rarer class < "
            f"{MIN_CLASS_ROWS}, too few for the {test} test of auc"
        )
    return ""


# ----------------------------------------------------------- exact tests


class _McNemarBounds(NamedTuple):
    worse_a: np.ndarray
    worse_b: np.ndarray
    n: int

    def bounds(self, level_low, level_high, index):
        """Bounds of the difference of error rates ``p10 - p01``.

        The gain is ``(2 s - 1) d`` with ``s`` the share of discordant rows
        where ``a`` is wrong and ``d`` the discordant rate: the bound of ``s``
        inverts the exact test, and ``d`` takes the bound that widens it.
        """
        a, b, n = self.worse_a[index], self.worse_b[index], self.n
        total = a + b
        with np.errstate(invalid="ignore"):
            share_low = np.where(a > 0, betaincinv(a, b + 1, level_low), 0.0)
            share_high = np.where(b > 0, betaincinv(a + 1, b, 1 - level_high), 1.0)
        low, high = 2 * share_low - 1, 2 * share_high - 1
        rate_low = _rates(total, n, level_low)
        rate_high = _rates(total, n, level_high)
        low *= np.where(low >= 0, rate_low[0], rate_low[1])
        high *= np.where(high >= 0, rate_high[1], rate_high[0])
        return low, high


def _rates(events, n, level):
    """One-sided Clopper-Pearson lower and upper bounds of a rate ``events/n``."""
    with np.errstate(invalid="ignore"):
        low = np.where(events > 0, betaincinv(events, n - events + 1, level), 0.0)
        high = np.where(events < n, betaincinv(events + 1, n - events, 1 - level), 1.0)
    return low, high


def _mcnemar(y, labels, pairs):
    """Exact McNemar tests of every pair of candidates on one group."""
    wrong = labels != y
    # Discordant rows of each pair: a wrong and b right, and the mirror.
    worse_a = (wrong[pairs[:, 0]] & ~wrong[pairs[:, 1]]).sum(axis=1)
    worse_b = (wrong[pairs[:, 1]] & ~wrong[pairs[:, 0]]).sum(axis=1)
    total = worse_a + worse_b
    p_gain = np.minimum(bdtrc(worse_a - 1, total, 0.5), 1.0)
    p_violation = np.minimum(bdtrc(worse_b - 1, total, 0.5), 1.0)
    return p_gain, p_violation, _McNemarBounds(worse_a, worse_b, len(y))


def _delong(y, scores, pairs):
    """DeLong's paired test of every pair of candidates' AUC on one group."""
    positive = y == 1
    n_pos, n_neg = positive.sum(), (~positive).sum()
    ordered = np.hstack([scores[:, positive], scores[:, ~positive]])
    ranks = rankdata(ordered, axis=1)
    # Placement values (Sun and Xu, 2014): midranks in the pooled sample
    # minus midranks within each class.
    v10 = (ranks[:, :n_pos] - rankdata(scores[:, positive], axis=1)) / n_neg
    v01 = 1.0 - (ranks[:, n_pos:] - rankdata(scores[:, ~positive], axis=1)) / n_pos
    auc = v10.mean(axis=1)
    covariance = np.atleast_2d(np.cov(v10) / n_pos + np.cov(v01) / n_neg)
    a, b = pairs[:, 0], pairs[:, 1]
    gain = auc[b] - auc[a]  # risk is 1 - AUC
    variance = covariance[a, a] + covariance[b, b] - 2 * covariance[a, b]
    sd = np.sqrt(np.maximum(variance, 0.0))
    df = float(min(n_pos, n_neg) - 1)
    # Identical rankings have no variance and carry no evidence either way.
    flat = sd <= _TOLERANCE
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(flat, 0.0, gain / np.where(flat, 1.0, sd))
    p_gain = np.where(flat, 1.0, stdtr(df, -t))
    p_violation = np.where(flat, 1.0, stdtr(df, t))
    # Against a perfect candidate, the gain varies as the reference's AUC.
    reference_sd = np.sqrt(np.maximum(np.diagonal(covariance)[a], 0.0))
    return p_gain, p_violation, StudentBounds(gain, sd, df), reference_sd
