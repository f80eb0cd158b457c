"""Making evidence: every candidate's predictions on rows it did not train on.

- :func:`make_splits` turns ``cv`` into train/evaluation splits (stratified by
  group and label, or the caller's, validated);
- :func:`check_training_classes` and :func:`decoupled_groups` say which fits
  can run;
- :func:`cross_fit` fits every variant on every split, in one parallel batch,
  and writes each candidate's out-of-fold predictions into one
  :class:`~._metrics.Evidence`;
- :func:`score_pool` and :func:`score_reported` score fitted models on new
  rows, for an audit.
"""

import sys
import warnings
from contextlib import nullcontext
from itertools import islice
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn import config_context
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, check_cv
from sklearn.utils.parallel import Parallel, delayed

from ._groups import WITHHELD
from ._metrics import (
    allocate_evidence,
    class_codes,
    count_labels,
    evidence_kind,
    n_labels,
)
from ._pool import BLOCK_VARIANTS, build_pool, serving
from ._pooling import other_weight, pooled_groups, weighted_in_every
from ._variants import (
    candidate_model,
    candidate_rows,
    deployed_models,
    fit_and_score,
    pooling_key,
    predict_evidence,
    row_weights,
    stacked_evidence,
)
from .exceptions import caller_stacklevel

# ----------------------------------------------------------------- splits


def make_splits(cv, y, group_ids, n_classes, random_state=None):
    """Train/evaluation splits, and whether the variants are refit on all rows.

    Parameters
    ----------
    cv : int, float, splitter or iterable
        As in :class:`~fairuse_estimators.FairUseClassifier`.
    y : ndarray of int of shape (n,)
    group_ids : ndarray of int of shape (n,)
    n_classes : int
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    splits : list of (ndarray, ndarray)
    refit : bool
        ``False`` for a float holdout, whose evaluated models are deployed.
    """
    y, n_classes = count_labels(y, n_classes)
    strata = (group_ids + 2) * n_classes + y
    holdout = isinstance(cv, Real) and not isinstance(cv, Integral)
    if holdout:
        splitter = StratifiedShuffleSplit(
            n_splits=1, test_size=cv, random_state=random_state
        )
        strata = _merge_small_strata(strata, y, min_count=2)
        n_test = int(np.ceil(cv * len(y)))
        if min(n_test, len(y) - n_test) < len(np.unique(strata)):
            # Too few rows to hold every (group, label) stratum: keep labels.
            strata = _merge_small_strata(y, y, min_count=2)
    elif cv is None or isinstance(cv, Integral):
        n_splits = 5 if cv is None else cv
        splitter = StratifiedKFold(
            n_splits=n_splits, shuffle=True, random_state=random_state
        )
        strata = _merge_small_strata(strata, y, min_count=n_splits)
    else:
        splitter = check_cv(cv, y, classifier=True)
    try:
        found = list(splitter.split(y, strata))
    except ValueError as exc:
        if "groups" not in str(exc):
            raise
        raise ValueError(
            f"cv={cv!r} splits by groups (such as a patient id), which the "
            "classifier cannot pass to it: it splits by the (group, label) "
            "strata. Pass the splits themselves, for example cv=list("
            f"{type(cv).__name__}(...).split(X, y, groups=patient_id)), to keep "
            "each patient's rows in one fold."
        ) from exc
    splits = [(np.asarray(tr), np.asarray(te)) for tr, te in found]
    if not holdout:
        _check_cross_fitting(splits, len(y))
    return splits, not holdout


def _check_cross_fitting(splits, n_samples):
    """Every row evaluated exactly once, never by a model trained on it."""
    tested = np.zeros(n_samples, dtype=int)
    for k, (train, test) in enumerate(splits):
        leaked = int(np.isin(test, train).sum())
        if leaked or not len(train):
            trains_on = f"{leaked} of the rows it evaluates on" if leaked else "no row"
            raise ValueError(
                f"Split {k} of cv trains on {trains_on}, so the risks would not "
                "be estimated on held-out rows. Pass splits whose train and test "
                "sets are disjoint and non-empty."
            )
        tested[test] += 1
    if not (tested == 1).all():
        raise ValueError(
            "The cross-validation splits passed as cv must put every row in "
            "exactly one test set; use a K-fold splitter or a float holdout size."
        )


def _merge_small_strata(strata, y, min_count):
    """Strata with fewer than ``min_count`` rows fall back to their label.

    Label strata that are still too small join the largest stratum, so that
    every stratum can be spread over the splits.
    """
    counts = np.bincount(strata)
    strata = np.where(counts[strata] < min_count, y, strata)
    counts = np.bincount(strata)
    return np.where(counts[strata] < min_count, counts.argmax(), strata)


def training_sets(splits, refit, n_samples):
    """Rows of every fit of a variant; the deployed models' rows come last."""
    trainings = [train for train, _ in splits]
    return trainings + [np.arange(n_samples)] if refit else trainings


def evaluated_ids(splits, group_ids):
    """Group of each row in a test set; ``-1`` for rows never evaluated."""
    evaluated = np.full(len(group_ids), -1)
    for _, test in splits:
        evaluated[test] = group_ids[test]
    return evaluated


def describe(splits, refit, ensemble=False):
    """How the risks were estimated and what they describe, as the report
    says it."""
    if not refit:
        return f"holdout of {len(splits[0][1])} rows"
    deployed = "averaged" if ensemble else "refitted on all rows"
    return f"{len(splits)}-fold cross-fitting of the fold models, deployed {deployed}"


def _class_counts(y, group_ids, rows, n_groups, n_classes):
    """Counts of each (group, class) among ``rows`` with a group."""
    ids = group_ids[rows]
    cells = ids[ids >= 0] * n_classes + y[rows][ids >= 0]
    counts = np.bincount(cells, minlength=n_groups * n_classes)
    return counts.reshape(n_groups, n_classes)


def check_training_classes(y, group_ids, splits, refit, classes, n_groups):
    """Every variant must see two classes, and deployed ones all classes."""
    n_classes = len(classes)
    trainings = training_sets(splits, refit, len(y))
    deployed = trainings[-1]
    for train in trainings:
        counts = _class_counts(y, group_ids, train, n_groups, n_classes)
        grouped = np.flatnonzero(counts.sum(0))
        if len(grouped) < 2:
            raise ValueError(
                "The rows with a complete group value in a training split hold "
                f"only the class {classes[grouped].tolist()!r}; the one-hot and "
                "intersectional variants need two classes. Give more rows a "
                "group value or use fewer folds."
            )
    where = "" if refit else " in the training part of the holdout split"
    grouped = _class_counts(y, group_ids, deployed, n_groups, n_classes).sum(axis=0)
    for counts, whose in [
        (np.bincount(y[deployed], minlength=n_classes), "no row"),
        (grouped, "no row with a complete group value"),
    ]:
        missing = np.flatnonzero(counts == 0)
        if len(missing):
            raise ValueError(
                f"The classes {classes[missing].tolist()!r} have {whose}{where}, "
                "so the deployed models could never predict them. Give more of "
                "their rows a group value, or use an integer cv."
            )


def decoupled_groups(y, group_ids, splits, refit, shape, min_group_size, weights):
    """Groups that get a decoupled model, and a note on each that doesn't.

    Parameters
    ----------
    y, group_ids : ndarray of int of shape (n,)
    splits : list of (ndarray, ndarray)
    refit : bool
    shape : (int, int)
        Numbers of groups and of classes.
    min_group_size : int
    weights : ndarray of shape (n,) or None
        A group whose rows all have zero weight in some training set has
        nothing to fit a model of its own on.

    Returns
    -------
    eligible : ndarray of bool of shape (n_groups,)
    notes : list of str
    """
    n_groups, n_classes = shape
    notes = [""] * n_groups
    present = _class_counts(y, group_ids, np.arange(len(y)), n_groups, n_classes)
    sizes = present.sum(axis=1)
    eligible = sizes >= min_group_size
    trainings = training_sets(splits, refit, len(y))
    for train in trainings:
        counts = _class_counts(y, group_ids, train, n_groups, n_classes)
        eligible &= (counts > 0).all(axis=1)
    weighted = np.ones(n_groups, dtype=bool)
    if weights is not None:
        weighted = weighted_in_every(group_ids, trainings, n_groups, weights)
    eligible &= weighted
    for g in np.flatnonzero(~eligible):
        if sizes[g] < min_group_size:
            why = f"{sizes[g]} rows < min_group_size={min_group_size}"
        elif (present[g] == 0).any():
            why = "the group lacks a class"
        elif not weighted[g]:
            why = "sample_weight is zero on its rows in a training set"
        else:
            why = "a training fold lacks a class"
        notes[g] = f"no decoupled model: {why}"
    return eligible, notes


# ------------------------------------------------------------ cross-fitting


class Training(NamedTuple):
    """What every fit of a variant shares (transient).

    Attributes
    ----------
    base : estimator
        The unfitted base classifier.
    X : ndarray of float of shape (n, d)
        Feature block.
    y, group_ids : ndarray of int of shape (n,)
    blocks : dict
        :func:`~._variants.variant_blocks` of the rows.
    params : dict
        Sample-aligned fit parameters.
    variants : tuple of str
    decoupled : ndarray of bool
        Groups with a decoupled model.
    pooled : ndarray of bool
        Groups with a partially pooled model.
    weight_key : str or None
        The fit parameter that weights the rows of a partially pooled model.
    kind : str or tuple of str
        What each fit returns for its evaluated rows: the metric's evidence
        kind, and the gate's loss when there is one.
    n_classes : int
    """

    base: object
    X: np.ndarray
    y: np.ndarray
    group_ids: np.ndarray
    blocks: dict
    params: dict
    variants: tuple
    decoupled: np.ndarray
    pooled: np.ndarray
    weight_key: object
    kind: object
    n_classes: int


def _own_rows(group_ids, rows, reported):
    """Positions among ``rows`` of the rows of group ``reported``, whose own
    candidate the evidence gate tests; ``None`` (all rows) for the generic
    model, whose ``reported`` is negative."""
    return None if reported < 0 else np.flatnonzero(group_ids[rows] == reported)


def fit_tasks(data, train, evaluate, keep):
    """One (fit, score) task per variant and per decoupled group.

    Every model scores the rows ``evaluate`` (``None`` for none) once per
    candidate it serves: block variants once per reported group.
    """
    gated = isinstance(data.kind, tuple)
    common = {
        "kind": data.kind,
        "classes": class_codes(data.n_classes),
        "fit_params": data.params,
        "keep": keep,
    }

    def task(variant, group, rows, block, indicator_rows, reported, pooling=None):
        scored = [] if evaluate is None else [(evaluate, r) for r in indicator_rows]
        # The gate tests a group's own candidates only: losses are needed on
        # the rows of the reported group (all rows for the generic model).
        loss_rows = None
        if gated and evaluate is not None:
            loss_rows = [_own_rows(data.group_ids, evaluate, g) for g in reported]
        call = (
            (data.base, data.X, data.y, rows, block, scored),
            {"loss_rows": loss_rows, "pooling": pooling, **common},
        )
        return variant, group, call

    # A variant list without the generic model reuses one fitted elsewhere.
    tasks = []
    if "generic" in data.variants:
        tasks.append(task("generic", None, train, None, [None], [-1]))
    grouped = train[data.group_ids[train] >= 0]
    for variant in BLOCK_VARIANTS:
        if variant in data.variants:
            full, per_group = data.blocks[variant]
            rows = [per_group[[g]] for g in range(len(per_group))]
            tasks.append(task(variant, None, grouped, full, rows, range(len(rows))))
    # Each group's training rows, from one sort of their ids (shifted to >= 0);
    # a decoupled group has rows in every training set.
    own = dict(candidate_rows(data.group_ids[train] - WITHHELD))
    for g in np.flatnonzero(data.decoupled):
        tasks.append(task("decoupled", g, train[own[g - WITHHELD]], None, [None], [g]))
    weights = row_weights(data.params)
    for g in np.flatnonzero(data.pooled):
        factor = other_weight(data.group_ids, train, g, weights)
        pooling = (data.weight_key, data.group_ids, g, factor)
        tasks.append(task("partially_pooled", g, train, None, [None], [g], pooling))
    return tasks


def run_tasks(tasks, what, n_jobs=None, verbose=0):
    """Run the fits, yielding ``(variant, group, result)`` as each finishes,
    in order, so that the caller can store each result and drop it; reports
    each fit when ``verbose``. The warnings the fits raise come back, once
    all have run, as one summary per kind of warning."""
    if verbose:
        print(f"[FairUseClassifier] {what}: {len(tasks)} fits", file=sys.stderr)
    caught = []
    calls = (
        delayed(fit_and_score_with_warnings)(*args, **kwargs)
        for _, _, (args, kwargs) in tasks
    )
    outputs = Parallel(n_jobs=n_jobs, return_as="generator")(calls)
    for done, ((variant, g, _), (result, raised)) in enumerate(
        zip(tasks, outputs), start=1
    ):
        caught.append(raised)
        # verbose=1: a line per quarter of the fits; 2 and more: every fit.
        quarter = done * 4 // len(tasks) > (done - 1) * 4 // len(tasks)
        if verbose > 1 or (verbose and quarter):
            print(
                f"[FairUseClassifier] fits done: {done}/{len(tasks)}", file=sys.stderr
            )
        yield variant, g, result
    _summarize_warnings(caught, [variant for variant, _, _ in tasks])


def _finite_inputs(data):
    """Skip the base's finiteness checks when the inputs are known finite.

    Every fit and predict call of every task would scan its design for NaN
    and inf again (150 scans in a default fit); one scan of the features and
    the sample-aligned parameters here says whether any call could find one.
    Where some value is not finite, the base checks as usual and decides.
    """
    arrays = [data.X, *data.params.values()]
    # A parameter that is not a numeric array is left to the base to check.
    finite = all(
        isinstance(a, np.ndarray)
        and a.dtype.kind in "biufc"
        and (a.dtype.kind not in "fc" or np.isfinite(a).all())
        for a in arrays
    )
    return config_context(assume_finite=True) if finite else nullcontext()


def fit_and_score_with_warnings(*args, **kwargs):
    """Run one fit (:func:`fit_and_score`); return its result and the
    warnings it raised."""
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        result = fit_and_score(*args, **kwargs)
    return result, [(w.category, str(w.message)) for w in raised]


def _summarize_warnings(caught, variants):
    """One warning per category for the many fits of a fit, naming how many
    fits of each variant raised it, with the first message."""
    by_category = {}
    for variant, raised in zip(variants, caught):
        for category, message in dict.fromkeys(raised):
            counts, first = by_category.setdefault(category, ({}, message))
            counts[variant] = counts.get(variant, 0) + 1
    for category, (counts, first) in by_category.items():
        where = ", ".join(f"{variant} {n}" for variant, n in counts.items())
        warnings.warn(
            f"{sum(counts.values())} of {len(variants)} base fits raised "
            f"{category.__name__} ({where}). The first said: {first}",
            category,
            stacklevel=caller_stacklevel(),
        )


def cross_fit(
    data, pool, splits, refit, metric, n_jobs=None, verbose=0, ensemble=False,
    deferred=False,
):  # fmt: skip
    """Every candidate's predictions on every evaluated row, and the deployed
    models.

    The fold fits and, with ``refit``, the fits on all rows go to the workers
    in one batch, so that the data are shipped once. The evidence is complete
    once the fold fits are in; the fits on all rows come last, so that with
    ``deferred`` the caller can choose routes while the workers still fit.

    Parameters
    ----------
    data : Training
    pool : Pool
    splits : list of (ndarray, ndarray)
    refit : bool
    metric : str
    n_jobs : int or None, default=None
    verbose : int, default=0
    ensemble : bool, default=False
        With ``refit``, deploy each variant's fold models averaged
        (:class:`~._variants.FoldEnsemble`) instead of fitting it again on
        all rows.
    deferred : bool, default=False
        Return, instead of the deployed models, a function of no argument
        that waits for the remaining fits and returns them. Until it is
        called (or dropped), the workers of ``n_jobs`` go on fitting.

    Returns
    -------
    evidence : Evidence
        Group ids are ``-1`` outside the test sets.
    estimators : dict or callable
        ``"generic"``, ``"onehot"`` and ``"intersectional"`` map to fitted
        models, ``"decoupled"`` to a list aligned with the groups; with
        ``deferred``, the function that returns them.
    """
    final = refit and not ensemble  # fits on all rows, the deployed models
    tasks, folds = [], []
    for train, test in splits:
        rows = test[data.group_ids[test] >= 0]
        # A fold whose test rows all withheld their group has nothing to score.
        fold_tasks = fit_tasks(data, train, rows if len(rows) else None, not final)
        tasks += fold_tasks
        folds += [rows] * len(fold_tasks)
    if final:
        on_all = fit_tasks(data, np.arange(len(data.y)), None, keep=True)
        tasks += on_all
        folds += [None] * len(on_all)
    what = f"fitting {len(splits)} split(s)" + (" and all rows" if final else "")
    gate = data.kind[1] if isinstance(data.kind, tuple) else None
    evidence = allocate_evidence(
        metric, data.y, evaluated_ids(splits, data.group_ids), pool.n_groups,
        pool.size, data.n_classes, gate=gate,
    )  # fmt: skip
    if refit:
        fold_of = np.full(len(data.y), -1)
        for k, (_, test) in enumerate(splits):
            fold_of[test] = k
        evidence = evidence._replace(folds=fold_of)
    kept = {}
    # The generator first, so that it runs to its end (and its summary of
    # warnings) before zip stops. The configuration of the fits is read when
    # the first one starts, below.
    results = zip(run_tasks(tasks, what, n_jobs, verbose), folds)

    def keep(results):
        # Each fit's scores are written into the evidence as it finishes.
        for (variant, g, (model, scores)), rows in results:
            _store(evidence, pool, data.group_ids, rows, variant, g, scores)
            if model is not None:
                kept.setdefault((variant, g), []).append(model)

    def deploy():
        keep(results)
        return deployed_models(kept, pool.n_groups, data.variants)

    with _finite_inputs(data):
        keep(islice(results, sum(rows is not None for rows in folds)))
    return evidence, (deploy if deferred else deploy())


def _store(evidence, pool, group_ids, rows, variant, g, scores):
    """Write one fit's scores of the candidates it serves on ``rows``."""
    for candidate, score in zip(serving(pool, variant, g), scores):
        if evidence.losses is None:
            evidence.predictions[candidate, rows] = score
            continue
        evidence.predictions[candidate, rows] = score[0]
        where = _own_rows(group_ids, rows, pool.groups[candidate])
        own = rows if where is None else rows[where]
        evidence.losses[candidate, own] = score[1]


class CrossFit(NamedTuple):
    """What the evidence stage of ``fit`` returns (transient).

    Attributes
    ----------
    evidence : Evidence
        Out-of-fold predictions of every candidate.
    estimators : dict or callable
        The deployed models, as in :func:`cross_fit`.
    pool : Pool
    notes : list of str
        Why a group has no decoupled model, ``""`` where it has one.
    estimated_by : str
        How the risks were estimated, e.g. ``"5-fold cross-fitting"``.
    """

    evidence: object
    estimators: dict
    pool: object
    notes: list
    estimated_by: str


def fit_evidence(
    base, X, y, group_ids, n_groups, *, settings, n_jobs=None, verbose=0, guard=None,
    deferred=False,
):  # fmt: skip
    """The evidence stage: splits, checks, the pool, and every fit.

    Parameters
    ----------
    base : estimator
        Unfitted base classifier.
    X : ndarray of float of shape (n, d)
        Feature block.
    y, group_ids : ndarray of int of shape (n,)
    n_groups : int
    settings : dict
        ``cv``, ``variants``, ``metric``, ``gate`` (the gate's per-row loss
        or ``None``), ``min_group_size``, ``classes`` (the labels),
        ``blocks`` (:func:`~._variants.variant_blocks` of the rows),
        ``params`` (sample-aligned fit parameters) and ``random_state``;
        optionally ``splits``, a ``(splits, refit)`` pair of
        :func:`make_splits` shared with other fits. Without ``"generic"``
        in ``variants`` the generic model is not fitted and its predictions
        are left to fill.
    n_jobs : int or None, default=None
    verbose : int, default=0
    guard : context manager, default=None
        Entered around the base fits alone, to explain their errors; with
        ``deferred``, around the fits the evidence needs.
    deferred : bool, default=False
        As in :func:`cross_fit`: ``estimators`` of the result is then the
        function that returns the deployed models.

    Returns
    -------
    result : CrossFit
    """
    classes, variants = settings["classes"], tuple(settings["variants"])
    n_classes, ensemble = n_labels(classes), settings.get("ensemble", False)
    splits, refit = settings.get("splits") or make_splits(
        settings["cv"], y, group_ids, n_classes, settings["random_state"]
    )
    if classes is not None:  # a continuous target has no classes to check
        check_training_classes(y, group_ids, splits, refit, classes, n_groups)
    decoupled, notes = np.zeros(n_groups, dtype=bool), [""] * n_groups
    weights = row_weights(settings["params"])
    if "decoupled" in variants:
        labels, counted = count_labels(y, n_classes)
        decoupled, notes = decoupled_groups(
            labels, group_ids, splits, refit, (n_groups, counted),
            settings["min_group_size"], weights,
        )  # fmt: skip
    pooled, key = np.zeros(n_groups, dtype=bool), None
    if "partially_pooled" in variants:
        key = pooling_key(base, settings["params"])
        trainings = training_sets(splits, refit, len(y))
        pooled, more = pooled_groups(group_ids, trainings, n_groups, weights)
        notes = ["; ".join(filter(None, pair)) for pair in zip(notes, more)]
    pool = build_pool(
        variants, n_groups, {"decoupled": decoupled, "partially_pooled": pooled}
    )
    kind = evidence_kind(settings["metric"])
    gate = settings["gate"]
    data = Training(
        base, X, y, group_ids, settings["blocks"], settings["params"], variants,
        decoupled, pooled, key, kind if gate is None else (kind, gate), n_classes,
    )  # fmt: skip
    with nullcontext() if guard is None else guard:
        evidence, estimators = cross_fit(
            data, pool, splits, refit, settings["metric"], n_jobs, verbose, ensemble,
            deferred,
        )  # fmt: skip
    return CrossFit(
        evidence, estimators, pool, notes, describe(splits, refit, ensemble)
    )


# ------------------------------------------------------------------ audits


def score_pool(estimators, encoding, pool, X_features, y, group_ids, metric, n_classes):
    """Every candidate of a fitted pool on every row with a known group.

    Parameters
    ----------
    estimators : dict
        The fitted variants.
    encoding : GroupEncoding
    pool : Pool
    X_features : ndarray of float of shape (n, d)
    y : ndarray of int of shape (n,)
        Encoded labels.
    group_ids : ndarray of int of shape (n,)
    metric : str
    n_classes : int

    Returns
    -------
    evidence : Evidence
    """
    evidence = allocate_evidence(
        metric, y, group_ids, pool.n_groups, pool.size, n_classes
    )
    rows = np.flatnonzero(group_ids >= 0)
    kind, classes = evidence_kind(metric), class_codes(n_classes)
    # Candidates sharing a fitted model (a block variant's reported groups)
    # are scored in stacked calls.
    by_model = {}
    for candidate, (v, g) in enumerate(zip(pool.variants, pool.groups)):
        model, row = candidate_model(estimators, encoding, v, g)
        by_model.setdefault(id(model), (model, []))[1].append((candidate, row))
    for model, served in by_model.values():
        entries = [(rows, row) for _, row in served]
        scores = stacked_evidence(model, X_features, entries, kind, classes)
        for (candidate, _), score in zip(served, scores):
            evidence.predictions[candidate, rows] = score
    return evidence


def score_reported(personalized, generic, X, positions, group_ids, y, classes, metric):
    """Evidence of any fitted model reported as each group, and of ``generic``.

    Candidate 0 is ``generic`` on ``X`` without its group columns (zeros when
    ``generic`` is ``None``); candidate ``1 + g`` is ``personalized`` on every
    row with its group columns overwritten by those of group ``g``.

    Parameters
    ----------
    personalized : fitted estimator
    generic : fitted estimator or None
    X : DataFrame or ndarray of shape (n, d)
        The rows with a known group.
    positions : ndarray of int
        Positions of the group columns.
    group_ids : ndarray of int of shape (n,)
    y : ndarray of int of shape (n,)
        Encoded labels.
    classes : ndarray
        The labels the predictions are encoded against.
    metric : str

    Returns
    -------
    evidence : Evidence
    """
    n_groups = int(group_ids.max()) + 1
    kind = evidence_kind(metric)
    evidence = allocate_evidence(
        metric, y, group_ids, n_groups, n_groups + 1, n_labels(classes)
    )
    if generic is not None:
        evidence.predictions[0] = predict_evidence(
            generic, _without_columns(X, positions), kind, classes
        )
    # Every group occurs among the rows; a row of each reports that group.
    _, first_row = np.unique(group_ids, return_index=True)
    for g in range(n_groups):
        evidence.predictions[1 + g] = predict_evidence(
            personalized, _reported_as(X, positions, first_row[g]), kind, classes
        )
    return evidence


def _without_columns(X, positions):
    if hasattr(X, "iloc"):
        return X.drop(columns=X.columns[positions])
    return np.delete(X, positions, axis=1)


def _reported_as(X, positions, row):
    """``X`` with every row's group columns set to those of ``row``."""
    reported = X.copy()
    repeat = np.full(len(X), row)
    if hasattr(X, "iloc"):
        for j in positions:
            name = X.columns[j]
            reported[name] = X[name].iloc[repeat].set_axis(X.index)
    else:
        reported[:, positions] = X[row, positions]
    return reported
