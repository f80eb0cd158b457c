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
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._evidence import score_reported
from ._groups import GroupEncoding, column_values, resolve_group_columns
from ._metrics import check_metric_support, group_risks, risk_matrix
from ._pool import Pool
from ._report import FairUseReport
from ._stats import (
    FIELDS,
    SAME_AS_GENERIC,
    STAT_FIELDS,
    adjust_pvalues,
    check_test_options,
    paired_tests,
)
from ._variants import encode_labels
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
        ``overall_risk`` per model and ``overall_generic``.
    """
    assignments = np.asarray(assignments, dtype=np.intp)
    families = [_rationality_family(assignments, has_generic)]
    families.append(_envy_family(assignments))
    results, reasons = _test_families(evidence, risks, families, options, verbose)
    overall, overall_generic = _overall_risks(evidence, assignments, has_generic)
    return {
        "rationality": results[0],
        "envy": results[1],
        "rationality_untested": reasons[0].tolist(),
        "envy_untested": reasons[1].tolist(),
        "overall_risk": overall,
        "overall_generic": np.array([overall_generic]),
    }


def envy_statistics(evidence, risks, routes, options):
    """The envy-freeness tests of one model, ``(m, m, 7)``: what the envy
    repair of evidence-gated routing reads on every turn."""
    routes = np.asarray(routes, dtype=np.intp)[None]
    results, _ = _test_families(evidence, risks, [_envy_family(routes)], options)
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
    """Test each family's comparisons once and adjust within each family and
    model; return the results and the reasons of the untested ones."""
    reasons = [reason for *_, reason in families]
    wanted = [reason == "" for reason in reasons]
    comparisons = np.vstack(
        [
            np.column_stack([g[keep], a[keep], b[keep]])
            for (g, a, b, _), keep in zip(families, wanted)
        ]
    )
    results = [np.full((*reason.shape, len(STAT_FIELDS)), np.nan) for reason in reasons]
    if len(comparisons):
        unique, inverse = np.unique(comparisons, axis=0, return_inverse=True)
        tested, untested = paired_tests(evidence, risks, unique, options, verbose)
        untested = np.asarray(untested, dtype=object)
        inverse = inverse.ravel()
        start = 0
        for result, reason, keep in zip(results, reasons, wanted):
            rows = inverse[start : start + keep.sum()]
            result[keep, : len(FIELDS)] = tested[rows]
            reason[keep] = untested[rows]
            start += keep.sum()
    for result in results:
        for k in range(len(result)):
            for raw, adjusted in ((3, 5), (4, 6)):
                result[k, ..., adjusted] = adjust_pvalues(
                    result[k, ..., raw], options.correction
                )
    return results, reasons


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
        risks were estimated), ``has_generic`` and ``verbose``.

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
    group_ids = evidence.group_ids
    fields["evidence"] = fields.pop("estimated_by", "")
    return FairUseReport(
        metric=evidence.metric,
        n=np.bincount(group_ids[group_ids >= 0], minlength=evidence.n_groups),
        risks=risks,
        candidate_variants=pool.variants.tolist(),
        candidate_groups=pool.groups,
        models=models,
        assignments=assignments,
        statistics=statistics,
        settings=options.settings(__version__),
        **fields,
    )


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


def empty_report(metric):
    """The report of a classifier fitted without group columns."""
    return FairUseReport(
        metric=metric,
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
    metric="error",
    test="auto",
    alpha=0.1,
    correction="holm",
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
        Any fitted classifier (a Pipeline, say) that takes ``X`` with the
        group columns inside.
    X : {array-like, DataFrame} of shape (n_samples, n_features)
        Features with the group columns. Rows with a missing group value are
        left out of the audit and counted as withheld.
    y : array-like of shape (n_samples,)
        True labels.
    group_columns : str, int or sequence of str or int
        Names (DataFrame input) or positions of the group columns.
    generic : fitted estimator, default=None
        A classifier that takes ``X`` without the group columns. ``None``
        audits envy-freeness only.
    metric : {"error", "auc", "ece", "log_loss", "brier"}, default="error"
        Risk to compare (lower is better), as in
        :class:`~fairuse_estimators.FairUseClassifier`.
    test : {"auto", "bootstrap", "mcnemar", "delong"}, default="auto"
        Paired test: ``"auto"`` is the exact McNemar test for ``error``,
        DeLong's test for ``auc`` and the bootstrap otherwise.
    alpha : float in (0, 1), default=0.1
        Significance level of every verdict, after correction; intervals
        have two-sided level ``1 - alpha``.
    correction : {"holm", "bonferroni", "none"}, default="holm"
        Family-wise correction. Each model has four families: rationality
        gains and rationality violations (one test per tested group, at most
        ``m``), envy-freeness gains and envy-freeness violations (one test
        per tested ordered pair of groups, at most ``m(m - 1)``). Under the
        null hypothesis that no group's risk differs, each family produces a
        false verdict with probability at most ``alpha``.
    n_bootstrap : int, default=1000
        Bootstrap replicates, when the test is the bootstrap.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap resampling.
    verbose : int, default=0
        When positive, print the progress of the tests to stderr, one
        ``"<test>: group k/m"`` line per group.

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
    too few rows for the test (fewer than 20 for the bootstrap and DeLong's
    test), a single class for ``auc``, or when both sides are the same
    predictor; untested comparisons never pass and are not in the families.

    The exact McNemar test keeps its level at any group size. DeLong's test
    and the percentile bootstrap are large-sample approximations: in
    simulated null worlds with 60 rows per group, the bootstrap's family-wise
    rate at ``alpha=0.1`` was about 0.11, and at or below 0.1 with 200 rows
    per group.

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
    female 60+        18 -0.056  inconclusive  inconclusive
           <60        32  0.031  inconclusive  inconclusive
    male   60+        25 -0.040  inconclusive  inconclusive
           <60        77  0.000  inconclusive  inconclusive
    """
    options = check_test_options(
        metric, test, alpha, correction, n_bootstrap, random_state
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
    classes = _audit_classes(personalized, generic, y)
    for estimator in (personalized, generic):
        if estimator is not None:
            check_metric_support(metric, estimator, len(classes))
    m = encoding.n_groups
    codes = np.searchsorted(classes, y[rows])
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


def _check_audited(personalized, generic, X, y):
    """Fitted models, a 2-D ``X`` and a ``y`` of the same length."""
    check_is_fitted(personalized)
    if generic is not None:
        check_is_fitted(generic)
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
