"""Reporting levels: the candidates for every subset of the group attributes.

With group attributes ``A``, a row that reports the subset ``S`` of them (its
other group values missing) belongs to the *reporting group* of its values on
``S``; reporting nothing is the empty subset. Each subset is a *level*: its
candidates use only the columns in ``S`` (one-hot and intersectional on
``S``, one decoupled model per ``S``-group), fitted on the rows that report
``S``, on splits shared by every level and with one generic model fitted on
everyone. No candidate ever sees which values a row left out.

A level's *union pool* adds to its own candidates those of every coarser
level ``T`` (``T`` a subset of ``S``): the predictions a person who reports
``S`` could get by reporting less, on the same rows, so that routing and the
report compare them with paired tests.
"""

from contextlib import nullcontext
from itertools import combinations
from typing import NamedTuple

import numpy as np
import pandas as pd

from ._evidence import fit_evidence
from ._groups import encode_groups, group_label
from ._metrics import Evidence
from ._pool import Pool
from ._variants import predict_candidates, variant_blocks

#: Most group attributes partial reporting takes: ``2 ** k`` subsets each
#: fit a pool of their own.
MAX_REPORTED = 5


class Level(NamedTuple):
    """One subset of the group attributes and its fitted candidates (transient).

    Attributes
    ----------
    subset : tuple of int
        Positions of its attributes among the group columns.
    names : list of str
    encoding : GroupEncoding or None
        Groups on the subset's columns; ``None`` for the empty subset.
    group_ids : ndarray of int of shape (n,)
        Each training row's group on the subset; negative where it does not
        report all of the subset.
    pool : Pool
        Its own candidates: the generic model first, as everywhere.
    block : Evidence
        Out-of-fold predictions of its own candidates but the generic model
        (of the generic model alone for the empty subset).
    estimators : dict
    notes : list of str
    """

    subset: tuple
    names: list
    encoding: object
    group_ids: np.ndarray
    pool: Pool
    block: Evidence
    estimators: dict
    notes: list


def reporting_subsets(names):
    """Every subset of the group columns, smallest first, the empty one first."""
    k = len(names)
    if k > MAX_REPORTED:
        raise ValueError(
            f"reporting='partial' takes at most {MAX_REPORTED} group columns; got "
            f"{k} ({list(names)!r}). Each of the 2**{k} = {2**k} subsets of "
            "attributes a person may report fits a pool of its own. Merge "
            "columns into fewer attributes, or use reporting='all'."
        )
    return [s for size in range(k + 1) for s in combinations(range(k), size)]


def fit_levels(base, X, y, columns, names, settings, guard=None, **run):
    """Fit the candidates of every subset of the group columns.

    Parameters
    ----------
    base : estimator
    X : ndarray of float of shape (n, d)
        Feature block.
    y : ndarray of int of shape (n,)
    columns : list of ndarray
        Values of each group column.
    names : list of str
    settings : dict
        As for :func:`~._evidence.fit_evidence`, with ``splits`` (shared by
        every level) and without ``blocks``.
    guard : context manager, default=None
        Entered around all the fits, to explain their errors.
    **run : dict
        ``n_jobs`` and ``verbose`` for every fit.

    Returns
    -------
    levels : list of Level
        In the order of :func:`reporting_subsets`.
    estimated_by : str
    """
    with nullcontext() if guard is None else guard:
        return _fit_levels(base, X, y, columns, names, settings, run)


def _fit_levels(base, X, y, columns, names, settings, run):
    n = len(y)
    generic = fit_evidence(
        base, X, y, np.zeros(n, dtype=np.intp), 1,
        settings={**settings, "variants": ("generic",), "blocks": {}}, **run,
    )  # fmt: skip
    block = generic.evidence._replace(predictions=generic.evidence.predictions[:1])
    levels = [
        Level((), [], None, np.zeros(n, np.intp), generic.pool, block,
              generic.estimators, [""])
    ]  # fmt: skip
    wanted = [v for v in settings["variants"] if v != "generic"]
    for subset in reporting_subsets(names)[1:]:
        level_names = [names[j] for j in subset]
        encoding, ids = encode_groups([columns[j] for j in subset], level_names)
        variants = wanted
        if len(subset) == 1 and "onehot" in wanted:
            # On one attribute the intersectional design is the one-hot one.
            variants = [v for v in wanted if v != "intersectional"]
        fit = fit_evidence(
            base, X, y, ids, encoding.n_groups, **run,
            settings={**settings, "variants": variants,
                      "blocks": variant_blocks(encoding, ids)},
        )  # fmt: skip
        own = fit.evidence._replace(predictions=fit.evidence.predictions[1:])
        if own.losses is not None:
            own = own._replace(losses=own.losses[1:])
        levels.append(
            Level(subset, level_names, encoding, ids, fit.pool, own,
                  fit.estimators, fit.notes)
        )  # fmt: skip
    return levels, generic.estimated_by


def coarser(levels, i):
    """Levels whose subset lies inside level ``i``'s, ``i`` itself first,
    then from the smallest; the empty subset (the generic model) excluded."""
    inside = set(levels[i].subset)
    rest = [j for j in range(1, i) if set(levels[j].subset) <= inside]
    return [i, *rest]


class Union(NamedTuple):
    """A level's union pool and its evidence (transient).

    Attributes
    ----------
    evidence : Evidence
    pool : Pool
        Candidates of the level itself keep their variant names; those of a
        coarser level are named ``"<variant> on <attributes>"``, which no
        group owns.
    sources : ndarray of int of shape (C, 2)
        Level and candidate (in that level's own pool) of each candidate.
    labels : list of str
        Label of the reported group of each candidate of a coarser level
        (whose pool group is ``-1``: no group of the level owns it), ``""``
        for the level's own.
    """

    evidence: Evidence
    pool: Pool
    sources: np.ndarray
    labels: list

    def index(self, source):
        """Union index of candidate ``source = (level, candidate)``."""
        hit = np.flatnonzero((self.sources == source).all(axis=1))
        return int(hit[0])


def coarser_name(level, c):
    """Variant name (``"onehot on sex"``) and reported group label of
    candidate ``c`` of ``level``, as finer levels name it."""
    variant, reported = level.pool.variants[c], int(level.pool.groups[c])
    label = group_label(level.encoding.groups[reported])
    return f"{variant} on {', '.join(level.names)}", label


def union(levels, i, blocks, group_ids):
    """Level ``i``'s union pool, with the predictions ``blocks`` of every
    level (aligned rows) and the rows' groups ``group_ids`` on level ``i``."""
    parts = [blocks[0]]
    variants, groups, sources, labels = ["generic"], [-1], [(0, 0)], [""]
    for j in coarser(levels, i):
        pool, level = levels[j].pool, levels[j]
        parts.append(blocks[j])
        for c in range(1, pool.size):
            variant, reported = str(pool.variants[c]), int(pool.groups[c])
            sources.append((j, c))
            if j == i:
                variants.append(variant)
                groups.append(reported)
                labels.append("")
                continue
            # No group of this level owns it: its reported group is named.
            name, label = coarser_name(level, c)
            variants.append(name)
            groups.append(-1)
            labels.append(label)
    losses = None
    if all(part.losses is not None for part in parts):
        owners = [levels[j] for j in [0, *coarser(levels, i)]]
        losses = np.concatenate([_own_losses(o, p) for o, p in zip(owners, parts)])
    evidence = blocks[i]._replace(
        predictions=np.concatenate([part.predictions for part in parts]),
        losses=losses,
        group_ids=group_ids,
        n_groups=levels[i].pool.n_groups,
    )
    pool = Pool(np.asarray(variants), np.asarray(groups, np.intp), evidence.n_groups)
    return Union(evidence, pool, np.asarray(sources, np.intp), labels)


def _own_losses(level, block):
    """A level's gate losses, ``nan`` off each candidate's own group's rows,
    where none were computed; the generic model has them on every row."""
    if not level.subset:
        return block.losses
    own = level.pool.groups[1:, None] == block.group_ids[None, :]
    return np.where(own, block.losses, np.nan).astype(block.losses.dtype)


def projections(levels, i):
    """For each coarser level ``j`` of level ``i``: the ``j``-group of each
    ``i``-group (read off the training rows, which report both)."""
    ids = levels[i].group_ids
    found, first = np.unique(ids[ids >= 0], return_index=True)
    rows = np.flatnonzero(ids >= 0)[first]
    projected = {0: np.zeros(levels[i].pool.n_groups, np.intp)}
    for j in coarser(levels, i):
        projected[j] = np.full(levels[i].pool.n_groups, -1, np.intp)
        projected[j][found] = levels[j].group_ids[rows]
    return projected


def reported_level(subsets, columns):
    """Level of each row: the subset of group columns it has values for."""
    present = np.column_stack([~pd.isna(values) for values in columns])
    weights = 1 << np.arange(present.shape[1])
    code_of = {sum(1 << j for j in s): k for k, s in enumerate(subsets)}
    lookup = np.array([code_of[c] for c in range(1 << present.shape[1])])
    return lookup[present.astype(np.int64) @ weights]


def predict_levels(state, X, columns, names, method, n_classes, on_unseen):
    """Score each row with its reporting group's routed candidate only.

    Parameters
    ----------
    state : list of dict
        Per level: ``subset``, ``encoding``, ``variants``, ``groups``,
        ``estimators`` and ``sources`` (level and candidate of each group's
        route), as :func:`~._reporting.deployed_state` keeps them.
    X : ndarray of float of shape (n, d)
    columns : list of ndarray
    names : list of str
    method : str
    n_classes : int
    on_unseen : callable
        Called with the descriptions of unseen values (warns or raises).

    Returns
    -------
    output : ndarray
    """
    subsets = [tuple(level["subset"]) for level in state]
    levels = reported_level(subsets, columns)
    source = np.zeros((len(X), 2), np.intp)  # generic unless routed
    unseen = []
    for i in np.unique(levels[levels > 0]):
        rows = np.flatnonzero(levels == i)
        level = state[i]
        subset = level["subset"]
        ids, found = level["encoding"].transform(
            [columns[j][rows] for j in subset], [names[j] for j in subset]
        )
        unseen += found
        known = ids >= 0
        source[rows[known]] = np.asarray(level["sources"])[ids[known]]
    on_unseen(unseen)
    return score_sources(state, X, source, method, n_classes)


def score_sources(state, X, source, method, n_classes):
    """Call ``method`` of candidate ``source[i] = (level, candidate)`` on row
    ``i`` only."""
    output = None
    for j in np.unique(source[:, 0]):
        rows = np.flatnonzero(source[:, 0] == j)
        level = state[j]
        pool = Pool(np.asarray(level["variants"]), np.asarray(level["groups"]), 0)
        estimators = {
            **level["estimators"],
            "generic": state[0]["estimators"]["generic"],
        }
        result = predict_candidates(
            estimators, level["encoding"], pool, source[rows, 1], X[rows], method,
            n_classes,
        )  # fmt: skip
        if output is None:
            output = np.empty((len(X), *result.shape[1:]), result.dtype)
        output[rows] = result
    return output
