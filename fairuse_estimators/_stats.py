"""Paired tests of risk differences within groups, and multiple-testing corrections.

A *comparison* ``(g, a, b)`` asks whether candidate ``b`` has lower risk than
candidate ``a`` on the rows of group ``g``. Its *gain* is
``R[g, a] - R[g, b]``: positive when ``b`` is better. Every comparison is
tested in both directions with one-sided tests: ``p_gain`` for
``H_A: gain > 0`` and ``p_violation`` for ``H_A: gain < 0``. Both predictors
are evaluated on the same rows and, for the bootstrap, on the same resamples.

Tests
-----
``"bootstrap"``
    Rows are resampled with replacement within each (group, label) stratum,
    so every replicate keeps the group's class counts and its AUC stays
    defined. A replicate is a vector of multinomial counts; the risks of all
    candidates on all replicates are matrix products of the count matrix with
    per-row losses (error, log loss, Brier), with row-to-bin residuals (ECE),
    or weighted Mann-Whitney sums over each candidate's presorted scores
    (AUC). For error, rows with the same label and the same losses under
    every candidate are interchangeable, so counts are drawn over those
    patterns, which has exactly the same distribution. p-values use the
    percentile method: ``(1 + #{gain* <= 0}) / (B + 1)`` for a gain and the
    mirror for a violation; intervals are percentile intervals.
``"mcnemar"``
    Exact McNemar test for ``error``: a binomial test with success
    probability 1/2 on the rows where exactly one of the two candidates is
    wrong. Its interval is the Clopper-Pearson interval for the share of
    those rows, scaled to a difference of error rates; it is conditional on
    the number of such rows.
``"delong"``
    DeLong's test for two correlated ROC AUCs (``auc`` only), with a normal
    interval from the same variance.

Groups with fewer than ``MIN_TEST_ROWS`` rows are not tested by the bootstrap
or DeLong's test, whose approximations need more rows; DeLong's test also
needs two rows of each class. The exact McNemar test is valid at any size.
"""

import sys
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.special import ndtr, ndtri, stdtr
from scipy.stats import beta, binom, rankdata
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._metrics import METRICS, N_ECE_BINS, ece_parts, row_losses

TESTS = ("auto", "bootstrap", "mcnemar", "delong")
CORRECTIONS = ("holm", "bonferroni", "none")
#: Fewest rows of a group for the bootstrap and DeLong's test.
MIN_TEST_ROWS = 20
#: Most bootstrap replicates accepted: a million resolve p-values down to
#: 1e-6, enough for Holm over tens of thousands of tests, in seconds per
#: group; more would only make a fit run for hours.
MAX_BOOTSTRAP = 1_000_000
#: Bootstrap replicates differing by less than this count as ties.
_TOLERANCE = 1e-12
#: Largest count matrix (replicates x rows) held at once.
_CHUNK_CELLS = 2**20
FIELDS = ("gain", "low", "high", "p_gain", "p_violation")
#: Fields of a comparison in a report: the test and its adjusted p-values.
STAT_FIELDS = (*FIELDS, "p_gain_adjusted", "p_violation_adjusted")
#: Position of each of :data:`STAT_FIELDS`.
FIELD = {name: i for i, name in enumerate(STAT_FIELDS)}
#: Verdict of a test: not tested (with the reason recorded), neither
#: direction significant, significant gain, significant violation.
VERDICTS = ("untested", "inconclusive", "gain", "violation")
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
    """

    test: str
    alpha: float
    correction: str
    n_bootstrap: int
    random_state: object = None

    __test__ = False  # not a test class for pytest

    def settings(self, version):
        """The settings a report records next to its results."""
        seed = self.random_state if isinstance(self.random_state, Integral) else None
        return {
            "test": str(self.test),
            "alpha": float(self.alpha),
            "correction": str(self.correction),
            "n_bootstrap": int(self.n_bootstrap),
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
):
    """Validate the options of an audit; return them with the concrete test.

    Raises
    ------
    ValueError
        Naming the option, when a value lies outside :data:`TEST_CONSTRAINTS`
        or the test does not apply to ``metric``.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}; got {metric!r}.")
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
    return TestOptions(
        resolve_test(test, metric), alpha, correction, n_bootstrap, random_state
    )


def _satisfies(name, value):
    return any(c.is_satisfied_by(value) for c in TEST_CONSTRAINTS[name])


def verdicts(p_gain, p_violation, alpha):
    """The verdict rule: ``"gain"``, ``"violation"``, ``"inconclusive"`` or
    ``"untested"`` for adjusted one-sided p-values at level ``alpha``.

    A direction is significant at ``alpha`` and, when both are, the one with
    more evidence wins; ``nan`` in both means the comparison was not tested,
    and ``nan`` in one direction means that direction was not tested.
    """
    p_gain, p_violation = np.asarray(p_gain, float), np.asarray(p_violation, float)
    with np.errstate(invalid="ignore"):
        gain = (p_gain <= alpha) & ~(p_violation < p_gain)
        violation = (p_violation <= alpha) & ~gain
    untested = np.isnan(p_gain) & np.isnan(p_violation)
    codes = np.where(untested, 0, np.where(gain, 2, np.where(violation, 3, 1)))
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
    if test == "auto":
        return {"error": "mcnemar", "auc": "delong"}.get(metric, "bootstrap")
    needs = {"mcnemar": "error", "delong": "auc"}.get(test)
    if needs is not None and metric != needs:
        raise ValueError(
            f"test={test!r} applies to metric={needs!r} only; got "
            f"metric={metric!r}. Use test='bootstrap' or test='auto'."
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


def paired_tests(evidence, risks, comparisons, options, verbose=0):
    """Gain, interval and one-sided p-values of every comparison.

    Parameters
    ----------
    evidence : Evidence
        Every candidate's predictions; rows are tested by their group.
    risks : ndarray of shape (n_groups, C)
        The risk matrix of ``evidence``; the gains are read from it.
    comparisons : ndarray of int of shape (K, 3)
        Rows ``(group, a, b)``; the gain is ``R[g, a] - R[g, b]``.
    options : TestOptions
        The intervals have two-sided level ``1 - alpha``.
    verbose : int, default=0
        When positive, print ``"<test>: group k/m"`` to stderr as the
        tests of each group start.

    Returns
    -------
    result : ndarray of shape (K, 5)
        Columns :data:`FIELDS`; ``nan`` where a comparison was not tested.
    untested : list of str
        Why each comparison was not tested, ``""`` where it was.
    """
    test, metric = options.test, evidence.metric
    rng = resolve_rng(options.random_state)
    result = np.full((len(comparisons), len(FIELDS)), np.nan)
    untested = [""] * len(comparisons)
    tested_groups = np.unique(comparisons[:, 0])
    for step, g in enumerate(tested_groups, start=1):
        if verbose:
            print(f"{test}: group {step}/{len(tested_groups)}", file=sys.stderr)
        which = np.flatnonzero(comparisons[:, 0] == g)
        candidates, pairs = np.unique(comparisons[which, 1:], return_inverse=True)
        pairs = pairs.reshape(-1, 2)
        y_g, evidence_g = evidence.group(g, candidates)
        reason = _untested_reason(test, metric, y_g)
        if reason:
            for k in which:
                untested[k] = reason
            continue
        if test == "mcnemar":
            result[which] = _mcnemar(y_g, evidence_g, pairs, options.alpha)
        elif test == "delong":
            result[which] = _delong(y_g, evidence_g, pairs, options.alpha)
        else:
            replicates = bootstrap_risks(
                metric, y_g, evidence_g, options.n_bootstrap, rng
            )
            result[which] = _percentile(replicates, pairs, options.alpha)
        # The point estimate is the same difference of risks the report shows.
        result[which, 0] = comparison_gains(risks, comparisons[which])
    return result, untested


def paired_t_pvalues(losses, group_ids, comparisons):
    """One-sided paired t-test p-values of gains in a per-row loss.

    Parameters
    ----------
    losses : ndarray of shape (C, n)
        Loss of every candidate on every row, e.g. its log loss.
    group_ids : ndarray of int of shape (n,)
    comparisons : ndarray of int of shape (K, 3)
        Rows ``(group, a, b)``; the alternative is that ``b`` has the lower
        mean loss on the group's rows.

    Returns
    -------
    p_gain : ndarray of shape (K,)
        ``nan`` for groups with fewer than :data:`MIN_TEST_ROWS` rows, too
        few for the t distribution to describe the mean difference.
    """
    p_gain = np.full(len(comparisons), np.nan)
    for g in np.unique(comparisons[:, 0]):
        which = np.flatnonzero(comparisons[:, 0] == g)
        rows = np.flatnonzero(group_ids == g)
        if len(rows) < MIN_TEST_ROWS:
            continue
        a, b = comparisons[which, 1], comparisons[which, 2]
        difference = losses[a[:, None], rows].astype(float) - losses[b[:, None], rows]
        mean = difference.mean(axis=1)
        spread = difference.std(axis=1, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = mean / (spread / np.sqrt(len(rows)))
        # A difference that is the same on every row: certain if positive,
        # and no evidence of a gain otherwise.
        p_gain[which] = np.where(
            spread > 0, stdtr(len(rows) - 1, -t), np.where(mean > 0, 0.0, 1.0)
        )
    return p_gain


def _untested_reason(test, metric, y_g):
    classes = np.unique(y_g)
    if len(y_g) == 0:
        return "no rows"
    if metric == "auc" and len(classes) < 2:
        return "auc is undefined: the group has a single class"
    if test == "mcnemar":
        return ""
    if len(y_g) < MIN_TEST_ROWS:
        return f"{len(y_g)} rows < {MIN_TEST_ROWS}, too few for the {test} test"
    if test == "delong" and np.bincount(y_g).min() < 2:
        return "delong needs two rows of each class"
    return ""


# ----------------------------------------------------------- exact tests


def _mcnemar(y, labels, pairs, alpha):
    """Exact McNemar tests of every pair of candidates on one group."""
    wrong = (labels != y).astype(float)
    # discordant[a, b]: rows where a is wrong and b is right.
    discordant = wrong @ (1.0 - wrong).T
    worse_a = discordant[pairs[:, 0], pairs[:, 1]]
    worse_b = discordant[pairs[:, 1], pairs[:, 0]]
    total = worse_a + worse_b
    p_gain = binom.sf(worse_a - 1, total, 0.5)
    p_violation = binom.sf(worse_b - 1, total, 0.5)
    with np.errstate(invalid="ignore"):
        share_low = np.where(
            worse_a > 0, beta.ppf(alpha / 2, worse_a, worse_b + 1), 0.0
        )
        share_high = np.where(
            worse_b > 0, beta.ppf(1 - alpha / 2, worse_a + 1, worse_b), 1.0
        )
    scale = total / len(y)
    gain = (worse_a - worse_b) / len(y)
    return np.column_stack(
        [
            gain,
            (2 * share_low - 1) * scale,
            (2 * share_high - 1) * scale,
            np.minimum(p_gain, 1.0),
            np.minimum(p_violation, 1.0),
        ]
    )


def _delong(y, scores, pairs, alpha):
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
    # Identical rankings have no variance and carry no evidence either way.
    flat = sd <= _TOLERANCE
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(flat, 0.0, gain / np.where(flat, 1.0, sd))
    p_gain = np.where(flat, 1.0, ndtr(-z))
    p_violation = np.where(flat, 1.0, ndtr(z))
    half_width = ndtri(1 - alpha / 2) * sd
    return np.column_stack(
        [gain, gain - half_width, gain + half_width, p_gain, p_violation]
    )


# ----------------------------------------------------------- bootstrap


def _percentile(replicates, pairs, alpha):
    """Percentile p-values and intervals from risk replicates (B, C)."""
    gains = replicates[:, pairs[:, 0]] - replicates[:, pairs[:, 1]]
    n_bootstrap = len(gains)
    p_gain = (1 + (gains <= _TOLERANCE).sum(axis=0)) / (n_bootstrap + 1)
    p_violation = (1 + (gains >= -_TOLERANCE).sum(axis=0)) / (n_bootstrap + 1)
    low, high = np.quantile(gains, [alpha / 2, 1 - alpha / 2], axis=0)
    return np.column_stack(
        [np.full(len(pairs), np.nan), low, high, p_gain, p_violation]
    )


def bootstrap_risks(metric, y, evidence, n_bootstrap, rng):
    """Risks of every candidate on ``n_bootstrap`` resamples of one group.

    Resampling is stratified by label. Returns an array of shape
    ``(n_bootstrap, C)``.
    """
    order = np.argsort(y, kind="stable")
    y, evidence = y[order], evidence[:, order]
    if metric == "error":
        return _bootstrap_patterns(y, row_losses(metric, y, evidence), n_bootstrap, rng)
    risk = replicate_risks(metric, y, evidence)
    sizes = np.bincount(y)
    return np.vstack(
        [risk(counts) for counts in _count_chunks(sizes[sizes > 0], n_bootstrap, rng)]
    )


def replicate_risks(metric, y, evidence):
    """Function from resampling counts ``(B, n)`` to risks ``(B, C)``.

    Everything that does not depend on the counts is computed once here.
    """
    n_candidates, n = evidence.shape[:2]
    if metric == "auc":
        return _auc_replicates(y, evidence)
    if metric == "ece":
        bins, residual = ece_parts(y, evidence)
        columns = bins + (np.arange(n_candidates) * N_ECE_BINS)[:, None]
        cells = sparse.csc_array(
            (residual.ravel(), (np.tile(np.arange(n), n_candidates), columns.ravel())),
            shape=(n, n_candidates * N_ECE_BINS),
        )

        def risk(counts):
            sums = (cells.T @ counts.T).T.reshape(len(counts), n_candidates, -1)
            return np.abs(sums).sum(axis=2) / counts.sum(axis=1, keepdims=True)

        return risk
    losses = row_losses(metric, y, evidence).T

    def risk(counts):
        return counts @ losses / counts.sum(axis=1, keepdims=True)

    return risk


def _count_chunks(sizes, n_bootstrap, rng):
    """Multinomial resampling counts, a block of replicates at a time.

    Each block has shape ``(replicates, sum(sizes))``; stratum ``k`` owns a
    consecutive run of ``sizes[k]`` columns and keeps its size in every
    replicate. Blocks stay small enough for the counting to run in cache.
    """
    n = int(sizes.sum())
    step = max(1, min(n_bootstrap, _CHUNK_CELLS // max(n, 1)))
    for start in range(0, n_bootstrap, step):
        replicates = min(step, n_bootstrap - start)
        yield np.hstack([_counts(size, replicates, rng) for size in sizes])


def _counts(size, replicates, rng):
    """Counts of each of ``size`` rows in ``replicates`` resamples of ``size``."""
    draws = rng.integers(0, size, size=(replicates, size))
    draws += (np.arange(replicates) * size)[:, None]
    counts = np.bincount(draws.ravel(), minlength=replicates * size)
    return counts.reshape(replicates, size).astype(float)


def _bootstrap_patterns(y, losses, n_bootstrap, rng):
    """Bootstrap of a loss taking few distinct values per row, such as error.

    Rows with the same label and the same loss under every candidate are
    interchangeable: multinomial counts over these patterns give the same
    replicate risks as counts over rows, at a cost independent of ``n``.
    """
    patterns, frequency = np.unique(
        np.vstack([y, losses]).T, axis=0, return_counts=True
    )
    replicates = np.zeros((n_bootstrap, losses.shape[0]))
    for label in np.unique(patterns[:, 0]):
        stratum = patterns[:, 0] == label
        freq = frequency[stratum]
        counts = rng.multinomial(freq.sum(), freq / freq.sum(), size=n_bootstrap)
        replicates += counts @ patterns[stratum, 1:]
    return replicates / len(y)


def _auc_replicates(y, scores):
    """One minus the weighted Mann-Whitney AUC of every candidate.

    Each candidate's negative scores are sorted once; a positive row's credit
    is the resampled weight of negatives below its score plus half the weight
    tied with it, read from a cumulative sum over the presorted negatives.
    """
    negative = y == 0
    negatives, positives = scores[:, negative], scores[:, ~negative]
    n_neg = negatives.shape[1]
    neg_order = np.argsort(negatives, axis=1, kind="stable")
    sorted_neg = np.take_along_axis(negatives, neg_order, axis=1)
    below = np.vstack(
        [np.searchsorted(s, p, side="left") for s, p in zip(sorted_neg, positives)]
    )
    upto = np.vstack(
        [np.searchsorted(s, p, side="right") for s, p in zip(sorted_neg, positives)]
    )
    ties = (below != upto).any(axis=1)

    def risk(counts):
        neg_counts, pos_counts = counts[:, negative], counts[:, ~negative]
        pairs = neg_counts.sum(axis=1) * pos_counts.sum(axis=1)
        risks = np.empty((len(counts), len(scores)))
        cumulative = np.zeros((len(counts), n_neg + 1))
        for c in range(len(scores)):
            np.cumsum(neg_counts[:, neg_order[c]], axis=1, out=cumulative[:, 1:])
            credit = cumulative[:, below[c]]
            if ties[c]:
                credit = (credit + cumulative[:, upto[c]]) / 2
            risks[:, c] = 1.0 - np.einsum("ij,ij->i", pos_counts, credit) / pairs
        return risks

    return risk
