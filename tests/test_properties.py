"""Invariants of FairUseClassifier on random data, groups and base estimators."""

import io
import os

import joblib
import numpy as np
import pytest
from conftest import fit_on_routing_evidence, random_grouped_data
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from fairuse_estimators import FairUseClassifier
from fairuse_estimators._metrics import METRICS
from fairuse_estimators._stats import FIELD

BASES = {
    "logistic": lambda: LogisticRegression(max_iter=500),
    "tree": lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
    "naive_bayes": GaussianNB,
}
# Types a skops file may ask to trust: this package's, and the trees' own.
TRUSTABLE = ("fairuse_estimators.", "sklearn.tree._tree.Tree")

PROPERTY = settings(
    max_examples=int(os.environ.get("FAIRUSE_MAX_EXAMPLES", 20)),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def problems(draw):
    """A random dataset, group structure, base estimator and options."""
    seed = draw(st.integers(0, 2**16))
    n_classes = draw(st.sampled_from([2, 2, 3]))
    levels = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    n = draw(st.integers(80, 160))
    X, y = random_grouped_data(
        seed, n=n, n_features=3, levels=levels, n_classes=n_classes
    )
    # Enough rows of every class for the folds; rare classes are covered by
    # the bad-input tests.
    assume(np.bincount(y, minlength=n_classes).min() >= 10)
    group_columns = [f"g{j}" for j in range(len(levels))]
    withheld = np.random.default_rng(seed).random(n) < draw(st.sampled_from([0, 0.1]))
    X.loc[withheld, "g0"] = None
    binary_only = ("auc", "fnr", "fpr")
    metrics = [m for m in METRICS if n_classes == 2 or m not in binary_only]
    params = {
        "estimator": BASES[draw(st.sampled_from(sorted(BASES)))](),
        "group_columns": group_columns,
        "metric": draw(st.sampled_from(metrics)),
        "cv": draw(st.sampled_from([3, 0.3])),
        "min_group_size": draw(st.sampled_from([5, 20])),
        "random_state": seed,
    }
    return X, y, params


def _features(clf, X):
    return X.drop(columns=clf.audit_report_.group_columns).to_numpy(dtype=float)


@PROPERTY
@given(problems())
def test_fairuse_classifier_routes_rational_and_envy_free(problem):
    """Check that no group is worse off than generic or envious, on the
    evidence that chose the routes.

    Best routing is fair on the point estimates; evidence routing has no
    significant violation there. (The report grades routes chosen out of
    fold, on evidence that did not choose them, where it may find one.)
    """
    X, y, params = problem
    evidence = FairUseClassifier(**params, n_bootstrap=100)
    statistics, _ = fit_on_routing_evidence(evidence, X, y)
    for key in ("rationality", "envy"):
        violation = statistics[key][0][..., FIELD["p_violation_adjusted"]]
        assert not (np.nan_to_num(violation, nan=1.0) <= evidence.alpha).any(), key
    clf = FairUseClassifier(**params, routing="best").fit(X, y)
    risks, routes = clf.audit_report_.risks, clf.audit_report_.routes
    defined = ~np.isnan(risks).all(axis=1)
    assert (routes[~defined] == 0).all()
    own = risks[np.arange(len(routes)), routes]
    # Each group's risk under the generic model and under every group's route.
    rivals = np.column_stack([risks[:, 0], risks[:, routes]])
    assert (own[defined] <= np.nanmin(rivals[defined], axis=1) + 1e-12).all()


@PROPERTY
@given(problems())
def test_fairuse_classifier_predictions_sound_and_withheld_generic(problem):
    """Check finite predictions in classes_, and the generic model for withheld."""
    X, y, params = problem
    clf = FairUseClassifier(**params).fit(X, y)
    pred, proba = clf.predict(X), clf.predict_proba(X)
    assert np.isin(pred, clf.classes_).all()
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()
    assert_allclose(proba.sum(axis=1), 1.0)
    hidden = X.assign(**{c: None for c in params["group_columns"]})
    generic = clf.estimators_["generic"]
    features = _features(clf, X)
    assert_array_equal(clf.predict(hidden), clf.classes_[generic.predict(features)])
    expected = np.zeros_like(proba)
    expected[:, generic.classes_] = generic.predict_proba(features)
    assert_allclose(clf.predict_proba(hidden), expected)
    withheld = X["g0"].isna().to_numpy()
    assert_array_equal(pred[withheld], clf.predict(hidden)[withheld])


@PROPERTY
@given(problems())
def test_fairuse_classifier_joblib_and_skops_round_trips(problem):
    """Check that joblib and skops round trips predict identically."""
    sio = pytest.importorskip("skops.io")
    X, y, params = problem
    clf = FairUseClassifier(**params).fit(X, y)
    buffer = io.BytesIO()
    joblib.dump(clf, buffer)
    buffer.seek(0)
    dumped = sio.dumps(clf)
    untrusted = sio.get_untrusted_types(data=dumped)
    assert all(name.startswith(TRUSTABLE) for name in untrusted)
    for loaded in (joblib.load(buffer), sio.loads(dumped, trusted=untrusted)):
        assert_array_equal(loaded.predict(X), clf.predict(X))
        assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
        assert dict(loaded.routing_) == dict(clf.routing_)


@settings(PROPERTY, max_examples=max(PROPERTY.max_examples // 2, 5))
@given(problems())
def test_fairuse_classifier_same_seed_same_routes_any_n_jobs(problem):
    """Check that refitting with the same seed, or with n_jobs=2, changes nothing."""
    X, y, params = problem
    first = FairUseClassifier(**params).fit(X, y)
    for n_jobs in (1, 2):
        again = FairUseClassifier(**params, n_jobs=n_jobs).fit(X, y)
        assert dict(again.routing_) == dict(first.routing_)
        assert_array_equal(again.audit_report_.risks, first.audit_report_.risks)
        assert_array_equal(again.predict_proba(X), first.predict_proba(X))
