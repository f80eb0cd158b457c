"""FairUseClassifier inside the sklearn ecosystem: pipelines, search, persistence."""

import joblib
import numpy as np
import pytest
from conftest import HEART_GROUPS
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fairuse_estimators import FairUseClassifier


def _pipeline():
    scale = ColumnTransformer(
        [("scale", StandardScaler(), ["rest_sbp", "cholesterol", "max_hr"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    clf = FairUseClassifier(
        LogisticRegression(max_iter=2000), group_columns=HEART_GROUPS, random_state=0
    )
    return Pipeline([("prep", scale), ("clf", clf)])


def test_pipeline_with_column_transformer(heart):
    """Check that group columns pass through a pandas ColumnTransformer."""
    X, y = heart
    pipe = _pipeline().fit(X, y)
    clf = pipe[-1]
    assert set(clf.feature_names_in_) == set(X.columns)
    assert len(clf.groups_) == 4
    assert pipe.score(X, y) > 0.8
    assert_allclose(pipe.predict_proba(X), clf.predict_proba(pipe[0].transform(X)))


def test_grid_search_over_base_parameter(heart):
    """Check that GridSearchCV tunes the base estimator through estimator__C."""
    X, y = heart
    pipe = _pipeline()
    search = GridSearchCV(pipe, {"clf__estimator__C": [0.01, 1.0]}, cv=3).fit(X, y)
    best_c = search.best_params_["clf__estimator__C"]
    fitted = search.best_estimator_[-1]
    assert fitted.estimators_["generic"].C == best_c
    assert fitted.estimators_["onehot"].C == best_c
    assert search.cv_results_["mean_test_score"].shape == (2,)


@pytest.mark.parametrize("scoring", ["accuracy", "roc_auc"])
def test_cross_val_score(heart, scoring):
    """Check cross_val_score against a manual loop over the same folds."""
    X, y = heart
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(_pipeline(), X, y, scoring=scoring, cv=folds)
    expected = []
    for train, test in folds.split(X, y):
        model = _pipeline().fit(X.iloc[train], y[train])
        if scoring == "accuracy":
            expected.append(model.score(X.iloc[test], y[test]))
        else:
            proba = model.predict_proba(X.iloc[test])[:, 1]
            expected.append(roc_auc_score(y[test], proba))
    assert_allclose(scores, expected)


def test_clone_keeps_parameters_and_drops_fit(heart):
    """Check that clone copies parameters and no fitted state."""
    X, y = heart
    clf = FairUseClassifier(
        make_pipeline(StandardScaler(), LogisticRegression(C=0.5)),
        group_columns=HEART_GROUPS,
        variants=("generic", "onehot"),
        cv=0.3,
    ).fit(X, y)
    copy = clone(clf)
    assert copy.get_params()["estimator__logisticregression__C"] == 0.5
    assert copy.variants == ("generic", "onehot") and copy.cv == 0.3
    assert not hasattr(copy, "estimators_")


def _assert_same_model(loaded, original, X):
    assert_array_equal(loaded.predict(X), original.predict(X))
    assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))
    assert dict(loaded.routing_) == dict(original.routing_)
    report, expected = loaded.audit_report_, original.audit_report_
    assert report.to_frame().equals(expected.to_frame())


def test_joblib_round_trip(heart, tmp_path):
    """Check that a joblib round trip predicts identically."""
    X, y = heart
    pipe = _pipeline().fit(X, y)
    joblib.dump(pipe, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    _assert_same_model(loaded[-1], pipe[-1], pipe[0].transform(X))
    assert_array_equal(loaded.predict(X), pipe.predict(X))


@pytest.mark.parametrize("numpy_input", [False, True])
def test_skops_round_trip_trusts_only_package_types(heart, tmp_path, numpy_input):
    """Check that skops loads a fitted model trusting only this package's types."""
    sio = pytest.importorskip("skops.io")
    X, y = heart
    if numpy_input:
        X = X.to_numpy(dtype=object)
        groups = [18, 19]
    else:
        groups = HEART_GROUPS
    clf = FairUseClassifier(
        LogisticRegression(max_iter=5000), group_columns=groups, random_state=0
    ).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    untrusted = sio.get_untrusted_types(file=path)
    # Exactly the list documented in the README: nothing foreign needs trust.
    assert sorted(untrusted) == [
        "fairuse_estimators._classifier.FairUseClassifier",
        "fairuse_estimators._groups.GroupEncoding",
        "fairuse_estimators._report.FairUseReport",
    ]
    loaded = sio.load(path, trusted=untrusted)
    _assert_same_model(loaded, clf, X)
    assert_array_equal(loaded.groups_, clf.groups_)
    assert np.isnan(loaded.audit_report_.risks).sum() == 0
