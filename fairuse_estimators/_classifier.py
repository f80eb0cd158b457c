"""FairUseClassifier: route every group to the candidate that serves it best."""

import os
import sys
import warnings
from contextlib import contextmanager
from numbers import Integral, Real
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, check_cv
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import get_tags
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
)
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from ._audit import audit_settings, check_audit_options, fair_use_statistics
from ._groups import (
    GroupEncoding,
    check_group_count,
    column_values,
    resolve_group_columns,
)
from ._metrics import METRICS, check_metric_support, evidence_kind, group_risks
from ._report import FairUseReport
from ._stats import (
    CORRECTIONS,
    FIELDS,
    MAX_BOOTSTRAP,
    STAT_FIELDS,
    TESTS,
    adjust_pvalues,
    paired_t_pvalues,
    paired_tests,
    resolve_rng,
    resolve_test,
)
from ._variants import (
    BLOCK_VARIANTS,
    LOSS_KINDS,
    VARIANTS,
    design,
    designs,
    encode_labels,
    fit_and_score,
    predict_evidence,
)
from ._version import __version__
from .exceptions import FairUseVersionWarning, UnseenGroupWarning

# Risks closer than this are ties, broken toward the simpler candidate.
_TIE_TOLERANCE = 1e-12


class _Training(NamedTuple):
    """Everything the variant fits share: features, labels, groups, blocks."""

    X: np.ndarray
    y: np.ndarray
    group_ids: np.ndarray
    blocks: dict
    params: dict
    decoupled: np.ndarray


def _base_has(attr):
    """Check that the base estimator (or its fitted clone) has ``attr``."""

    def check(self):
        if hasattr(self, "estimators_"):
            return hasattr(self.estimators_["generic"], attr)
        return hasattr(self._base_estimator(), attr)

    return check


class FairUseClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Use group attributes only where they help the group that reports them.

    The classifier fits several *variants* of a base classifier: a generic
    model that ignores the group columns, a one-hot variant, an
    intersectional variant, and one decoupled model per group. Every
    personalized variant with the reported group fixed to some group ``g'``
    is a *candidate* predictor, and so is the generic model: with ``m``
    intersectional groups the pool holds up to ``1 + 3m`` candidates. The risk
    of every candidate on every group is estimated on rows the candidate did
    not train on, and each group is routed to a candidate only where paired
    tests show that it serves the group significantly better than the
    generic model; every other group keeps the generic model. On that
    evidence no group is significantly worse off than under the generic
    model (rationality) or significantly better served by the predictions
    made for another group (envy-freeness).

    Group columns stay inside ``X``, so the classifier works in Pipelines,
    :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~sklearn.base.clone` without extra plumbing.

    Parameters
    ----------
    estimator : classifier, default=None
        The base classifier cloned for every variant. ``None`` means
        ``LogisticRegression(max_iter=1000)``; pass it explicitly to tune its
        parameters as ``estimator__<name>``. The base never sees the raw group
        columns.

    group_columns : str, int or sequence of str or int, default=None
        Names (DataFrame input) or integer positions of the group attributes
        inside ``X``; integers are always positions, as in
        :class:`~sklearn.compose.ColumnTransformer`. ``None`` means there are
        no group attributes: the classifier then behaves exactly like the
        base estimator fitted on all of ``X``.

        Every distinct combination of their values is an intersectional
        group; values that compare equal in Python (``1``, ``1.0`` and
        ``True``) are one value. More than 50 groups raise a
        :class:`~fairuse_estimators.ManyGroupsWarning` and more than 500 a
        ``ValueError``: each group adds candidates scored on every row, and
        a column with nearly as many values as rows is a continuous
        measurement to bin first.

    variants : tuple of str, default=("generic", "onehot", "intersectional", \
"decoupled")
        Variants to fit. ``"generic"`` is required: it is the baseline every
        group is compared with and the model for withheld or unseen groups.

        - ``"onehot"``: the features plus one indicator per level of each
          group column;
        - ``"intersectional"``: the features plus one indicator per
          intersectional group;
        - ``"decoupled"``: one model per group fitted on its own rows, for
          groups with at least ``min_group_size`` rows and every class in
          every training fold (otherwise the report says why it is absent).

    metric : {"error", "auc", "ece", "log_loss", "brier"}, default="error"
        Risk used for routing (lower is better). ``"error"`` is the
        misclassification rate of ``predict``; ``"auc"`` is one minus the ROC
        AUC within the group (binary targets only); ``"ece"`` is the expected
        calibration error with 10 equal-width bins on the positive-class
        probability (top-label for more than two classes); ``"log_loss"`` and
        ``"brier"`` are as in :mod:`sklearn.metrics`.

    cv : int, float, cross-validation generator or iterable, default=5
        How risks are estimated on data the candidates did not train on.

        - int ``K``: K-fold cross-fitting stratified by (group, label). Every
          candidate's out-of-fold predictions give each group's risk; every
          variant is then refit on all the data.
        - float in (0, 1): a single holdout split of that size, stratified by
          (group, label). The models evaluated on the holdout are the ones
          deployed; nothing is refit.
        - a splitter or iterable of (train, test) index arrays whose test sets
          partition the rows, used like an int. A splitter is called as
          ``split(X, strata)`` with the (group, label) strata as ``y`` and no
          ``groups``, so splitters that need ``groups`` do not apply.

    routing : {"evidence", "best"}, default="evidence"
        How each group picks its candidate from the risks on its held-out
        rows.

        - ``"evidence"``: a group leaves the generic model only for one of
          its own personalized candidates (one-hot, intersectional,
          decoupled) whose gain over the generic model is significant at
          ``alpha`` (one-sided test on ``gate_loss``, ``correction`` across
          those candidates) and at least ``min_gain`` in ``metric``; among
          those, the lowest risk. A group whose
          predictions are then significantly worse than another group's
          route moves to that route. On the held-out evidence no group has a
          significant rationality or envy-freeness violation, and groups left
          on the generic model need not report their attributes
          (:meth:`FairUseReport.generic_groups`).
        - ``"best"``: the candidate with the lowest risk in the whole pool,
          so that no group is worse off than under the generic model or
          envies another group on the point estimates. The lowest of many
          estimated risks is optimistic for small groups, so this routing
          harms more groups on new data.

        Ties go to the simpler candidate: the generic model, then the
        group's own one-hot, intersectional and decoupled candidates, then
        other groups' candidates.

    gate_loss : {"auto", "metric", "log_loss", "brier"}, default="auto"
        What ``routing="evidence"`` tests when it asks whether a group's own
        candidate beats the generic model.

        - ``"metric"``: ``metric`` itself, with ``test``.
        - ``"log_loss"`` or ``"brier"``: that proper scoring rule of the
          predicted probabilities, with a one-sided paired t-test on the
          per-row loss differences of the group's rows. It uses every row,
          so it detects gains in small groups that a test of the error
          rate, informed only by the few rows where two models disagree,
          cannot. Groups with fewer than 20 rows fall back to ``"metric"``.
          Needs a base estimator with ``predict_proba``.
        - ``"auto"``: ``"log_loss"`` when ``metric="error"`` and the base
          estimator has ``predict_proba``, ``"metric"`` otherwise.

        Whatever the gate tests, the candidate must also gain ``min_gain``
        in ``metric``, and the report's verdicts always test ``metric``.

    min_gain : float, default=0.01
        Smallest gain in ``metric`` over the generic model, estimated on the
        held-out evidence, for which ``routing="evidence"`` moves a group off
        the generic model; in the units of the risk, so ``0.01`` is one point
        of error rate or AUC. In large groups tiny gains are significant,
        yet on the next sample of the group they turn into losses about as
        often as not; ``0.0`` routes on any significant gain. The report's
        notes name the groups kept generic by it.

    test : {"auto", "bootstrap", "mcnemar", "delong"}, default="auto"
        Paired test behind ``routing="evidence"`` and the verdicts in
        ``audit_report_``: ``"auto"`` is the exact McNemar test for
        ``error``, DeLong's test for ``auc`` and the bootstrap otherwise
        (see :func:`~fairuse_estimators.audit_fair_use`).

    alpha : float in (0, 1), default=0.1
        Significance level of the tests.

    correction : {"holm", "bonferroni", "none"}, default="holm"
        Family-wise correction of the tests.

    n_bootstrap : int, default=1000
        Bootstrap replicates when the test is the bootstrap.

    min_group_size : int, default=20
        Smallest number of rows for which a group gets a decoupled model.

    handle_unknown : {"generic", "error"}, default="generic"
        What to do at prediction time with a group value never seen in
        training: ``"generic"`` scores the row with the generic model and
        raises an :class:`~fairuse_estimators.UnseenGroupWarning`;
        ``"error"`` raises a ``ValueError``. A missing group value always
        means the group was withheld and gets the generic model silently.

    n_jobs : int, default=None
        Number of jobs fitting and scoring the candidates in parallel.
        ``None`` means 1 unless in a :obj:`joblib.parallel_backend` context.

    random_state : int, RandomState instance or None, default=None
        Controls the cross-fitting folds or the holdout split. The base
        estimator's own ``random_state`` is left as given.

    verbose : int, default=0
        Print progress to stderr when positive: the number of fits done out
        of the total, and the groups whose paired tests (in ``fit`` and
        :meth:`audit`) are running.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_features_in_ : int
        Number of columns of ``X`` seen during fit, group columns included.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` seen during fit, when it has string column
        names.

    group_indices_ : ndarray of int
        Positions of the group columns inside ``X``.

    groups_ : list of tuple
        The intersectional groups seen in training (rows with no missing
        group value), in sorted order.

    routing_ : mapping
        Read-only mapping ``group tuple -> (variant, reported group tuple)``;
        ``("generic", None)`` for the generic model.

    estimators_ : dict
        The fitted variants: ``"generic"``, ``"onehot"`` and
        ``"intersectional"`` map to fitted estimators, ``"decoupled"`` to a
        list aligned with ``groups_`` (``None`` where a group has none).

    audit_report_ : FairUseReport
        Risks of every candidate on every group, the routes, and the
        rationality and envy-freeness tests of the routed model (and of each
        variant as a personalized model of its own) on the held-out
        evidence the routes were chosen on. :meth:`audit` gives the same
        report on new data.

    See Also
    --------
    audit_fair_use : Test rationality and envy-freeness of any fitted model.
    sklearn.calibration.CalibratedClassifierCV : Another meta-estimator that
        cross-fits its base estimator.

    Notes
    -----
    ``sample_weight`` reaches every base fit (through metadata routing when
    it is enabled, otherwise whenever the base's ``fit`` accepts it). The
    risks in ``audit_report_`` stay unweighted averages over the individuals
    of each group: a fair-use guarantee is a statement about people, not
    about weights.

    Cost: with ``m`` groups and ``K`` folds the classifier performs
    ``(K + 1) * (3 + m)`` base fits (fewer when groups are below
    ``min_group_size`` and get no decoupled model) and scores each of the
    ``1 + 3m`` candidates on the held-out rows; time grows linearly with the
    number of rows and roughly linearly with ``m`` (see
    ``benchmarks/speed.py``). Above 50 groups (a pool of more than 151
    candidates) fitting warns with a
    :class:`~fairuse_estimators.ManyGroupsWarning`, and more than 500 groups
    are refused. The fits run in parallel with ``n_jobs``, on any joblib
    backend, including a Dask cluster through
    ``joblib.parallel_backend("dask")``.

    A fitted classifier records the package version when it is pickled or
    saved with skops; loading it under another version raises a
    :class:`~fairuse_estimators.FairUseVersionWarning`. A skops file needs
    only this package's types trusted (listed in the README) beyond those of
    the base estimator.

    References
    ----------
    Suriyakumar, V. M., Ghassemi, M. and Ustun, B. When Personalization Harms:
    Reconsidering the Use of Group Attributes in Prediction. ICML 2023.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fairuse_estimators import FairUseClassifier
    >>> from fairuse_estimators.datasets import load_heart
    >>> X, y = load_heart(return_X_y=True)
    >>> base = make_pipeline(StandardScaler(), LogisticRegression())
    >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
    ...                         random_state=0).fit(X, y)
    >>> clf.groups_
    [('female', '60+'), ('female', '<60'), ('male', '60+'), ('male', '<60')]
    >>> clf.routing_[("female", "<60")]
    ('generic', None)

    No one-hot gain on the out-of-fold evidence is significant, so every
    group keeps the generic model and need not report its attributes:

    >>> clf.audit_report_.to_frame("onehot")[["n", "gain", "rationality"]].round(3)
                        n   gain   rationality
    sex    age_group
    female 60+         39  0.051  inconclusive
           <60         58  0.034  inconclusive
    male   60+         52 -0.019  inconclusive
           <60        154 -0.013  inconclusive
    >>> len(clf.audit_report_.generic_groups())
    4
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "group_columns": [None, str, Integral, "array-like"],
        "variants": ["array-like"],
        "metric": [StrOptions(set(METRICS))],
        "cv": ["cv_object", Interval(RealNotInt, 0, 1, closed="neither")],
        "routing": [StrOptions({"evidence", "best"})],
        "gate_loss": [StrOptions({"auto", "metric", *LOSS_KINDS})],
        "min_gain": [Interval(Real, 0, None, closed="left")],
        "test": [StrOptions(set(TESTS))],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "correction": [StrOptions(set(CORRECTIONS))],
        "n_bootstrap": [Interval(Integral, 1, MAX_BOOTSTRAP, closed="both")],
        "min_group_size": [Interval(Integral, 1, None, closed="left")],
        "handle_unknown": [StrOptions({"generic", "error"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        group_columns=None,
        variants=VARIANTS,
        metric="error",
        cv=5,
        routing="evidence",
        gate_loss="auto",
        min_gain=0.01,
        test="auto",
        alpha=0.1,
        correction="holm",
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
        self.cv = cv
        self.routing = routing
        self.gate_loss = gate_loss
        self.min_gain = min_gain
        self.test = test
        self.alpha = alpha
        self.correction = correction
        self.n_bootstrap = n_bootstrap
        self.min_group_size = min_group_size
        self.handle_unknown = handle_unknown
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def set_params(self, **params):
        """Set the parameters of this estimator and of its base estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters; ``estimator__<name>`` sets a parameter of
            the base estimator, which must then be given explicitly.

        Returns
        -------
        self : FairUseClassifier
        """
        nested = sorted(key for key in params if key.startswith("estimator__"))
        if nested and self.estimator is None and params.get("estimator") is None:
            raise ValueError(
                f"Cannot set {nested!r}: estimator=None stands for the default "
                "LogisticRegression(max_iter=1000), which has no parameters to "
                "tune here. Pass the base estimator explicitly, for example "
                "FairUseClassifier(LogisticRegression(max_iter=1000), ...)."
            )
        return super().set_params(**params)

    def _base_estimator(self):
        if self.estimator is None:
            return LogisticRegression(max_iter=1000)
        return self.estimator

    # ------------------------------------------------------------------ input

    def _validate_X(self, X, reset, y=None):
        """Validate ``X`` (and ``y``) and record or check its columns.

        DataFrames are checked for their columns only, so that group columns
        of any dtype survive; arrays go through ``check_array`` with no dtype
        conversion. Finiteness is left to the base estimator.
        """
        if hasattr(X, "iloc"):
            repeated = X.columns[X.columns.duplicated()].unique().tolist()
            if repeated:
                raise ValueError(
                    f"X has the columns {repeated!r} more than once; every column "
                    "of X needs its own name."
                )
            if y is None:
                validate_data(self, X, skip_check_array=True, reset=reset)
            else:
                validate_data(self, X, y, skip_check_array=True, reset=reset)
                y = column_or_1d(y, warn=True)
                check_consistent_length(X, y)
            if X.shape[0] == 0:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a "
                    "minimum of 1 is required."
                )
            return X, y
        if isinstance(X, list | tuple):
            # numpy would turn a list mixing numbers and text into all text.
            X = np.asarray(X, dtype=object)
        check = {"dtype": None, "ensure_all_finite": False, "reset": reset}
        if y is None:
            return validate_data(self, X, **check), None
        return validate_data(self, X, y, **check)

    def _split_X(self, X):
        """Feature block (float array) and raw group columns of ``X``."""
        features = np.delete(np.arange(self.n_features_in_), self.group_indices_)
        X_features = X.iloc[:, features] if hasattr(X, "iloc") else X[:, features]
        try:
            X_features = check_array(
                X_features, dtype="numeric", ensure_all_finite=False, input_name="X"
            )
            if X_features.dtype == object:  # older scikit-learn keeps object
                X_features = X_features.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "Every column of X except the group columns "
                f"{self._group_column_names()!r} must be numeric; converting the "
                f"others to numbers failed: {exc}. Add a text column to "
                "group_columns or encode it before this estimator."
            ) from exc
        columns = [column_values(X, j) for j in self.group_indices_]
        return X_features, columns

    def _group_column_names(self):
        return self._column_names(self.group_indices_)

    def _column_names(self, positions):
        if hasattr(self, "feature_names_in_"):
            return [str(self.feature_names_in_[j]) for j in positions]
        return [f"x{j}" for j in positions]

    @contextmanager
    def _naming_nonfinite(self, X_features):
        """Name the feature columns holding NaN or inf when a base call fails.

        Whether the base accepts missing values cannot be read reliably from
        its tags (a Pipeline starting with an imputer says it does not), so
        the base decides, and its error is completed with the columns.
        """
        try:
            yield
        except ValueError as exc:
            bad = ~np.isfinite(X_features).all(axis=0)
            if not bad.any():
                raise
            features = np.delete(np.arange(self.n_features_in_), self.group_indices_)
            raise ValueError(
                f"The feature column(s) {self._column_names(features[bad])!r} of X "
                f"hold NaN or infinite values, and "
                f"{type(self._base_estimator()).__name__} failed on them: {exc} "
                "Impute or drop these values before this estimator, or use a base "
                "estimator that accepts missing values. (A missing value in a "
                "group column needs no imputation: it means the group was "
                "withheld.)"
            ) from exc

    def _check_fit_options(self, n_classes):
        """Multi-parameter rules that declarative constraints cannot express."""
        variants = tuple(self.variants)
        unknown = sorted(set(variants) - set(VARIANTS))
        if unknown or not variants:
            raise ValueError(
                f"variants must be a non-empty subset of {VARIANTS}; got "
                f"{self.variants!r}."
            )
        if "generic" not in variants:
            raise ValueError(
                "variants must include 'generic': it is the baseline every group "
                "is compared with and the model for withheld or unseen groups."
            )
        if len(set(variants)) != len(variants):
            raise ValueError(f"variants lists a variant twice: {self.variants!r}.")
        base = self._base_estimator()
        kind = get_tags(base).estimator_type
        if kind not in (None, "classifier"):
            raise TypeError(
                f"estimator must be a classifier; got {type(base).__name__}, a "
                f"{kind}. Its predictions would not be class labels."
            )
        check_metric_support(self.metric, base, n_classes)
        resolve_test(self.test, self.metric)
        if self.gate_loss in LOSS_KINDS and not hasattr(base, "predict_proba"):
            raise ValueError(
                f"gate_loss={self.gate_loss!r} tests predicted probabilities, but "
                f"{type(base).__name__} has no predict_proba. Use "
                "gate_loss='metric', or wrap the estimator in CalibratedClassifierCV."
            )

    def _gate_kind(self):
        """Per-row loss the evidence gate tests, or ``None`` for ``metric``."""
        if self.routing != "evidence" or self.gate_loss == "metric":
            return None
        if self.gate_loss != "auto":
            return self.gate_loss
        base = self._base_estimator()
        if self.metric == "error" and hasattr(base, "predict_proba"):
            return "log_loss"
        return None

    def _fit_params(self, X, sample_weight, fit_params):
        """Sample-aligned parameters for every base fit."""
        if _routing_enabled():
            routed = process_routing(
                self, "fit", sample_weight=sample_weight, **fit_params
            )
            _check_weight_values(routed.estimator.fit.get("sample_weight"))
            return routed.estimator.fit
        params = dict(fit_params)
        if sample_weight is not None:
            base = self._base_estimator()
            if not has_fit_parameter(base, "sample_weight"):
                raise ValueError(
                    f"sample_weight was given, but {type(base).__name__}.fit does "
                    "not accept sample_weight. For a Pipeline or another "
                    "meta-estimator, enable metadata routing "
                    "(sklearn.set_config(enable_metadata_routing=True)) and "
                    "request the weights with set_fit_request(sample_weight=True)."
                )
            _check_weight_values(sample_weight)
            params["sample_weight"] = _check_sample_weight(sample_weight, X)
        return params

    # -------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the variants, estimate every group's risks and route the groups.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included.
        y : array-like of shape (n_samples,)
            Target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights passed to every base fit. The risks used for routing stay
            unweighted averages over individuals.
        **fit_params : dict
            Further parameters for the base estimator's ``fit``, routed with
            metadata routing when it is enabled.

        Returns
        -------
        self : object
            Fitted classifier.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
        ...                         variants=("generic", "onehot"), cv=3,
        ...                         random_state=0)
        >>> clf.fit(X, y).audit_report_.evidence
        '3-fold cross-fitting'
        """
        # A fit that fails leaves the previous model (or none), never a mix.
        previous = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, fit_params)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise

    def _fit(self, X, y, sample_weight, fit_params):
        X, y = self._validate_X(X, reset=True, y=y)
        check_classification_targets(y)
        label_encoder = LabelEncoder().fit(y)
        self.classes_ = label_encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class ({self.classes_.tolist()[0]!r}); a "
                "classifier needs at least two classes."
            )
        y = label_encoder.transform(y)
        self._check_fit_options(len(self.classes_))
        if not isinstance(self.group_columns, str | Integral | None) and not len(
            self.group_columns
        ):
            raise ValueError(
                f"group_columns={self.group_columns!r} names no column. Name the "
                "group attributes, or pass group_columns=None to fit the base "
                "estimator on all of X."
            )
        self.group_indices_ = resolve_group_columns(
            self.group_columns,
            self.n_features_in_,
            getattr(self, "feature_names_in_", None),
        )
        params = self._fit_params(X, sample_weight, fit_params)
        if not len(self.group_indices_):
            return self._fit_without_groups(X, y, params)

        X_features, columns = self._split_X(X)
        self._encoding = GroupEncoding()
        group_ids = self._encoding.fit(columns, self._group_column_names())
        if not self._encoding.n_groups:
            raise ValueError(
                "Every row of X has a missing value in the group columns "
                f"{self._group_column_names()!r}, so there is no group to "
                "personalize for. Pass group_columns=None to fit the base "
                "estimator alone."
            )
        check_group_count(
            self._encoding,
            self._group_column_names(),
            int((group_ids >= 0).sum()),
            stacklevel=_caller_stacklevel(),
        )
        self.groups_ = self._encoding.groups
        splits, refit = self._splits(y, group_ids)
        self._check_training_classes(y, group_ids, splits, refit)
        decoupled, notes = self._decoupled_groups(
            y, group_ids, splits, refit, params.get("sample_weight")
        )
        self._set_candidates(decoupled)
        data = _Training(
            X_features, y, group_ids, self._blocks(group_ids), params, decoupled
        )
        with self._naming_nonfinite(X_features):
            evidence, losses, models = self._cross_fit(data, splits, refit)
        self.estimators_ = models
        evaluated = np.full(len(y), -1)
        for _, test in splits:
            evaluated[test] = group_ids[test]
        risks = group_risks(
            self.metric, y, evidence, evaluated, self._encoding.n_groups
        )
        self._route = self._choose_routes(risks)
        below = np.zeros(len(risks), dtype=bool)
        if self.routing == "evidence":
            self._route, below = self._gated_routes(
                risks, y, evidence, evaluated, losses
            )
        n = np.bincount(evaluated[evaluated >= 0], minlength=self._encoding.n_groups)
        self.audit_report_ = self._report(
            self.metric,
            y,
            evidence,
            evaluated,
            risks,
            self._test_options(self.metric),
            n=n,
            notes=self._fit_notes(risks, n, notes, below),
            n_withheld=int((group_ids < 0).sum()),
            evidence=(
                f"{len(splits)}-fold cross-fitting"
                if refit
                else f"holdout of {len(splits[0][1])} rows"
            ),
        )
        return self

    def _fit_without_groups(self, X, y, params):
        estimator = clone(self._base_estimator()).fit(X, y, **params)
        self._encoding = None
        self.groups_ = []
        self.estimators_ = {"generic": estimator}
        self._candidate_variant = ["generic"]
        self._candidate_group = np.array([-1])
        self._route = np.empty(0, dtype=np.intp)
        self.audit_report_ = FairUseReport(
            metric=self.metric,
            group_columns=[],
            groups=[],
            n=[],
            risks=np.empty((0, 1)),
            variants=["generic"],
            candidate_variants=["generic"],
            candidate_groups=[-1],
            models=["routed"],
            assignments=np.empty((1, 0), dtype=np.intp),
            routes=[],
            notes=[],
            evidence="no group columns",
        )
        return self

    def _splits(self, y, group_ids):
        """Train/evaluation splits and whether variants are refit afterwards."""
        strata = (group_ids + 2) * len(self.classes_) + y
        holdout = isinstance(self.cv, Real) and not isinstance(self.cv, Integral)
        if holdout:
            splitter = StratifiedShuffleSplit(
                n_splits=1, test_size=self.cv, random_state=self.random_state
            )
            strata = _merge_small_strata(strata, y, min_count=2)
            n_test = int(np.ceil(self.cv * len(y)))
            if min(n_test, len(y) - n_test) < len(np.unique(strata)):
                # Too few rows to hold every (group, label) stratum: keep labels.
                strata = _merge_small_strata(y, y, min_count=2)
        elif self.cv is None or isinstance(self.cv, Integral):
            n_splits = 5 if self.cv is None else self.cv
            splitter = StratifiedKFold(
                n_splits=n_splits, shuffle=True, random_state=self.random_state
            )
            strata = _merge_small_strata(strata, y, min_count=n_splits)
        else:
            splitter = check_cv(self.cv, y, classifier=True)
        splits = [
            (np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(y, strata)
        ]
        if not holdout:
            tested = np.zeros(len(y), dtype=int)
            for k, (train, test) in enumerate(splits):
                leaked = int(np.isin(test, train).sum())
                if leaked or not len(train):
                    trains_on = (
                        f"{leaked} of the rows it evaluates on" if leaked else "no row"
                    )
                    raise ValueError(
                        f"Split {k} of cv trains on {trains_on}, so the risks "
                        "would not be estimated on held-out rows. Pass splits "
                        "whose train and test sets are disjoint and non-empty."
                    )
                tested[test] += 1
            if not (tested == 1).all():
                raise ValueError(
                    "The cross-validation splits passed as cv must put every row "
                    "in exactly one test set; use a K-fold splitter or a float "
                    "holdout size."
                )
        return splits, not holdout

    def _class_counts(self, y, group_ids, rows):
        """Counts of each (group, class) among ``rows`` with a group."""
        n_groups, n_classes = self._encoding.n_groups, len(self.classes_)
        ids = group_ids[rows]
        cells = ids[ids >= 0] * n_classes + y[rows][ids >= 0]
        counts = np.bincount(cells, minlength=n_groups * n_classes)
        return counts.reshape(n_groups, n_classes)

    def _check_training_classes(self, y, group_ids, splits, refit):
        """Every variant must see two classes, and deployed ones all classes."""
        trainings = _training_sets(splits, refit, len(y))
        deployed = trainings[-1]
        for train in trainings:
            grouped = np.flatnonzero(self._class_counts(y, group_ids, train).sum(0))
            if len(grouped) < 2:
                raise ValueError(
                    "The rows with a complete group value in a training split "
                    f"hold only the class {self.classes_[grouped].tolist()!r}; the "
                    "one-hot and intersectional variants need two classes. Give "
                    "more rows a group value or use fewer folds."
                )
        where = "" if refit else " in the training part of the holdout split"
        for counts, whose in [
            (np.bincount(y[deployed], minlength=len(self.classes_)), "no row"),
            (
                self._class_counts(y, group_ids, deployed).sum(axis=0),
                "no row with a complete group value",
            ),
        ]:
            missing = np.flatnonzero(counts == 0)
            if len(missing):
                raise ValueError(
                    f"The classes {self.classes_[missing].tolist()!r} have {whose}"
                    f"{where}, so the deployed models could never predict them. "
                    "Give more of their rows a group value, or use an integer cv."
                )

    def _decoupled_groups(self, y, group_ids, splits, refit, weights=None):
        """Groups that get a decoupled model, and a note on each that doesn't.

        A group whose rows all have zero ``weights`` in some training set has
        nothing to fit a model of its own on.
        """
        n_groups = self._encoding.n_groups
        notes = [""] * n_groups
        if "decoupled" not in self.variants:
            return np.zeros(n_groups, dtype=bool), notes
        present = self._class_counts(y, group_ids, np.arange(len(y)))
        sizes = present.sum(axis=1)
        eligible = sizes >= self.min_group_size
        weighted = np.ones(n_groups, dtype=bool)
        for train in _training_sets(splits, refit, len(y)):
            eligible &= (self._class_counts(y, group_ids, train) > 0).all(axis=1)
            if weights is not None:
                grouped = train[group_ids[train] >= 0]
                mass = np.bincount(
                    group_ids[grouped], weights=weights[grouped], minlength=n_groups
                )
                weighted &= mass > 0
        eligible &= weighted
        for g in np.flatnonzero(~eligible):
            if sizes[g] < self.min_group_size:
                why = f"{sizes[g]} rows < min_group_size={self.min_group_size}"
            elif (present[g] == 0).any():
                why = "the group lacks a class"
            elif not weighted[g]:
                why = "sample_weight is zero on its rows in a training set"
            else:
                why = "a training fold lacks a class"
            notes[g] = f"no decoupled model: {why}"
        return eligible, notes

    def _set_candidates(self, decoupled):
        """The pool: generic, then each personalized variant for each group."""
        variants, groups = ["generic"], [-1]
        for variant in VARIANTS[1:]:
            if variant not in self.variants:
                continue
            for g in range(self._encoding.n_groups):
                if variant != "decoupled" or decoupled[g]:
                    variants.append(variant)
                    groups.append(g)
        self._candidate_variant = variants
        self._candidate_group = np.asarray(groups, dtype=np.intp)

    def _blocks(self, group_ids):
        """Indicator blocks of the rows with a group, and one row per group."""
        grouped = np.maximum(group_ids, 0)
        all_groups = np.arange(self._encoding.n_groups)
        return {
            "onehot": (
                self._encoding.onehot_block(grouped),
                self._encoding.onehot_block(all_groups),
            ),
            "intersectional": (
                self._encoding.intersectional_block(grouped),
                self._encoding.intersectional_block(all_groups),
            ),
        }

    def _tasks(self, data, train, evaluate, keep):
        """One (fit, score) task per variant and per decoupled group.

        Every model scores the rows ``evaluate`` (``None`` for none) once per
        candidate it serves: block variants once per reported group.
        """
        base = self._base_estimator()
        gate = self._gate_kind()
        common = {
            "kind": (
                evidence_kind(self.metric)
                if gate is None
                else (evidence_kind(self.metric), gate)
            ),
            "classes": np.arange(len(self.classes_)),
            "fit_params": data.params,
            "keep": keep,
        }

        def task(variant, group, rows, block, indicator_rows, reported):
            scored = [] if evaluate is None else [(evaluate, r) for r in indicator_rows]
            # The gate tests a group's own candidates only: losses are needed
            # on the rows of the reported group (all rows for the generic).
            loss_rows = None
            if gate is not None and evaluate is not None:
                loss_rows = [_own_rows(data.group_ids, evaluate, g) for g in reported]
            call = delayed(fit_and_score)(
                base, data.X, data.y, rows, block, scored, loss_rows=loss_rows, **common
            )
            return variant, group, call

        tasks = [task("generic", None, train, None, [None], [-1])]
        grouped = train[data.group_ids[train] >= 0]
        for variant in BLOCK_VARIANTS:
            if variant in self.variants:
                full, per_group = data.blocks[variant]
                rows = [per_group[[g]] for g in range(len(per_group))]
                tasks.append(
                    task(variant, None, grouped, full, rows, range(len(per_group)))
                )
        for g in np.flatnonzero(data.decoupled):
            own = train[data.group_ids[train] == g]
            tasks.append(task("decoupled", g, own, None, [None], [g]))
        return tasks

    def _run(self, tasks, what):
        if self.verbose:
            print(f"[FairUseClassifier] {what}: {len(tasks)} fits", file=sys.stderr)
        results = []
        # A generator lets us report each fit as it finishes, in order.
        for done, result in enumerate(
            Parallel(n_jobs=self.n_jobs, return_as="generator")(
                call for _, _, call in tasks
            ),
            start=1,
        ):
            results.append(result)
            if self.verbose:
                print(
                    f"[FairUseClassifier] fits done: {done}/{len(tasks)}",
                    file=sys.stderr,
                )
        return [(variant, g, result) for (variant, g, _), result in zip(tasks, results)]

    def _cross_fit(self, data, splits, refit):
        """Evidence of every candidate on every evaluated row with a group,
        and the deployed models.

        The fold fits and, with ``refit``, the fits on all rows go to the
        workers in one batch, so that the data are shipped once.
        """
        tasks, folds = [], []
        for train, test in splits:
            rows = test[data.group_ids[test] >= 0]
            # A fold whose test rows all withheld their group has nothing to score.
            fold_tasks = self._tasks(
                data, train, rows if len(rows) else None, not refit
            )
            tasks += fold_tasks
            folds += [rows] * len(fold_tasks)
        if refit:
            final = self._tasks(data, np.arange(len(data.y)), None, keep=True)
            tasks += final
            folds += [None] * len(final)
        what = f"fitting {len(splits)} split(s)" + (" and all rows" if refit else "")
        results = self._run(tasks, what)
        kind = evidence_kind(self.metric)
        shape = (len(self._candidate_variant), len(data.y))
        if kind == "proba":
            shape += (len(self.classes_),)
        evidence = np.zeros(shape, dtype=np.intp if kind == "label" else float)
        gate = self._gate_kind()
        # Single precision halves the memory; the t-tests cast back per group.
        losses = None if gate is None else np.zeros(shape[:2], dtype=np.float32)
        models = None
        reported = self._candidate_group
        for rows, (variant, g, (model, scores)) in zip(folds, results):
            for candidate, score in zip(self._candidates_of(variant, g), scores):
                if gate is None:
                    evidence[candidate, rows] = score
                    continue
                evidence[candidate, rows] = score[0]
                where = _own_rows(data.group_ids, rows, reported[candidate])
                losses[candidate, rows if where is None else rows[where]] = score[1]
            if model is not None:
                models = self._collect(models, variant, g, model)
        return evidence, losses, models

    def _candidates_of(self, variant, group):
        """Candidate indices a fitted variant model serves, in group order."""
        variants = np.asarray(self._candidate_variant)
        if variant in BLOCK_VARIANTS:
            return np.flatnonzero(variants == variant)
        if variant == "decoupled":
            return np.flatnonzero(
                (variants == variant) & (self._candidate_group == group)
            )
        return [0]

    def _collect(self, models, variant, group, model):
        if models is None:
            models = {}
            if "decoupled" in self.variants:
                models["decoupled"] = [None] * self._encoding.n_groups
        if variant == "decoupled":
            models["decoupled"][group] = model
        else:
            models[variant] = model
        return models

    # ---------------------------------------------------------------- routing

    def _own_candidates(self):
        """Each group's own candidate of each personalized variant, ``(m, 3)``.

        ``-1`` where the group has no candidate of that variant.
        """
        own = np.full((self._encoding.n_groups, len(VARIANTS) - 1), -1, np.intp)
        variants = np.asarray(self._candidate_variant)
        for j, variant in enumerate(VARIANTS[1:]):
            mask = variants == variant
            own[self._candidate_group[mask], j] = np.flatnonzero(mask)
        return own

    def _preference(self, own):
        """Candidate indices from simplest to most complex, for a group whose
        own candidates are ``own``."""
        own = own[own > 0]
        rest = np.setdiff1d(np.arange(1, len(self._candidate_variant)), own)
        return np.concatenate([[0], own, rest])

    def _choose_routes(self, risks, allowed=None):
        """Lowest-risk candidate per group among the ``allowed`` ones."""
        routes = np.zeros(len(risks), dtype=np.intp)
        own = self._own_candidates()
        for g, group_risk in enumerate(risks):
            order = self._preference(own[g])
            if allowed is not None:
                order = order[allowed[g, order]]
            ordered = group_risk[order]
            if np.isnan(ordered).all():
                continue  # no evidence for this group: keep it on the generic model
            best = np.nanmin(ordered)
            routes[g] = order[np.flatnonzero(ordered <= best + _TIE_TOLERANCE)[0]]
        return routes

    def _gated_routes(self, risks, y, evidence, group_ids, losses=None):
        """Routes that leave the generic model only on a significant gain.

        Each group tests its own personalized candidates (at most one per
        variant) against the generic model, with ``correction`` across them;
        a small family keeps the tests powerful. With per-row ``losses`` of
        ``gate_loss`` the tests are paired t-tests on them (groups of at
        least ``MIN_TEST_ROWS`` rows), and ``test`` on ``metric`` otherwise.
        A significant candidate must also gain ``min_gain`` in ``metric``.
        Other groups' candidates enter only when they are significantly
        better than the group's route.

        Returns the routes and, per group, whether it kept the generic model
        although a candidate's gain was significant, because that gain was
        below ``min_gain``.
        """
        n_groups, n_candidates = risks.shape
        own = np.zeros_like(risks, dtype=bool)
        own[np.arange(n_groups)[:, None], np.maximum(self._own_candidates(), 0)] = True
        finite = own & np.isfinite(risks) & np.isfinite(risks[:, :1])
        finite[:, 0] = False
        pairs = np.argwhere(finite)
        comparisons = np.column_stack(
            [pairs[:, 0], np.zeros(len(pairs), int), pairs[:, 1]]
        )
        allowed = np.zeros((n_groups, n_candidates), dtype=bool)
        allowed[:, 0] = True
        turned_down = np.zeros(n_groups, dtype=bool)
        if len(comparisons):
            p_gain = np.full(len(comparisons), np.nan)
            if losses is not None:
                p_gain = paired_t_pvalues(losses, group_ids, comparisons)
            on_metric = np.isnan(p_gain)
            if on_metric.any():
                results, _ = paired_tests(
                    resolve_test(self.test, self.metric),
                    self.metric,
                    y,
                    evidence,
                    group_ids,
                    comparisons[on_metric],
                    alpha=self.alpha,
                    n_bootstrap=self.n_bootstrap,
                    rng=resolve_rng(self.random_state),
                    verbose=self.verbose,
                )
                p_gain[on_metric] = results[:, FIELDS.index("p_gain")]
            for g in range(n_groups):
                mine = comparisons[:, 0] == g
                p_gain[mine] = adjust_pvalues(p_gain[mine], self.correction)
            with np.errstate(invalid="ignore"):
                significant = p_gain <= self.alpha
            gains = risks[pairs[:, 0], 0] - risks[pairs[:, 0], pairs[:, 1]]
            enough = gains >= self.min_gain - _TIE_TOLERANCE
            chosen = pairs[significant & enough]
            allowed[chosen[:, 0], chosen[:, 1]] = True
            turned_down[pairs[significant & ~enough, 0]] = True
        routes = self._choose_routes(risks, allowed)
        # A group that significantly prefers another group's route takes it.
        # Its risk strictly drops and no new route appears, so this ends.
        for _ in range(n_groups * n_candidates):
            envy = fair_use_statistics(
                self.metric,
                y,
                evidence,
                group_ids,
                routes[None],
                **self._test_options(self.metric),
            )["envy"][0]
            with np.errstate(invalid="ignore"):
                violated = (
                    envy[..., STAT_FIELDS.index("p_violation_adjusted")] <= self.alpha
                )
            if not violated.any():
                break
            g = int(np.flatnonzero(violated.any(axis=1))[0])
            gaps = np.where(violated[g], envy[g, :, FIELDS.index("gain")], np.inf)
            routes[g] = routes[int(np.argmin(gaps))]
        return routes, turned_down & (routes == 0)

    def _test_options(self, metric, **overrides):
        """Options of the fair-use tests; ``None`` overrides mean our own."""
        options = {
            "test": self.test,
            "alpha": self.alpha,
            "correction": self.correction,
            "n_bootstrap": self.n_bootstrap,
            "random_state": self.random_state,
        }
        options.update({k: v for k, v in overrides.items() if v is not None})
        options["test"] = check_audit_options(
            metric,
            options["test"],
            options["alpha"],
            options["correction"],
            options["n_bootstrap"],
        )
        return options

    def _models(self):
        """Names of the audited models and each group's candidate under each."""
        own = self._own_candidates()
        fitted = [j for j, v in enumerate(VARIANTS[1:]) if v in self.variants]
        names = ["routed"] + [VARIANTS[1 + j] for j in fitted]
        return names, np.vstack([self._route, own[:, fitted].T])

    def _fit_notes(self, risks, n, notes, below):
        notes = list(notes)
        for g in range(self._encoding.n_groups):
            reason = None
            if np.isnan(risks[g]).all():
                reason = (
                    "no evaluation rows"
                    if n[g] == 0
                    else f"{self.metric} is undefined on these rows"
                )
            elif below[g]:
                reason = f"significant gains below min_gain={self.min_gain:g}"
            if reason is not None:
                notes[g] = "; ".join(
                    filter(None, [notes[g], f"kept generic: {reason}"])
                )
        return notes

    def _report(self, metric, y, predictions, group_ids, risks, options, **fields):
        """Test every audited model on the predictions and build the report."""
        names, assignments = self._models()
        statistics = fair_use_statistics(
            metric,
            y,
            predictions,
            group_ids,
            assignments,
            verbose=self.verbose,
            **options,
        )
        return FairUseReport(
            metric=metric,
            group_columns=self._group_column_names(),
            groups=self.groups_,
            risks=risks,
            variants=self.variants,
            candidate_variants=self._candidate_variant,
            candidate_groups=self._candidate_group,
            models=names,
            assignments=assignments,
            routes=self._route,
            statistics=statistics,
            settings=audit_settings(**options),
            **fields,
        )

    def audit(
        self,
        X,
        y,
        *,
        metric=None,
        test=None,
        alpha=None,
        correction=None,
        n_bootstrap=None,
        random_state=None,
    ):
        """Audit the routed model and each variant on new labelled data.

        Every candidate scores every row of ``X`` that belongs to a group
        seen in training; each audited model (``"routed"`` and each fitted
        personalized variant: ``"onehot"``, ``"intersectional"``,
        ``"decoupled"``) is then tested for rationality against the generic
        variant and for envy-freeness, as in
        :func:`~fairuse_estimators.audit_fair_use`. Use rows the classifier
        was not fitted on.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included. Rows with a missing or unseen
            group value are left out and counted as withheld.
        y : array-like of shape (n_samples,)
            True labels, among ``classes_``.
        metric, test, alpha, correction, n_bootstrap, random_state : \
default=None
            As in :func:`~fairuse_estimators.audit_fair_use`; ``None`` means
            the classifier's own setting.

        Returns
        -------
        report : FairUseReport
            Its models are ``"routed"`` followed by the fitted variants.
            With ``verbose > 0`` the progress of the tests is printed to
            stderr.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.model_selection import train_test_split
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> X_train, X_test, y_train, y_test = train_test_split(
        ...     X, y, test_size=0.3, stratify=y, random_state=0)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
        ...                         variants=("generic", "onehot"), cv=3,
        ...                         random_state=0).fit(X_train, y_train)
        >>> report = clf.audit(X_test, y_test)
        >>> report.models
        ['routed', 'onehot']
        >>> report.summary_table()[["rationality_violations", "envy_violations"]]
                rationality_violations  envy_violations
        model
        routed                       0                0
        onehot                       0                0
        """
        check_is_fitted(self)
        metric = self.metric if metric is None else metric
        options = self._test_options(
            metric,
            test=test,
            alpha=alpha,
            correction=correction,
            n_bootstrap=n_bootstrap,
            random_state=random_state,
        )
        if self._encoding is None:
            raise ValueError(
                "This FairUseClassifier was fitted without group_columns, so it "
                "has no use of group attributes to audit."
            )
        X, y = self._validate_X(X, reset=False, y=y)
        codes = encode_labels(y, self.classes_)
        if (codes < 0).any():
            raise ValueError(
                f"y holds the labels {sorted(set(y[codes < 0].tolist()))!r}, which "
                f"are not among the classes seen during fit {self.classes_.tolist()!r}."
            )
        check_metric_support(metric, self.estimators_["generic"], len(self.classes_))
        X_features, columns = self._split_X(X)
        group_ids, _ = self._encoding.transform(columns, self._group_column_names())
        evidence = self._pool_evidence(X_features, group_ids, evidence_kind(metric))
        n_groups = self._encoding.n_groups
        return self._report(
            metric,
            codes,
            evidence,
            group_ids,
            group_risks(metric, codes, evidence, group_ids, n_groups),
            options,
            n=np.bincount(group_ids[group_ids >= 0], minlength=n_groups),
            notes=self.audit_report_.notes,
            n_withheld=int((group_ids < 0).sum()),
            evidence=f"{int((group_ids >= 0).sum())} audited rows",
        )

    def _pool_evidence(self, X_features, group_ids, kind):
        """Every candidate's predictions on every row with a known group."""
        rows = np.flatnonzero(group_ids >= 0)
        classes = np.arange(len(self.classes_))
        shape = (len(self._candidate_variant), len(group_ids))
        if kind == "proba":
            shape += (len(classes),)
        evidence = np.zeros(shape, dtype=np.intp if kind == "label" else float)
        candidates = [self._candidate_model(c) for c in range(len(evidence))]
        matrices = designs(X_features, [(rows, row) for _, row in candidates])
        for candidate, ((model, _), matrix) in enumerate(zip(candidates, matrices)):
            evidence[candidate, rows] = predict_evidence(model, matrix, kind, classes)
        return evidence

    @property
    def routing_(self):
        """Read-only mapping ``group -> (variant, reported group or None)``.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
        ...                         variants=("generic", "onehot"), cv=3,
        ...                         random_state=0).fit(X, y)
        >>> clf.routing_[("female", "60+")]
        ('generic', None)
        """
        check_is_fitted(self)
        routing = {}
        for group, candidate in zip(self.groups_, self._route):
            reported = self._candidate_group[candidate]
            routing[group] = (
                self._candidate_variant[candidate],
                None if reported < 0 else self.groups_[reported],
            )
        return MappingProxyType(routing)

    # ------------------------------------------------------------- prediction

    def _row_candidates(self, X):
        """Feature block and the candidate that scores each row."""
        X, _ = self._validate_X(X, reset=False)
        X_features, columns = self._split_X(X)
        group_ids, unseen = self._encoding.transform(
            columns, self._group_column_names()
        )
        if unseen:
            shown = "; ".join(unseen[:5])
            if len(unseen) > 5:
                shown += f"; and {len(unseen) - 5} more"
            message = f"Group values not seen during fit: {shown}."
            if self.handle_unknown == "error":
                raise ValueError(
                    message + " Set handle_unknown='generic' to score them with "
                    "the generic model."
                )
            warnings.warn(
                message + " These rows are scored by the generic model.",
                UnseenGroupWarning,
                stacklevel=_caller_stacklevel(),
            )
        candidates = np.where(group_ids >= 0, self._route[np.maximum(group_ids, 0)], 0)
        return X_features, candidates

    def _candidate_model(self, candidate):
        variant = self._candidate_variant[candidate]
        group = self._candidate_group[candidate]
        if variant == "decoupled":
            return self.estimators_["decoupled"][group], None
        model = self.estimators_[variant]
        if variant == "onehot":
            return model, self._encoding.onehot_block(np.array([group]))
        if variant == "intersectional":
            return model, self._encoding.intersectional_block(np.array([group]))
        return model, None

    def _routed(self, X, method):
        """Call ``method`` of each row's candidate on that row only."""
        check_is_fitted(self)
        if self._encoding is None:
            X, _ = self._validate_X(X, reset=False)
            return getattr(self.estimators_["generic"], method)(X)
        X_features, candidates = self._row_candidates(X)
        output = None
        for candidate in np.unique(candidates):
            rows = np.flatnonzero(candidates == candidate)
            model, row = self._candidate_model(candidate)
            with self._naming_nonfinite(X_features):
                result = getattr(model, method)(design(X_features, rows, row))
            if method == "predict_proba":
                aligned = np.zeros((len(rows), len(self.classes_)))
                aligned[:, model.classes_] = result
                result = aligned
            if output is None:
                dtype = np.intp if method == "predict" else float
                output = np.empty((len(candidates), *result.shape[1:]), dtype)
            output[rows] = result
        return output

    def predict(self, X):
        """Predict classes, each row with its group's routed candidate.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
        ...                         variants=("generic", "onehot"), cv=3,
        ...                         random_state=0).fit(X, y)
        >>> clf.predict(X.head(3))
        array([0, 1, 1])

        A row whose group is withheld (missing) gets the generic model:

        >>> clf.predict(X.head(3).assign(sex=None))
        array([0, 1, 1])
        """
        codes = self._routed(X, "predict")
        return self.classes_[codes]

    @available_if(_base_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities, each row from its group's routed candidate.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
        ...                         variants=("generic", "onehot"), cv=3,
        ...                         random_state=0).fit(X, y)
        >>> clf.predict_proba(X.head(2)).round(3)
        array([[0.834, 0.166],
               [0.027, 0.973]])
        """
        return self._routed(X, "predict_proba")

    @available_if(_base_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
        ...                         variants=("generic", "onehot"), cv=3,
        ...                         random_state=0).fit(X, y)
        >>> clf.predict_log_proba(X.head(2)).shape
        (2, 2)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @available_if(_base_has("decision_function"))
    def decision_function(self, X):
        """Decision function of each row's routed candidate.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
        ...                         variants=("generic", "onehot"), cv=3,
        ...                         random_state=0).fit(X, y)
        >>> clf.decision_function(X.head(3)).round(2)
        array([-1.61,  3.59,  5.35])
        """
        return self._routed(X, "decision_function")

    # ----------------------------------------------------------------- sklearn

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        Returns
        -------
        routing : MetadataRouter
            Routes ``fit`` metadata such as ``sample_weight`` to every fit of
            the base estimator.

        Examples
        --------
        >>> import sklearn
        >>> from sklearn.linear_model import LogisticRegression
        >>> from fairuse_estimators import FairUseClassifier
        >>> with sklearn.config_context(enable_metadata_routing=True):
        ...     base = LogisticRegression().set_fit_request(sample_weight=True)
        ...     clf = FairUseClassifier(base, group_columns=["sex", "age_group"])
        ...     routing = clf.get_metadata_routing()
        >>> routing.consumes("fit", ["sample_weight"])
        {'sample_weight'}
        """
        return MetadataRouter(owner=self).add(
            estimator=self._base_estimator(),
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base_tags = get_tags(self._base_estimator())
        tags.input_tags.allow_nan = base_tags.input_tags.allow_nan
        tags.input_tags.sparse = False
        if base_tags.classifier_tags is not None:  # None for a regressor base
            tags.classifier_tags.multi_class = base_tags.classifier_tags.multi_class
            tags.classifier_tags.poor_score = base_tags.classifier_tags.poor_score
        return tags

    # ------------------------------------------------------------- persistence

    def __getstate__(self):
        # Recorded like scikit-learn's own version, to warn on a mismatch.
        return dict(super().__getstate__(), _fairuse_version=__version__)

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_fairuse_version", "unknown")
        if saved != __version__:
            warnings.warn(
                FairUseVersionWarning(
                    estimator_name=type(self).__name__,
                    current_version=__version__,
                    original_version=saved,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)


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


def _own_rows(group_ids, rows, reported):
    """Positions among ``rows`` of the rows of group ``reported``, whose own
    candidate the evidence gate tests; ``None`` (all rows) for the generic
    model, whose ``reported`` is negative."""
    return None if reported < 0 else np.flatnonzero(group_ids[rows] == reported)


def _training_sets(splits, refit, n_samples):
    """Rows of every fit of a variant; the deployed models' rows come last."""
    trainings = [train for train, _ in splits]
    return trainings + [np.arange(n_samples)] if refit else trainings


def _caller_stacklevel():
    """Stack level of the first frame outside this package, for warnings.

    The ``_fit_context`` wrapper scikit-learn puts around ``fit`` counts as
    inside.
    """
    package = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith(package)
        or frame.f_code is FairUseClassifier.fit.__code__
    ):
        frame, level = frame.f_back, level + 1
    return level


def _merge_small_strata(strata, y, min_count):
    """Strata with fewer than ``min_count`` rows fall back to their label.

    Label strata that are still too small join the largest stratum, so that
    every stratum can be spread over the splits.
    """
    counts = np.bincount(strata)
    strata = np.where(counts[strata] < min_count, y, strata)
    counts = np.bincount(strata)
    return np.where(counts[strata] < min_count, counts.argmax(), strata)
