"""Evidence and the risk matrix: every candidate's risk on every group.

The *evidence* of ``C`` candidates on ``n`` rows is what each candidate
predicted on rows it did not train on (:class:`Evidence`, made by
:func:`allocate_evidence` and filled by the evidence stage). From it,
:func:`risk_matrix` computes the ``(n_groups, C)`` risk matrix ``R`` that every
gain, route, verdict, table and plot reads: risks are unweighted averages over
the individuals of each group, as in the fair-use conditions. Labels are
encoded as integers ``0 .. n_classes - 1``.

Predictions come in four kinds, chosen by :func:`evidence_kind`:

- ``"label"``: predicted class codes, shape ``(C, n)`` (for ``error``);
- ``"score"``: a continuous score for the positive class, shape ``(C, n)``
  (for ``auc``);
- ``"proba"``: class probabilities, shape ``(C, n, n_classes)``;
- ``"value"``: predicted values of a continuous target, shape ``(C, n)``
  (for the regression losses of :data:`REGRESSION_METRICS`, with ``y`` the
  target itself rather than codes).

Besides the named metrics, a user's metric is a per-row loss of the predicted
labels (:class:`RowLoss`, the mean of its losses over a group's rows) or an
sklearn scorer of a whole group (:class:`GroupScorer`, whose risk is minus
its score); :func:`resolve_metric` makes one from the ``metric`` parameter.
"""

from typing import NamedTuple

import numpy as np
from scipy.special import xlogy
from scipy.stats import rankdata

from ._losses import GroupScorer, Pinball, RowLoss

METRICS = ("error", "auc", "ece", "log_loss", "brier", "fnr", "fpr", "balanced_error")
#: Per-row losses of a continuous target: sklearn's mean squared error, mean
#: absolute error, mean pinball loss (at a quantile, see :class:`Pinball`) and
#: mean Poisson deviance are their means over a group's rows.
REGRESSION_METRICS = ("squared_error", "absolute_error", "pinball", "poisson")
#: Error rates on the rows of one class, by the code of that class: the
#: false-negative rate (1 - sensitivity) on the positives, the false-positive
#: rate (1 - specificity) on the negatives.
ON_CLASS = {"fnr": 1, "fpr": 0}
#: Named metrics that are the mean of a per-row loss over a group's rows.
MEANS = (
    "error", "log_loss", "brier", "balanced_error", *ON_CLASS, *REGRESSION_METRICS
)  # fmt: skip
N_ECE_BINS = 10
#: About how many predictions :func:`group_risks` gathers at once.
CHUNK = 2**22


def resolve_metric(metric, classes, quantile=0.5):
    """The metric a fit or an audit computes: a named metric as is (for
    ``"pinball"``, a :class:`Pinball` at ``quantile``), a scorer as a
    :class:`GroupScorer`, any other callable as a :class:`RowLoss`.

    ``classes`` are the labels of a classification target, ``None`` for a
    continuous target, whose named metrics are :data:`REGRESSION_METRICS`.

    Raises
    ------
    ValueError
        For a name outside the task's metrics, or a callable that cannot serve.
    """
    if isinstance(metric, RowLoss | GroupScorer | Pinball):
        return metric
    if isinstance(metric, str):
        names = REGRESSION_METRICS if classes is None else METRICS
        if metric not in names:
            raise ValueError(
                f"metric must be one of {names}, a per-row loss function or an "
                f"sklearn scorer; got {metric!r}."
            )
        return Pinball(quantile) if metric == "pinball" else metric
    if not callable(metric):
        raise TypeError(
            "metric must be a name, a per-row loss function loss(y_true, y_pred) "
            f"or an sklearn scorer; got {type(metric).__name__}."
        )
    scorer = hasattr(metric, "_score_func") and hasattr(metric, "_sign")
    resolved = (GroupScorer if scorer else RowLoss)(metric, classes)
    if classes is None or len(resolved.classes):
        resolved.check()
    return resolved


def n_labels(classes):
    """Number of classes of a target: ``0`` for a continuous one, whose
    ``classes`` are ``None``."""
    return 0 if classes is None else len(classes)


def class_codes(n_classes):
    """The encoded classes ``0 .. n_classes - 1``; ``None`` for a continuous
    target (``n_classes`` 0)."""
    return np.arange(n_classes) if n_classes else None


def count_labels(y, n_classes):
    """Labels and their number for stratifying and counting rows: a
    continuous target counts as one class, so its strata are the groups."""
    if n_classes:
        return y, n_classes
    return np.zeros(len(y), dtype=np.intp), 1


def metric_name(metric):
    """The name a report shows for ``metric``."""
    return metric if isinstance(metric, str) else str(resolve_metric(metric, []))


def higher_is_better(metric):
    """Whether a report shows ``metric`` as a score: AUC as ``1 - risk``, a
    scorer as ``-risk``."""
    return metric == "auc" or bool(getattr(metric, "higher_is_better", False))


def is_mean(metric):
    """Whether a group's risk is the mean of per-row losses over its rows."""
    return metric in MEANS or isinstance(metric, RowLoss | Pinball)


def base_metric(metric):
    """The named metric ``metric`` is computed as: ``"error"`` for the error
    rates on one class, ``"pinball"`` at any quantile, ``"custom"`` for a
    user's metric."""
    if not isinstance(metric, str):
        return getattr(metric, "base", "custom")
    return "error" if metric in ON_CLASS else metric


class Evidence(NamedTuple):
    """Every candidate's predictions on the evaluated rows (transient).

    Attributes
    ----------
    metric : str
        The risk the predictions are for.
    y : ndarray of int of shape (n,)
        Encoded labels.
    predictions : ndarray of shape (C, n) or (C, n, n_classes)
        Predictions of :func:`evidence_kind` ``(metric)``; class codes
        (``-1`` for a label outside the classes) are made by
        :func:`allocate_evidence` in the smallest signed integer type.
    group_ids : ndarray of int of shape (n,)
        Group of each row; negative where a row is not evaluated (withheld,
        unseen, never in a test set, or, for ``"fnr"`` and ``"fpr"``,
        outside the class the rate is on).
    n_groups : int
    losses : ndarray of float32 of shape (C, n) or None
        Per-row losses the evidence gate tests, on each candidate's own
        group's rows (zero elsewhere); ``None`` when the gate tests
        ``metric`` itself.
    folds : ndarray of int of shape (n,) or None
        The cross-fitting fold whose models predicted each row (``-1`` for
        rows never evaluated); ``None`` for evidence from one set of models.
    """

    metric: str
    y: np.ndarray
    predictions: np.ndarray
    group_ids: np.ndarray
    n_groups: int
    losses: np.ndarray | None = None
    folds: np.ndarray | None = None

    def group(self, g, candidates):
        """Labels and the predictions of ``candidates`` on group ``g``'s rows."""
        rows = np.flatnonzero(self.group_ids == g)
        # One take per candidate: a third of the time of 2-d fancy indexing.
        taken = [self.predictions[c].take(rows, axis=0) for c in candidates]
        shape = (0, len(rows), *self.predictions.shape[2:])
        return self.y[rows], np.stack(taken) if taken else np.empty(shape)


def allocate_evidence(
    metric, y, group_ids, n_groups, n_candidates, n_classes, *, gate=None
):
    """Zeroed evidence of ``n_candidates`` candidates, ready to be filled.

    Parameters
    ----------
    metric : str
    y : ndarray of int of shape (n,)
    group_ids : ndarray of int of shape (n,)
    n_groups, n_candidates, n_classes : int
    gate : {"log_loss", "brier"} or None, default=None
        Whether to hold per-row gate losses too (in single precision, which
        halves the memory; the t-tests cast back per group).

    Returns
    -------
    evidence : Evidence
    """
    kind = evidence_kind(metric)
    if isinstance(metric, str) and metric in ON_CLASS:
        group_ids = np.where(y == ON_CLASS[metric], group_ids, -1)
    shape = (n_candidates, len(y))
    if kind == "proba":
        shape += (n_classes,)
    dtype = label_dtype(n_classes) if kind == "label" else float
    predictions = np.zeros(shape, dtype=dtype)
    losses = None if gate is None else np.zeros(shape[:2], dtype=np.float32)
    return Evidence(metric, y, predictions, group_ids, n_groups, losses)


def label_dtype(n_classes):
    """The smallest signed integer type of the class codes ``-1 .. n_classes - 1``
    (int8 below 128 classes): label evidence takes an eighth of intp's memory."""
    return np.min_scalar_type(-max(n_classes, 1))


def encode_labels(values, classes):
    """Position of each value in the sorted ``classes``, ``-1`` if absent."""
    values, n = np.asarray(values), len(classes)
    # Classes that are their own codes (as a base fitted on codes predicts):
    # two reductions instead of a binary search of every value.
    own = values.dtype.kind in "iu" and np.array_equal(classes, np.arange(n))
    if own and (not values.size or (values.min() >= 0 and values.max() < n)):
        return values.astype(np.intp)
    codes = np.searchsorted(classes, values)
    codes = np.minimum(codes, len(classes) - 1)
    return np.where(classes[codes] == values, codes, -1)


def risk_matrix(evidence):
    """The risk ``R[g, c]`` of every candidate on every group's rows.

    The one producer of the risk matrix: routes, gains, verdicts, tables and
    plots all read it.

    Parameters
    ----------
    evidence : Evidence

    Returns
    -------
    risks : ndarray of shape (n_groups, C)
        ``nan`` where a group has no evaluated rows, or, for ``auc``, a
        single class.
    """
    return group_risks(
        evidence.metric,
        evidence.y,
        evidence.predictions,
        evidence.group_ids,
        evidence.n_groups,
    )


def evidence_kind(metric):
    """Return the kind of predictions the risk ``metric`` is computed from."""
    if not isinstance(metric, str):
        return metric.kind
    if metric in REGRESSION_METRICS:
        return "value"
    kinds = {"error": "label", "auc": "score", "balanced_error": "label"}
    return kinds.get(base_metric(metric), "proba")


def check_metric_support(metric, estimator, n_classes):
    """Raise if ``estimator`` cannot produce the predictions ``metric`` needs."""
    name = type(estimator).__name__
    if metric in ON_CLASS and n_classes != 2:
        raise ValueError(
            f"metric={metric!r} is the error rate on one class of a binary "
            f"target; y has {n_classes} classes. Use 'balanced_error', the mean "
            "of the per-class error rates, instead."
        )
    if metric == "auc":
        if n_classes > 2:
            raise ValueError(
                "metric='auc' is defined for binary targets only; y has "
                f"{n_classes} classes. Use 'error', 'log_loss', 'brier' or "
                "'ece' instead."
            )
        if not (
            hasattr(estimator, "predict_proba")
            or hasattr(estimator, "decision_function")
        ):
            raise ValueError(
                f"metric='auc' needs scores, but {name} has neither "
                "predict_proba nor decision_function."
            )
    elif evidence_kind(metric) == "score":
        if n_classes > 2:
            raise ValueError(
                f"metric={metric_name(metric)} scores decision_function, which "
                "the audit reads as the positive class's score, for binary "
                f"targets only; y has {n_classes} classes. Make the scorer on "
                "predict_proba instead."
            )
        if not (
            hasattr(estimator, "predict_proba")
            or hasattr(estimator, "decision_function")
        ):
            raise ValueError(
                f"metric={metric_name(metric)} needs scores, but {name} has "
                "neither predict_proba nor decision_function."
            )
    elif evidence_kind(metric) == "proba" and not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"metric={metric_name(metric)!r} needs probabilities, but {name} has no "
            "predict_proba. Use metric='error' or 'auc', or wrap the estimator in "
            "CalibratedClassifierCV."
        )


def group_risks(metric, y, evidence, group_ids, n_groups):
    """Risk of every candidate on every group.

    The candidates are taken a chunk at a time (about :data:`CHUNK` values),
    so that memory stays linear in the rows and the candidates: no copy of
    all of the evidence, nor a loss of every candidate on every row, is made.

    Parameters
    ----------
    metric : {"error", "auc", "ece", "log_loss", "brier"}
    y : ndarray of int of shape (n,)
        Encoded labels.
    evidence : ndarray of shape (C, n) or (C, n, n_classes)
        Predictions of each candidate on each row.
    group_ids : ndarray of int of shape (n,)
        Group of each row; rows with a negative id are ignored.
    n_groups : int

    Returns
    -------
    risks : ndarray of shape (n_groups, C)
        ``nan`` where a group has no rows, or, for ``auc``, a single class.
    """
    rows = np.flatnonzero(group_ids >= 0)
    # By group, each keeping its rows' order: a group's rows are then a slice.
    # Ids in the smallest integer type sort by radix, several times faster.
    small = group_ids[rows].astype(np.min_scalar_type(max(n_groups - 1, 0)))
    rows = rows[np.argsort(small, kind="stable")]
    y, group_ids = y[rows], group_ids[rows]
    bounds = np.searchsorted(group_ids, np.arange(n_groups + 1))
    step = max(CHUNK // max(rows.size * int(np.prod(evidence.shape[2:])), 1), 1)
    if isinstance(metric, GroupScorer):
        metric.error = ""
    with np.errstate(invalid="ignore", divide="ignore"):
        risks = np.hstack(
            [
                _chunk_risks(metric, y, evidence[c : c + step, rows], group_ids, bounds)
                for c in range(0, len(evidence) or 1, step)
            ]
        )
    if isinstance(metric, GroupScorer) and np.isnan(risks).all() and metric.error:
        raise ValueError(
            f"metric={metric.name} could not score any group; it raised: {metric.error}"
        )
    return risks


def _chunk_risks(metric, y, evidence, group_ids, bounds):
    """:func:`group_risks` of a few candidates, on rows sorted by group that
    start at ``bounds``."""
    n_groups = len(bounds) - 1
    if metric == "auc":
        return _auc_risks(y, evidence, bounds)
    if isinstance(metric, GroupScorer):
        return _scored(metric, y, evidence, bounds)
    if metric == "balanced_error":
        return _balanced_error(y, evidence, group_ids, n_groups)
    if metric == "ece":
        sums = _ece(y, evidence, group_ids, n_groups)
    elif base_metric(metric) == "error":  # counted exactly, without float losses
        sums = _sums(evidence != y, bounds)
    else:
        sums = _sums(row_losses(metric, y, evidence), bounds)
    return sums / np.diff(bounds)[:, None]


def _sums(values, bounds):
    """Sum over each group's rows of each candidate's values, ``(n_groups, C)``,
    for rows sorted by group that start at ``bounds``."""
    sums = np.zeros((len(values), len(bounds) - 1))
    filled = bounds[:-1] < bounds[1:]  # reduceat gives an empty slice a value
    if filled.any():
        # Booleans are summed as integers, exactly.
        dtype = np.intp if values.dtype == bool else None
        sums[:, filled] = np.add.reduceat(
            values, bounds[:-1][filled], axis=1, dtype=dtype
        )
    return sums.T


def _scored(scorer, y, evidence, bounds):
    """Minus a scorer's score of every candidate on every group."""
    risks = np.full((len(bounds) - 1, len(evidence)), np.nan)
    for g, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        risks[g] = scorer.score(y[start:stop], evidence[:, start:stop])
    return risks


def _balanced_error(y, labels, group_ids, n_groups):
    """The mean over the classes present in a group of the error rate on
    each class's rows (one minus sklearn's balanced accuracy)."""
    n_classes = int(y.max()) + 1 if len(y) else 1
    cells = group_ids * n_classes + y
    size = n_groups * n_classes
    counts = np.bincount(cells, minlength=size).reshape(n_groups, n_classes)
    errors = np.stack(
        [np.bincount(cells, weights=(p != y), minlength=size) for p in labels]
    ).reshape(len(labels), n_groups, n_classes)
    present = counts > 0
    rates = np.where(present, errors / np.maximum(counts, 1), 0.0).sum(axis=2)
    return (rates / present.sum(axis=1)).T


def row_losses(metric, y, evidence):
    """Per-row losses of each candidate for a decomposable metric, shape (C, n)."""
    if isinstance(metric, RowLoss | Pinball):
        return metric.losses(y, evidence)
    if metric in REGRESSION_METRICS:
        return _regression_losses(metric, y, evidence)
    if base_metric(metric) == "error":
        return (evidence != y).astype(float)
    if metric == "balanced_error":
        # An error on class k weighs n / (K n_k): the mean over the rows is
        # the mean over the K classes present of each class's error rate.
        present, counts = np.unique(y, return_inverse=True)[0], np.bincount(y)
        weight = len(y) / (len(present) * counts[y])
        return (evidence != y) * weight
    rows = np.arange(len(y))
    if metric == "log_loss":
        eps = np.finfo(evidence.dtype).eps
        return -np.log(np.clip(evidence[:, rows, y], eps, 1 - eps))
    if metric == "brier":
        target = np.zeros(evidence.shape[1:])
        target[rows, y] = 1.0
        losses = ((evidence - target) ** 2).sum(axis=2)
        # sklearn's binary Brier score is the squared error of the positive
        # class alone, half the two-class sum.
        return losses / 2 if evidence.shape[2] == 2 else losses
    raise ValueError(f"The metric {metric!r} is not decomposable into row losses.")


def _regression_losses(metric, y, predictions):
    """Per-row squared error, absolute error or Poisson deviance, (C, n)."""
    residual = y - predictions
    if metric == "squared_error":
        return residual**2
    if metric == "absolute_error":
        return np.abs(residual)
    if (predictions < 0).any():
        raise ValueError(
            "metric='poisson' needs non-negative predictions, but a candidate "
            f"predicted {predictions.min():.4g} on rows it did not train on. Use a "
            "base estimator with a log link, such as PoissonRegressor or "
            "HistGradientBoostingRegressor(loss='poisson')."
        )
    # A log-link model of a group whose counts are all 0 predicts 0, whose
    # deviance on a positive count is infinite: read 0 as the smallest
    # positive float, a very large but finite loss.
    predictions = np.maximum(predictions, np.finfo(float).tiny)
    # 2 (y log(y / mu) - y + mu), with y log y = 0 at y = 0.
    return 2 * (xlogy(y, y) - xlogy(y, predictions) + predictions - y)


def ece_parts(y, proba):
    """Bin, signed residual and outcome variance of every row, shape (C, n).

    The residual is confidence minus outcome; the variance ``c (1 - c)`` is
    that of the outcome if the confidence ``c`` is calibrated. Binary targets
    use the positive-class probability; more than two classes use top-label
    calibration. A row's bin depends on its prediction only, so resampling
    rows never moves a row to another bin.
    """
    if proba.shape[2] == 2:
        confidence = proba[:, :, 1]
        outcome = (y == 1).astype(float)
    else:
        confidence = proba.max(axis=2)
        outcome = (proba.argmax(axis=2) == y).astype(float)
    bins = np.minimum((confidence * N_ECE_BINS).astype(np.intp), N_ECE_BINS - 1)
    return bins, confidence - outcome, confidence * (1 - confidence)


def _ece(y, proba, group_ids, n_groups):
    """Debiased squared calibration error per group and candidate.

    Per bin ``b`` of a group with ``n`` rows: ``(S_b**2 - V_b) / (n n_b)``, with
    ``S_b`` the sum of residuals and ``V_b`` the sum of outcome variances of
    the bin's ``n_b`` rows. ``S_b**2 / (n n_b)`` alone, the plug-in squared
    error, is biased upward by ``V_b / (n n_b)`` in expectation; subtracting
    it leaves an estimate that is unbiased for a calibrated model, whatever
    its sharpness (Kumar, Liang and Ma 2019).
    """
    bins, residual, variance = ece_parts(y, proba)
    n_candidates = len(proba)
    cells = group_ids * N_ECE_BINS + bins
    cells += (np.arange(n_candidates) * n_groups * N_ECE_BINS)[:, None]
    size = n_candidates * n_groups * N_ECE_BINS
    sums, variances, counts = (
        np.bincount(cells.ravel(), weights=w.ravel(), minlength=size)
        for w in (residual, variance, np.ones_like(residual))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, (sums**2 - variances) / counts, 0.0)
    return terms.reshape(n_candidates, n_groups, N_ECE_BINS).sum(axis=2).T


def _auc_risks(y, scores, bounds):
    """One minus the ROC AUC (mid-rank ties) per group and candidate."""
    risks = np.full((len(bounds) - 1, len(scores)), np.nan)
    for g, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        positive = y[start:stop] == 1
        n_pos, n_neg = positive.sum(), (~positive).sum()
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = rankdata(scores[:, start:stop], axis=1)
        u_stat = ranks[:, positive].sum(axis=1) - n_pos * (n_pos + 1) / 2
        risks[g] = 1.0 - u_stat / (n_pos * n_neg)
    return risks
