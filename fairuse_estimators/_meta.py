"""The meta-estimator the classifier and the regressor share.

:class:`FairUseBase` is the scikit-learn face of the stages: ``fit`` reads as
a recipe of groups (:mod:`._groups`), splits and cross-fitting
(:mod:`._evidence`), the risk matrix (:mod:`._metrics`), routing
(:mod:`._routing`) and the report (:mod:`._audit`), passing intermediates as
arguments; only results are stored on the estimator. A task differs only in
its target (class codes or values), its metrics and its prediction methods:
:class:`~._classifier.FairUseClassifier` and
:class:`~._regressor.FairUseRegressor` supply those and nothing else.
"""

import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping
from sklearn.utils.validation import check_is_fitted

from ._audit import audit_models, empty_report
from ._estimators import check_nested_params, make_estimator
from ._evidence import fit_evidence, score_pool
from ._groups import (
    column_names,
    encode_groups,
    naming_nonfinite,
    resolve_group_columns,
    split_columns,
    validate_X,
    warn_unseen,
)
from ._metrics import n_labels, risk_matrix
from ._pool import Pool, audited_models, check_variants
from ._reporting import (
    audit_partial,
    fit_partial,
    partial_attributes,
    predict_reporting,
    reporting_routes,
)
from ._routing import Routing, gate_kind, graded_routes, route, routing_notes
from ._stats import TEST_CONSTRAINTS, check_test_options
from ._tree import ReportingTree
from ._variants import (
    base_fit_params,
    base_tags,
    check_base,
    predict_routed,
    variant_blocks,
)
from ._version import __version__
from .exceptions import FairUseVersionWarning, caller_stacklevel

UNSEEN_IN_AUDIT = "These rows are left out of the audit and counted as withheld."
#: The parameters of the tests, in the order of check_test_options.
_TEST_PARAMS = ("test", "alpha", "correction", "n_bootstrap", "random_state", "family")

#: Constraints of the parameters both tasks have; each adds ``metric``.
SHARED_CONSTRAINTS = {
    "estimator": [HasMethods(["fit", "predict"]), None],
    "group_columns": [None, str, Integral, "array-like"],
    "variants": ["array-like"],
    "cv": ["cv_object", Interval(RealNotInt, 0, 1, closed="neither")],
    "ensemble": ["boolean"],
    "routing": [StrOptions({"evidence", "best"})],
    "reporting": [StrOptions({"all", "partial", "sequential"})],
    "gate_family": [StrOptions({"all", "group"})],
    "min_gain": [Interval(Real, 0, None, closed="left")],
    **TEST_CONSTRAINTS,
    "min_group_size": [Interval(Integral, 1, None, closed="left")],
    "handle_unknown": [StrOptions({"generic", "error"})],
    "n_jobs": [Integral, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def base_has(attr):
    """Check that the base estimator (or its fitted clone) has ``attr``."""

    def check(self):
        if hasattr(self, "estimators_"):
            return hasattr(self.estimators_["generic"], attr)
        return hasattr(self._base_estimator(), attr)

    return check


class FairUseBase(MetaEstimatorMixin, BaseEstimator):
    """What :class:`~._classifier.FairUseClassifier` and
    :class:`~._regressor.FairUseRegressor` share: the parameters, ``fit``,
    ``audit``, the routes and the routed prediction.

    A task sets ``_task`` (``"classifier"`` or ``"regressor"``) and
    ``_default`` (the name of its default base in
    :func:`~._estimators.make_estimator`), and defines :meth:`_encode_target`,
    :meth:`_audit_target`, :meth:`_metric` and :meth:`_classes`.
    """

    _task = "classifier"
    _default = "logistic"

    def set_params(self, **params):
        """Set the parameters of this estimator and of its base estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters; ``estimator__<name>`` sets a parameter of
            the base estimator, which must then be given explicitly.

        Returns
        -------
        self : object
        """
        check_nested_params(self.estimator, params, self._task)
        return super().set_params(**params)

    def _base_estimator(self):
        if self.estimator is None:
            return self._default_estimator()
        return self.estimator

    def _default_estimator(self):
        """The base ``estimator=None`` stands for."""
        return make_estimator(self._default, task=self._task)

    # ------------------------------------------------------------------ input

    def _validate_X(self, X, reset, y=None):
        return validate_X(self, X, reset, y)

    def _group_column_names(self):
        return column_names(
            getattr(self, "feature_names_in_", None), self.group_indices_
        )

    def _split_X(self, X):
        return split_columns(
            X, self.group_indices_, getattr(self, "feature_names_in_", None)
        )

    def _naming_nonfinite(self, X_features):
        """Name the feature columns with NaN or inf when a base call fails."""
        features = np.delete(np.arange(self.n_features_in_), self.group_indices_)
        names = column_names(getattr(self, "feature_names_in_", None), features)
        return naming_nonfinite(
            X_features, names, type(self._base_estimator()).__name__
        )

    def _settings(self, base, params):
        """What every fit of the evidence stage shares."""
        gate_loss = getattr(self, "gate_loss", "auto")
        gate = gate_kind(self.routing, gate_loss, self.metric, base)
        return {
            "cv": self.cv, "ensemble": self.ensemble, "variants": self.variants,
            "metric": self._metric(), "gate": gate,
            "min_group_size": self.min_group_size,
            "classes": self._classes(), "params": params,
            "random_state": self.random_state,
        }  # fmt: skip

    def _check_fit_options(self, n_classes):
        """Multi-parameter rules that declarative constraints cannot express."""
        check_variants(self.variants)
        metric = self._metric()
        gate_loss = getattr(self, "gate_loss", "auto")
        check_base(self._base_estimator(), metric, n_classes, gate_loss, self._task)
        return check_test_options(
            metric, **{name: getattr(self, name) for name in _TEST_PARAMS}
        )

    # -------------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the variants, estimate every group's risks and route the groups.

        A fit that fails leaves the estimator as it was before the call.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included.
        y : array-like of shape (n_samples,)
            Target labels (classifier) or values (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights passed to every base fit. The risks used for routing stay
            unweighted averages over individuals.
        **fit_params : dict
            Further parameters for the base estimator's ``fit``, routed with
            metadata routing when it is enabled.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        previous = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, fit_params)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise

    def _fit(self, X, y, sample_weight, fit_params):
        """The recipe: groups, splits, cross-fitting, risks, routes, report."""
        X, y = self._validate_X(X, reset=True, y=y)
        y = self._encode_target(y)
        options = self._check_fit_options(n_labels(self._classes()))
        self.group_indices_ = resolve_group_columns(
            self.group_columns,
            self.n_features_in_,
            getattr(self, "feature_names_in_", None),
        )
        base = self._prepared_base()
        params = base_fit_params(self, base, X, sample_weight, fit_params)
        if not len(self.group_indices_):
            return self._fit_without_groups(base, X, y, params)

        names = self._group_column_names()
        X_features, columns = self._split_X(X)
        if self.reporting != "all":
            return self._fit_partial(base, X_features, y, columns, params, options)
        self._levels = self._tree = self._subset_reports = None
        encoding, group_ids = encode_groups(
            columns, names, stacklevel=caller_stacklevel()
        )
        settings = self._settings(base, params)
        settings["blocks"] = variant_blocks(encoding, group_ids)
        # The fits on all rows go on in the workers while the routes are
        # chosen and graded; the deployed models are collected last.
        fitted = fit_evidence(
            base, X_features, y, group_ids, encoding.n_groups, settings=settings,
            n_jobs=self.n_jobs, verbose=self.verbose,
            guard=self._naming_nonfinite(X_features), deferred=True,
        )  # fmt: skip
        routes = self._route_and_report(fitted, encoding, group_ids, options)
        with self._naming_nonfinite(X_features):
            estimators = fitted.estimators()
        self._encoding, self.groups_ = encoding, encoding.groups
        self._candidate_variant = fitted.pool.variants.tolist()
        self._candidate_group = fitted.pool.groups
        self.estimators_, self._route = estimators, routes
        return self

    def _route_and_report(self, fitted, encoding, group_ids, options):
        """The routes chosen on the evidence of ``fitted`` (a ``CrossFit``),
        and the report, graded on routes chosen out of fold; what grading
        copies is freed on return, before the models are collected."""
        evidence, pool = fitted.evidence, fitted.pool
        risks = risk_matrix(evidence)
        params = {"min_gain": self.min_gain, "family": self.gate_family}
        routes, below, record = route(
            self.routing, evidence, risks, pool, options, **params,
            verbose=self.verbose,
        )  # fmt: skip
        n = np.bincount(
            evidence.group_ids[evidence.group_ids >= 0], minlength=encoding.n_groups
        )
        notes = routing_notes(risks, n, fitted.notes, below, self.metric, self.min_gain)
        # Graded on routes chosen out of fold, or marked as chosen on a holdout.
        graded, graded_pool, routed, selected = graded_routes(
            self.routing, evidence, pool, routes, options, **params
        )
        models, assignments = audited_models(graded_pool, routed, self.variants)
        self.audit_report_ = audit_models(
            graded, risk_matrix(graded), graded_pool, models, assignments, options,
            group_columns=self._group_column_names(), groups=encoding.groups,
            variants=self.variants, notes=notes, routes=routes, selected=selected,
            gate=record.to_lists(), n_withheld=int((group_ids < 0).sum()),
            estimated_by=fitted.estimated_by, verbose=self.verbose,
        )  # fmt: skip
        return routes

    def _fit_partial(self, base, X_features, y, columns, params, options):
        routing = {"routing": self.routing, "min_gain": self.min_gain,
                   "family": self.gate_family,
                   "tree": self.reporting == "sequential"}  # fmt: skip
        self._levels, reports, self._tree = fit_partial(
            base, X_features, y, columns, self._group_column_names(),
            self._settings(base, params), options, routing, n_jobs=self.n_jobs,
            verbose=self.verbose, guard=self._naming_nonfinite(X_features),
        )  # fmt: skip
        self.__dict__.update(partial_attributes(self._levels, reports))
        return self

    def _fit_without_groups(self, base, X, y, params):
        self._levels = self._tree = self._subset_reports = None
        self._encoding, self.groups_ = None, []
        self.estimators_ = {"generic": clone(base).fit(X, y, **params)}
        self._candidate_variant = ["generic"]
        self._candidate_group = np.array([-1])
        self._route = np.empty(0, dtype=np.intp)
        self.audit_report_ = empty_report(self._metric())
        return self

    def _pool(self):
        return Pool(
            np.asarray(self._candidate_variant),
            self._candidate_group,
            self._encoding.n_groups,
        )

    # ------------------------------------------------------------------ audit

    def audit(
        self,
        X,
        y,
        *,
        metric=None,
        test=None,
        alpha=None,
        correction=None,
        family=None,
        n_bootstrap=None,
        random_state=None,
    ):
        """Audit the routed model and each variant on new labelled data.

        Every candidate scores every row of ``X`` that belongs to a group
        seen in training; each audited model (``"routed"`` and each fitted
        personalized variant: ``"onehot"``, ``"intersectional"``,
        ``"decoupled"``) is then tested for rationality against the generic
        variant and for envy-freeness, as in
        :func:`~fairuse_estimators.audit_fair_use`. Use rows the estimator
        was not fitted on.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included. Rows with a missing or unseen
            group value are left out and counted as withheld; unseen ones
            with an :class:`~fairuse_estimators.UnseenGroupWarning`.
        y : array-like of shape (n_samples,)
            True labels among ``classes_``, or true values.
        metric, test, alpha, correction, family, n_bootstrap, random_state : \
default=None
            As in :func:`~fairuse_estimators.audit_fair_use`; ``None`` means
            the estimator's own setting.

        Returns
        -------
        report : FairUseReport
            Its models are ``"routed"`` followed by the fitted variants.
            With ``verbose > 0`` the progress of the tests is printed to
            stderr.
        """
        check_is_fitted(self)
        given = (test, alpha, correction, n_bootstrap, random_state, family)
        own = [
            getattr(self, name) if v is None else v
            for name, v in zip(_TEST_PARAMS, given)
        ]
        metric = self._metric(metric)
        options = check_test_options(metric, *own)
        if self._encoding is None:
            raise ValueError(
                f"This {type(self).__name__} was fitted without group_columns, "
                "so it has no use of group attributes to audit."
            )
        X, y = self._validate_X(X, reset=False, y=y)
        codes = self._audit_target(y, metric)
        n_classes = n_labels(self._classes())
        X_features, columns = self._split_X(X)
        names = self._group_column_names()
        group_ids, unseen = self._encoding.transform(columns, names)
        warn_unseen(unseen, UNSEEN_IN_AUDIT)
        pool, routes = self._pool(), self._route
        fields = {"variants": self.variants, "gate": self.audit_report_.gate}
        fields["must_report"] = self.audit_report_.must_report
        if getattr(self, "_levels", None) is None:
            evidence = score_pool(
                self.estimators_, self._encoding, pool, X_features, codes, group_ids,
                metric, n_classes,
            )  # fmt: skip
        else:
            evidence, pool, routes, found = audit_partial(
                self._levels, X_features, codes, columns, names, metric,
                n_classes, options,
            )  # fmt: skip
            fields.update(found)
        models, assignments = audited_models(pool, routes, fields["variants"])
        return audit_models(
            evidence, risk_matrix(evidence), pool, models, assignments, options,
            group_columns=names, groups=self.groups_,
            notes=self.audit_report_.notes, routes=routes,
            n_withheld=int((group_ids < 0).sum()), **fields,
            estimated_by=f"{int((group_ids >= 0).sum())} audited rows",
            verbose=self.verbose,
        )  # fmt: skip

    @property
    def routing_(self):
        """Read-only mapping ``group -> (variant, reported group or None)``,
        printed one group per line, with :meth:`~._routing.Routing.to_json`."""
        check_is_fitted(self)
        names = self._group_column_names()
        if getattr(self, "_levels", None) is not None:
            return Routing(reporting_routes(self._levels, names), names)
        routing = {}
        for group, candidate in zip(self.groups_, self._route):
            reported = self._candidate_group[candidate]
            routing[group] = (
                self._candidate_variant[candidate],
                None if reported < 0 else self.groups_[reported],
            )
        return Routing(routing, names)

    def _set_by(self, name, attribute, reporting):
        check_is_fitted(self)
        if getattr(self, attribute, None) is None:
            raise AttributeError(
                f"{name} is set by reporting={reporting!r} with group_columns; "
                f"this estimator was fitted with reporting={self.reporting!r} "
                f"and group_columns={self.group_columns!r}."
            )
        return getattr(self, attribute)

    @property
    def reporting_tree_(self):
        """With ``reporting="sequential"``: the :class:`~._tree.ReportingTree`,
        the order in which to ask the group attributes and where to stop."""
        return ReportingTree(self._set_by("reporting_tree_", "_tree", "sequential"))

    @property
    def reports_by_subset_(self):
        """With ``reporting="partial"`` or ``"sequential"``: the report of each
        non-empty subset of the group columns, keyed by their names."""
        reports = self._set_by("reports_by_subset_", "_subset_reports", "partial")
        return {tuple(r.group_columns): r for r in reports}

    # ------------------------------------------------------------- prediction

    def _routed(self, X, method):
        """Call ``method`` of each row's candidate on that row only."""
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        if self._encoding is None:
            return getattr(self.estimators_["generic"], method)(X)
        X_features, columns = self._split_X(X)
        names = self._group_column_names()
        scored = "These rows are scored by the generic model."
        on_unseen = partial(
            warn_unseen, consequence=scored, handle_unknown=self.handle_unknown
        )
        if getattr(self, "_levels", None) is not None:
            with self._naming_nonfinite(X_features):
                return predict_reporting(
                    self._levels, self._tree, X_features, columns, names, method,
                    n_labels(self._classes()), on_unseen,
                )  # fmt: skip
        group_ids, unseen = self._encoding.transform(columns, names)
        on_unseen(unseen)
        with self._naming_nonfinite(X_features):
            return predict_routed(
                self.estimators_, self._encoding, self._pool(), self._route,
                X_features, group_ids, method, n_labels(self._classes()),
            )  # fmt: skip

    # ----------------------------------------------------------------- sklearn

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        Returns
        -------
        routing : MetadataRouter
            Routes ``fit`` metadata such as ``sample_weight`` to every fit of
            the base estimator.
        """
        return MetadataRouter(owner=self).add(
            estimator=self._base_estimator(),
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )

    def _tags_from_base(self, tags):
        """The task's tags (``super().__sklearn_tags__()`` of the task's own
        class, so that its mixin has set them) with what the base passes on."""
        return base_tags(tags, self._base_estimator())

    # ------------------------------------------------------------- persistence

    def __getstate__(self):
        # Recorded like scikit-learn's own version, to warn on a mismatch.
        return dict(super().__getstate__(), _fairuse_version=__version__)

    def __setstate__(self, state):
        state = dict(state)
        # Parameters added since a model was saved take their defaults.
        state.setdefault("family", "condition")
        state.setdefault("gate_family", "all")
        state.setdefault("reporting", "all")
        state.setdefault("ensemble", False)
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
