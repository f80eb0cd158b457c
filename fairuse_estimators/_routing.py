"""Routing: which candidate serves each group, chosen from the risk matrix.

- :func:`best_routes`: the lowest-risk candidate of the pool (ties go to the
  simpler candidate);
- :func:`gated_routes`: a group leaves the generic model only for one of its
  own candidates whose gain is significant (with ``correction`` across them)
  and at least ``min_gain``; a group whose predictions are then
  significantly worse than another group's route moves to that route;
- :func:`routing_notes`: why a group stayed on the generic model.
"""

import numpy as np

from ._audit import envy_statistics
from ._pool import own_candidates, own_mask, preference
from ._stats import (
    FIELD,
    adjust_pvalues,
    comparison_gains,
    loss_tests,
    paired_tests,
    verdicts,
)

#: Risks closer than this are ties, broken toward the simpler candidate.
TIE_TOLERANCE = 1e-12


def gate_kind(routing, gate_loss, metric, base):
    """Per-row loss the evidence gate tests, or ``None`` for ``metric``.

    ``"auto"`` tests the log loss for ``metric="error"`` when ``base`` has
    ``predict_proba``, and the metric itself otherwise.
    """
    if routing != "evidence" or gate_loss == "metric":
        return None
    if gate_loss != "auto":
        return gate_loss
    if metric == "error" and hasattr(base, "predict_proba"):
        return "log_loss"
    return None


def best_routes(risks, pool, allowed=None):
    """Lowest-risk candidate per group among the ``allowed`` ones.

    Parameters
    ----------
    risks : ndarray of shape (n_groups, C)
    pool : Pool
    allowed : ndarray of bool of shape (n_groups, C), default=None
        Candidates each group may take; ``None`` for all.

    Returns
    -------
    routes : ndarray of int of shape (n_groups,)
        Generic (0) for a group without evidence.
    """
    routes = np.zeros(len(risks), dtype=np.intp)
    own = own_candidates(pool)
    for g, group_risk in enumerate(risks):
        order = preference(pool, own[g])
        if allowed is not None:
            order = order[allowed[g, order]]
        ordered = group_risk[order]
        if np.isnan(ordered).all():
            continue  # no evidence for this group: keep it on the generic model
        best = np.nanmin(ordered)
        routes[g] = order[np.flatnonzero(ordered <= best + TIE_TOLERANCE)[0]]
    return routes


def route(routing, evidence, risks, pool, options, *, min_gain, verbose=0):
    """Routes of every group, and whether ``min_gain`` kept it generic.

    Parameters
    ----------
    routing : {"best", "evidence"}
    evidence : Evidence
    risks : ndarray of shape (n_groups, C)
    pool : Pool
    options : TestOptions
    min_gain : float
    verbose : int, default=0

    Returns
    -------
    routes : ndarray of int of shape (n_groups,)
    below : ndarray of bool of shape (n_groups,)
        Groups on the generic model although a gain was significant, because
        it was below ``min_gain``.
    """
    if routing == "best":
        return best_routes(risks, pool), np.zeros(len(risks), dtype=bool)
    return gated_routes(
        evidence, risks, pool, options, min_gain=min_gain, verbose=verbose
    )


def gated_routes(evidence, risks, pool, options, *, min_gain, verbose=0):
    """Routes that leave the generic model only on a significant gain.

    Each group tests its own personalized candidates (at most one per
    variant) against the generic model, with ``options.correction`` across
    them; a small family keeps the tests powerful. With per-row gate losses
    in ``evidence`` the tests are bootstrap-t tests of them (groups of at
    least ``MIN_TEST_ROWS`` rows), and ``options.test`` on the metric otherwise. A
    significant candidate must also gain ``min_gain`` in the metric. Other
    groups' candidates enter only when they are significantly better than the
    group's route.

    Returns
    -------
    routes : ndarray of int of shape (n_groups,)
    below : ndarray of bool of shape (n_groups,)
        As in :func:`route`.
    """
    n_groups = len(risks)
    finite = own_mask(pool) & np.isfinite(risks) & np.isfinite(risks[:, :1])
    finite[:, 0] = False
    pairs = np.argwhere(finite)
    comparisons = np.column_stack([pairs[:, 0], np.zeros(len(pairs), int), pairs[:, 1]])
    allowed = np.zeros_like(finite)
    allowed[:, 0] = True
    turned_down = np.zeros(n_groups, dtype=bool)
    if len(comparisons):
        p_gain = _gate_pvalues(evidence, risks, comparisons, options, verbose)
        significant = verdicts(p_gain, np.nan, options.alpha) == "gain"
        enough = comparison_gains(risks, comparisons) >= min_gain - TIE_TOLERANCE
        chosen = pairs[significant & enough]
        allowed[chosen[:, 0], chosen[:, 1]] = True
        turned_down[pairs[significant & ~enough, 0]] = True
    routes = _repair_envy(evidence, risks, best_routes(risks, pool, allowed), options)
    return routes, turned_down & (routes == 0)


def _gate_pvalues(evidence, risks, comparisons, options, verbose):
    """Adjusted one-sided p-values of the gains the gate tests, adjusted
    within each group's own candidates."""
    p_gain = np.full(len(comparisons), np.nan)
    if evidence.losses is not None:
        p_gain = loss_tests(evidence.losses, evidence.group_ids, comparisons, options)
    on_metric = np.isnan(p_gain)
    if on_metric.any():
        tests = paired_tests(evidence, risks, comparisons[on_metric], options, verbose)
        p_gain[on_metric] = tests.result[:, FIELD["p_gain"]]
    for g in np.unique(comparisons[:, 0]):
        mine = comparisons[:, 0] == g
        p_gain[mine] = adjust_pvalues(p_gain[mine], options.correction)
    return p_gain


def _repair_envy(evidence, risks, routes, options):
    """A group that significantly prefers another group's route takes it.

    Its risk strictly drops and no new route appears, so this ends.
    """
    for _ in range(risks.size):
        envy = envy_statistics(evidence, risks, routes, options)
        violated = (
            verdicts(
                envy[..., FIELD["p_gain_adjusted"]],
                envy[..., FIELD["p_violation_adjusted"]],
                options.alpha,
            )
            == "violation"
        )
        if not violated.any():
            break
        g = int(np.flatnonzero(violated.any(axis=1))[0])
        gaps = np.where(violated[g], envy[g, :, FIELD["gain"]], np.inf)
        routes[g] = routes[int(np.argmin(gaps))]
    return routes


def routing_notes(risks, n, notes, below, metric, min_gain):
    """Notes on each group: absent candidates, and why it stayed generic.

    Parameters
    ----------
    risks : ndarray of shape (n_groups, C)
    n : ndarray of int of shape (n_groups,)
        Evaluated rows of each group.
    notes : list of str
        Notes so far (absent decoupled models).
    below : ndarray of bool of shape (n_groups,)
        Groups kept generic by ``min_gain``.
    metric : str
    min_gain : float

    Returns
    -------
    notes : list of str
    """
    notes = list(notes)
    for g in range(len(risks)):
        reason = None
        if np.isnan(risks[g]).all():
            reason = (
                "no evaluation rows"
                if n[g] == 0
                else f"{metric} is undefined on these rows"
            )
        elif below[g]:
            reason = f"significant gains below min_gain={min_gain:g}"
        if reason is not None:
            notes[g] = "; ".join(filter(None, [notes[g], f"kept generic: {reason}"]))
    return notes
