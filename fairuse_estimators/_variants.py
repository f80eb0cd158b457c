"""Fitting the variants and scoring candidates on rows.

A *variant* is one way of using the group attributes: ``generic`` ignores
them, ``onehot`` appends one indicator per level of each group column,
``intersectional`` one indicator per intersectional group, and ``decoupled``
fits one model per group on that group's rows.

A *candidate* is a function of the features alone: the generic model, or a
personalized variant with the reported group fixed to some group ``g'``. The
design matrix of a candidate is the feature block, plus (for onehot and
intersectional) the indicator row of ``g'`` repeated on every row.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import _check_method_params

from ._metrics import row_losses

VARIANTS = ("generic", "onehot", "intersectional", "decoupled")
#: Variants whose fitted model takes an indicator block after the features.
BLOCK_VARIANTS = ("onehot", "intersectional")
#: Proper scoring rules a task can return as per-row losses.
LOSS_KINDS = ("log_loss", "brier")


def find_candidate(candidate_variants, candidate_groups, variant, group):
    """Index of candidate ``(variant, group)`` in the pool, or -1 if absent.

    The generic model is candidate 0 whatever ``group`` is.
    """
    if variant == "generic":
        return 0
    hits = np.flatnonzero(
        (np.asarray(candidate_variants) == variant)
        & (np.asarray(candidate_groups) == group)
    )
    return int(hits[0]) if len(hits) else -1


def design(X, rows, block=None):
    """Feature rows of ``X``, followed by ``block`` when one is given.

    ``block`` is either a full ``(n, L)`` block indexed by ``rows`` or a
    single ``(1, L)`` indicator row repeated on every row.
    """
    features = X[rows]
    if block is None:
        return features
    block = block if len(block) == 1 else block[rows]
    return np.hstack(
        [features, np.broadcast_to(block, (len(features), block.shape[1]))]
    )


def predict_evidence(estimator, X, kind, classes):
    """Predictions of a fitted estimator in the form a metric needs.

    ``classes`` are the sorted labels the evidence is encoded against.
    ``kind`` is ``"label"`` (class codes, ``-1`` for a label outside
    ``classes``), ``"score"`` (a continuous score for ``classes[1]``) or
    ``"proba"`` (probabilities of every class, zero for a class the
    estimator never saw).
    """
    if kind == "label":
        return encode_labels(estimator.predict(X), classes)
    positions = encode_labels(estimator.classes_, classes)
    if kind == "score" and not hasattr(estimator, "predict_proba"):
        if not np.array_equal(positions, np.arange(len(classes))):
            raise ValueError(
                f"{type(estimator).__name__} has no predict_proba and its classes "
                f"{list(estimator.classes_)!r} differ from the labels "
                f"{list(classes)!r}, so its decision_function cannot be read as "
                "a score for the positive class."
            )
        return estimator.decision_function(X)
    if (positions < 0).any():
        raise ValueError(
            f"{type(estimator).__name__} predicts the classes "
            f"{list(estimator.classes_)!r}, some of which are not among the "
            f"labels {list(classes)!r}."
        )
    proba = np.zeros((X.shape[0], len(classes)))
    proba[:, positions] = estimator.predict_proba(X)
    return proba[:, 1] if kind == "score" else proba


def encode_labels(values, classes):
    """Position of each value in the sorted ``classes``, ``-1`` if absent."""
    values = np.asarray(values)
    codes = np.searchsorted(classes, values)
    codes = np.minimum(codes, len(classes) - 1)
    return np.where(classes[codes] == values, codes, -1)


def fit_and_score(
    base,
    X,
    y,
    train,
    block,
    evaluate,
    *,
    kind,
    classes,
    fit_params,
    keep,
    loss_rows=None,
):
    """Fit one clone of ``base`` on ``train`` rows and score evaluation rows.

    Parameters
    ----------
    base : estimator
        Unfitted base classifier.
    X : ndarray of shape (n, d)
        Feature block (group columns removed).
    y : ndarray of int of shape (n,)
        Encoded labels.
    train : ndarray of int
        Rows to fit on.
    block : ndarray of shape (n, L) or None
        Indicator block of the variant for the training rows.
    evaluate : list of (rows, indicator row or None)
        Rows to score and the reported group's indicator row for each.
    kind : {"label", "score", "proba", "log_loss", "brier"} or tuple of them
        What to return for each evaluated row: predictions of an evidence
        kind, or the row's loss of the predicted probabilities. A tuple asks
        for several at once.
    classes : ndarray of int
        The encoded classes, ``arange(n_classes)``.
    fit_params : dict
        Sample-aligned fit parameters for all ``n`` rows.
    keep : bool
        Whether to return the fitted estimator.
    loss_rows : list of (ndarray of int or None), default=None
        For each entry of ``evaluate``, the positions among its rows whose
        losses are wanted (``None`` for all of them); losses are only
        computed there.

    Returns
    -------
    estimator : fitted estimator or None
    evidence : list of ndarray, one per entry of ``evaluate``
        A tuple of arrays per entry, one per kind, when ``kind`` is a tuple;
        losses are aligned with ``loss_rows``.
    """
    estimator = clone(base)
    params = _check_method_params(X, params=fit_params, indices=train)
    estimator.fit(design(X, train, block), y[train], **params)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if loss_rows is None:
        loss_rows = [None] * len(evaluate)
    evidence = [
        tuple(_scored(estimator, matrix, k, classes, y[rows], where) for k in kinds)
        for (rows, _), where, matrix in zip(evaluate, loss_rows, designs(X, evaluate))
    ]
    if not isinstance(kind, tuple):
        evidence = [scores for (scores,) in evidence]
    return (estimator if keep else None), evidence


def _scored(estimator, X, kind, classes, y, where=None):
    """Evidence of ``kind``, or per-row losses for ``"log_loss"``/``"brier"``
    on the rows ``where`` (all rows for ``None``)."""
    if kind in LOSS_KINDS:
        if where is not None:
            X, y = X[where], y[where]
        if len(y) == 0:  # the reported group has no rows to score here
            return np.empty(0, dtype=np.float32)
        proba = predict_evidence(estimator, X, "proba", classes)
        # Single precision is ample for a t-test and halves what is shipped back.
        return row_losses(kind, y, proba[None])[0].astype(np.float32)
    return predict_evidence(estimator, X, kind, classes)


def designs(X, evaluate):
    """Design matrices for each ``(rows, indicator row)`` in ``evaluate``.

    Scoring several candidates on the same rows changes only the indicator
    columns, so consecutive entries on the same ``rows`` object share the
    gathered feature rows and one buffer whose indicator columns are
    overwritten. The matrices are read-only views for the caller.
    """
    gathered = buffer = previous = None
    for rows, row in evaluate:
        if rows is not previous:
            gathered, buffer, previous = X[rows], None, rows
        if row is None:
            yield gathered
            continue
        width = X.shape[1] + row.shape[1]
        if buffer is None or buffer.shape[1] != width:
            buffer = np.empty((len(rows), width))
            buffer[:, : X.shape[1]] = gathered
        buffer[:, X.shape[1] :] = row
        yield buffer
