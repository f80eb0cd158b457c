"""The vectorized bootstrap of one group's risks.

A resample of a group's ``n`` rows is a vector of multinomial counts, so a
block of ``B`` resamples is a ``(B, n)`` count matrix drawn once, and every
candidate's risk on every resample is a product of it with per-row
quantities: losses for error, log loss and Brier, row-to-bin sums for ECE,
weighted Mann-Whitney sums over presorted scores for AUC. Rows are resampled
as the estimand is defined: over all of the group's rows, except for AUC,
which conditions on the label and is resampled within each class.

Two tests read the replicates:

- the *studentized* bootstrap (bootstrap-t) for the mean of per-row loss
  differences (error, log loss, Brier, and the evidence gate's losses): the
  replicate statistic is ``(mean* - mean) / se*``;
- the *percentile* bootstrap for ECE and AUC: the replicate statistic is the
  replicate gain.

Both give one-sided p-values ``(1 + #{stat* at least as extreme}) / (B + 1)``
and keep the tails of the replicate statistics, from which :class:`Tails`
reads one-sided bounds at any level up to ``alpha``: a bound excludes 0
exactly when its test rejects at that level.
"""

from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.special import stdtr, stdtrit

from ._metrics import N_ECE_BINS, GroupScorer, ece_parts

#: Replicate statistics closer than this to a threshold count as on it.
_TOLERANCE = 1e-12
#: Largest count matrix (replicates x rows) held at once.
_CHUNK_CELLS = 2**20
#: Rows of a group from which :func:`mean_tests` runs the t-test alone.
STUDENT_ROWS = 5000


class Tails(NamedTuple):
    """What the one-sided tests and bounds of ``K`` comparisons need.

    Attributes
    ----------
    center, scale : ndarray of shape (K,)
        A bound at level ``l`` is ``center - scale * q(l)``; ``scale`` is the
        standard error for the bootstrap-t and 1 for the percentile method
        (whose ``center`` is then 0).
    low, high : ndarray of shape (K, r)
        The ``r`` smallest replicate statistics, ascending, and the ``r``
        largest, descending.
    observed : ndarray of shape (K,)
        The observed statistic the replicates are compared with.
    n_bootstrap : int
    studentized : bool
        Whether the statistics are bootstrap-t ones (a large statistic is
        evidence of a gain) or replicate gains (a small one is evidence
        against it).
    """

    center: np.ndarray
    scale: np.ndarray
    low: np.ndarray
    high: np.ndarray
    observed: np.ndarray
    n_bootstrap: int
    studentized: bool

    def pvalues(self, against_gain, against_violation):
        """One-sided p-values ``(1 + count) / (B + 1)`` from the counts of
        replicates at least as extreme as the observed statistic, in the
        direction of each alternative."""
        total = self.n_bootstrap + 1
        return (1 + against_gain) / total, (1 + against_violation) / total

    def bounds(self, level_low, level_high, index):
        """Lower bounds at one-sided ``level_low`` and upper bounds at
        ``level_high`` of the comparisons ``index``; infinite where a level
        is too small for ``B`` replicates."""
        return (
            self._bound(level_low, "low", index),
            self._bound(level_high, "high", index),
        )

    def _bound(self, levels, side, index):
        # A bound excludes 0 exactly when fewer than level * (B + 1) - 1
        # replicates are as extreme as the observed statistic: it is the
        # (k + 1)-th most extreme replicate statistic.
        levels = np.asarray(levels, float)
        finite = np.isfinite(levels)
        k = np.floor(np.where(finite, levels, 0) * (self.n_bootstrap + 1) - 1 + 1e-9)
        tail = self.high if (side == "low") == self.studentized else self.low
        tail = tail[index]
        usable = (k >= 0) & (k < tail.shape[1])
        order = np.clip(k, 0, tail.shape[1] - 1).astype(np.intp)
        picked = np.take_along_axis(tail, order[:, None], axis=1)[:, 0]
        # The bootstrap-t pivots around the estimate; the percentile method
        # reads the replicate gain itself.
        center, scale = self.center[index], self.scale[index]
        bound = center - scale * picked if self.studentized else picked
        infinite = -np.inf if side == "low" else np.inf
        return np.where(finite, np.where(usable, bound, infinite), np.nan)


class StudentBounds(NamedTuple):
    """Bounds ``gain -+ t(1 - level, df) * sd`` of a Student t test."""

    gain: np.ndarray
    sd: np.ndarray
    df: float

    def bounds(self, level_low, level_high, index):
        gain, sd = self.gain[index], self.sd[index]
        low = gain - stdtrit(self.df, 1 - level_low) * sd
        high = gain + stdtrit(self.df, 1 - level_high) * sd
        return low, high


class WiderBounds(NamedTuple):
    """The wider of two tests' bounds: those of the test that rejects only
    when both do (the larger p-value)."""

    first: object
    second: object

    def bounds(self, level_low, level_high, index):
        low_a, high_a = self.first.bounds(level_low, level_high, index)
        low_b, high_b = self.second.bounds(level_low, level_high, index)
        return np.fmin(low_a, low_b), np.fmax(high_a, high_b)


def _tails(statistics, observed, alpha, center, scale, studentized):
    """Counts, p-values and kept tails of replicate statistics (B, K)."""
    n_bootstrap = len(statistics)
    keep = int(np.clip(np.floor(alpha * (n_bootstrap + 1)), 1, n_bootstrap))
    ordered = np.sort(statistics, axis=0)
    low, high = ordered[:keep].T, ordered[::-1][:keep].T
    return Tails(center, scale, low, high, observed, n_bootstrap, studentized)


def mean_tests(differences, n_bootstrap, rng, alpha):
    """One-sided tests of the mean of per-row differences, ``K`` comparisons.

    The p-value is the larger of the paired Student t-test's and the
    bootstrap-t's. Either alone is liberal on some null users meet: the
    t-test when the differences are skewed (an over-confident candidate),
    the bootstrap-t on small groups; the larger of two p-values is at most as
    liberal as the better of the two (see ``benchmarks/validity.py``). The
    bounds are correspondingly the wider of the two.

    From :data:`STUDENT_ROWS` rows on, the t-test alone: the skewness that
    makes it liberal enters its tail probability as ``n ** -0.5``, and the
    sizes measured on skewed, heavy-tailed and heteroscedastic nulls at that
    size and above stay at ``alpha`` (``benchmarks/validity.py``), while the
    bootstrap's ``B x n`` resampling counts are what a fit on many rows
    would spend its time drawing.

    Parameters and returns as :func:`bootstrap_t`.
    """
    n = len(differences)
    mean = differences.mean(axis=0)
    sd = differences.std(axis=0, ddof=1) / np.sqrt(n)
    t = _studentized(mean, 0 * mean, sd, relative_tolerance(differences))
    student_gain, student_violation = stdtr(n - 1, -t), stdtr(n - 1, t)
    if n >= STUDENT_ROWS:
        return student_gain, student_violation, StudentBounds(mean, sd, float(n - 1))
    p_gain, p_violation, tails = bootstrap_t(differences, n_bootstrap, rng, alpha)
    bounds = WiderBounds(tails, StudentBounds(mean, sd, float(n - 1)))
    return (
        np.fmax(p_gain, student_gain),
        np.fmax(p_violation, student_violation),
        bounds,
    )


def bootstrap_t(differences, n_bootstrap, rng, alpha):
    """Bootstrap-t of the mean of per-row differences, for ``K`` comparisons.

    Parameters
    ----------
    differences : ndarray of shape (n, K)
        Per-row loss of the reference minus the loss of the candidate: a
        positive mean is a gain.
    n_bootstrap : int
    rng : numpy.random.Generator
    alpha : float
        The largest level a bound will be asked for.

    Returns
    -------
    p_gain, p_violation : ndarray of shape (K,)
    tails : Tails
    """
    n = len(differences)
    mean = differences.mean(axis=0)
    se = differences.std(axis=0, ddof=1) / np.sqrt(n)
    tolerance = relative_tolerance(differences)
    observed = _studentized(mean, mean * 0, se, tolerance)
    values, blocks = _resampling(differences, n_bootstrap, rng)
    first, second = [], []
    for weights in blocks:
        first.append(weights @ values / n)
        second.append(weights @ values**2 / n)
    first, second = np.vstack(first), np.vstack(second)
    spread = np.sqrt(np.maximum(second - first**2, 0.0) / (n - 1))
    statistics = _studentized(first, mean, spread, tolerance)
    tails = _tails(statistics, observed, alpha, mean, se, studentized=True)
    p_gain, p_violation = tails.pvalues(
        (statistics >= observed - _TOLERANCE).sum(axis=0),
        (statistics <= observed + _TOLERANCE).sum(axis=0),
    )
    return p_gain, p_violation, tails


def relative_tolerance(values, axis=0):
    """What counts as zero next to ``values``: :data:`_TOLERANCE` times their
    largest magnitude along ``axis``, so that a verdict does not change with
    the units of the target (squared errors of a target in mol/L are of the
    order of 1e-12)."""
    return _TOLERANCE * np.abs(values).max(axis=axis, initial=0.0)


def _studentized(value, center, spread, tolerance=_TOLERANCE):
    """``(value - center) / spread``; a zero spread gives the sign of the
    difference as an infinite statistic (0 when there is none); a difference
    within ``tolerance`` is none."""
    difference = value - center
    difference = np.where(np.abs(difference) <= tolerance, 0.0, difference)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = difference / spread
        flat = np.where(difference == 0, 0.0, np.sign(difference) * np.inf)
    return np.where(spread > 0, t, flat)


def _resampling(values, n_bootstrap, rng):
    """Distinct rows of ``values`` and blocks of resampling weights of them.

    Rows with equal values under every comparison are interchangeable (as
    for error, whose differences are -1, 0 or 1), so counts are drawn over
    the distinct rows, which has the same law at a cost independent of
    ``n``; otherwise over every row.
    """
    n = len(values)
    distinct, inverse, frequency = np.unique(
        values, axis=0, return_inverse=True, return_counts=True
    )
    if len(distinct) <= max(8, n // 8):
        weights = rng.multinomial(n, frequency / n, size=n_bootstrap)
        return distinct, [weights.astype(float)]
    return values, count_chunks(np.array([n]), n_bootstrap, rng)


def percentile(replicates, pairs, gain, alpha):
    """Percentile tests of ``K`` gains from replicate risks ``(B, C)``.

    The replicate gains are recentred on the estimate ``gain``: a debiased
    estimator (ECE) is not debiased in the bootstrap world, where its
    replicates are centred on the plug-in value; subtracting the bootstrap's
    estimate of that bias keeps the test centred on the debiased estimate.
    """
    gains = replicates[:, pairs[:, 0]] - replicates[:, pairs[:, 1]]
    gains += gain - gains.mean(axis=0)
    tolerance = relative_tolerance(replicates[:, pairs], axis=(0, 2))
    gains = np.where(np.abs(gains) <= tolerance, 0.0, gains)
    zeros = np.zeros(len(pairs))
    tails = _tails(gains, zeros, alpha, zeros, zeros + 1, studentized=False)
    p_gain, p_violation = tails.pvalues((gains <= 0).sum(0), (gains >= 0).sum(0))
    return p_gain, p_violation, tails


def bootstrap_risks(metric, y, evidence, n_bootstrap, rng):
    """Risks of every candidate on ``n_bootstrap`` resamples of one group.

    AUC resamples within each class; every other metric over all rows.
    Returns an array of shape ``(n_bootstrap, C)``.

    Candidates whose predictions on the group are identical (a route that is
    another candidate, an envy swap onto the same route) share one column of
    resampled risks, computed once: exact, and what makes a user's scorer,
    called once per replicate and candidate, affordable.
    """
    first, same = _distinct(evidence)
    if len(first) < len(evidence):
        risks = bootstrap_risks(metric, y, evidence[first], n_bootstrap, rng)
        return risks[:, same]
    if metric == "auc":
        order = np.argsort(y, kind="stable")
        y, evidence = y[order], evidence[:, order]
        sizes = np.bincount(y)
        sizes = sizes[sizes > 0]
    else:
        sizes = np.array([len(y)])
    risk = replicate_risks(metric, y, evidence)
    # AUC sums counts only: integer counts keep its sums exact, and one byte
    # a count (a row is drawn more than 255 times in practically no
    # resample; such a block is kept in 32 bits) an eighth of the memory
    # they stream through.
    dtype = np.uint8 if metric == "auc" else float
    chunks = count_chunks(sizes, n_bootstrap, rng, dtype)
    return np.vstack([risk(counts) for counts in chunks])


def _distinct(evidence):
    """The first of each set of candidates with byte-identical predictions,
    and the position among those firsts of every candidate's."""
    position, first = {}, []
    same = np.empty(len(evidence), dtype=np.intp)
    for c, predictions in enumerate(evidence):
        key = predictions.tobytes()
        if key not in position:
            position[key] = len(first)
            first.append(c)
        same[c] = position[key]
    return np.array(first), same


def replicate_risks(metric, y, evidence):
    """Function from resampling counts ``(B, n)`` to risks ``(B, C)``, for ECE
    (debiased, see :func:`~._metrics.group_risks`), AUC and a user's scorer
    (one call per replicate: no product shape is known).

    Everything that does not depend on the counts is computed once here.
    """
    n_candidates, n = evidence.shape[:2]
    if metric == "auc":
        return _auc_replicates(y, evidence)
    if isinstance(metric, GroupScorer):
        return metric.replicates(y, evidence)
    bins, residual, variance = ece_parts(y, evidence)
    columns = (bins + (np.arange(n_candidates) * N_ECE_BINS)[:, None]).ravel()
    rows = np.tile(np.arange(n), n_candidates)
    shape = (n, n_candidates * N_ECE_BINS)
    cells = {
        name: sparse.csc_array((values.ravel(), (rows, columns)), shape=shape)
        for name, values in (
            ("residual", residual),
            ("variance", variance),
            ("count", np.ones_like(residual)),
        )
    }

    def risk(counts):
        sums = {name: (cell.T @ counts.T).T for name, cell in cells.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = (sums["residual"] ** 2 - sums["variance"]) / sums["count"]
        terms = np.where(sums["count"] > 0, terms, 0.0)
        terms = terms.reshape(len(counts), n_candidates, N_ECE_BINS).sum(axis=2)
        return terms / counts.sum(axis=1, keepdims=True)

    return risk


def count_chunks(sizes, n_bootstrap, rng, dtype=float):
    """Multinomial resampling counts, a block of replicates at a time.

    Each block has shape ``(replicates, sum(sizes))``; stratum ``k`` owns a
    consecutive run of ``sizes[k]`` columns and keeps its size in every
    replicate. Blocks stay small enough for the counting to run in cache.
    """
    n = int(sizes.sum())
    step = max(1, min(n_bootstrap, _CHUNK_CELLS // max(n, 1)))
    for start in range(0, n_bootstrap, step):
        replicates = min(step, n_bootstrap - start)
        yield np.hstack([_counts(size, replicates, rng, dtype) for size in sizes])


def _counts(size, replicates, rng, dtype=float):
    """Counts of each of ``size`` rows in ``replicates`` resamples of ``size``."""
    draws = rng.integers(0, size, size=(replicates, size))
    draws += (np.arange(replicates) * size)[:, None]
    counts = np.bincount(draws.ravel(), minlength=replicates * size)
    counts = counts.reshape(replicates, size)
    if np.dtype(dtype) == np.uint8 and counts.max(initial=0) > 255:
        dtype = np.int32  # a row drawn that often would wrap around
    return counts.astype(dtype)


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
    # Integer counts sum exactly: a class's counts add up to its size, so a
    # credit is at most twice n_neg and the wins at most 2 n_pos n_neg, in 32
    # bits where that fits, else in 64.
    fits = 2 * n_neg * positives.shape[1] < np.iinfo(np.int32).max
    total = np.int32 if fits else np.int64

    def risk(counts):
        neg_counts, pos_counts = counts[:, negative], counts[:, ~negative]
        pairs = neg_counts.sum(axis=1, dtype=float) * pos_counts.sum(axis=1)
        risks = np.empty((len(counts), len(scores)))
        integer = counts.dtype.kind in "iu"
        kind = np.int32 if integer else counts.dtype
        # Cast once for all candidates: the products then need no casting.
        pos_counts = pos_counts.astype(total if integer else float)
        cumulative = np.zeros((len(counts), n_neg + 1), dtype=kind)
        for c in range(len(scores)):
            ordered = np.take(neg_counts, neg_order[c], axis=1)
            np.cumsum(ordered, axis=1, out=cumulative[:, 1:])
            credit = cumulative[:, below[c]]
            if ties[c]:  # twice the credit: below, plus up to and with ties
                credit += cumulative[:, upto[c]]
            if integer and total is np.int64:
                credit = credit.astype(np.int64)
            wins = np.einsum("ij,ij->i", pos_counts, credit)
            risks[:, c] = 1.0 - wins / (2 * pairs if ties[c] else pairs)
        return risks

    return risk
