"""Model selection on fair use: the scorer and the refit rule."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from fairuse_estimators import (
    FairUseClassifier,
    make_fair_use_scorer,
    refit_without_violations,
)

GROUPS = ["sex", "age_group"]


@pytest.fixture(scope="module")
def split(heart):
    X, y = heart
    return train_test_split(X, y, test_size=0.4, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def fitted(split):
    X_train, _, y_train, _ = split
    clf = FairUseClassifier(
        LogisticRegression(max_iter=5000), group_columns=GROUPS, cv=3, random_state=0
    )
    return clf.fit(X_train, y_train)


@pytest.mark.parametrize(
    ("statistic", "columns", "sign"),
    [
        ("worst_group_gain", ["worst_group_gain"], 1),
        ("gain", ["gain"], 1),
        ("violations", ["rationality_violations", "envy_violations"], -1),
        ("harmed_groups", ["harmed_groups"], -1),
    ],
)
def test_scorer_reads_the_audit_of_the_rows_it_is_given(
    fitted, split, statistic, columns, sign
):
    """Check that each statistic is the figure of the audit on the same rows,
    signed so that higher is better."""
    _, X_test, _, y_test = split
    table = fitted.audit(X_test, y_test, random_state=0).summary_table()
    expected = sign * sum(table.loc["routed", c] for c in columns)
    scorer = make_fair_use_scorer(statistic, random_state=0)
    assert scorer(fitted, X_test, y_test) == pytest.approx(expected)
    onehot = make_fair_use_scorer(statistic, model="onehot", random_state=0)
    expected = sign * sum(table.loc["onehot", c] for c in columns)
    assert onehot(fitted, X_test, y_test) == pytest.approx(expected)


def test_scorer_audits_the_last_step_of_a_pipeline(split):
    """Check that in a Pipeline the earlier steps transform X before the
    audit of the final classifier."""
    X_train, X_test, y_train, y_test = split
    # The first step doubles the features, so the audit must see its output.
    features = [c for c in X_train.columns if c not in GROUPS]
    double = FunctionTransformer(lambda X: X.assign(**{c: 2 * X[c] for c in features}))
    clf = FairUseClassifier(
        LogisticRegression(max_iter=5000), group_columns=GROUPS, cv=3, random_state=0
    )
    pipe = Pipeline([("double", double), ("clf", clf)]).fit(X_train, y_train)
    scorer = make_fair_use_scorer("gain", random_state=0)
    doubled = double.transform(X_test)
    expected = pipe[-1].audit(doubled, y_test, random_state=0).summary_table()
    assert scorer(pipe, X_test, y_test) == pytest.approx(expected.loc["routed", "gain"])


def test_scorer_refuses_what_it_cannot_audit(fitted, split):
    """Check the errors: another estimator, an unknown statistic, audit
    parameter or model."""
    X_train, X_test, y_train, y_test = split
    plain = LogisticRegression(max_iter=5000).fit(X_train.drop(columns=GROUPS), y_train)
    with pytest.raises(TypeError, match="audits a fitted FairUseClassifier"):
        make_fair_use_scorer()(plain, X_test.drop(columns=GROUPS), y_test)
    with pytest.raises(ValueError, match="statistic must be one of"):
        make_fair_use_scorer("accuracy")
    with pytest.raises(TypeError, match=r"unknown audit parameters \['alpah'\]"):
        make_fair_use_scorer(alpah=0.05)
    with pytest.raises(ValueError, match="no model 'ensemble'"):
        make_fair_use_scorer(model="ensemble")(fitted, X_test, y_test)
    assert "violations" in repr(make_fair_use_scorer("violations", alpha=0.05))


def test_refit_prefers_the_best_setting_without_violations():
    """Check the rule: the best score among settings with no violation; with
    violations everywhere, the fewest, then the best score."""
    rule = refit_without_violations("accuracy")
    results = {
        "mean_test_accuracy": np.array([0.95, 0.90, 0.85, 0.80]),
        "mean_test_violations": np.array([-2.0, 0.0, -1.0, 0.0]),
    }
    assert rule(results) == 1
    results["mean_test_violations"] = np.array([-2.0, -1.0, -1.0, -3.0])
    assert rule(results) == 1
    results["mean_test_accuracy"][1] = np.nan  # a failed setting never wins
    assert rule(results) == 2
    with pytest.raises(KeyError, match="needs the scorers 'auc' and 'violations'"):
        refit_without_violations("auc")(results)


def test_grid_search_selects_with_the_fair_use_scorer(heart):
    """Check the scorer and the rule inside GridSearchCV: every setting is
    audited on its validation folds and the refit rule chooses the best."""
    X, y = heart
    clf = FairUseClassifier(
        LogisticRegression(max_iter=5000), group_columns=GROUPS, cv=3, random_state=0
    )
    scoring = {
        "accuracy": "accuracy",
        "violations": make_fair_use_scorer("violations"),
        "worst": make_fair_use_scorer("worst_group_gain"),
    }
    rule = refit_without_violations("accuracy")
    search = GridSearchCV(
        clf, {"variants": [("generic", "onehot"), ("generic", "decoupled")],
              "routing": ["best", "evidence"]},
        cv=3, scoring=scoring, refit=rule,
    ).fit(X, y)  # fmt: skip
    violations = search.cv_results_["mean_test_violations"]
    assert (violations <= 0).all() and np.isfinite(
        search.cv_results_["mean_test_worst"]
    ).all()
    assert search.best_index_ == rule(search.cv_results_)
    assert (
        search.best_estimator_.get_params()["routing"]
        == (search.cv_results_["params"][search.best_index_]["routing"])
    )
