"""Partial pooling: a group's model fitted on every row, its own rows counting most.

The ``partially_pooled`` variant sits between the generic model (every row
counts the same) and the decoupled one (only the group's rows count): group
``g``'s model is fitted on all training rows, with the other rows' weights
scaled down so that ``g``'s rows carry :data:`OWN_SHARE` of the total weight.
The other groups' rows act as a prior for the group's model, so a small
group gets a model of its own that still borrows strength from everyone.
The amount of pooling is fixed before any evidence is seen, so the
cross-fitted evidence of the candidate is as honest as that of any other.
"""

import numpy as np

#: Share of the total weight a group's own rows carry in its partially
#: pooled model; a group already carrying more keeps its natural share
#: (its model is the generic one).
OWN_SHARE = 0.5


def _masses(group_ids, rows, group, weights):
    own = group_ids[rows] == group
    w = np.ones(len(rows)) if weights is None else np.asarray(weights)[rows]
    return float(w[own].sum()), float(w[~own].sum())


def other_weight(group_ids, rows, group, weights=None):
    """Factor on the weights of the rows of ``rows`` outside ``group``.

    Parameters
    ----------
    group_ids : ndarray of int of shape (n,)
        Group of each row, ``-1`` for rows that withheld it.
    rows : ndarray of int
        Rows of the fit.
    group : int
    weights : ndarray of shape (n,) or None, default=None
        The user's sample weights.

    Returns
    -------
    factor : float
        In ``(0, 1]``; ``1`` when the group's rows already carry at least
        :data:`OWN_SHARE` of the weight, or when there are no other rows.
    """
    own, other = _masses(group_ids, rows, group, weights)
    if other <= 0:
        return 1.0
    return min(1.0, OWN_SHARE / (1 - OWN_SHARE) * own / other)


def weighted_in_every(group_ids, trainings, n_groups, weights=None):
    """Whether each group has rows of positive weight (any rows, without
    ``weights``) in every training set of ``trainings``."""
    present = np.ones(n_groups, dtype=bool)
    for train in trainings:
        grouped = train[group_ids[train] >= 0]
        w = None if weights is None else np.asarray(weights)[grouped]
        mass = np.bincount(group_ids[grouped], weights=w, minlength=n_groups)
        present &= mass > 0
    return present


def pooled_groups(group_ids, trainings, n_groups, weights=None):
    """Groups that get a partially pooled model, and a note on each that doesn't.

    A group needs rows of positive weight in every training set; classes
    are no concern, since the model is fitted on every row.

    Parameters
    ----------
    group_ids : ndarray of int of shape (n,)
    trainings : list of ndarray of int
        Rows of every fit of a variant.
    n_groups : int
    weights : ndarray of shape (n,) or None, default=None

    Returns
    -------
    eligible : ndarray of bool of shape (n_groups,)
    notes : list of str
    """
    eligible = weighted_in_every(group_ids, trainings, n_groups, weights)
    notes = [
        ""
        if ok
        else "no partially pooled model: a training set has no row of "
        "positive weight in the group"
        for ok in eligible
    ]
    return eligible, notes


def scale_weights(params, train, pooling):
    """Sample-aligned fit ``params`` of the rows ``train`` with the weights of
    the rows outside a group scaled down.

    ``pooling`` is ``(key, group_ids, group, factor)``: the fit parameter
    that carries the weights, each row's group, the group whose model is
    fitted and the factor on the other rows (:func:`other_weight`). The
    user's weights under ``key``, if any, are multiplied.
    """
    key, group_ids, group, factor = pooling
    scale = np.where(group_ids[train] == group, 1.0, factor)
    given = params.get(key)
    params = dict(params)
    params[key] = scale if given is None else scale * np.asarray(given, dtype=float)
    return params
