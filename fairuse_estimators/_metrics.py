"""Evidence and the risk matrix: every candidate's risk on every group.

The *evidence* of ``C`` candidates on ``n`` rows is what each candidate
predicted on rows it did not train on (:class:`Evidence`, made by
:func:`allocate_evidence` and filled by the evidence stage). From it,
:func:`risk_matrix` computes the ``(n_groups, C)`` risk matrix ``R`` that every
gain, route, verdict, table and plot reads: risks are unweighted averages over
the individuals of each group, as in the fair-use conditions. Labels are
encoded as integers ``0 .. n_classes - 1``.

Predictions come in three kinds, chosen by :func:`evidence_kind`:

- ``"label"``: predicted class codes, shape ``(C, n)`` (for ``error``);
- ``"score"``: a continuous score for the positive class, shape ``(C, n)``
  (for ``auc``);
- ``"proba"``: class probabilities, shape ``(C, n, n_classes)``.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata

METRICS = ("error", "auc", "ece", "log_loss", "brier")
N_ECE_BINS = 10


class Evidence(NamedTuple):
    """Every candidate's predictions on the evaluated rows (transient).

    Attributes
    ----------
    metric : str
        The risk the predictions are for.
    y : ndarray of int of shape (n,)
        Encoded labels.
    predictions : ndarray of shape (C, n) or (C, n, n_classes)
        Predictions of :func:`evidence_kind` ``(metric)``.
    group_ids : ndarray of int of shape (n,)
        Group of each row; negative where a row is not evaluated (withheld,
        unseen, or never in a test set).
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
        return self.y[rows], self.predictions[np.asarray(candidates)[:, None], rows]


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
    shape = (n_candidates, len(y))
    if kind == "proba":
        shape += (n_classes,)
    predictions = np.zeros(shape, dtype=np.intp if kind == "label" else float)
    losses = None if gate is None else np.zeros(shape[:2], dtype=np.float32)
    return Evidence(metric, y, predictions, group_ids, n_groups, losses)


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
    return {"error": "label", "auc": "score"}.get(metric, "proba")


def check_metric_support(metric, estimator, n_classes):
    """Raise if ``estimator`` cannot produce the predictions ``metric`` needs."""
    name = type(estimator).__name__
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
    elif evidence_kind(metric) == "proba" and not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"metric={metric!r} needs probabilities, but {name} has no "
            "predict_proba. Use metric='error' or 'auc', or wrap the estimator in "
            "CalibratedClassifierCV."
        )


def group_risks(metric, y, evidence, group_ids, n_groups):
    """Risk of every candidate on every group.

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
    keep = group_ids >= 0
    y, evidence, group_ids = y[keep], evidence[:, keep], group_ids[keep]
    counts = np.bincount(group_ids, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "auc":
            return _auc_risks(y, evidence, group_ids, n_groups)
        if metric == "ece":
            return _ece(y, evidence, group_ids, n_groups) / counts[:, None]
        losses = row_losses(metric, y, evidence)
        indicator = sp.csr_array(
            (np.ones(len(y)), (np.arange(len(y)), group_ids)),
            shape=(len(y), n_groups),
        )
        return (indicator.T @ losses.T) / counts[:, None]


def row_losses(metric, y, evidence):
    """Per-row losses of each candidate for a decomposable metric, shape (C, n)."""
    if metric == "error":
        return (evidence != y).astype(float)
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


def _auc_risks(y, scores, group_ids, n_groups):
    """One minus the ROC AUC (mid-rank ties) per group and candidate."""
    risks = np.full((n_groups, len(scores)), np.nan)
    for g in range(n_groups):
        rows = group_ids == g
        positive = y[rows] == 1
        n_pos, n_neg = positive.sum(), (~positive).sum()
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = rankdata(scores[:, rows], axis=1)
        u_stat = ranks[:, positive].sum(axis=1) - n_pos * (n_pos + 1) / 2
        risks[g] = 1.0 - u_stat / (n_pos * n_neg)
    return risks
