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

from functools import partial
from typing import NamedTuple

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import _routing_enabled, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_method_params,
    _check_sample_weight,
    has_fit_parameter,
)

from ._metrics import check_metric_support, encode_labels, label_dtype, row_losses
from ._pool import GROUP_VARIANTS
from ._pooling import scale_weights
from ._threads import one_blas_thread

#: Proper scoring rules a task can return as per-row losses.
LOSS_KINDS = ("log_loss", "brier")


class GroupBlock(NamedTuple):
    """An ``(n, L)`` indicator block kept as codes: row ``i`` is
    ``table[ids[i]]``, so the block costs ``n`` group ids rather than
    ``n * L`` floats."""

    table: np.ndarray
    ids: np.ndarray

    @property
    def shape(self):
        return (len(self.ids), self.table.shape[1])

    @property
    def dtype(self):
        return self.table.dtype

    def take(self, rows):
        """The block's ``rows``, as an ``(len(rows), L)`` array."""
        return self.table[self.ids[rows]]


def variant_blocks(encoding, group_ids):
    """Indicator blocks of each block variant: one per row with a group (a
    :class:`GroupBlock`), and one per group (the reported group's row a
    candidate repeats)."""
    grouped = np.maximum(group_ids, 0)
    all_groups = np.arange(encoding.n_groups)
    blocks = {}
    for variant, indicators in (
        ("onehot", encoding.onehot_block),
        ("intersectional", encoding.intersectional_block),
    ):
        per_group = indicators(all_groups)
        blocks[variant] = (GroupBlock(per_group, grouped), per_group)
    return blocks


def candidate_model(estimators, encoding, variant, group):
    """The fitted model behind candidate ``(variant, group)`` and the
    indicator row it repeats after the features (``None`` for none)."""
    if variant in GROUP_VARIANTS:
        return estimators[variant][group], None
    model = estimators[variant]
    if variant == "onehot":
        return model, encoding.onehot_block(np.array([group]))
    if variant == "intersectional":
        return model, encoding.intersectional_block(np.array([group]))
    return model, None


def encode_targets(y):
    """The classes of classification targets ``y`` and the labels as codes."""
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"y has only one class ({encoder.classes_.tolist()[0]!r}); a "
            "classifier needs at least two classes."
        )
    return encoder.classes_, encoder.transform(y)


def encode_class_weights(estimator, classes):
    """A clone of ``estimator`` whose ``class_weight`` dicts are keyed by codes.

    The base fits see the labels as their positions in ``classes``, so a
    ``class_weight`` dict keyed by the user's labels is re-keyed to those
    positions, wherever it sits: on the estimator itself, on a step of a
    Pipeline or on any nested estimator (every ``get_params(deep=True)`` key
    ending in ``class_weight``). ``"balanced"``, ``None`` and other values
    pass through unchanged.

    Parameters
    ----------
    estimator : estimator
        Unfitted base estimator.
    classes : ndarray of shape (n_classes,)
        The sorted labels of ``y``.

    Returns
    -------
    estimator : estimator
        ``estimator`` itself when it holds no ``class_weight`` dict, otherwise
        a clone with the dicts re-keyed.
    """
    codes = {label: code for code, label in enumerate(classes.tolist())}
    encoded = {}
    for name, value in estimator.get_params(deep=True).items():
        if name.split("__")[-1] != "class_weight" or not isinstance(value, dict):
            continue
        unknown = [key for key in value if key not in codes]
        if unknown:
            raise ValueError(
                f"The base estimator's {name}={value!r} has key(s) {unknown!r} "
                f"that are not labels of y; the labels seen in y are "
                f"{classes.tolist()!r}. Key class_weight by those labels."
            )
        encoded[name] = {codes[key]: weight for key, weight in value.items()}
    return clone(estimator).set_params(**encoded) if encoded else estimator


def base_fit_params(meta, base, X, sample_weight, params):
    """Sample-aligned parameters for every base fit of ``meta``'s ``base``.

    With metadata routing enabled they are routed as requested; otherwise
    ``sample_weight`` goes to every base fit whose ``fit`` accepts it, as in
    :class:`~sklearn.calibration.CalibratedClassifierCV`, or to the last step
    of a Pipeline base, as ``"<step>__sample_weight"``.
    """
    if _routing_enabled():
        routed = process_routing(meta, "fit", sample_weight=sample_weight, **params)
        _check_weight_values(routed.estimator.fit.get("sample_weight"))
        return routed.estimator.fit
    params = dict(params)
    if sample_weight is not None:
        key = sample_weight_key(base)
        _check_weight_values(sample_weight)
        params[key] = _check_sample_weight(sample_weight, X)
    return params


def _check_weight_values(sample_weight):
    """Refuse negative weights and weights that are zero everywhere."""
    if sample_weight is None:
        return
    weights = np.asarray(sample_weight)
    if weights.dtype.kind not in "biuf":
        return  # left to scikit-learn's own check, which names the problem
    if (weights < 0).any():
        raise ValueError(
            f"sample_weight holds {int((weights < 0).sum())} negative value(s); "
            "weights must be non-negative."
        )
    if weights.size and not weights.any():
        raise ValueError(
            "sample_weight is zero on every row, so no model can be fitted; give "
            "some rows a positive weight."
        )


def sample_weight_key(base):
    """The fit parameter that weights the rows of a fit of ``base`` without
    metadata routing.

    ``"sample_weight"`` when ``base.fit`` accepts it; for a Pipeline, the
    weights go to its last step, as ``"<step>__sample_weight"`` (nested
    Pipelines add their steps' names). A ``ValueError`` says what to do
    when the estimator that would get them does not accept them.
    """
    final, prefix = base, ""
    while isinstance(final, Pipeline):
        name, final = final.steps[-1]
        prefix += f"{name}__"
    if not has_fit_parameter(final, "sample_weight"):
        where = f" (the last step of the {type(base).__name__})" if prefix else ""
        raise ValueError(
            f"sample_weight was given, but {type(final).__name__}.fit{where} does "
            "not accept sample_weight. For another meta-estimator, or to weight "
            "more steps of a Pipeline, enable metadata routing "
            "(sklearn.set_config(enable_metadata_routing=True)) and request the "
            "weights with set_fit_request(sample_weight=True)."
        )
    return prefix + "sample_weight"


def weight_key(params):
    """The key of the sample weights among sample-aligned fit ``params``,
    whether ``sample_weight`` or a step's ``<step>__sample_weight``; ``None``
    if there are none."""
    keys = [key for key in params if key.split("__")[-1] == "sample_weight"]
    return keys[-1] if keys else None


def pooling_key(base, params):
    """The fit parameter that weights a partially pooled model's rows: the
    one the user's weights already go to, or the base's own."""
    given = weight_key(params)
    if given is not None:
        return given
    try:
        return sample_weight_key(base)
    except ValueError:
        raise ValueError(
            "variants includes 'partially_pooled', whose models weight the other "
            f"groups' rows down, but {type(base).__name__} does not accept "
            "sample_weight in fit. Leave the variant out, or use a base "
            "estimator that takes sample_weight."
        ) from None


def row_weights(params):
    """The sample weights among sample-aligned fit ``params`` (see
    :func:`weight_key`); ``None`` if there are none."""
    key = weight_key(params)
    return None if key is None else params[key]


def base_tags(tags, base):
    """A meta-estimator's tags, with what it inherits from its ``base``."""
    own = get_tags(base)
    tags.input_tags.allow_nan = own.input_tags.allow_nan
    tags.input_tags.sparse = False
    if own.classifier_tags is not None and tags.classifier_tags is not None:
        tags.classifier_tags.multi_class = own.classifier_tags.multi_class
        tags.classifier_tags.poor_score = own.classifier_tags.poor_score
    return tags


def check_base(base, metric, n_classes, gate_loss, task="classifier"):
    """Refuse a base estimator that cannot give what ``metric`` and the gate
    need; ``task`` is ``"classifier"`` or ``"regressor"``."""
    kind = get_tags(base).estimator_type
    if kind not in (None, task):
        what = (
            "class labels" if task == "classifier" else "values of a continuous target"
        )
        raise TypeError(
            f"estimator must be a {task}; got {type(base).__name__}, a "
            f"{kind}. Its predictions would not be {what}."
        )
    if task == "regressor":
        return
    check_metric_support(metric, base, n_classes)
    if gate_loss in LOSS_KINDS and not hasattr(base, "predict_proba"):
        raise ValueError(
            f"gate_loss={gate_loss!r} tests predicted probabilities, but "
            f"{type(base).__name__} has no predict_proba. Use gate_loss='metric', "
            "or wrap the estimator in CalibratedClassifierCV."
        )


def predict_routed(estimators, encoding, pool, routes, X, group_ids, method, n_classes):
    """Call ``method`` of each row's candidate on that row only.

    Parameters
    ----------
    estimators : dict
        The fitted variants.
    encoding : GroupEncoding
    pool : Pool
    routes : ndarray of int of shape (n_groups,)
    X : ndarray of float of shape (n, d)
        Feature block.
    group_ids : ndarray of int of shape (n,)
        Negative for withheld or unseen groups, which get the generic model.
    method : {"predict", "predict_proba", "decision_function"}
    n_classes : int

    Returns
    -------
    output : ndarray of shape (n,) or (n, n_classes)
        Class codes for ``"predict"``; probabilities aligned with the
        encoded classes for ``"predict_proba"``.
    """
    candidates = np.where(group_ids >= 0, routes[np.maximum(group_ids, 0)], 0)
    return predict_candidates(
        estimators, encoding, pool, candidates, X, method, n_classes
    )


def predict_candidates(estimators, encoding, pool, candidates, X, method, n_classes):
    """Call ``method`` of candidate ``candidates[i]`` on row ``i`` only; as
    :func:`predict_routed`, with each row's candidate given."""
    output = None
    for candidate, rows in candidate_rows(candidates):
        model, row = candidate_model(
            estimators, encoding, pool.variants[candidate], pool.groups[candidate]
        )
        if row is None and len(rows) == len(X):  # one candidate for every row
            matrix = np.ascontiguousarray(X)
        else:
            matrix = design(X, rows, row)
        result = getattr(model, method)(matrix)
        if output is None:
            dtype = np.intp if method == "predict" and n_classes else float
            output = np.empty((len(candidates), *result.shape[1:]), dtype)
        if method == "predict_proba":
            classes = np.asarray(model.classes_)
            if not np.array_equal(classes, np.arange(n_classes)):
                aligned = np.zeros((len(rows), n_classes))
                aligned[:, classes] = result
                result = aligned
        output[rows] = result
    return output


def candidate_rows(candidates):
    """Each candidate in ``candidates`` with its rows, in increasing order.

    One stable sort of the candidate indices (a radix sort for the small
    integers they are) gives every candidate's rows, where a mask per
    candidate would pass over all rows once for each.
    """
    candidates = np.asarray(candidates)
    counts = np.bincount(candidates)
    present = np.flatnonzero(counts)
    if len(present) == 1:
        yield present[0], np.arange(len(candidates))
        return
    small = candidates.astype(np.min_scalar_type(len(counts)))
    order = np.argsort(small, kind="stable")
    ends = np.cumsum(counts[present])
    for candidate, start, end in zip(present, ends - counts[present], ends):
        yield candidate, order[start:end]


#: Bytes of feature rows :func:`design` gathers at a time: small enough to
#: stay in cache on their way into the design matrix.
GATHER_BYTES = 2**18


def design(X, rows, block=None):
    """Feature rows of ``X``, followed by ``block`` when one is given.

    ``block`` is either every row's block, a :class:`GroupBlock` indexed by
    ``rows``, or a single ``(1, L)`` indicator row repeated on every row.
    The matrix is C-contiguous, as ``np.hstack`` of the gathered rows would
    be, but built in one buffer: the rows are gathered in chunks into it.
    """
    rows = np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    d = X.shape[1]
    width = d if block is None else d + block.shape[1]
    dtype = X.dtype if block is None else np.result_type(X.dtype, block.dtype)
    matrix = np.empty((len(rows), width), dtype)
    # take is fastest on C-contiguous arrays, fancy indexing on the others.
    take = partial(np.take, X, axis=0) if X.flags.c_contiguous else X.__getitem__
    step = max(1, GATHER_BYTES // max(1, d * X.itemsize))
    full = isinstance(block, GroupBlock)
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        matrix[start : start + len(chunk), :d] = take(chunk)
        if full:
            matrix[start : start + len(chunk), d:] = block.take(chunk)
    if block is not None and not full:
        matrix[:, d:] = block
    return matrix


@one_blas_thread
def predict_evidence(estimator, X, kind, classes):
    """Predictions of a fitted estimator in the form a metric needs.

    ``classes`` are the sorted labels the evidence is encoded against.
    ``kind`` is ``"label"`` (class codes, ``-1`` for a label outside
    ``classes``), ``"score"`` (a continuous score for ``classes[1]``) or
    ``"proba"`` (probabilities of every class, zero for a class the
    estimator never saw); ``"value"`` is a regressor's predicted values.
    """
    if kind == "value":
        values = np.asarray(estimator.predict(X), dtype=float)
        return (
            values.reshape(-1) if values.ndim == 2 and values.shape[1] == 1 else values
        )
    if kind == "label":
        return encode_labels(estimator.predict(X), classes).astype(
            label_dtype(len(classes))
        )
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
    pooling=None,
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
    block : GroupBlock of shape (n, L) or None
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
    pooling : tuple or None, default=None
        For a partially pooled model, how to weight the rows:
        :func:`~._pooling.scale_weights`.

    Returns
    -------
    estimator : fitted estimator or None
    evidence : list of ndarray, one per entry of ``evaluate``
        A tuple of arrays per entry, one per kind, when ``kind`` is a tuple;
        losses are aligned with ``loss_rows``.
    """
    estimator = clone(base)
    params = _check_method_params(X, params=fit_params, indices=train)
    if pooling is not None:
        params = scale_weights(params, train, pooling)
    estimator.fit(design(X, train, block), y[train], **params)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if loss_rows is None:
        loss_rows = [None] * len(evaluate)
    scored = []
    for k in kinds:
        if k in LOSS_KINDS:  # losses on the rows ``where`` of each entry only
            entries = [
                (rows if where is None else rows[where], row)
                for (rows, row), where in zip(evaluate, loss_rows)
            ]
            probas = stacked_evidence(estimator, X, entries, "proba", classes)
            # Single precision is ample for a t-test and halves what is
            # shipped back.
            scored.append(
                [
                    row_losses(k, y[rows], proba[None])[0].astype(np.float32)
                    for (rows, _), proba in zip(entries, probas)
                ]
            )
        else:
            scored.append(stacked_evidence(estimator, X, evaluate, k, classes))
    evidence = list(zip(*scored)) if scored else []
    if not isinstance(kind, tuple):
        evidence = [scores for (scores,) in evidence]
    return (estimator if keep else None), evidence


#: Largest stacked design scored in one call, in cells (32 MiB of float64).
STACK_CELLS = 2**22


def stacked_evidence(estimator, X, entries, kind, classes, cells=STACK_CELLS):
    """Evidence of ``kind`` of one fitted model on every entry of
    ``entries``, a list of ``(rows, indicator row or None)``.

    The entries' designs are stacked and scored in as few calls as fit in
    ``cells`` cells (at least one entry per call): a block variant's model
    scores every reported group's indicator row on the same rows, and one
    call instead of one per group saves the per-call validation. Rows are
    scored independently, so the result is the same as one call per entry.
    """
    sizes = [len(rows) for rows, _ in entries]
    widths = [X.shape[1] + (0 if row is None else row.shape[1]) for _, row in entries]
    out = [None] * len(entries)
    start = 0
    while start < len(entries):
        # One batch: entries of one width, up to ``cells`` cells.
        stop, used = start, 0
        while stop < len(entries) and widths[stop] == widths[start]:
            if stop > start and used >= cells:
                break
            used += sizes[stop] * widths[stop]
            stop += 1
        batch = entries[start:stop]
        if sum(sizes[start:stop]):
            scores = predict_evidence(estimator, stack(X, batch), kind, classes)
            cuts = np.cumsum(sizes[start:stop])[:-1]
            out[start:stop] = np.split(scores, cuts)
        else:  # nothing to score, e.g. a reported group without rows here
            shape = (0, len(classes)) if kind == "proba" else (0,)
            out[start:stop] = [np.empty(shape)] * (stop - start)
        start = stop
    return out


def stack(X, entries):
    """The designs of ``entries`` (``(rows, indicator row or None)``) stacked
    into one buffer; entries on the same ``rows`` object gather them once."""
    d = X.shape[1]
    row = entries[0][1]
    width = d + (0 if row is None else row.shape[1])
    if row is None and len(entries) == 1:
        return X[entries[0][0]]
    buffer = np.empty((sum(len(rows) for rows, _ in entries), width))
    start, gathered, previous = 0, None, None
    for rows, row in entries:
        if rows is not previous:
            gathered, previous = X[rows], rows
        stop = start + len(rows)
        buffer[start:stop, :d] = gathered
        if row is not None:
            buffer[start:stop, d:] = row
        start = stop
    return buffer


def _members_have(name):
    def check(self):
        return hasattr(self, "classes_") and all(
            hasattr(m, name) for m in self.estimators_
        )

    return check


class FoldEnsemble:
    """The fold models of one variant, deployed together: ``ensemble=True``.

    Each member was scored on the rows it did not train on, so the
    out-of-fold evidence describes the members themselves rather than a
    refit on all rows. The ensemble averages their probabilities (their
    decision functions for members without ``predict_proba``, a majority
    vote with ties to the first class for members with neither), as
    :class:`~sklearn.calibration.CalibratedClassifierCV` does with
    ``ensemble=True``. For a proper scoring rule such as the log loss or
    the Brier score the average scores no worse than its members do on
    average, by convexity.

    Fold models of a continuous target (regressors) predict the mean of
    their predictions, as :class:`~sklearn.ensemble.VotingRegressor` does.

    Parameters
    ----------
    estimators : list of fitted classifiers or regressors
        The fold models; classifiers trained on encoded labels ``0..k-1``.

    Attributes
    ----------
    estimators_ : list of fitted estimators
    classes_ : ndarray of int
        The labels any member learnt, sorted (classifiers only).
    """

    def __init__(self, estimators):
        self.estimators_ = list(estimators)
        if all(hasattr(m, "classes_") for m in self.estimators_):
            self.classes_ = np.unique(
                np.concatenate([np.asarray(m.classes_) for m in self.estimators_])
            )

    @available_if(_members_have("predict_proba"))
    def predict_proba(self, X):
        """The members' probabilities averaged, columns following ``classes_``."""
        proba = np.zeros((X.shape[0], len(self.classes_)))
        for member in self.estimators_:
            columns = np.searchsorted(self.classes_, member.classes_)
            proba[:, columns] += member.predict_proba(X)
        return proba / len(self.estimators_)

    @available_if(_members_have("decision_function"))
    def decision_function(self, X):
        """The log-odds of the averaged probabilities (their logarithms for
        more than two classes), so that it ranks and predicts as
        :meth:`predict_proba` does; for members without ``predict_proba``,
        their decision functions averaged."""
        if hasattr(self, "predict_proba"):
            tiny = np.finfo(float).tiny  # a finite score for a zero probability
            log_proba = np.log(np.maximum(self.predict_proba(X), tiny))
            if len(self.classes_) == 2:
                return log_proba[:, 1] - log_proba[:, 0]
            return log_proba
        if any(len(m.classes_) != len(self.classes_) for m in self.estimators_):
            raise ValueError(
                "The fold models learnt different classes, so their decision "
                "functions cannot be averaged."
            )
        return sum(m.decision_function(X) for m in self.estimators_) / len(
            self.estimators_
        )

    def predict(self, X):
        """The class of the highest averaged probability (or decision
        function, or the most votes), among ``classes_``; for regressors the
        mean of their predictions."""
        if not hasattr(self, "classes_"):
            return sum(m.predict(X) for m in self.estimators_) / len(self.estimators_)
        if hasattr(self, "predict_proba"):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        if hasattr(self, "decision_function"):
            scores = self.decision_function(X)
            if scores.ndim == 1:
                return self.classes_[(scores > 0).astype(np.intp)]
            return self.classes_[scores.argmax(axis=1)]
        votes = np.zeros((X.shape[0], len(self.classes_)), dtype=np.intp)
        for member in self.estimators_:
            codes = np.searchsorted(self.classes_, member.predict(X))
            votes[np.arange(X.shape[0]), codes] += 1
        return self.classes_[votes.argmax(axis=1)]


def deployed_models(kept, n_groups, variants):
    """The deployed model of every variant from the models a fit kept.

    ``kept`` maps ``(variant, group)`` to the models kept for it in fold
    order: one (a refit, or a holdout's model) or the fold models, which
    become a :class:`FoldEnsemble`. Each variant of one model per group
    among ``variants`` maps to a list aligned with the groups (``None``
    where a group has none).
    """
    estimators = {v: [None] * n_groups for v in GROUP_VARIANTS if v in variants}
    for (variant, group), models in kept.items():
        model = models[0] if len(models) == 1 else FoldEnsemble(models)
        if variant in GROUP_VARIANTS:
            estimators[variant][group] = model
        else:
            estimators[variant] = model
    return estimators
