"""FairUseRegressor: fair use of group attributes for a continuous target.

The regressor is :class:`~._meta.FairUseBase` with values as its target:
the losses are those of :data:`~._metrics.REGRESSION_METRICS` (or a user's),
every comparison is a paired test of per-row loss differences, and it
predicts values. Groups, evidence, the risk matrix, tests, routing and the
report are the classifier's.
"""

from numbers import Real

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_y

from ._audit import regression_values
from ._estimators import make_estimator
from ._meta import SHARED_CONSTRAINTS, FairUseBase
from ._metrics import REGRESSION_METRICS, resolve_metric
from ._pool import DEFAULT_VARIANTS


class FairUseRegressor(RegressorMixin, FairUseBase):
    """Use group attributes only where they lower the loss of the group that
    reports them, for a continuous target.

    The regressor fits the same variants as
    :class:`~fairuse_estimators.FairUseClassifier` (generic, one-hot,
    intersectional, one decoupled model per group), estimates the risk of
    every candidate on every group on rows the candidate did not train on,
    and routes a group off the generic model only where a paired test of the
    per-row loss differences on the group's rows shows a significant gain.
    A group's risk is the mean loss over its rows: per-group risks equal
    sklearn's ``mean_squared_error``, ``mean_absolute_error``,
    ``mean_pinball_loss`` and ``mean_poisson_deviance`` on the group's rows.

    Every parameter the two share means the same; see
    :class:`~fairuse_estimators.FairUseClassifier` for the full description
    of ``cv``, ``ensemble``, ``routing``, ``reporting``, ``gate_family``,
    the test parameters and ``handle_unknown``.

    Parameters
    ----------
    estimator : regressor, default=None
        The base regressor cloned for every variant. ``None`` means a
        standardized linear model fitted for ``metric``, as the command
        line's ``--estimator linear``: ridge regression,
        ``make_pipeline(StandardScaler(), Ridge())``; for ``"poisson"`` a
        ``PoissonRegressor`` and for ``"pinball"`` an unpenalized
        ``QuantileRegressor`` at ``quantile`` in its place.

    group_columns : str, int or sequence of str or int, default=None
        Names (DataFrame input) or integer positions of the group attributes
        inside ``X``. ``None``: the regressor behaves exactly like the base
        estimator fitted on all of ``X``.

    variants : tuple of str, default=("generic", "onehot", "intersectional", \
"decoupled")
        Variants to fit; ``"generic"`` is required. A group gets a decoupled
        model when it has at least ``min_group_size`` rows.
        ``"partially_pooled"`` (not fitted by default) adds one model per
        group fitted on every row, the group's own rows carrying half of the
        total weight, as in :class:`FairUseClassifier`.

    metric : {"squared_error", "absolute_error", "pinball", "poisson"} or \
callable, default="squared_error"
        The per-row loss whose mean over a group's rows is its risk (lower
        is better). ``"pinball"`` is the pinball loss at ``quantile``, for a
        base estimator that predicts that quantile (such as
        ``HistGradientBoostingRegressor(loss="quantile", quantile=q)``);
        ``"poisson"`` is the Poisson deviance of counts, for a base that
        predicts positive values (such as ``PoissonRegressor``), and needs a
        non-negative target. A callable is either a per-row loss
        ``loss(y_true, y_pred)`` returning one loss per row, or a scorer made
        by :func:`~sklearn.metrics.make_scorer` of a whole group (tested
        with the percentile bootstrap; it must accept ``sample_weight``).

    quantile : float in (0, 1), default=0.5
        The quantile of ``metric="pinball"``; ignored otherwise.

    cv : int, float, cross-validation generator or iterable, default=5
        As in the classifier, with folds stratified by group alone.

    ensemble : bool, default=False
        With K-fold ``cv``, deploy each variant's K fold models, their
        predictions averaged, instead of a refit on all rows.

    routing : {"evidence", "best"}, default="evidence"
        ``"evidence"`` moves a group off the generic model only on a
        significant gain (bootstrap-t test of the mean loss difference on
        its rows, ``correction`` across candidates) of at least
        ``min_gain``; ``"best"`` takes the lowest estimated risk.

    reporting : {"all", "partial", "sequential"}, default="all"
        What a person reports at prediction time, as in the classifier.

    gate_family : {"all", "group"}, default="all"
        What the gate's correction runs over.

    min_gain : float, default=0.0
        Smallest estimated gain in ``metric`` over the generic model for
        which ``routing="evidence"`` personalizes a group, in the units of
        the loss (squared target units for ``"squared_error"``): the scale
        of a continuous target is the user's, so the default routes on any
        significant gain.

    test : {"auto", "bootstrap"}, default="auto"
        ``"auto"`` is the bootstrap-t test of the mean per-row loss
        difference (the percentile bootstrap for a scorer).

    alpha : float in (0, 1), default=0.1
        Significance level of the tests.

    correction : {"holm", "bonferroni", "none"}, default="holm"
        Family-wise correction of the tests.

    family : {"condition", "model"}, default="condition"
        The family each correction runs over in the report.

    n_bootstrap : int, default=1000
        Bootstrap replicates, raised on their own up to 50,000 when a family
        has too many tests for ``B`` replicates to reach ``alpha``.

    min_group_size : int, default=20
        Smallest number of rows for which a group gets a decoupled model.

    handle_unknown : {"generic", "error"}, default="generic"
        What to do at prediction time with a group value never seen in
        training.

    n_jobs : int, default=None
        Number of jobs fitting and scoring the candidates in parallel.

    random_state : int, RandomState instance or None, default=None
        Controls the cross-fitting folds or the holdout split.

    verbose : int, default=0
        Print progress to stderr when positive.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns of ``X`` seen during fit, group columns included.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` seen during fit, when it has string column
        names.

    group_indices_ : ndarray of int
        Positions of the group columns inside ``X``.

    groups_ : list of tuple
        The intersectional groups seen in training.

    routing_ : mapping
        Read-only mapping ``group tuple -> (variant, reported group tuple)``.

    reports_by_subset_ : dict
        With ``reporting="partial"`` or ``"sequential"``: the report of each
        non-empty subset of the group columns.

    reporting_tree_ : ReportingTree
        With ``reporting="sequential"``: the questionnaire.

    estimators_ : dict
        The fitted variants, as in the classifier.

    audit_report_ : FairUseReport
        Risks of every candidate on every group, the routes and the
        rationality and envy-freeness tests on the held-out evidence.

    See Also
    --------
    FairUseClassifier : The same for class labels.
    audit_fair_use : Test rationality and envy-freeness of any fitted model.

    Notes
    -----
    ``sample_weight`` reaches every base fit; the risks stay unweighted
    means over the individuals of each group.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from fairuse_estimators import FairUseRegressor
    >>> rng = np.random.default_rng(0)
    >>> group = rng.choice(["a", "b"], size=400)
    >>> x = rng.normal(size=400)
    >>> y = np.where(group == "a", x, -x) + rng.normal(scale=0.5, size=400)
    >>> X = pd.DataFrame({"x": x, "group": group})
    >>> reg = FairUseRegressor(LinearRegression(), group_columns=["group"],
    ...                        random_state=0).fit(X, y)
    >>> print(reg.routing_)
    Routing of 2 groups by group:
      (a) -> decoupled
      (b) -> decoupled
    >>> round(reg.score(X, y), 2)
    0.81
    """

    _task = "regressor"
    _default = "linear"

    _parameter_constraints: dict = {
        **SHARED_CONSTRAINTS,
        "metric": [StrOptions(set(REGRESSION_METRICS)), callable],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
        "test": [StrOptions({"auto", "bootstrap"})],
    }

    def __init__(
        self,
        estimator=None,
        *,
        group_columns=None,
        variants=DEFAULT_VARIANTS,
        metric="squared_error",
        quantile=0.5,
        cv=5,
        ensemble=False,
        routing="evidence",
        reporting="all",
        gate_family="all",
        min_gain=0.0,
        test="auto",
        alpha=0.1,
        correction="holm",
        family="condition",
        n_bootstrap=1000,
        min_group_size=20,
        handle_unknown="generic",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.group_columns = group_columns
        self.variants = variants
        self.metric = metric
        self.quantile = quantile
        self.cv = cv
        self.ensemble = ensemble
        self.routing = routing
        self.reporting = reporting
        self.gate_family = gate_family
        self.min_gain = min_gain
        self.test = test
        self.alpha = alpha
        self.correction = correction
        self.family = family
        self.n_bootstrap = n_bootstrap
        self.min_group_size = min_group_size
        self.handle_unknown = handle_unknown
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ task

    def _classes(self):
        return None

    def _default_estimator(self):
        """The default base fitted for ``metric``: a Poisson regression for
        ``"poisson"``, a quantile regression at ``quantile`` for
        ``"pinball"``, a ridge regression otherwise."""
        metric = self.metric if isinstance(self.metric, str) else None
        return make_estimator(
            "linear", task="regressor", metric=metric, quantile=self.quantile
        )

    def _metric(self, metric=None):
        metric = self.metric if metric is None else metric
        return resolve_metric(metric, None, quantile=self.quantile)

    def _target(self, y, metric):
        return regression_values(_check_y(y, y_numeric=True, estimator=self), metric)

    def _encode_target(self, y):
        return self._target(y, self.metric)

    def _prepared_base(self):
        return self._base_estimator()

    def _audit_target(self, y, metric):
        return self._target(y, metric)

    def __sklearn_tags__(self):
        return self._tags_from_base(super().__sklearn_tags__())

    # ------------------------------------------------------------- prediction

    def predict(self, X):
        """Predict values, each row with its group's routed candidate.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included. A row whose group is withheld
            (missing) gets the generic model.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return np.asarray(self._routed(X, "predict"), dtype=float)
