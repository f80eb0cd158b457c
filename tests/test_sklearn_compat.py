"""scikit-learn's estimator checks on FairUseClassifier and FairUseRegressor."""

import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from fairuse_estimators import FairUseClassifier, FairUseRegressor

ESTIMATORS = [
    FairUseClassifier(LogisticRegression(), group_columns=None),
    FairUseClassifier(LogisticRegression(), group_columns=[0], cv=3, random_state=0),
    FairUseClassifier(
        LogisticRegression(), group_columns=[0], cv=3, routing="best", random_state=0
    ),
    # The fold models deployed, with routes off the generic model to exercise.
    FairUseClassifier(
        LogisticRegression(),
        group_columns=[0],
        cv=3,
        routing="best",
        ensemble=True,
        random_state=0,
    ),  # fmt: skip
    FairUseClassifier(
        LogisticRegression(),
        group_columns=[0],
        cv=3,
        reporting="sequential",
        random_state=0,
    ),  # fmt: skip
    # One model per group fitted on every row, the others' rows weighted down.
    FairUseClassifier(
        LogisticRegression(),
        group_columns=[0],
        cv=3,
        routing="best",
        variants=("generic", "partially_pooled"),
        random_state=0,
    ),  # fmt: skip
    FairUseRegressor(LinearRegression(), group_columns=None),
    FairUseRegressor(LinearRegression(), group_columns=[0], cv=3, random_state=0),
    FairUseRegressor(
        LinearRegression(),
        group_columns=[0],
        cv=3,
        routing="best",
        ensemble=True,
        random_state=0,
    ),  # fmt: skip
]


def _expected_failed_checks(estimator):
    if estimator.group_columns is None:
        return {}
    # The checks put their odd values in column 0, which is the group column here.
    expected = {
        "check_estimators_nan_inf": (
            "a missing group value means the group was withheld: those rows get "
            "the generic model by design"
        ),
        "check_dtype_object": (
            "a dict in the group column raises a TypeError naming the column, "
            "not the message of a failed float conversion"
        ),
    }
    if estimator.routing == "evidence" and isinstance(estimator, FairUseClassifier):
        expected["check_classifiers_train"] = (
            "column 0 makes every row its own group; no single row is significant "
            "evidence, so every group keeps the generic model, which does not see "
            "column 0, and training accuracy stays below the check's 0.83"
        )
    blind = not {"onehot", "intersectional"} & set(estimator.variants)
    if blind and isinstance(estimator, FairUseClassifier):
        expected["check_classifiers_train"] = (
            "column 0 makes every row its own group, and without a one-hot or "
            "intersectional variant no candidate sees column 0 (each group's "
            "model uses the other columns), so training accuracy stays below "
            "the check's 0.83"
        )
    return expected


# The checks' data make the continuous column 0 the group column, so new rows
# carry unseen group values and there are as many groups as rows; the warnings
# are the documented behaviour.
@pytest.mark.filterwarnings("ignore::fairuse_estimators.exceptions.UnseenGroupWarning")
@pytest.mark.filterwarnings("ignore::fairuse_estimators.exceptions.ManyGroupsWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    """Check that both estimators pass scikit-learn's estimator checks."""
    check(estimator)
