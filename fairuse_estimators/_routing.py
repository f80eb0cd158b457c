"""Routing: which candidate serves each group, chosen from the risk matrix.

- :func:`best_routes`: the lowest-risk candidate of the pool (ties go to the
  simpler candidate);
- :func:`gated_routes`: a group leaves the generic model only for one of its
  own candidates whose gain is significant (with ``correction`` across them)
  and at least ``min_gain``; a group whose predictions are then
  significantly worse than another group's route moves to that route;
- :func:`routing_notes`: why a group stayed on the generic model;
- :class:`GateRecord`: what the gate saw for each group, kept in the report
  so that every route can be explained.
"""

import json
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from ._audit import envy_statistics
from ._groups import group_label
from ._metrics import ON_CLASS, group_risks, metric_name, risk_matrix
from ._pool import Pool, own_candidates, own_mask, preference
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

    ``"auto"`` tests the metric itself: a gain in another loss (the log loss)
    is no evidence of a gain in the metric, and routing on it sent groups to
    candidates with a worse error.
    """
    if routing != "evidence" or gate_loss in ("auto", "metric"):
        return None
    return gate_loss


#: Codes of :attr:`GateRecord.decision`.
DECISIONS = (
    "routed",  # a candidate passed the gate
    "not_significant",  # no candidate's gain was significant
    "below_min_gain",  # significant gains, all below min_gain
    "envy_repair",  # moved to another group's route by envy repair
    "no_candidate",  # no candidate with a defined risk to test
    "lowest_risk",  # routing="best": the lowest estimated risk, untested
)


class GateRecord(NamedTuple):
    """What the routing saw for each group (transient; the report keeps it
    as plain lists).

    The figures are those the routes were chosen on: an explanation of each
    route, not fresh evidence of its gain.

    Attributes
    ----------
    candidate : ndarray of int of shape (n_groups,)
        The own candidate the gate weighed most for the group: the one it
        routed to, else the one with the smallest adjusted p-value; ``-1``
        where none was tested.
    gain : ndarray of shape (n_groups,)
        That candidate's gain in the metric over the group's baseline.
    p_value, p_adjusted : ndarray of shape (n_groups,)
        Its one-sided p-value for a gain, raw and after the correction.
    before_repair : ndarray of int of shape (n_groups,)
        The group's route before envy repair.
    decision : ndarray of str of shape (n_groups,)
        One of :data:`DECISIONS`.
    baseline : ndarray of int of shape (n_groups,)
        The candidate each group kept unless one of its own passed.
    settings : dict
        ``routing``, and for the gate its ``test``, ``alpha``,
        ``correction``, ``family`` and ``min_gain``.
    """

    candidate: np.ndarray
    gain: np.ndarray
    p_value: np.ndarray
    p_adjusted: np.ndarray
    before_repair: np.ndarray
    decision: np.ndarray
    baseline: np.ndarray
    settings: dict

    def to_lists(self):
        """The record as plain lists and builtins, for the report."""
        record = {k: np.asarray(v).tolist() for k, v in self._asdict().items()}
        return {**record, "settings": dict(self.settings)}


def best_record(risks, routes):
    """The record of ``routing="best"``: the lowest estimated risk, untested."""
    n_groups = len(routes)
    nan = np.full(n_groups, np.nan)
    gain = risks[:, 0] - risks[np.arange(n_groups), routes]
    decision = np.where(np.isnan(risks).all(axis=1), "no_candidate", "lowest_risk")
    return GateRecord(
        routes.copy(), gain, nan, nan.copy(), routes.copy(), decision,
        np.zeros(n_groups, np.intp), {"routing": "best"},
    )  # fmt: skip


def _gate_settings(evidence, options, family, min_gain):
    """What the gate ran: its test, level, correction, family and min_gain."""
    test = options.test
    if evidence.losses is not None:
        test = "bootstrap-t on a per-row loss (the metric's test below 20 rows)"
    return {
        "routing": "evidence", "test": test, "alpha": float(options.alpha),
        "correction": options.correction, "family": family,
        "min_gain": float(min_gain),
    }  # fmt: skip


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
        # Ties relative to the risks' size: the loss's units are the user's.
        tie = TIE_TOLERANCE * np.nanmax(np.abs(ordered))
        routes[g] = order[np.flatnonzero(ordered <= best + tie)[0]]
    return routes


def route(
    routing, evidence, risks, pool, options, *, min_gain, family="all", verbose=0,
    baseline=None,
):  # fmt: skip
    """Routes of every group, and whether ``min_gain`` kept it generic.

    Parameters
    ----------
    routing : {"best", "evidence"}
    evidence : Evidence
    risks : ndarray of shape (n_groups, C)
    pool : Pool
    options : TestOptions
    min_gain : float
    family : {"all", "group"}, default="all"
        What the gate's correction runs over: every group's candidates, so
        that the chance of routing any group to a candidate that is not
        truly better is at most ``alpha``; or each group's own candidates.
    verbose : int, default=0
    baseline : ndarray of int of shape (n_groups,), default=None
        The candidate each group keeps unless one of its own is
        significantly better (``None``: the generic model); the lowest-risk
        candidate of the whole pool with ``routing="best"``.

    Returns
    -------
    routes : ndarray of int of shape (n_groups,)
    below : ndarray of bool of shape (n_groups,)
        Groups on the generic model although a gain was significant, because
        it was below ``min_gain``.
    record : GateRecord
        What the routing saw for each group.
    """
    if routing == "best":
        routes = best_routes(risks, pool)
        below = np.zeros(len(risks), dtype=bool)
        return routes, below, best_record(risks, routes)
    return gated_routes(
        evidence, risks, pool, options, min_gain=min_gain, family=family,
        verbose=verbose, baseline=baseline,
    )  # fmt: skip


def routes_by_fold(routing, evidence, pool, options, **params):
    """The routes each fold's rows get when chosen on the other folds' rows.

    Grading routes on the evidence that chose them is optimistic: the lowest
    of many estimated risks is biased down. Chosen without a fold's rows,
    the routes that fold's rows get are graded on evidence that did not pick
    them (cross-validated selection).

    Parameters
    ----------
    routing : {"best", "evidence"}
    evidence : Evidence
        With ``folds``.
    pool : Pool
    options : TestOptions
    **params : dict
        ``min_gain``, ``family`` and ``verbose``, as in :func:`route`.

    Returns
    -------
    routes : ndarray of int of shape (n_folds, n_groups)
    """
    n_folds = evidence.folds.max() + 1
    by_fold = _risks_without_each_fold(evidence, n_folds)
    routes = []
    for k in range(n_folds):
        held_out = evidence._replace(
            group_ids=np.where(evidence.folds == k, -1, evidence.group_ids)
        )
        risks = risk_matrix(held_out) if by_fold is None else by_fold[k]
        routes.append(route(routing, held_out, risks, pool, options, **params)[0])
    return np.array(routes)


#: Metrics that are a plain mean of row losses over a group's rows.
_ROW_MEANS = ("error", "log_loss", "brier")


def _risks_without_each_fold(evidence, n_folds):
    """The risk matrix of the evidence without fold ``k``'s rows, for every
    ``k``, from one pass of sums by (fold, group); ``None`` for a metric that
    is not a plain mean of row losses, whose matrices are computed one by one.
    """
    if not (isinstance(evidence.metric, str) and evidence.metric in _ROW_MEANS):
        return None
    n_groups, slots = evidence.n_groups, n_folds + 1  # a last slot: no fold
    kept = evidence.group_ids >= 0
    fold = np.where(evidence.folds >= 0, evidence.folds, n_folds)
    cells = np.where(kept, fold * n_groups + evidence.group_ids, -1)
    means = group_risks(
        evidence.metric, evidence.y, evidence.predictions, cells, slots * n_groups
    )
    counts = np.bincount(cells[kept], minlength=slots * n_groups)[:, None]
    sums = np.where(counts > 0, means * counts, 0.0).reshape(slots, n_groups, -1)
    counts = counts.reshape(slots, n_groups, 1)
    sums, counts = sums.sum(0) - sums[:n_folds], counts.sum(0) - counts[:n_folds]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def graded_routes(routing, evidence, pool, routes, options, **params):
    """What the report grades the routed model on, and what it cannot test.

    With cross-fitted evidence, the routed model is graded on routes chosen
    out of fold (:func:`routes_by_fold`, :func:`with_selected`); a holdout
    chose the routes on the only evidence there is, so the routed model is
    returned as selected: the report shows its figures and tests nothing.

    Returns
    -------
    evidence : Evidence
    pool : Pool
    routed : ndarray of int of shape (n_groups,)
    selected : tuple of int
        Audited models chosen on this evidence (``(0,)``: the routed one).
    """
    if evidence.folds is None:
        return evidence, pool, routes, (0,)
    fold_routes = routes_by_fold(routing, evidence, pool, options, **params)
    return (*with_selected(evidence, pool, fold_routes), ())


def with_selected(evidence, pool, fold_routes):
    """Evidence and pool with the cross-validated routed candidates.

    A group whose route differs between folds gets one more candidate: on
    each row, the prediction of the candidate its route chosen without that
    row's fold picks. A group routed alike in every fold keeps that route.

    Returns
    -------
    evidence : Evidence
    pool : Pool
    routed : ndarray of int of shape (n_groups,)
        Each group's candidate under the routed model graded out of fold.
    """
    routed = fold_routes[0].copy()
    varying = np.flatnonzero((fold_routes != fold_routes[0]).any(axis=0))
    if not len(varying):
        return evidence, pool, routed
    stitched = np.zeros(
        (len(varying), *evidence.predictions.shape[1:]), evidence.predictions.dtype
    )
    for k, routes in enumerate(fold_routes):
        rows = np.flatnonzero(evidence.folds == k)
        stitched[:, rows] = evidence.predictions[routes[varying][:, None], rows]
    extended = Pool(
        np.concatenate([pool.variants, np.full(len(varying), "routed")]),
        np.concatenate([pool.groups, varying]),
        pool.n_groups,
    )
    routed[varying] = pool.size + np.arange(len(varying))
    predictions = np.concatenate([evidence.predictions, stitched])
    return evidence._replace(predictions=predictions), extended, routed


def gated_routes(
    evidence, risks, pool, options, *, min_gain, family="all", verbose=0,
    baseline=None,
):  # fmt: skip
    """Routes that leave the generic model only on a significant gain.

    Each group tests its own personalized candidates (at most one per
    variant) against its ``baseline`` candidate (the generic model unless
    given), with ``options.correction`` across
    every group's candidates (``family="all"``) or across each group's own
    (``"group"``). The tests are ``options.test`` on the metric, or, with
    per-row gate losses in ``evidence``, tests of those losses (groups of at
    least ``MIN_TEST_ROWS`` rows). A significant candidate must also gain
    ``min_gain`` in the metric. Other groups' candidates enter only when they
    are significantly better than the group's route.

    Returns
    -------
    routes : ndarray of int of shape (n_groups,)
    below : ndarray of bool of shape (n_groups,)
    record : GateRecord
        As in :func:`route`.
    """
    n_groups = len(risks)
    if baseline is None:
        baseline = np.zeros(n_groups, dtype=np.intp)
    kept = risks[np.arange(n_groups), baseline][:, None]
    finite = own_mask(pool) & np.isfinite(risks) & np.isfinite(kept)
    finite[:, 0] = False
    pairs = np.argwhere(finite)
    comparisons = np.column_stack([pairs[:, 0], baseline[pairs[:, 0]], pairs[:, 1]])
    allowed = np.zeros_like(finite)
    allowed[np.arange(n_groups), baseline] = True
    turned_down = np.zeros(n_groups, dtype=bool)
    p_raw = p_gain = gains = np.empty(0)
    if len(comparisons):
        p_raw, p_gain = _gate_pvalues(
            evidence, risks, comparisons, options, family, verbose
        )
        gains = comparison_gains(risks, comparisons)
        significant = verdicts(p_gain, np.nan, options.alpha) == "gain"
        enough = gains >= min_gain - TIE_TOLERANCE * np.abs(kept[pairs[:, 0], 0])
        chosen = pairs[significant & enough]
        allowed[chosen[:, 0], chosen[:, 1]] = True
        turned_down[pairs[significant & ~enough, 0]] = True
    initial = best_routes(risks, pool, allowed)
    routes = _repair_envy(evidence, risks, initial.copy(), options)
    below = turned_down & (routes == baseline)
    tested = (pairs[:, 0], p_raw, p_gain, gains, pairs[:, 1])
    record = _gate_record(tested, initial, routes, baseline, below)
    settings = _gate_settings(evidence, options, family, min_gain)
    return routes, below, record._replace(settings=settings)


def _gate_record(tested, initial, routes, baseline, below):
    """Each group's :class:`GateRecord` entry from the gate's comparisons."""
    group, p_raw, p_gain, gains, candidate = tested
    n_groups = len(routes)
    record = GateRecord(
        np.full(n_groups, -1), np.full(n_groups, np.nan), np.full(n_groups, np.nan),
        np.full(n_groups, np.nan), initial, np.full(n_groups, "no_candidate"),
        baseline, {},
    )  # fmt: skip
    decision = record.decision.astype(object)
    for g in range(n_groups):
        mine = np.flatnonzero(group == g)
        if len(mine):
            # The routed candidate, else the one closest to passing.
            routed = mine[candidate[mine] == initial[g]]
            order = np.lexsort((-gains[mine], np.nan_to_num(p_gain[mine], nan=2.0)))
            k = routed[0] if len(routed) else mine[order[0]]
            record.candidate[g], record.gain[g] = candidate[k], gains[k]
            record.p_value[g], record.p_adjusted[g] = p_raw[k], p_gain[k]
            decision[g] = "routed" if len(routed) else "not_significant"
        if below[g]:
            decision[g] = "below_min_gain"
        if routes[g] != initial[g]:
            decision[g] = "envy_repair"
        elif decision[g] == "routed" and initial[g] == baseline[g]:
            decision[g] = "not_significant"
    return record._replace(decision=decision.astype(str))


def _gate_pvalues(evidence, risks, comparisons, options, family, verbose):
    """One-sided p-values of the gains the gate tests, raw and adjusted across
    all of them or within each group's own candidates."""
    p_gain = np.full(len(comparisons), np.nan)
    if evidence.losses is not None:
        p_gain = loss_tests(evidence.losses, evidence.group_ids, comparisons, options)
    on_metric = np.isnan(p_gain)
    if on_metric.any():
        tests = paired_tests(evidence, risks, comparisons[on_metric], options, verbose)
        p_gain[on_metric] = tests.result[:, FIELD["p_gain"]]
    if family == "all":
        return p_gain, adjust_pvalues(p_gain, options.correction)
    adjusted = p_gain.copy()
    for g in np.unique(comparisons[:, 0]):
        mine = comparisons[:, 0] == g
        adjusted[mine] = adjust_pvalues(p_gain[mine], options.correction)
    return p_gain, adjusted


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


def _of_class(metric):
    """Which rows a rate on one class is evaluated on, for notes."""
    if metric not in ON_CLASS:
        return ""
    return f" of the {'positive' if ON_CLASS[metric] else 'negative'} class"


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
                f"no evaluation rows{_of_class(metric)}"
                if n[g] == 0
                else f"{metric_name(metric)} is undefined on these rows"
            )
        elif below[g]:
            reason = f"significant gains below min_gain={min_gain:g}"
        if reason is not None:
            notes[g] = "; ".join(filter(None, [notes[g], f"kept generic: {reason}"]))
    return notes


class Routing(Mapping):
    """Read-only map ``group -> (variant, reported group or None)``.

    Printed as one line per group; :meth:`to_records` and :meth:`to_json`
    give it with the group columns named.
    """

    def __init__(self, routes, group_columns):
        self._routes = dict(routes)
        self._columns = list(group_columns)

    def __getitem__(self, group):
        return self._routes[group]

    def __iter__(self):
        return iter(self._routes)

    def __len__(self):
        return len(self._routes)

    def __repr__(self):
        lines = [f"Routing of {len(self)} groups by {', '.join(self._columns)}:"]
        for group, (variant, reported) in self._routes.items():
            served = variant
            if reported is not None and None in reported:  # partial reporting
                used = [c for c, v in zip(self._columns, reported) if v is not None]
                values = [v for v in reported if v is not None]
                served += f" on {', '.join(used)} as ({group_label(values)})"
            elif reported is not None and reported != group:
                served += f" as ({group_label(reported)})"
            shown = ["-" if v is None else v for v in group]
            lines.append(f"  ({group_label(shown)}) -> {served}")
        return "\n".join(lines)

    def to_records(self):
        """One JSON-compatible record per group: its values by column, the
        variant, and the reported group's values (``None`` for generic)."""

        def named(group):
            values = [v.item() if isinstance(v, np.generic) else v for v in group]
            return dict(zip(self._columns, values))

        return [
            {
                "group": named(group),
                "variant": variant,
                "reported_group": None if reported is None else named(reported),
            }
            for group, (variant, reported) in self._routes.items()
        ]

    def to_json(self, indent=2):
        """The records as JSON text."""
        return json.dumps(self.to_records(), indent=indent)
