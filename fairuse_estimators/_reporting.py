"""Partial reporting: route every reporting group, from the coarsest up.

Levels (:mod:`._levels`) are routed in order of their subsets, the empty one
(the generic model) first. A reporting group's *baseline* is the best, on its
rows, of what its people get by reporting less: the generic model and the
routes of its coarser groups. It keeps that baseline unless one of its own
candidates is significantly better (the evidence gate of
:func:`~._routing.gated_routes`, with ``min_gain``), so that on the evidence
reporting more never leaves a group worse off than reporting less (the
*participatory* guarantee), and a group that gains nothing from an attribute
is served as if it had not given it (data minimization).

Families: with ``gate_family="all"`` the gate of each of the ``L`` non-empty
subsets runs at ``alpha / L`` with ``correction`` over its groups'
candidates, so that the chance that *any* reporting group is routed to a
candidate not truly better than its baseline is at most ``alpha``; with
``"group"``, each reporting group's own candidates, at ``alpha``.

The report of each level grades routes chosen out of fold, like the routed
model of full reporting, and tests the participatory guarantee there: for
every group and every coarser subset, the routed model against the route
the group gets by reporting that subset only (``correction`` over the
level's comparisons).
"""

import numpy as np

from ._audit import audit_models
from ._evidence import make_splits, score_pool
from ._groups import GroupEncoding
from ._levels import (
    Level,
    coarser,
    fit_levels,
    predict_levels,
    projections,
    reporting_subsets,
    score_sources,
    union,
)
from ._metrics import n_labels, risk_matrix
from ._pool import Pool, audited_models
from ._routing import route, routing_notes, with_selected
from ._stats import FIELD, adjust_pvalues, paired_tests, verdicts
from ._tree import build_tree, tree_sources

PARTICIPATION_FIELDS = ("gain", "p_gain", "p_violation")


class PartialRouting:
    """Routes of every level and how each was reached (transient)."""

    def __init__(self, levels, routing, options, params):
        self.levels, self.routing, self.options = levels, routing, options
        self.min_gain, self.family = params["min_gain"], params["family"]
        blocks = [level.block for level in levels]
        self.unions = [None] + [
            union(levels, i, blocks, blocks[i].group_ids) for i in range(1, len(levels))
        ]
        self.projected = [None] + [
            projections(levels, i) for i in range(1, len(levels))
        ]
        gate_alpha = options.alpha
        if self.family == "all":
            gate_alpha = options.alpha / max(len(levels) - 1, 1)
        self.gate_options = options._replace(alpha=gate_alpha)

    def reported_less(self, i, j, routes):
        """Union index (on level ``i``) of the route each group of level ``i``
        gets by reporting only the attributes of its coarser level ``j``."""
        chosen = routes[j][self.projected[i][j]]
        return np.array(
            [self.unions[i].index(self.unions[j].sources[c]) for c in chosen], np.intp
        )

    def routes(self, fold=None, verbose=0):
        """Every level's routes (union indices), chosen without ``fold``'s
        rows when one is given; the groups ``min_gain`` kept back; and what
        the gate saw (:class:`~._routing.GateRecord`, ``None`` for the empty
        level)."""
        routes, below, records = [np.zeros(1, np.intp)], [np.zeros(1, bool)], [None]
        for i in range(1, len(self.levels)):
            evidence = self.unions[i].evidence
            if fold is not None:
                held_out = np.where(evidence.folds == fold, -1, evidence.group_ids)
                evidence = evidence._replace(group_ids=held_out)
            risks = risk_matrix(evidence)
            # What each group gets by reporting less: generic, then each
            # coarser group's route; its baseline is the lowest-risk one.
            options = np.column_stack(
                [np.zeros(len(risks), np.intp)]
                + [
                    self.reported_less(i, j, routes)
                    for j in coarser(self.levels, i)[1:]
                ]
            )
            baseline = np.array(
                [_lowest(r, o) for r, o in zip(risks, options)], np.intp
            )
            level_routes, kept, record = route(
                self.routing, evidence, risks, self.unions[i].pool,
                self.gate_options, min_gain=self.min_gain, family=self.family,
                verbose=verbose, baseline=baseline,
            )  # fmt: skip
            routes.append(level_routes)
            below.append(kept)
            records.append(record)
        return routes, below, records

    def must_report(self, routes, i):
        """Attributes each group of level ``i`` must report for its route:
        the smallest coarser subset whose group gets the same candidate."""
        own = routes[i]
        # Smallest subsets first; the level itself, last, always matches.
        found = {
            j: self.reported_less(i, j, routes) for j in coarser(self.levels, i)[1:]
        }
        answers = []
        for g, c in enumerate(own):
            same = [j for j in sorted(found) if found[j][g] == c] + [i]
            answers.append([] if c == 0 else list(self.levels[same[0]].names))
        return answers


def _lowest(risks, options):
    """The option with the lowest risk; ties and missing risks go to the
    first (the coarsest)."""
    values = np.where(np.isnan(risks[options]), np.inf, risks[options])
    return options[int(np.argmin(values))]


def partial_reports(partial, chosen, options, *, estimated_by, verbose):
    """The report of every non-empty level, graded out of fold.

    With a holdout, the routes were chosen on the only evidence there is:
    the routed model and the participatory tests are shown, not tested.

    Returns
    -------
    reports : list of FairUseReport
        One per level in order, the empty subset excluded.
    """
    routes, below, records = chosen
    folds = partial.unions[-1].evidence.folds
    by_fold = None
    if folds is not None:
        by_fold = [partial.routes(k)[0] for k in range(folds.max() + 1)]
    reports = []
    for i in range(1, len(partial.levels)):
        level, joined = partial.levels[i], partial.unions[i]
        fold_routes = [routes] if by_fold is None else by_fold
        graded, pool, routed = with_selected(
            joined.evidence, joined.pool, np.array([r[i] for r in fold_routes])
        )
        graded, pool, coarse = _coarser_routes(partial, i, fold_routes, graded, pool)
        risks = risk_matrix(graded)
        n = np.bincount(
            graded.group_ids[graded.group_ids >= 0], minlength=pool.n_groups
        )
        variants = list(dict.fromkeys(level.pool.variants))
        names, assignments = audited_models(pool, routed, variants)
        reported = {j: partial.levels[j].names for j in coarse}
        participation = _participation(
            graded, risks, (routed, coarse), reported, options
        )
        if by_fold is None:  # chosen on this evidence: shown, not tested
            k = len(participation["group"])
            participation.update(
                verdict=["untested"] * k, p_gain=[np.nan] * k, p_violation=[np.nan] * k
            )
        report = audit_models(
            graded, risks, pool, names, assignments, options,
            group_columns=level.names, groups=level.encoding.groups,
            variants=variants, routes=routes[i],
            notes=_notes(partial, i, risks, n, routes[i], below[i]),
            selected=() if by_fold else (0,),
            n_withheld=int((level.group_ids < 0).sum()), estimated_by=estimated_by,
            reported_labels=joined.labels + [""] * (pool.size - joined.pool.size),
            participation=participation, must_report=partial.must_report(routes, i),
            gate=records[i].to_lists(),
            verbose=verbose,
        )  # fmt: skip
        reports.append(report)
    return reports


def _notes(partial, i, risks, n, routes, below):
    """Level ``i``'s notes: those of full reporting, and the groups that
    ``min_gain`` kept on the route of reporting less."""
    own, metric = (
        risks[:, : partial.unions[i].pool.size],
        partial.unions[i].evidence.metric,
    )
    generic = below & (routes == 0)
    notes = routing_notes(
        own, n, partial.levels[i].notes, generic, metric, partial.min_gain
    )
    for g in np.flatnonzero(below & (routes != 0)):
        kept = (
            "kept on the route of reporting less: significant gains below "
            f"min_gain={partial.min_gain:g}"
        )
        notes[g] = "; ".join(filter(None, [notes[g], kept]))
    return notes


def _coarser_routes(partial, i, by_fold, evidence, pool):
    """Add, for every coarser level, the candidate each group of level ``i``
    gets by reporting that level's attributes only, chosen out of fold."""
    coarse = {}
    for j in coarser(partial.levels, i)[1:]:
        fold_routes = [partial.reported_less(i, j, routes) for routes in by_fold]
        before = pool.size
        evidence, pool, coarse[j] = with_selected(evidence, pool, np.array(fold_routes))
        # Named apart from the level's own routed candidates.
        name = f"routed on {', '.join(partial.levels[j].names)}"
        variants = pool.variants.astype(object)
        variants[before:] = name
        pool = pool._replace(variants=variants.astype(str))
    return evidence, pool, coarse


def _participation(evidence, risks, graded, names, options):
    """Tests of the participatory guarantee on a level: for every group and
    coarser level ``j`` (its columns ``names[j]``), the gain of the routed
    model over the route of reporting that level's columns only."""
    routed, coarse = graded
    rows = [(g, reported[g], routed[g], j) for j, reported in coarse.items()
            for g in range(len(routed))]  # fmt: skip
    records = {"group": [], "reports": []}
    records.update({field: [] for field in PARTICIPATION_FIELDS})
    records.update(verdict=[], note=[])
    comparisons = np.array(rows, dtype=np.intp).reshape(-1, 4)
    differ = comparisons[:, 1] != comparisons[:, 2]
    result = np.zeros((len(rows), len(FIELD)))
    result[:, FIELD["p_gain"] : FIELD["p_violation"] + 1] = np.nan
    notes = ["the same route"] * len(rows)
    if differ.any():
        tested = paired_tests(evidence, risks, comparisons[differ, :3], options)
        result[differ, : tested.result.shape[1]] = tested.result
        for k, reason in zip(np.flatnonzero(differ), tested.untested):
            notes[k] = reason
    p_gain = adjust_pvalues(result[:, FIELD["p_gain"]], options.correction)
    p_violation = adjust_pvalues(result[:, FIELD["p_violation"]], options.correction)
    found = verdicts(p_gain, p_violation, options.alpha)
    for k, (g, _, _, j) in enumerate(rows):
        records["group"].append(int(g))
        records["reports"].append(", ".join(names[j]))
        records["gain"].append(float(result[k, FIELD["gain"]]))
        records["p_gain"].append(float(p_gain[k]))
        records["p_violation"].append(float(p_violation[k]))
        records["verdict"].append(str(found[k]))
        records["note"].append(notes[k])
    return records


def deployed_state(partial, routes):
    """Plain per-level state :func:`~._levels.predict_levels` reads."""
    state = []
    for i, level in enumerate(partial.levels):
        sources = np.zeros((1, 2), np.intp)
        if i:
            sources = partial.unions[i].sources[routes[i]]
        state.append(
            {
                "subset": list(level.subset),
                "encoding": level.encoding,
                "variants": level.pool.variants.tolist(),
                "groups": level.pool.groups,
                "estimators": level.estimators,
                "sources": sources,
            }
        )
    return state


def reporting_routes(state, group_columns):
    """Every reporting group's route, as ``routing_`` shows it: the group with
    ``None`` where it reports nothing, and the reported group likewise."""
    routes = {}
    k = len(group_columns)
    for level in state[1:]:
        for group, (j, c) in zip(level["encoding"].groups, level["sources"]):
            full = [None] * k
            for position, value in zip(level["subset"], group):
                full[position] = value
            source = state[j]
            variant, reported = source["variants"][c], None
            if j:
                reported = [None] * k
                values = source["encoding"].groups[source["groups"][c]]
                for position, value in zip(source["subset"], values):
                    reported[position] = value
                reported = tuple(reported)
            routes[tuple(full)] = (variant, reported)
    return routes


def fit_partial(base, X, y, columns, names, settings, options, routing, **run):
    """The recipe of ``reporting="partial"``: levels, routes, reports.

    Parameters
    ----------
    base : estimator
    X : ndarray of shape (n, d)
        Feature block.
    y : ndarray of int of shape (n,)
    columns : list of ndarray
        Values of the group columns.
    names : list of str
    settings : dict
        As for :func:`~._evidence.fit_evidence`, without ``blocks``.
    options : TestOptions
    routing : dict
        ``routing``, ``min_gain`` and ``family``; ``tree`` to build the
        reporting tree.
    **run : dict
        ``n_jobs``, ``verbose`` and ``guard``.

    Returns
    -------
    state : list of dict
        :func:`deployed_state`.
    reports : list of FairUseReport
        One per non-empty subset, the full one last.
    tree : dict or None
        The reporting tree (:func:`~._tree.build_tree`) when ``routing``
        has ``tree`` true.
    """
    reporting_subsets(names)  # refuse too many attributes before any fit
    full_ids = GroupEncoding().fit(columns, names)
    if not (full_ids >= 0).any():
        raise ValueError(
            f"No row of X reports every group column {list(names)!r}; partial "
            "reporting grades and audits its routes on the groups of all the "
            "columns, so it needs rows that report them all. Drop the column "
            "that no row completes, or fit on rows that report every column."
        )
    splits = make_splits(
        settings["cv"],
        y,
        full_ids,
        n_labels(settings["classes"]),
        settings["random_state"],
    )
    levels, estimated_by = fit_levels(
        base, X, y, columns, names, {**settings, "splits": splits}, **run
    )
    params = {"min_gain": routing["min_gain"], "family": routing["family"]}
    partial = PartialRouting(levels, routing["routing"], options, params)
    chosen = partial.routes(verbose=run.get("verbose", 0))
    routes = chosen[0]
    reports = partial_reports(
        partial, chosen, options, estimated_by=estimated_by,
        verbose=run.get("verbose", 0),
    )  # fmt: skip
    tree = build_tree(partial, routes, reports) if routing.get("tree") else None
    return deployed_state(partial, routes), reports, tree


def audit_partial(state, X, y, columns, names, metric, n_classes, options):
    """Evidence, pool and routes of the full subset on new rows (every
    level's candidates scored on the rows that report all attributes), and
    the report fields of partial reporting: labels and participatory tests.

    Returns
    -------
    evidence : Evidence
    pool : Pool
    routes : ndarray of int
    fields : dict
        ``reported_labels``, ``participation`` and ``variants`` (those of
        the full subset).
    """
    levels, blocks = [], []
    full = state[-1]
    ids, _ = full["encoding"].transform(columns, names)
    for level in state:
        encoding = level["encoding"]
        n_groups = 1 if encoding is None else encoding.n_groups
        pool = Pool(
            np.asarray(level["variants"]), np.asarray(level["groups"]), n_groups
        )
        own = (
            pool
            if encoding is None
            else Pool(pool.variants[1:], pool.groups[1:], n_groups)
        )
        estimators = {
            **level["estimators"],
            "generic": state[0]["estimators"]["generic"],
        }
        blocks.append(
            score_pool(estimators, encoding, own, X, y, np.where(ids >= 0, 0, -1),
                       metric, n_classes)
        )  # fmt: skip
        subset = tuple(level["subset"])
        levels.append(
            Level(subset, [names[j] for j in subset], encoding, None, pool, None,
                  level["estimators"], None)
        )  # fmt: skip
    last = len(levels) - 1
    joined = union(levels, last, blocks, ids)
    routes = np.array([joined.index(source) for source in full["sources"]], np.intp)
    coarse = {}
    for j in coarser(levels, last)[1:]:
        projected = _projected(full["encoding"], state[j], names)
        coarse[j] = np.array([joined.index(state[j]["sources"][p]) for p in projected])
    evidence = joined.evidence
    participation = _participation(
        evidence, risk_matrix(evidence), (routes, coarse),
        {j: levels[j].names for j in coarse}, options,
    )  # fmt: skip
    fields = {"reported_labels": joined.labels, "participation": participation,
              "variants": list(dict.fromkeys(full["variants"]))}  # fmt: skip
    return evidence, joined.pool, routes, fields


def _projected(encoding, level, names):
    """The group of ``level`` of each group of the full ``encoding``."""
    groups = np.array(encoding.groups, dtype=object).reshape(encoding.n_groups, -1)
    subset = level["subset"]
    columns = [groups[:, j] for j in subset]
    ids, _ = level["encoding"].transform(columns, [names[j] for j in subset])
    return ids


def partial_attributes(state, reports):
    """The classifier's fitted attributes under partial reporting: those of
    full reporting read from the full subset, and the subsets' reports."""
    full = state[-1]
    return {
        "_subset_reports": reports,
        "audit_report_": reports[-1],
        "_encoding": full["encoding"],
        "groups_": full["encoding"].groups,
        "estimators_": {"generic": state[0]["estimators"]["generic"],
                        **full["estimators"]},
        "_candidate_variant": full["variants"],
        "_candidate_group": full["groups"],
        "_route": None,
    }  # fmt: skip


def predict_reporting(state, tree, X, columns, names, method, n_classes, on_unseen):
    """Score each row by the route of what it reports: any subset of the
    group columns, or with a reporting ``tree`` the answers to its questions
    in order, up to the first left blank."""
    if tree is None:
        return predict_levels(state, X, columns, names, method, n_classes, on_unseen)
    source, unseen = tree_sources(tree, columns, names)
    on_unseen(unseen)
    return score_sources(state, X, source, method, n_classes)
