"""Rationality and envy-freeness tests of personalized models, and the standalone audit.

A *personalized model* is a map from each group ``g`` to a candidate ``M[g]``
in a pool of candidate predictors (see :mod:`._variants`). Given the evidence
of every candidate on rows of every group:

- rationality of ``M`` for ``g`` compares ``R[g, generic]`` with
  ``R[g, M[g]]``; its gain is ``R[g, generic] - R[g, M[g]]``;
- envy-freeness of ``M`` for ``g`` compares ``R[g, M[g]]`` with
  ``R[g, M[g']]`` for every other group ``g'``; the pair's gap is
  ``R[g, M[g']] - R[g, M[g]]``.

Positive gains and gaps are good for ``g``. Each comparison is tested in both
directions (see :mod:`._stats`), and p-values are adjusted within four
families per model: rationality gains and rationality violations (the tested
groups, at most ``m``), envy-freeness gains and envy-freeness violations (the
tested ordered pairs, at most ``m(m - 1)``).
"""

import numpy as np
from sklearn.base import is_regressor
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._evidence import score_reported
from ._groups import GroupEncoding, column_values, resolve_group_columns
from ._metrics import (
    check_metric_support,
    encode_labels,
    group_risks,
    higher_is_better,
    metric_name,
    resolve_metric,
    risk_matrix,
)
from ._pool import Pool
from ._power import POWER_FIELDS, P
from ._report import FairUseReport
from ._stats import (
    FIELD,
    FIELDS,
    MAX_AUTO_BOOTSTRAP,
    SAME_AS_GENERIC,
    STAT_FIELDS,
    adjust_pvalues,
    check_test_options,
    paired_tests,
)
from ._version import __version__


def fair_use_statistics(
    evidence, risks, assignments, options, *, has_generic=True, verbose=0
):
    """Test rationality and envy-freeness of several personalized models.

    Parameters
    ----------
    evidence : Evidence
        Every candidate's predictions on every row; candidate 0 is generic.
    risks : ndarray of shape (n_groups, C)
        The risk matrix of ``evidence``.
    assignments : ndarray of int of shape (n_models, m)
        Candidate of each group under each model, ``-1`` where a model has
        none for the group.
    options : TestOptions
    has_generic : bool, default=True
        Whether candidate 0 is a generic model (otherwise rationality is not
        tested).
    verbose : int, default=0

    Returns
    -------
    statistics : dict
        ``rationality`` of shape (n_models, m, 7) and ``envy`` of shape
        (n_models, m, m, 7) with the fields :data:`STAT_FIELDS`;
        ``rationality_untested`` and ``envy_untested``, nested lists of the
        reason each comparison was not tested (``""`` if it was);
        ``rationality_power`` and ``envy_power``, the same shapes with the
        fields :data:`~._power.POWER_FIELDS` instead (what the power of each
        test is computed from);
        ``overall_risk`` per model and ``overall_generic``.
    """
    assignments = np.asarray(assignments, dtype=np.intp)
    families = [_rationality_family(assignments, has_generic)]
    families.append(_envy_family(assignments))
    results, reasons, replicates, power = _test_families(
        evidence, risks, families, options, verbose
    )
    overall, overall_generic = _overall_risks(evidence, assignments, has_generic)
    return {
        "n_bootstrap": replicates,
        "rationality": results[0],
        "envy": results[1],
        "rationality_power": power[0],
        "envy_power": power[1],
        "rationality_untested": reasons[0].tolist(),
        "envy_untested": reasons[1].tolist(),
        "overall_risk": overall,
        "overall_generic": np.array([overall_generic]),
    }


def envy_statistics(evidence, risks, routes, options):
    """The envy-freeness tests of one model, ``(m, m, 7)``: what the envy
    repair of evidence-gated routing reads on every turn."""
    routes = np.asarray(routes, dtype=np.intp)[None]
    results, *_ = _test_families(evidence, risks, [_envy_family(routes)], options)
    return results[0][0]


def _rationality_family(assignments, has_generic):
    """Comparisons ``(g, generic, M[g])`` of every model and group."""
    n_models, m = assignments.shape
    groups = np.broadcast_to(np.arange(m), (n_models, m))
    generic = np.full((n_models, m), 0 if has_generic else -1)
    return groups, generic, assignments, _skip_reasons(generic, assignments, "generic")


def _envy_family(assignments):
    """Comparisons ``(g, M[g'], M[g])`` of every model and ordered pair."""
    n_models, m = assignments.shape
    shape = (n_models, m, m)
    groups = np.broadcast_to(np.arange(m)[None, :, None], shape)
    others = np.broadcast_to(assignments[:, None, :], shape)
    own = np.broadcast_to(assignments[:, :, None], shape)
    reasons = _skip_reasons(others, own, "other")
    reasons[:, np.arange(m), np.arange(m)] = "the group itself"
    return groups, others, own, reasons


def _test_families(evidence, risks, families, options, verbose=0):
    """Test each family's comparisons once, adjust the p-values within each
    family of each model, and compute each bound at the level of its adjusted
    test; return the results, the reasons of the untested comparisons and the
    bootstrap replicates used."""
    reasons = [reason for *_, reason in families]
    wanted = [reason == "" for reason in reasons]
    comparisons = np.vstack(
        [
            np.column_stack([g[keep], a[keep], b[keep]])
            for (g, a, b, _), keep in zip(families, wanted)
        ]
    )
    results = [np.full((*reason.shape, len(STAT_FIELDS)), np.nan) for reason in reasons]
    power = [np.full((*reason.shape, len(POWER_FIELDS)), np.nan) for reason in reasons]
    if not len(comparisons):
        return results, reasons, options.n_bootstrap, power
    options = _sized_bootstrap(options, wanted)
    unique, inverse = np.unique(comparisons, axis=0, return_inverse=True)
    tests = paired_tests(evidence, risks, unique, options, verbose)
    untested = np.asarray(tests.untested, dtype=object)
    inverse, start, where = inverse.ravel(), 0, []
    for result, reason, keep, inputs in zip(results, reasons, wanted, power):
        rows = inverse[start : start + keep.sum()]
        result[keep, : len(FIELDS)] = tests.result[rows]
        inputs[keep] = tests.power[rows]
        reason[keep] = untested[rows]
        index = np.full(keep.shape, -1)
        index[keep] = rows
        where.append(index)
        start += keep.sum()
    _adjust(results, power, options)
    for result, index in zip(results, where):
        tested = index >= 0
        entries = result[tested]
        levels = [
            _level(
                options.alpha,
                entries[:, FIELD[raw]],
                entries[:, FIELD[f"{raw}_adjusted"]],
            )
            for raw in ("p_gain", "p_violation")
        ]
        low, high = tests.bounds(*levels, which=index[tested])
        result[tested, FIELD["low"]], result[tested, FIELD["high"]] = low, high
    return results, reasons, options.n_bootstrap, power


def _sized_bootstrap(options, wanted):
    """Options with enough bootstrap replicates for the largest family: a
    bootstrap p-value is at least ``1 / (B + 1)``, so a family of ``K`` tests
    needs ``B + 1 >= 2 K / alpha`` for its smallest adjusted p-value to reach
    ``alpha / 2``."""
    if options.test != "bootstrap":
        return options
    per_model = [keep.reshape(len(keep), -1).sum(axis=1) for keep in wanted]
    if options.family == "model":
        largest = 2 * np.sum(per_model, axis=0).max()
    else:
        largest = max(count.max() for count in per_model)
    needed = int(np.ceil(2 * largest / options.alpha)) - 1
    replicates = min(max(options.n_bootstrap, needed), MAX_AUTO_BOOTSTRAP)
    return options._replace(n_bootstrap=max(options.n_bootstrap, replicates))


def _adjust(results, power, options):
    """Adjusted p-values within each family of each model: the four of each
    condition and direction, or one over all of a model's tests; and the
    level each gain test is planned at, ``alpha`` over the size of its
    family (the first step of Holm's procedure)."""
    for k in range(len(results[0])):
        blocks = [
            (result[k], FIELD[raw], FIELD[f"{raw}_adjusted"], inputs[k])
            for result, inputs in zip(results, power)
            for raw in ("p_gain", "p_violation")
        ]
        if options.family == "model":
            values = np.concatenate(
                [block[..., raw].ravel() for block, raw, _, _ in blocks]
            )
            adjusted = adjust_pvalues(values, options.correction)
            sizes = [(~np.isnan(values)).sum()] * len(blocks)
            start = 0
            for block, _, into, _ in blocks:
                size = block[..., into].size
                block[..., into] = adjusted[start : start + size].reshape(
                    block.shape[:-1]
                )
                start += size
        else:
            sizes = [(~np.isnan(block[..., raw])).sum() for block, raw, _, _ in blocks]
            for block, raw, into, _ in blocks:
                block[..., into] = adjust_pvalues(block[..., raw], options.correction)
        for (_, raw, _, inputs), size in zip(blocks, sizes):
            if raw == FIELD["p_gain"]:
                size = 1 if options.correction == "none" else max(size, 1)
                inputs[..., P["level"]] = options.alpha / size


def _level(alpha, p, adjusted):
    """One-sided level of a bound that excludes 0 exactly when the adjusted
    p-value is at most ``alpha``: ``alpha * p / adjusted``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(adjusted > 0, alpha * p / adjusted, alpha)


def _skip_reasons(reference, candidate, what):
    """Why each comparison of ``candidate`` with ``reference`` is not tested."""
    reasons = np.full(candidate.shape, "", dtype=object)
    if what == "generic":
        same = SAME_AS_GENERIC
        no_reference = "no generic model was given"
    else:
        same = "both groups get the same predictions"
        no_reference = "the model has no candidate for the other group"
    reasons[candidate == reference] = same
    reasons[reference < 0] = no_reference
    reasons[candidate < 0] = "the model has no candidate for this group"
    return reasons


def _overall_risks(evidence, assignments, has_generic):
    """Risk over all grouped rows of each model and of the generic model.

    Groups a model has no candidate for count with the generic model's
    predictions, as they would be served.
    """
    metric, y, group_ids = evidence.metric, evidence.y, evidence.group_ids
    rows = np.flatnonzero(group_ids >= 0)
    pooled_ids = np.zeros(len(rows), dtype=np.intp)
    fallback = 0 if has_generic else -1
    overall = np.full(len(assignments), np.nan)
    for k, model in enumerate(assignments):
        served = np.where(model >= 0, model, fallback)[group_ids[rows]]
        keep = served >= 0
        pooled = evidence.predictions[served[keep], rows[keep]][None]
        overall[k] = group_risks(metric, y[rows[keep]], pooled, pooled_ids[keep], 1)[
            0, 0
        ]
    generic = np.nan
    if has_generic:
        predictions = evidence.predictions[:1, rows]
        generic = group_risks(metric, y[rows], predictions, pooled_ids, 1)[0, 0]
    return overall, generic


def audit_models(evidence, risks, pool, models, assignments, options, **fields):
    """Test every audited model on the evidence and build the report.

    The one place a :class:`FairUseReport` is built from evidence.

    Parameters
    ----------
    evidence : Evidence
    risks : ndarray of shape (n_groups, C)
        The risk matrix of ``evidence``.
    pool : Pool
    models : list of str
        Names of the audited models.
    assignments : ndarray of int of shape (n_models, n_groups)
    options : TestOptions
    **fields : dict
        ``group_columns``, ``groups``, ``variants`` and ``notes``, and
        optionally ``routes``, ``n_withheld``, ``estimated_by`` (how the
        risks were estimated), ``has_generic``, ``selected`` (indices of the
        models whose figures were chosen on this evidence: not tested) and
        ``verbose``.

    Returns
    -------
    report : FairUseReport
    """
    has_generic = fields.pop("has_generic", True)
    statistics = fair_use_statistics(
        evidence,
        risks,
        assignments,
        options,
        has_generic=has_generic,
        verbose=fields.pop("verbose", 0),
    )
    for k in fields.pop("selected", ()):
        _not_graded(statistics, k, "the routes were chosen on this evidence")
    replicates = statistics.pop("n_bootstrap")
    group_ids = evidence.group_ids
    fields["evidence"] = fields.pop("estimated_by", "")
    settings = options._replace(n_bootstrap=replicates).settings(__version__)
    settings["higher_is_better"] = higher_is_better(evidence.metric)
    return FairUseReport(
        metric=evidence.metric,
        n=np.bincount(group_ids[group_ids >= 0], minlength=evidence.n_groups),
        risks=risks,
        candidate_variants=pool.variants.tolist(),
        candidate_groups=pool.groups,
        models=models,
        assignments=assignments,
        statistics=statistics,
        settings=settings,
        **fields,
    )


def _not_graded(statistics, k, reason):
    """Blank model ``k``'s tests: its figures were selected on this evidence,
    so a test of them would not hold its level."""
    for key in ("rationality", "envy"):
        block = statistics[key][k]
        block[..., 1:] = np.nan
        statistics[f"{key}_power"][k][..., P["kind"]] = np.nan
        reasons = np.asarray(statistics[f"{key}_untested"][k], dtype=object)
        reasons[reasons == ""] = reason
        statistics[f"{key}_untested"][k] = reasons.tolist()


def encoded_labels(y, classes, whose):
    """Codes of ``y`` among the fitted ``classes``; a label outside them is
    refused, since no prediction could be right on it and its rows would
    shift every risk."""
    codes = encode_labels(y, classes)
    if (codes < 0).any():
        unseen = sorted(set(np.asarray(y)[codes < 0].tolist()))
        raise ValueError(
            f"y holds the labels {unseen!r}, which are not among the classes "
            f"{whose} {np.asarray(classes).tolist()!r}."
        )
    return codes


def regression_values(y, metric=None):
    """The values of a continuous target, as floats; refused when they are
    not numbers, not finite, or negative for the Poisson deviance."""
    try:
        values = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "y must hold numbers to audit a regressor; it holds values such as "
            f"{np.asarray(y, dtype=object)[:3].tolist()!r}."
        ) from error
    if not np.isfinite(values).all():
        raise ValueError(
            f"y holds {int((~np.isfinite(values)).sum())} NaN or infinite "
            "value(s); every audited row needs a finite target value."
        )
    if metric == "poisson" and (values < 0).any():
        raise ValueError(
            "metric='poisson' is the deviance of counts and needs a non-negative "
            f"target; y has {int((values < 0).sum())} negative value(s). Use "
            "metric='squared_error' or 'absolute_error'."
        )
    return values


def empty_report(metric):
    """The report of a classifier fitted without group columns."""
    return FairUseReport(
        metric=metric_name(metric),
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


# ---------------------------------------------------------------- standalone


def audit_fair_use(
    personalized,
    X,
    y,
    *,
    group_columns,
    generic=None,
    metric=None,
    quantile=0.5,
    test="auto",
    alpha=0.1,
    correction="holm",
    family="condition",
    n_bootstrap=1000,
    random_state=None,
    verbose=0,
):
    """Audit a fitted model's use of group attributes on labelled data.

    Checks both fair-use conditions for every intersectional group ``g`` of
    the group columns, with paired tests on the rows of ``X``:

    - *rationality*: ``g`` gets lower risk from ``personalized`` than from
      ``generic``, a model that does not use the group attributes;
    - *envy-freeness*: ``g`` gets lower risk from its own predictions than
      from the predictions ``personalized`` makes when ``g``'s rows report
      another group ``g'`` (their group columns overwritten with ``g'``).

    Use data the models were not trained on.

    Parameters
    ----------
    personalized : fitted estimator
        Any fitted classifier or regressor (a Pipeline, say) that takes ``X``
        with the group columns inside. A regressor (scikit-learn's
        ``is_regressor``) is audited on the losses of a continuous target.
    X : {array-like, DataFrame} of shape (n_samples, n_features)
        Features with the group columns. Rows with a missing group value are
        left out of the audit and counted as withheld.
    y : array-like of shape (n_samples,)
        True labels, or true values for a regressor.
    group_columns : str, int or sequence of str or int
        Names (DataFrame input) or positions of the group columns.
    generic : fitted estimator, default=None
        A model of the same task that takes ``X`` without the group columns.
        ``None`` audits envy-freeness only.
    metric : str or callable, default=None
        Risk to compare (lower is better). For a classifier ``"error"`` (the
        default), ``"fnr"``, ``"fpr"``, ``"balanced_error"``, ``"auc"``,
        ``"ece"``, ``"log_loss"``, ``"brier"``, an sklearn scorer or a
        per-row loss function, as in
        :class:`~fairuse_estimators.FairUseClassifier`; for a regressor
        ``"squared_error"`` (the default), ``"absolute_error"``,
        ``"pinball"`` or ``"poisson"``, as in
        :class:`~fairuse_estimators.FairUseRegressor`.
    quantile : float in (0, 1), default=0.5
        The quantile of ``metric="pinball"``.
    test : {"auto", "bootstrap", "mcnemar", "delong"}, default="auto"
        Paired test: ``"auto"`` is the exact McNemar test for ``error``,
        ``fnr`` and ``fpr``, DeLong's test for ``auc`` and the bootstrap
        otherwise (the larger
        p-value of a paired t-test and a bootstrap-t for log loss, Brier and
        the regression losses, the t-test alone from 5,000 rows; a recentred
        percentile bootstrap for ECE).
    alpha : float in (0, 1), default=0.1
        Significance level of every one-sided verdict, after correction.
        Each bound of a gain's interval is one-sided, at the level of its
        corrected test, so that it excludes 0 exactly when its verdict is
        significant.
    correction : {"holm", "bonferroni", "none"}, default="holm"
        Family-wise correction within each family of ``family``.
    family : {"condition", "model"}, default="condition"
        ``"condition"``: each model has four families, rationality gains and
        rationality violations (one test per tested group, at most ``m``),
        envy-freeness gains and envy-freeness violations (one test per tested
        ordered pair of groups, at most ``m(m - 1)``); each produces a false
        verdict with probability at most ``alpha``, so any of a model's
        verdicts may be false with probability up to ``4 alpha``.
        ``"model"``: one family per model over all of these tests, the
        paper's correction over every condition of its Definition 1: any
        false verdict about the model has probability at most ``alpha``.
    n_bootstrap : int, default=1000
        Bootstrap replicates, when the test is the bootstrap. A bootstrap
        p-value is at least ``1 / (B + 1)``, so ``B`` is raised on its own,
        up to 50,000, until the largest family can reach ``alpha``.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap resampling.
    verbose : int, default=0
        1 prints one line to stderr as the tests start, ``"<test>: K tests
        on m groups"``; 2 and more one ``"<test>: group k/m"`` line per
        group.

    Returns
    -------
    report : FairUseReport
        One audited model named ``"personalized"``; see
        :meth:`FairUseReport.to_frame`, :meth:`FairUseReport.envy_frame` and
        :meth:`FairUseReport.summary_table`.

    See Also
    --------
    FairUseClassifier.audit : Audit a routed classifier and its variants.

    Notes
    -----
    A comparison is *untested*, with the reason recorded, when the group has
    too few rows for the test (fewer than 20 for the bootstrap), fewer than
    10 rows of a class for ``auc``, fewer than 10 rows where the two losses
    differ for the bootstrap of a loss difference, or when both sides are the
    same predictor; untested comparisons never pass and are not in the
    families.

    Every test keeps its level on the null worlds of ``benchmarks/
    validity.py`` (exchangeable candidates, candidates that trade errors
    between the classes, skewed loss differences, a prevalence of 0.2, and
    calibrated candidates of different sharpness for ECE) at 30, 60 and 200
    rows, within two binomial standard errors; the size tables are in the
    documentation's benchmarks page.

    Examples
    --------
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> from fairuse_estimators import audit_fair_use
    >>> from fairuse_estimators.datasets import load_heart
    >>> X, y = load_heart(return_X_y=True)
    >>> groups = ["sex", "age_group"]
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, test_size=0.5, random_state=0, stratify=y)
    >>> onehot = make_pipeline(
    ...     make_column_transformer((OneHotEncoder(), groups),
    ...                             remainder=StandardScaler()),
    ...     LogisticRegression()).fit(X_train, y_train)
    >>> generic = make_pipeline(StandardScaler(), LogisticRegression()).fit(
    ...     X_train.drop(columns=groups), y_train)
    >>> report = audit_fair_use(onehot, X_test, y_test, group_columns=groups,
    ...                         generic=generic)
    >>> report.to_frame()[["n", "gain", "rationality", "envy_freeness"]].round(3)
                       n   gain   rationality envy_freeness
    sex    age_group
    female 60+        18 -0.056    untestable    untestable
           <60        32  0.031    untestable    untestable
    male   60+        25 -0.040    untestable    untestable
           <60        77  0.000  inconclusive  inconclusive
    """
    if metric is None:
        metric = "squared_error" if _is_regressor(personalized) else "error"
    options = check_test_options(
        metric, test, alpha, correction, n_bootstrap, random_state, family
    )
    X, y = _check_audited(personalized, generic, X, y)
    names = list(map(str, X.columns)) if hasattr(X, "columns") else None
    positions = resolve_group_columns(group_columns, X.shape[1], names)
    column_names = [names[j] if names else f"x{j}" for j in positions]
    encoding = GroupEncoding()
    group_ids = encoding.fit([column_values(X, j) for j in positions], column_names)
    rows = np.flatnonzero(group_ids >= 0)
    if not len(rows):
        raise ValueError(
            f"Every row of X has a missing value in the group columns "
            f"{column_names!r}; there is no group to audit."
        )
    X_rows = X.iloc[rows] if hasattr(X, "iloc") else X[rows]
    classes, metric, codes = _audited_target(
        personalized, generic, y, rows, metric, quantile
    )
    m = encoding.n_groups
    evidence = score_reported(
        personalized, generic, X_rows, positions, group_ids[rows], codes, classes,
        metric,
    )  # fmt: skip
    risks = risk_matrix(evidence)
    if generic is None:
        risks[:, 0] = np.nan
    pool = Pool(np.array(["generic"] + ["personalized"] * m), np.arange(-1, m), m)
    variants = ["personalized"] if generic is None else ["generic", "personalized"]
    return audit_models(
        evidence, risks, pool, ["personalized"], np.arange(1, m + 1)[None], options,
        group_columns=column_names, groups=encoding.groups, variants=variants,
        notes=[""] * m, n_withheld=len(y) - len(rows),
        estimated_by=f"{len(rows)} audited rows", has_generic=generic is not None,
        verbose=verbose,
    )  # fmt: skip


def _audited_target(personalized, generic, y, rows, metric, quantile):
    """The classes (``None`` for a regressor), the resolved metric and the
    target of the audited ``rows``: label codes, or values."""
    if _is_regressor(personalized):
        metric = resolve_metric(metric, None, quantile)
        return None, metric, regression_values(y[rows], metric)
    classes = _audit_classes(personalized, generic, y)
    metric = resolve_metric(metric, classes)
    for estimator in (personalized, generic):
        if estimator is not None:
            check_metric_support(metric, estimator, len(classes))
    return classes, metric, np.searchsorted(classes, y[rows])


def _is_regressor(estimator):
    """scikit-learn's ``is_regressor``, for any object with ``predict``: one
    without scikit-learn's tags is a classifier unless it says otherwise."""
    try:
        return is_regressor(estimator)
    except AttributeError:
        return getattr(estimator, "_estimator_type", None) == "regressor"


def _check_audited(personalized, generic, X, y):
    """Fitted models of one task, a 2-D ``X`` and a ``y`` of the same length."""
    check_is_fitted(personalized)
    if generic is not None:
        check_is_fitted(generic)
        if _is_regressor(generic) != _is_regressor(personalized):
            kinds = {True: "regressor", False: "classifier"}
            raise ValueError(
                f"generic is a {kinds[_is_regressor(generic)]} "
                f"({type(generic).__name__}) and personalized a "
                f"{kinds[_is_regressor(personalized)]} "
                f"({type(personalized).__name__}); the generic model must "
                "predict what the personalized one does."
            )
    if not hasattr(X, "iloc"):
        X = np.asarray(X, dtype=object if isinstance(X, list | tuple) else None)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional; got shape {X.shape}.")
    y = column_or_1d(y)
    if len(y) != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but y has {len(y)} values; they must match."
        )
    return X, y


def _audit_classes(personalized, generic, y):
    """Classes the evidence is encoded against: those the models were fitted
    on. A label in ``y`` that the personalized model never saw is refused, as
    :meth:`FairUseClassifier.audit` refuses it: no prediction could be right
    on it, and its rows would distort every risk."""
    fitted = getattr(personalized, "classes_", None)
    if fitted is None:
        known = [getattr(generic, "classes_", [])] if generic is not None else []
        return np.unique(np.concatenate([y, *known]))
    classes = np.sort(fitted)
    encoded_labels(y, classes, "the personalized model was fitted on")
    generic_classes = getattr(generic, "classes_", None)
    if generic_classes is not None and not np.array_equal(
        np.sort(generic_classes), classes
    ):
        raise ValueError(
            f"The generic model was fitted on the classes "
            f"{np.asarray(generic_classes).tolist()!r} and the personalized one on "
            f"{classes.tolist()!r}; fit both on the same labels."
        )
    return classes
