"""Model selection on fair use: a scorer and a refit rule for GridSearchCV.

Groups travel inside ``X``, so a scorer receives everything it needs from
scikit-learn's usual ``scorer(estimator, X, y)`` call: it audits the fitted
:class:`~fairuse_estimators.FairUseClassifier` (at the end of a Pipeline or
alone) on the validation rows and returns one figure of the report, higher
is better. :func:`refit_without_violations` picks, among the settings whose
audits found no significant violation in any fold, the one with the best
score.
"""

import numpy as np
from sklearn.pipeline import Pipeline

from ._classifier import FairUseClassifier

#: Statistic name: (column of ``summary_table``, sign making higher better).
STATISTICS = {
    "gain": ("gain", 1.0),
    "worst_group_gain": ("worst_group_gain", 1.0),
    "violations": (("rationality_violations", "envy_violations"), -1.0),
    "harmed_groups": ("harmed_groups", -1.0),
}


class FairUseScorer:
    """Callable ``scorer(estimator, X, y)`` auditing a fitted classifier.

    Made by :func:`make_fair_use_scorer`; see there.
    """

    def __init__(self, statistic, model, audit_params):
        self.statistic = statistic
        self.model = model
        self.audit_params = dict(audit_params)

    def __call__(self, estimator, X, y):
        final, X = estimator, X
        if isinstance(estimator, Pipeline):
            final = estimator[-1]
            X = estimator[:-1].transform(X)
        if not isinstance(final, FairUseClassifier):
            raise TypeError(
                "A fair-use scorer audits a fitted FairUseClassifier, alone or "
                f"as the last step of a Pipeline; got {type(final).__name__}. "
                "Use audit_fair_use to audit another model."
            )
        report = final.audit(X, y, **self.audit_params)
        table = report.summary_table()
        if self.model not in table.index:
            raise ValueError(
                f"The audit has no model {self.model!r}; its models are "
                f"{list(table.index)!r}."
            )
        columns, sign = STATISTICS[self.statistic]
        columns = (columns,) if isinstance(columns, str) else columns
        return sign * float(sum(table.loc[self.model, c] for c in columns))

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.audit_params.items())
        return f"make_fair_use_scorer({self.statistic!r}, model={self.model!r}{extra})"


def make_fair_use_scorer(statistic="worst_group_gain", *, model="routed", **audit):
    """A scorer for model selection on fair use, higher is better.

    The scorer audits the fitted
    :class:`~fairuse_estimators.FairUseClassifier` (alone, or the last step
    of a Pipeline, whose earlier steps transform ``X`` first) on the rows it
    is given, with :meth:`~fairuse_estimators.FairUseClassifier.audit`, and
    returns one figure of the report's
    :meth:`~fairuse_estimators.FairUseReport.summary_table`. Pass it to
    ``GridSearchCV(scoring=...)``, alone or next to an accuracy score.

    Parameters
    ----------
    statistic : {"worst_group_gain", "gain", "violations", \
"harmed_groups"}, default="worst_group_gain"
        - ``"worst_group_gain"``: the smallest gain over the generic model
          of any group (negative when some group is worse off);
        - ``"gain"``: the gain over all audited rows;
        - ``"violations"``: minus the number of groups with a significant
          rationality or envy-freeness violation (0 is best);
        - ``"harmed_groups"``: minus the number of groups whose risk is
          above the generic model's, significant or not.
    model : str, default="routed"
        The audited model to score: ``"routed"`` or a variant.
    **audit : dict
        Passed to :meth:`~fairuse_estimators.FairUseClassifier.audit`:
        ``metric``, ``test``, ``alpha``, ``correction``, ``family``,
        ``n_bootstrap``, ``random_state``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.

    See Also
    --------
    refit_without_violations : Pick the best setting with no violation.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fairuse_estimators import (FairUseClassifier, make_fair_use_scorer,
    ...                                 refit_without_violations)
    >>> from fairuse_estimators.datasets import load_heart
    >>> X, y = load_heart(return_X_y=True)
    >>> base = make_pipeline(StandardScaler(), LogisticRegression())
    >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
    ...                         cv=3, random_state=0)
    >>> scoring = {"accuracy": "accuracy",
    ...            "violations": make_fair_use_scorer("violations")}
    >>> search = GridSearchCV(
    ...     clf, {"estimator__logisticregression__C": [0.01, 1.0]}, cv=3,
    ...     scoring=scoring, refit=refit_without_violations("accuracy"),
    ... ).fit(X, y)
    >>> search.cv_results_["mean_test_violations"].tolist()
    [0.0, 0.0]
    >>> search.best_params_
    {'estimator__logisticregression__C': 1.0}
    """
    if statistic not in STATISTICS:
        raise ValueError(
            f"statistic must be one of {sorted(STATISTICS)!r}; got {statistic!r}."
        )
    allowed = {"metric", "test", "alpha", "correction", "family"}
    allowed |= {"n_bootstrap", "random_state"}
    unknown = sorted(set(audit) - allowed)
    if unknown:
        raise TypeError(
            f"make_fair_use_scorer got unknown audit parameters {unknown!r}; "
            f"the audit takes {sorted(allowed)!r}."
        )
    return FairUseScorer(statistic, model, audit)


def refit_without_violations(score, violations="violations"):
    """A ``refit`` rule for ``GridSearchCV``: the best score without violations.

    Among the settings whose fair-use audits found no significant violation
    in any validation fold (``mean_test_<violations>`` of 0, from a
    ``make_fair_use_scorer("violations")`` scorer), the one with the highest
    ``mean_test_<score>``; when every setting had some violation, the one
    with the fewest, then the best score. Population-level scores alone pick
    settings that harm groups; this rule never does so while another
    setting shows no violation.

    Parameters
    ----------
    score : str
        Name of the scorer to maximize, as in ``GridSearchCV(scoring=...)``.
    violations : str, default="violations"
        Name of the ``make_fair_use_scorer("violations")`` scorer.

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> int``, the index of the chosen setting.

    Examples
    --------
    >>> import numpy as np
    >>> from fairuse_estimators import refit_without_violations
    >>> rule = refit_without_violations("accuracy")
    >>> results = {"mean_test_accuracy": np.array([0.90, 0.85, 0.80]),
    ...            "mean_test_violations": np.array([-1.0, 0.0, 0.0])}
    >>> rule(results)
    1
    """

    def refit(cv_results):
        try:
            scores = np.asarray(cv_results[f"mean_test_{score}"], dtype=float)
            found = np.asarray(cv_results[f"mean_test_{violations}"], dtype=float)
        except KeyError as exc:
            raise KeyError(
                f"refit_without_violations needs the scorers {score!r} and "
                f"{violations!r} in GridSearchCV(scoring=...); cv_results_ has "
                f"no {exc.args[0]!r}."
            ) from None
        scores = np.where(np.isnan(scores), -np.inf, scores)
        fewest = np.nanmax(found) if np.isfinite(found).any() else 0.0
        allowed = np.flatnonzero(np.nan_to_num(found, nan=-np.inf) >= fewest)
        return int(allowed[np.argmax(scores[allowed])])

    refit.__name__ = f"refit_without_violations({score!r})"
    return refit
