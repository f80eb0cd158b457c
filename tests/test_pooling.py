"""Tests of the partially pooled variant: a group's model fitted on every row,
its own rows carrying half of the weight."""

import io

import joblib
import numpy as np
import pytest
from conftest import HEART_GROUPS
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairuse_estimators import FairUseClassifier, FairUseRegressor
from fairuse_estimators._pooling import OWN_SHARE, other_weight
from fairuse_estimators.datasets import load_diabetes

POOLED = ("generic", "partially_pooled")


def _group_ids(X, columns, groups):
    keys = list(map(tuple, X[columns].astype(str).to_numpy()))
    index = {tuple(map(str, g)): i for i, g in enumerate(groups)}
    return np.array([index[k] for k in keys])


def _hand_weights(ids, rows, g, sample_weight=None):
    """Weights of a partially pooled fit of group ``g`` on ``rows``, by hand."""
    w = np.ones(len(ids)) if sample_weight is None else sample_weight.astype(float)
    own = ids[rows] == g
    mass_own, mass_other = w[rows][own].sum(), w[rows][~own].sum()
    factor = min(1.0, OWN_SHARE / (1 - OWN_SHARE) * mass_own / mass_other)
    return w[rows] * np.where(own, 1.0, factor)


@pytest.fixture
def lr():
    return LogisticRegression(max_iter=2000)


def test_own_rows_carry_the_share_of_the_weight():
    """Check the factor on the other rows: the group's rows carry OWN_SHARE
    of the weight, unless they already carry more, and user weights count."""
    ids = np.array([0] * 10 + [1] * 30 + [-1] * 10)
    rows = np.arange(len(ids))
    factor = other_weight(ids, rows, 0)
    assert factor * 40 == pytest.approx(10)  # 10 own rows against 40 others
    assert other_weight(ids, rows, 1) == 1.0  # 30 of 50 rows: already > half
    weights = np.where(ids == 0, 3.0, 1.0)
    assert other_weight(ids, rows, 0, weights) * 40 == pytest.approx(30)
    assert other_weight(np.zeros(5, int), np.arange(5), 0) == 1.0


def test_pooled_model_is_the_weighted_fit_on_every_row(heart, lr):
    """Check each group's deployed model against the base fitted by hand on
    all rows with the other groups' rows down-weighted, and that prediction
    routes a group to it."""
    X, y = heart
    clf = FairUseClassifier(
        lr, group_columns=HEART_GROUPS, variants=POOLED, cv=3, random_state=0
    ).fit(X, y)
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    ids = _group_ids(X, HEART_GROUPS, clf.groups_)
    rows = np.arange(len(y))
    models = clf.estimators_["partially_pooled"]
    assert len(models) == len(clf.groups_)
    for g, model in enumerate(models):
        hand = clone(lr).fit(features, y, sample_weight=_hand_weights(ids, rows, g))
        assert_allclose(model.coef_, hand.coef_, rtol=1e-6, atol=1e-8)
        # Different groups get different models.
        if g:
            assert not np.allclose(model.coef_, models[0].coef_)
    clf._route[:] = clf._candidate_variant.index("partially_pooled") + np.arange(
        len(clf.groups_)
    )
    assert_array_equal(
        clf.predict_proba(X)[ids == 2], models[2].predict_proba(features[ids == 2])
    )


def test_pooled_evidence_comes_from_fold_fits(heart, lr):
    """Check a group's out-of-fold risk under its partially pooled candidate
    against fold fits by hand, each weighted on its own training rows."""
    X, y = heart
    splits = list(KFold(4, shuffle=True, random_state=1).split(X))
    clf = FairUseClassifier(
        lr, group_columns=HEART_GROUPS, variants=POOLED, cv=splits
    ).fit(X, y)
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    ids = _group_ids(X, HEART_GROUPS, clf.groups_)
    matrix = clf.audit_report_.risk_matrix()
    for g, label in enumerate(matrix.index):
        wrong = np.zeros(len(y), dtype=bool)
        for train, test in splits:
            w = _hand_weights(ids, train, g)
            hand = clone(lr).fit(features[train], y[train], sample_weight=w)
            wrong[test] = hand.predict(features[test]) != y[test]
        pooled = matrix.columns.get_level_values(0) == "partially_pooled"
        risk = matrix.loc[label, matrix.columns[pooled][g]]
        assert risk == pytest.approx(wrong[ids == g].mean())


def test_user_weights_multiply_and_reach_a_pipeline_step(heart, lr):
    """Check that the user's sample weights are multiplied by the pooling
    weights and that a Pipeline base gets them at its last step."""
    X, y = heart
    rng = np.random.default_rng(0)
    sample_weight = rng.uniform(0.5, 2.0, len(y))
    base = make_pipeline(StandardScaler(), lr)
    clf = FairUseClassifier(
        base, group_columns=HEART_GROUPS, variants=POOLED, cv=3, random_state=0
    ).fit(X, y, sample_weight=sample_weight)
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    ids = _group_ids(X, HEART_GROUPS, clf.groups_)
    w = _hand_weights(ids, np.arange(len(y)), 1, sample_weight)
    hand = clone(base).fit(features, y, logisticregression__sample_weight=w)
    assert_allclose(
        clf.estimators_["partially_pooled"][1].predict_proba(features),
        hand.predict_proba(features),
        rtol=1e-6,
    )


def test_base_without_sample_weight_is_refused(heart):
    """Check the error when the base cannot weight its rows."""
    X, y = heart
    clf = FairUseClassifier(
        KNeighborsClassifier(), group_columns=HEART_GROUPS, variants=POOLED
    )
    with pytest.raises(ValueError, match="'partially_pooled'.*KNeighborsClassifier"):
        clf.fit(X, y)
    # Without the variant the same base fits.
    clone(clf).set_params(variants=("generic", "onehot")).fit(X, y)


def test_group_without_weight_in_a_training_set_gets_no_pooled_model(heart, lr):
    """Check that a group whose rows all have zero weight gets no candidate,
    and that the report says why."""
    X, y = heart
    clf = FairUseClassifier(lr, group_columns=HEART_GROUPS, variants=POOLED, cv=3)
    ids = _group_ids(X, HEART_GROUPS, clf.fit(X, y).groups_)
    clf.fit(X, y, sample_weight=np.where(ids == 0, 0.0, 1.0))
    assert clf.estimators_["partially_pooled"][0] is None
    assert all(m is not None for m in clf.estimators_["partially_pooled"][1:])
    frame = clf.audit_report_.to_frame()
    assert "no partially pooled model" in frame["note"].iloc[0]


def test_pooled_regressor_and_serialization():
    """Check the regressor's partially pooled model against a weighted Ridge
    by hand, and a joblib round trip of the fitted estimator."""
    data = load_diabetes(as_frame=True)
    X, y, columns = data.data, data.target.to_numpy(), list(data.group_columns)
    reg = FairUseRegressor(
        Ridge(), group_columns=columns, variants=POOLED, cv=3, random_state=0
    ).fit(X, y)
    features = X.drop(columns=columns).to_numpy(dtype=float)
    ids = _group_ids(X, columns, reg.groups_)
    for g, model in enumerate(reg.estimators_["partially_pooled"]):
        w = _hand_weights(ids, np.arange(len(y)), g)
        assert_allclose(model.coef_, Ridge().fit(features, y, sample_weight=w).coef_)
    buffer = io.BytesIO()
    joblib.dump(reg, buffer)
    buffer.seek(0)
    assert_array_equal(joblib.load(buffer).predict(X), reg.predict(X))


def test_pooled_variant_in_ensembles_and_partial_reporting(heart, lr):
    """Check fold ensembles of the variant and sequential partial reporting
    with it among the variants."""
    X, y = heart
    params = dict(group_columns=HEART_GROUPS, cv=3, random_state=0)
    ensemble = FairUseClassifier(lr, variants=POOLED, ensemble=True, **params).fit(X, y)
    members = ensemble.estimators_["partially_pooled"][0].estimators_
    assert len(members) == 3
    sequential = FairUseClassifier(
        lr,
        variants=("generic", "onehot", "partially_pooled"),
        reporting="sequential",
        **params,
    ).fit(X, y)
    assert sequential.predict_proba(X).shape == (len(y), 2)
    assert "partially_pooled" in sequential.audit_report_.variants
