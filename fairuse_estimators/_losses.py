"""Metrics that are objects rather than names.

A user's per-row loss (:class:`RowLoss`), a user's scorer of a whole group
(:class:`GroupScorer`, whose risk is minus its score) and the pinball loss at
a quantile (:class:`Pinball`). :func:`~._metrics.resolve_metric` makes one
from the ``metric`` parameter; the risk matrix reads them through their
``kind``, ``losses`` or ``score``.
"""

import inspect
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils._available_if import available_if


class RowLoss:
    """A user's per-row loss of the predictions: ``func(y_true, y_pred)``
    returns one loss per row (lower is better); a group's risk is their mean.

    Parameters
    ----------
    func : callable
    classes : ndarray or None
        The labels the codes of the evidence stand for; ``func`` sees labels.
        ``None`` for a continuous target, whose loss sees the target and the
        predicted values as they are.
    """

    higher_is_better = False

    def __init__(self, func, classes):
        self.func = func
        self.classes = None if classes is None else np.asarray(classes)
        self.kind = "value" if classes is None else "label"
        self.name = getattr(func, "__name__", type(func).__name__)

    def __str__(self):
        return self.name

    def _labels(self, values):
        return values if self.classes is None else self.classes[values]

    def losses(self, y, predictions):
        """Loss of every candidate on every row, shape ``(C, n)``."""
        y_true = self._labels(y)
        out = np.empty(predictions.shape, dtype=float)
        for c, predicted in enumerate(predictions):
            out[c] = self._checked(self.func(y_true, self._labels(predicted)), len(y))
        return out

    @property
    def _example(self):
        """A metric of a whole group of the task, for the error messages."""
        return "r2_score" if self.classes is None else "recall_score"

    def _checked(self, values, n):
        values = np.asarray(values, dtype=float)
        if values.shape != (n,):
            raise ValueError(
                f"metric={self.name} must return one loss per row, an array of "
                f"shape ({n},); it returned shape {values.shape}. Pass a metric "
                f"of a whole group, such as sklearn.metrics.{self._example}, as "
                f"metric=make_scorer({self._example})."
            )
        if not np.isfinite(values).all():
            raise ValueError(
                f"metric={self.name} returned a NaN or infinite loss; every "
                "per-row loss must be finite."
            )
        return values

    def check(self):
        """Raise now, with the reason, if ``func`` is no per-row loss."""
        if self.classes is None:  # positive values: a relative loss divides by y
            codes, on = np.array([1.0, 2.0]), "the values [1.0, 2.0]"
        else:
            codes = np.arange(len(self.classes))
            on = f"the labels {self.classes.tolist()!r}"
        try:
            self.losses(codes, codes[None])
        except Exception as error:
            if str(error).startswith(f"metric={self.name}"):
                raise
            raise ValueError(
                f"metric={self.name} failed when called as loss(y_true, y_pred) "
                f"on {on}: {error} A per-row loss "
                "returns one loss per row; pass a metric of a whole group, such "
                f"as sklearn.metrics.{self._example}, as metric=make_scorer(...)."
            ) from error


class Pinball:
    """The pinball (quantile) loss at ``quantile`` ``q``: ``q (y - p)`` where
    the target ``y`` lies above the prediction ``p`` and ``(1 - q) (p - y)``
    where it lies below. Its mean over a group's rows is sklearn's
    ``mean_pinball_loss(alpha=q)``; ``q = 0.5`` is half the absolute error.
    """

    kind = "value"
    base = "pinball"
    higher_is_better = False

    def __init__(self, quantile=0.5):
        if isinstance(quantile, bool) or not 0 < quantile < 1:
            raise ValueError(
                f"quantile must be a number in (0, 1) for metric='pinball'; got "
                f"{quantile!r}."
            )
        self.quantile = float(quantile)

    def __str__(self):
        return f"pinball(quantile={self.quantile:g})"

    def losses(self, y, predictions):
        """Loss of every candidate on every row, shape ``(C, n)``."""
        residual = y - predictions
        return np.maximum(self.quantile * residual, (self.quantile - 1) * residual)


class _Stored(ClassifierMixin, BaseEstimator):
    """Stored predictions of one candidate, looked up by row position, so that
    a scorer scores them through the public scorer interface."""

    def __init__(self, classes, values, kind):
        self.classes, self.values, self.kind = classes, values, kind
        self.classes_ = classes

    def __sklearn_is_fitted__(self):
        return True

    def predict(self, X):
        rows = np.asarray(X)[:, 0]
        values = self.values[rows]
        if self.kind == "label":
            return self.classes_[values]
        return self.classes_[values.argmax(axis=1)]

    @available_if(lambda self: self.kind == "proba")
    def predict_proba(self, X):
        return self.values[np.asarray(X)[:, 0]]

    @available_if(lambda self: self.kind == "score")
    def decision_function(self, X):
        return self.values[np.asarray(X)[:, 0]]


class _StoredValues(RegressorMixin, BaseEstimator):
    """Stored predicted values of one candidate of a continuous target, looked
    up by row position, for a regression scorer."""

    def __init__(self, values):
        self.values = values

    def __sklearn_is_fitted__(self):
        return True

    def predict(self, X):
        return self.values[np.asarray(X)[:, 0]]


class GroupScorer:
    """An sklearn scorer of a whole group (higher is better); the risk of a
    candidate on a group is minus its score on the group's rows, ``nan``
    where the scorer is undefined (it raised a ``ValueError``). A scorer of a
    loss (``greater_is_better=False``) has the loss itself as its risk, and
    is shown as a loss.

    Scorers on probabilities (``response_method`` holding
    ``"predict_proba"``) are scored on ``predict_proba``, scorers on
    ``"decision_function"`` alone on the positive class's score (binary
    targets), the others on ``predict``. Bootstrap replicates call the
    scorer with the resampling counts as ``sample_weight``.

    Parameters
    ----------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None)``, as made by
        :func:`sklearn.metrics.make_scorer` or :func:`sklearn.metrics.get_scorer`.
    classes : ndarray
    """

    def __init__(self, scorer, classes):
        self.scorer = scorer
        self.classes = None if classes is None else np.asarray(classes)
        method = getattr(scorer, "_response_method", "predict")
        methods = (method,) if isinstance(method, str) else tuple(method)
        self.kind = "label"
        if classes is None:
            self.kind = "value"
        elif "predict_proba" in methods:
            self.kind = "proba"
        elif "decision_function" in methods:
            self.kind = "score"
        func = getattr(scorer, "_score_func", scorer)
        name = getattr(func, "__name__", type(scorer).__name__)
        arguments = ", ".join(
            f"{k}={v!r}" for k, v in getattr(scorer, "_kwargs", {}).items()
        )
        self.name = f"{name}({arguments})" if arguments else name
        # A loss made a scorer by greater_is_better=False: its risk is the
        # loss itself, shown as such (lower is better).
        self.higher_is_better = getattr(scorer, "_sign", 1) > 0
        self.error = ""

    def __str__(self):
        return self.name

    def score(self, y, predictions, weights=None):
        """Minus the score of every candidate on these rows, shape ``(C,)``."""
        regression = self.classes is None
        y_true = y if regression else self.classes[y]
        rows = np.arange(len(y))[:, None]
        risks = np.full(len(predictions), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            for c, values in enumerate(predictions):
                stored = (
                    _StoredValues(values)
                    if regression
                    else _Stored(self.classes, values, self.kind)
                )
                # A ValueError: undefined on these rows (a single class, say).
                try:
                    score = self.scorer(stored, rows, y_true, sample_weight=weights)
                except ValueError as error:
                    self.error = str(error)
                    continue
                risks[c] = -score
        return risks

    def replicates(self, y, predictions):
        """Function from resampling counts ``(B, n)`` to risks ``(B, C)``."""

        def risk(counts):
            return np.vstack([self.score(y, predictions, w) for w in counts])

        return risk

    def check(self):
        """Raise now, with the reason, if the scorer cannot score a group."""
        func = getattr(self.scorer, "_score_func", None)
        if (
            func is not None
            and "sample_weight" not in inspect.signature(func).parameters
        ):
            raise ValueError(
                f"metric={self.name} cannot be tested: its function takes no "
                "sample_weight, which the bootstrap needs to resample a group's "
                "rows. Wrap it in a function that accepts sample_weight."
            )
