"""FairUseClassifier: route every group to the candidate that serves it best.

The classifier is :class:`~._meta.FairUseBase` with class labels as its
target: labels are encoded as their positions in ``classes_``, metrics are
those of :data:`~._metrics.METRICS`, and it predicts labels, probabilities
and decision functions.
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from ._audit import encoded_labels
from ._meta import SHARED_CONSTRAINTS, FairUseBase, base_has
from ._metrics import METRICS, check_metric_support, resolve_metric
from ._pool import DEFAULT_VARIANTS
from ._variants import LOSS_KINDS, encode_class_weights, encode_targets


class FairUseClassifier(ClassifierMixin, FairUseBase):
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
        The base classifier cloned for every variant. ``None`` means a
        standardized logistic regression,
        ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))``,
        as the command line's ``--estimator logistic``; pass it explicitly to
        tune its parameters as ``estimator__<name>``. The base never sees the
        raw group columns.

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
        - ``"partially_pooled"`` (not fitted by default): one model per group
          fitted on every row, the other groups' rows weighted down so that
          the group's own rows carry half of the total weight; between the
          generic and the decoupled model, and available to small groups.
          The base must accept ``sample_weight``.

    metric : str or callable, default="error"
        Risk used for routing (lower is better), one of
        ``{"error", "fnr", "fpr", "balanced_error", "auc", "ece", "log_loss",
        "brier"}`` or a callable. ``"error"`` is the misclassification rate
        of ``predict``; ``"fnr"`` is the false-negative rate (one minus
        sensitivity) on the group's rows of the positive class
        ``classes_[1]``, and ``"fpr"`` the false-positive rate (one minus
        specificity) on its rows of ``classes_[0]`` (binary targets only; a
        group's ``n`` counts those rows), both at the threshold of the base
        estimator's ``predict``: wrap it in
        :class:`~sklearn.model_selection.FixedThresholdClassifier` for another;
        ``"balanced_error"`` is one minus
        :func:`~sklearn.metrics.balanced_accuracy_score`; ``"auc"`` is one
        minus the ROC AUC within the group (binary targets only; reports show
        the AUC, higher is better); ``"ece"`` is the expected calibration
        error with 10 equal-width bins on the positive-class probability
        (top-label for more than two classes); ``"log_loss"`` and ``"brier"``
        are as in :mod:`sklearn.metrics`.

        A callable is either a scorer made by
        :func:`~sklearn.metrics.make_scorer` (or
        :func:`~sklearn.metrics.get_scorer`), whose score on a group's rows
        (higher is better, as reports show it) is minus the group's risk, or
        any other function ``loss(y_true, y_pred)`` of the labels returning
        one loss per row, whose mean is the risk. Both are tested with the
        bootstrap; a scorer's function must accept ``sample_weight``, which
        carries the bootstrap's resampling counts. A metric that cannot be
        compared per group (a function returning one number, or NaN) is
        refused when fitting, with the reason.

    cv : int, float, cross-validation generator or iterable, default=5
        How risks are estimated on data the candidates did not train on.

        - int ``K``: K-fold cross-fitting stratified by (group, label). Every
          candidate's out-of-fold predictions give each group's risk; every
          variant is then refit on all the data (see ``ensemble``).
        - float in (0, 1): a single holdout split of that size, stratified by
          (group, label). The models evaluated on the holdout are the ones
          deployed; nothing is refit.
        - a splitter or iterable of (train, test) index arrays whose test sets
          partition the rows, used like an int. A splitter is called as
          ``split(X, strata)`` with the (group, label) strata as ``y`` and no
          ``groups``; to keep each patient's rows in one fold, pass the splits
          themselves: ``cv=list(GroupKFold(5).split(X, y, groups=patient_id))``.

    ensemble : bool, default=False
        What serves predictions after K-fold cross-fitting (an int or a
        splitter ``cv``).

        - ``False``: every variant refitted on all rows. The out-of-fold
          evidence describes the fold models, trained on ``(K - 1) / K`` of
          the rows; for an unstable learner (a small neural net, say) the
          refit can differ from them in ways the evidence does not see, and
          the report's ``evidence`` says so.
        - ``True``: each variant's K fold models, their probabilities
          averaged as in ``CalibratedClassifierCV(ensemble=True)``: every
          verdict is about the members of the model that serves patients.
          No fit on all rows (``K * (3 + m)`` base fits instead of
          ``(K + 1) * (3 + m)``), but K models to store and call per
          prediction. For the log loss and the Brier score the average is no
          worse than its members on average.

        Ignored with a holdout ``cv``, whose evaluated models are already
        the deployed ones, and without group columns, where the base is
        fitted once on all rows. Refitting is the default: as good for the
        default logistic regression, and cheaper to serve; on the bundled
        data the fold ensembles lowered the routed error of gradient
        boosting on every dataset (see the user guide's deployment page).

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

    reporting : {"all", "partial", "sequential"}, default="all"
        What a person reports at prediction time.

        - ``"all"``: all group attributes or none; a row with any group value
          missing has withheld its group and gets the generic model.
        - ``"partial"``: any subset of them. For every subset of the group
          columns the classifier fits candidates that use only those columns
          (one-hot, intersectional and decoupled on that subset) and routes
          each *reporting group* (the values of the columns it reports),
          from the coarsest up: a group keeps the best route it would get by
          reporting less unless one of its own candidates is significantly
          better, so that reporting more never leaves a group worse off on
          the evidence. No candidate learns from which values are missing,
          and a row that reports nothing gets the generic model trained on
          everyone. ``reports_by_subset_`` holds a report per subset, with
          the participatory tests and the columns each group must report;
          at most 5 group columns (``2 ** k`` subsets each fit a pool).
        - ``"sequential"``: fitted as ``"partial"``, with a reporting tree
          (``reporting_tree_``): which attribute to ask first and, for each
          answer, whether asking the next is worth it. A row answers the
          tree's questions in order, up to the first it leaves blank, and
          gets the route of what it answered; answers to questions the tree
          does not ask are ignored.

    gate_loss : {"auto", "metric", "log_loss", "brier"}, default="auto"
        What ``routing="evidence"`` tests when it asks whether a group's own
        candidate beats the generic model.

        - ``"auto"`` or ``"metric"``: ``metric`` itself, with ``test``. A
          group is then routed to a candidate only on a significant gain in
          the metric the report grades.
        - ``"log_loss"`` or ``"brier"``: that proper scoring rule of the
          predicted probabilities, with a one-sided paired test on the
          per-row loss differences of the group's rows. It uses every row,
          so it finds gains in small groups that a test of the error rate,
          informed only by the rows where two models disagree, cannot; but
          a gain in that loss is no evidence of a gain in ``metric``.
          Groups with fewer than 20 rows fall back to ``"metric"``. Needs a
          base estimator with ``predict_proba``.

        Whatever the gate tests, the candidate must also gain ``min_gain``
        in ``metric``, and the report's verdicts always test ``metric``.

    gate_family : {"all", "group"}, default="all"
        What the gate's ``correction`` runs over. ``"all"``: every group's
        candidates together, so that the chance that *any* group is routed
        to a candidate that is not truly better is at most ``alpha``.
        ``"group"``: each group's own candidates, so that each group alone
        is misrouted with probability at most ``alpha`` (more groups are
        personalized, and with many groups some group often is by chance).

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
        ``error``, ``fnr`` and ``fpr``, DeLong's test for ``auc`` and the
        bootstrap otherwise (see :func:`~fairuse_estimators.audit_fair_use`).

    alpha : float in (0, 1), default=0.1
        Significance level of the tests.

    correction : {"holm", "bonferroni", "none"}, default="holm"
        Family-wise correction of the tests.

    family : {"condition", "model"}, default="condition"
        The family each correction runs over in ``audit_report_`` and
        :meth:`audit`: each condition and direction of a model (rationality
        gains, rationality violations, envy gains, envy violations), so that
        each of these four kinds of verdict is false with probability at
        most ``alpha``; or all of a model's tests at once, the paper's
        correction over every condition of its Definition 1, so that any
        false verdict about the model has probability at most ``alpha``.

    n_bootstrap : int, default=1000
        Bootstrap replicates when the test is the bootstrap; raised on its
        own, up to 50,000, when a family has too many tests for ``B``
        replicates to reach ``alpha``.

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
        Print progress to stderr when positive: with 1, a line per stage
        (the fits, each quarter of them done, the paired tests in ``fit``
        and :meth:`audit`); with 2 and more, a line per fit and per group
        tested.

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
        ``("generic", None)`` for the generic model. With
        ``reporting="partial"``, one entry per reporting group, with
        ``None`` for the columns it does not report, in the group and in the
        reported group alike (the columns the route's model uses).

    reports_by_subset_ : dict
        With ``reporting="partial"`` or ``"sequential"``: the
        :class:`FairUseReport` of each non-empty subset of the group
        columns, keyed by the tuple of their names; the one of all columns
        is ``audit_report_``.

    reporting_tree_ : ReportingTree
        With ``reporting="sequential"``: the questionnaire, as text
        (``str``), a frame (``to_frame()``) and a plot (``plot()``).

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
    it is enabled, otherwise whenever the base's ``fit`` accepts it, or for
    a Pipeline base as ``<last step>__sample_weight``). The
    risks in ``audit_report_`` stay unweighted averages over the individuals
    of each group: a fair-use guarantee is a statement about people, not
    about weights.

    A ``class_weight`` dict of the base estimator (or of a Pipeline step or
    any nested estimator) is keyed by the labels of ``y``, as for the base
    alone; a key that is not a label of ``y`` is refused. The fitted variants
    in ``estimators_`` learn each label as its position in ``classes_``, and
    hold the same weights keyed by those positions.

    A fit makes tens of base fits; the warnings they raise (a
    ``ConvergenceWarning``, say) come back as one warning per category,
    saying how many fits of each variant raised it and what the first said,
    and your warning filters apply to it as usual.

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
    female 60+         39  0.051    untestable
           <60         58  0.034    untestable
    male   60+         52 -0.019  inconclusive
           <60        154 -0.013  inconclusive
    >>> len(clf.audit_report_.generic_groups())
    4
    >>> clf.audit_report_.evidence
    '5-fold cross-fitting of the fold models, deployed refitted on all rows'

    Each row is scored by its group's route only; a row whose group is
    withheld (missing) gets the generic model:

    >>> clf.predict(X.head(3)), clf.predict(X.head(3).assign(sex=None))
    (array([0, 1, 1]), array([0, 1, 1]))
    >>> clf.predict_proba(X.head(2)).round(3)
    array([[0.834, 0.166],
           [0.027, 0.973]])
    >>> clf.decision_function(X.head(3)).round(2)
    array([-1.61,  3.59,  5.35])

    On rows it was not fitted on, :meth:`audit` tests the routed model and
    every variant:

    >>> from sklearn.model_selection import train_test_split
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, test_size=0.3, stratify=y, random_state=0)
    >>> report = clf.fit(X_train, y_train).audit(X_test, y_test)
    >>> report.summary_table()[["rationality_violations", "envy_violations"]]
                    rationality_violations  envy_violations
    model
    routed                               0                0
    onehot                               0                0
    intersectional                       0                0
    decoupled                            0                0

    With metadata routing enabled, ``sample_weight`` reaches every base fit:

    >>> import sklearn
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     weighted = LogisticRegression().set_fit_request(sample_weight=True)
    ...     routing = FairUseClassifier(weighted).get_metadata_routing()
    >>> routing.consumes("fit", ["sample_weight"])
    {'sample_weight'}
    """

    _parameter_constraints: dict = {
        **SHARED_CONSTRAINTS,
        "metric": [StrOptions(set(METRICS)), callable],
        "gate_loss": [StrOptions({"auto", "metric", *LOSS_KINDS})],
    }

    def __init__(
        self,
        estimator=None,
        *,
        group_columns=None,
        variants=DEFAULT_VARIANTS,
        metric="error",
        cv=5,
        ensemble=False,
        routing="evidence",
        reporting="all",
        gate_loss="auto",
        gate_family="all",
        min_gain=0.01,
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
        self.cv = cv
        self.ensemble = ensemble
        self.routing = routing
        self.reporting = reporting
        self.gate_loss = gate_loss
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
        return self.classes_

    def _metric(self, metric=None):
        return resolve_metric(self.metric if metric is None else metric, self.classes_)

    def _encode_target(self, y):
        self.classes_, codes = encode_targets(y)
        return codes

    def _prepared_base(self):
        return encode_class_weights(self._base_estimator(), self.classes_)

    def _audit_target(self, y, metric):
        codes = encoded_labels(y, self.classes_, "seen during fit")
        check_metric_support(metric, self.estimators_["generic"], len(self.classes_))
        return codes

    def __sklearn_tags__(self):
        return self._tags_from_base(super().__sklearn_tags__())

    # ------------------------------------------------------------- prediction

    def predict(self, X):
        """Predict classes, each row with its group's routed candidate.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included. A row whose group is withheld
            (missing) gets the generic model.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        codes = self._routed(X, "predict")
        return self.classes_[codes]

    @available_if(base_has("predict_proba"))
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
        """
        return self._routed(X, "predict_proba")

    @available_if(base_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @available_if(base_has("decision_function"))
    def decision_function(self, X):
        """Decision function of each row's routed candidate.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Features, group columns included.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        return self._routed(X, "decision_function")
