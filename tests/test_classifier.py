"""Tests of FairUseClassifier: fitting, routing, prediction and the sklearn face."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import (
    HEART_GROUPS,
    figure2_data,
    fit_on_routing_evidence,
    random_grouped_data,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, ShuffleSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import InvalidParameterError

from fairuse_estimators import FairUseClassifier, UnseenGroupWarning
from fairuse_estimators._metrics import METRICS
from fairuse_estimators._stats import FIELD
from fairuse_estimators.datasets import load_whas500


def _fit_heart(heart, estimator, **params):
    X, y = heart
    params = {"group_columns": HEART_GROUPS, "random_state": 0, **params}
    return FairUseClassifier(estimator, **params).fit(X, y)


def _assert_fair_on_evidence(clf, X, y):
    """Fit ``clf``; check rationality and envy-freeness of its routes on the
    evidence that chose them.

    Best routing is fair on the point estimates; evidence routing has no
    significant violation.
    """
    statistics, risks = fit_on_routing_evidence(clf, X, y)
    routes = clf._route
    if clf.routing == "evidence":
        alpha = clf.alpha
        for key in ("rationality", "envy"):
            violation = statistics[key][0][..., FIELD["p_violation_adjusted"]]
            assert not (np.nan_to_num(violation, nan=1.0) <= alpha).any(), key
        return risks
    for g, route in enumerate(routes):
        if np.isnan(risks[g]).all():
            assert route == 0
            continue
        own = risks[g, route]
        assert own <= risks[g, 0] + 1e-12, "rationality violated"
        others = risks[g, routes]
        assert (own <= others[~np.isnan(others)] + 1e-12).all(), "envy"
        assert own <= np.nanmin(risks[g]) + 1e-12
    return risks


@pytest.mark.parametrize("routing", ["best", "evidence"])
def test_fairuse_classifier_fair_on_heart_evidence(heart, scaled_lr, routing):
    """Check that routes are rational and envy-free on the heart evidence."""
    X, y = heart
    for metric in METRICS:
        clf = FairUseClassifier(
            scaled_lr, group_columns=HEART_GROUPS, metric=metric, routing=routing,
            random_state=0,
        )  # fmt: skip
        risks = _assert_fair_on_evidence(clf, X, y)
        routed = risks[np.arange(len(risks)), clf._route]
        assert (np.nan_to_num(risks[:, 0] - routed) >= -1e-12).all()
        frame = clf.audit_report_.to_frame()
        assert_allclose(
            frame["gain"], frame["risk_generic"] - frame["risk_personalized"]
        )


@pytest.mark.parametrize("seed", range(6))
def test_fairuse_classifier_fair_on_random_evidence(seed):
    """Check rationality and envy-freeness on randomized data and metrics."""
    rng = np.random.default_rng(seed)
    levels = tuple(rng.integers(2, 4, size=rng.integers(1, 3)))
    X, y = random_grouped_data(seed, n=int(rng.integers(200, 500)), levels=levels)
    metric = METRICS[seed % len(METRICS)]
    clf = FairUseClassifier(
        LogisticRegression(),
        group_columns=[c for c in X if c.startswith("g")],
        metric=metric,
        cv=[3, 5, 0.3][seed % 3],
        min_group_size=int(rng.integers(5, 40)),
        n_bootstrap=200,
        random_state=seed,
    )
    for routing in ("best", "evidence"):
        _assert_fair_on_evidence(clf.set_params(routing=routing), X, y)


def test_fairuse_classifier_figure2_onehot_harms_routing_fixes(heart):
    """Check the paper's Figure 2: one-hot harms a group, routing serves all."""
    X, y = figure2_data()
    clf = FairUseClassifier(
        LogisticRegression(), group_columns=["age", "sex"], random_state=0
    ).fit(X, y)
    frame = clf.audit_report_.to_frame()
    onehot_gain = frame["risk_generic"] - frame["risk_onehot"]
    assert (onehot_gain < 0).any()
    assert_array_equal(clf.predict(X), y)
    for group in [("young", "male"), ("old", "female")]:
        assert clf.routing_[group][0] != "generic"
    # No group holds both classes, so no decoupled model can be fitted.
    assert frame["risk_decoupled"].isna().all()
    assert frame["note"].str.contains("lacks a class").all()


def test_fairuse_classifier_ties_go_to_generic():
    """Check that a group served equally well by every candidate stays generic."""
    rng = np.random.default_rng(0)
    x = rng.choice([-1, 1], size=300) * rng.uniform(2, 3, size=300)
    X = pd.DataFrame({"x": x, "g": rng.choice(["a", "b", "c"], size=300)})
    y = (x > 0).astype(int)
    clf = FairUseClassifier(LogisticRegression(C=100), group_columns="g").fit(X, y)
    assert_allclose(clf.audit_report_.risks, 0.0)
    assert all(route == ("generic", None) for route in clf.routing_.values())


def test_fairuse_classifier_no_groups_is_the_base(heart, scaled_lr):
    """Check that group_columns=None behaves exactly like the base estimator."""
    X, y = heart
    X = X.drop(columns=HEART_GROUPS)
    clf = FairUseClassifier(scaled_lr).fit(X, y)
    base = clone(scaled_lr).fit(X, y)
    assert_allclose(clf.predict_proba(X), base.predict_proba(X))
    assert_array_equal(clf.predict(X), base.predict(X))
    assert clf.groups_ == []
    assert len(clf.audit_report_.to_frame()) == 0


def test_fairuse_classifier_rows_scored_by_routed_candidate(heart, scaled_lr):
    """Check that each row's prediction comes from its group's candidate only."""
    X, y = heart
    clf = _fit_heart(heart, scaled_lr, metric="log_loss")
    proba = clf.predict_proba(X)
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    groups = list(zip(X["sex"], X["age_group"]))
    for group, (variant, reported) in clf.routing_.items():
        rows = np.array([g == group for g in groups])
        if variant == "generic":
            expected = clf.estimators_["generic"].predict_proba(features[rows])
        elif variant == "decoupled":
            model = clf.estimators_["decoupled"][clf.groups_.index(reported)]
            expected = model.predict_proba(features[rows])
        else:
            block = np.zeros((rows.sum(), 4))
            if variant == "onehot":  # sex levels, then age levels, sorted
                block[:, ["female", "male"].index(reported[0])] = 1
                block[:, 2 + ["60+", "<60"].index(reported[1])] = 1
            else:
                block[:, clf.groups_.index(reported)] = 1
            design = np.hstack([features[rows], block])
            expected = clf.estimators_[variant].predict_proba(design)
        assert_allclose(proba[rows], expected)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_fairuse_classifier_withheld_group_gets_generic(heart, scaled_lr):
    """Check that a missing group value at predict means the generic model."""
    X, y = heart
    clf = _fit_heart(heart, scaled_lr)
    withheld = X.assign(sex=None)
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = clf.predict_proba(withheld)
    assert_allclose(proba, clf.estimators_["generic"].predict_proba(features))
    partly = X.copy()
    partly.loc[:9, "age_group"] = np.nan
    assert_allclose(clf.predict_proba(partly)[:10], proba[:10])
    assert_allclose(clf.predict_proba(partly)[10:], clf.predict_proba(X)[10:])


def test_fairuse_classifier_withheld_at_fit_trains_generic_only(heart, scaled_lr):
    """Check that rows withheld at fit train only the generic model."""
    X, y = heart
    X = X.copy()
    X.loc[:29, "sex"] = np.nan
    clf = _fit_heart((X, y), scaled_lr)
    report = clf.audit_report_
    assert report.n_withheld == 30
    assert report.n.sum() == len(y) - 30
    assert all(isinstance(g[0], str) for g in clf.groups_)
    generic = clone(scaled_lr).fit(X.drop(columns=HEART_GROUPS), y)
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    assert_allclose(
        clf.estimators_["generic"].predict_proba(features),
        generic.predict_proba(X.drop(columns=HEART_GROUPS)),
    )


def test_fairuse_classifier_unseen_group_warns_and_gets_generic(heart, scaled_lr):
    """Check that an unseen group value warns, names it, and gets generic."""
    X, y = heart
    clf = _fit_heart(heart, scaled_lr)
    new = X.head(5).assign(sex="intersex")
    features = new.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    with pytest.warns(UnseenGroupWarning, match="'intersex' in column 'sex'"):
        proba = clf.predict_proba(new)
    assert_allclose(proba, clf.estimators_["generic"].predict_proba(features))


def test_audit_warns_of_unseen_groups_and_counts_them_withheld(heart, scaled_lr):
    """Check that audit rows of an unseen group are named, then withheld."""
    X, y = heart
    clf = _fit_heart(heart, scaled_lr)
    new = X.assign(sex=np.where(np.arange(len(X)) < 40, "intersex", X["sex"]))
    with pytest.warns(UnseenGroupWarning, match="'intersex' in column 'sex'.*left out"):
        report = clf.audit(new, y)
    assert report.n_withheld == 40
    assert report.n.sum() == len(X) - 40


def test_fairuse_classifier_unseen_combination_warns():
    """Check that an unseen combination of seen levels warns and gets generic."""
    X, y = random_grouped_data(0, levels=(2, 2))
    keep = ~((X["g0"] == "level1") & (X["g1"] == "level1")).to_numpy()
    clf = FairUseClassifier(group_columns=["g0", "g1"], random_state=0)
    clf.fit(X[keep], y[keep])
    assert len(clf.groups_) == 3
    with pytest.warns(UnseenGroupWarning, match="combination \\('level1', 'level1'\\)"):
        proba = clf.predict_proba(X[~keep])
    features = X[~keep].drop(columns=["g0", "g1"]).to_numpy()
    assert_allclose(proba, clf.estimators_["generic"].predict_proba(features))


def test_fairuse_classifier_handle_unknown_error(heart, scaled_lr):
    """Check that handle_unknown='error' raises naming the column and value."""
    X, y = heart
    clf = _fit_heart(heart, scaled_lr, handle_unknown="error")
    with pytest.raises(ValueError, match="'90\\+' in column 'age_group'"):
        clf.predict(X.assign(age_group="90+"))
    clf.predict(X.assign(age_group=np.nan))  # withheld is never an error


def test_fairuse_classifier_numpy_input_matches_dataframe(heart, scaled_lr):
    """Check that integer group_columns on arrays give the DataFrame results."""
    X, y = heart
    from_frame = _fit_heart(heart, scaled_lr)
    positions = [X.columns.get_loc(c) for c in HEART_GROUPS]
    from_array = FairUseClassifier(
        scaled_lr, group_columns=positions, random_state=0
    ).fit(X.to_numpy(dtype=object), y)
    assert dict(from_array.routing_) == dict(from_frame.routing_)
    assert_allclose(
        from_array.predict_proba(X.to_numpy(dtype=object)),
        from_frame.predict_proba(X),
    )
    assert not hasattr(from_array, "feature_names_in_")
    assert from_array.n_features_in_ == X.shape[1] == from_frame.n_features_in_


def test_fairuse_classifier_numeric_group_values():
    """Check that numeric group codes work and keep their numeric type."""
    X, y = random_grouped_data(1, levels=(3,))
    X["g0"] = X["g0"].str[-1].astype(int) * 10
    clf = FairUseClassifier(group_columns="g0", random_state=0).fit(X, y)
    assert clf.groups_ == [(0,), (10,), (20,)]
    assert set(clf.routing_) == {(0,), (10,), (20,)}
    as_float = X.assign(g0=X["g0"].astype(float))
    assert_allclose(clf.predict_proba(as_float), clf.predict_proba(X))


def test_fairuse_classifier_string_labels_and_multiclass():
    """Check string class labels with three classes for every metric but AUC."""
    X, y = random_grouped_data(2, n=450, n_classes=3)
    labels = np.array(["low", "mid", "high"])[y]
    for metric in ["error", "log_loss", "brier", "ece"]:
        clf = FairUseClassifier(group_columns=["g0", "g1"], metric=metric, cv=3)
        _assert_fair_on_evidence(clf, X, labels)
        assert_array_equal(clf.classes_, ["high", "low", "mid"])
        assert set(clf.predict(X)) <= set(labels)
        assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="binary targets only; y has 3 classes"):
        FairUseClassifier(group_columns="g0", metric="auc").fit(X, labels)


def test_fairuse_classifier_same_seed_same_result_and_n_jobs(heart, scaled_lr):
    """Check that fitting is reproducible and independent of n_jobs."""
    X, y = heart
    first = _fit_heart(heart, scaled_lr, random_state=3)
    again = _fit_heart(heart, scaled_lr, random_state=3)
    parallel = _fit_heart(heart, scaled_lr, random_state=3, n_jobs=2)
    for other in (again, parallel):
        assert_array_equal(other.audit_report_.risks, first.audit_report_.risks)
        assert dict(other.routing_) == dict(first.routing_)
        assert_allclose(other.predict_proba(X), first.predict_proba(X))


def test_fairuse_classifier_cv_options(heart, scaled_lr):
    """Check int, float holdout and splitter values of cv."""
    X, y = heart
    holdout = FairUseClassifier(
        scaled_lr, group_columns=HEART_GROUPS, cv=0.4, routing="best", random_state=0
    )
    _assert_fair_on_evidence(holdout, X, y)
    assert holdout.audit_report_.n.sum() == int(np.ceil(0.4 * len(y)))
    assert "holdout" in holdout.audit_report_.evidence
    full = clone(scaled_lr).fit(X.drop(columns=HEART_GROUPS), y)
    assert not np.allclose(holdout.estimators_["generic"][-1].coef_, full[-1].coef_), (
        "a holdout model must not be refit on all rows"
    )
    splitter = _fit_heart(heart, scaled_lr, cv=KFold(4, shuffle=True, random_state=0))
    assert splitter.audit_report_.n.sum() == len(y)
    assert_allclose(splitter.estimators_["generic"][-1].coef_, full[-1].coef_)
    with pytest.raises(ValueError, match="exactly one test set"):
        _fit_heart(heart, scaled_lr, cv=ShuffleSplit(3, random_state=0))


def test_fairuse_classifier_decoupled_needs_min_group_size(heart, scaled_lr):
    """Check that small groups get no decoupled model and the report says why."""
    clf = _fit_heart(heart, scaled_lr, min_group_size=100)
    frame = clf.audit_report_.to_frame()
    small = frame["n"] < 100
    assert frame.loc[small, "risk_decoupled"].isna().all()
    assert frame.loc[~small, "risk_decoupled"].notna().all()
    assert frame.loc[small, "note"].str.contains("< min_group_size=100").all()
    decoupled = clf.estimators_["decoupled"]
    assert [m is not None for m in decoupled] == list(~small)


def test_fairuse_classifier_variants_subset(heart, scaled_lr):
    """Check that only the requested variants are fitted and candidates."""
    clf = _fit_heart(heart, scaled_lr, variants=("generic", "intersectional"))
    assert set(clf.estimators_) == {"generic", "intersectional"}
    # Only the routed model's own candidates (for groups whose routes chosen
    # out of fold differ between folds) join them.
    variants = set(clf.audit_report_.candidate_variants)
    assert variants - {"routed"} == {"generic", "intersectional"}
    assert "risk_onehot" not in clf.audit_report_.to_frame()


def test_fairuse_classifier_report_frames(heart, scaled_lr):
    """Check the report's frames against its risk matrix."""
    clf = _fit_heart(heart, scaled_lr)
    report = clf.audit_report_
    matrix = report.risk_matrix()
    frame = report.to_frame()
    # Generic and three variants per group, and a routed candidate for each
    # group whose routes chosen out of fold differ between folds.
    routed = sum(v == "routed" for v in report.candidate_variants)
    assert matrix.shape == (4, 1 + 4 * 3 + routed)
    assert list(frame.index.names) == HEART_GROUPS
    assert_allclose(frame["risk_generic"], matrix[("generic", "-")])
    assert_allclose(frame["risk_onehot"], np.diag(matrix["onehot"]))
    # The routed model's risk is that of its routes chosen out of fold.
    graded = report.risks[np.arange(4), report.assignments[0]]
    assert_allclose(frame["risk_personalized"], graded)
    counts = pd.Series(list(zip(*[heart[0][c] for c in HEART_GROUPS]))).value_counts()
    assert_array_equal(frame["n"], [counts[g] for g in frame.index])
    assert "FairUseReport(metric='error'" in repr(report)


def test_fairuse_classifier_routing_is_read_only(heart, scaled_lr):
    """Check that routing_ cannot be modified."""
    clf = _fit_heart(heart, scaled_lr)
    with pytest.raises(TypeError):
        clf.routing_[("male", "<60")] = ("generic", None)


def test_routing_prints_a_line_per_group_and_writes_json(heart, scaled_lr):
    """Check that routing_ reads as a table and round-trips through JSON."""
    clf = _fit_heart(heart, scaled_lr).set_params(routing="best")
    clf.fit(*heart)
    text = repr(clf.routing_).splitlines()
    assert text[0] == "Routing of 4 groups by sex, age_group:"
    for line, (group, (variant, reported)) in zip(text[1:], clf.routing_.items()):
        assert line.startswith(f"  ({', '.join(group)}) -> {variant}")
        if reported not in (None, group):  # served by another group's model
            assert line.endswith(f" as ({', '.join(reported)})")
    records = json.loads(clf.routing_.to_json())
    assert [r["group"] for r in records] == [
        dict(zip(HEART_GROUPS, g)) for g in clf.groups_
    ]
    assert {
        tuple(r["group"].values()): (
            r["variant"],
            None if r["reported_group"] is None
            else tuple(r["reported_group"].values()),
        )
        for r in records
    } == dict(clf.routing_)  # fmt: skip


def test_fairuse_classifier_decision_function(heart, scaled_lr):
    """Check decision_function routing and its availability from the base."""
    X, y = heart
    clf = _fit_heart(heart, scaled_lr, metric="auc")
    scores = clf.decision_function(X)
    proba = clf.predict_proba(X)[:, 1]
    assert_array_equal(scores > 0, proba > 0.5)
    forest = _fit_heart(heart, RandomForestClassifier(n_estimators=10, random_state=0))
    assert not hasattr(forest, "decision_function")
    assert not hasattr(FairUseClassifier(LinearSVC()), "predict_proba")


def test_fairuse_classifier_bad_options(heart, scaled_lr):
    """Check clear errors for invalid parameters and combinations."""
    X, y = heart
    with pytest.raises(ValueError, match="must include 'generic'"):
        _fit_heart(heart, scaled_lr, variants=("onehot",))
    with pytest.raises(ValueError, match="non-empty subset"):
        _fit_heart(heart, scaled_lr, variants=("generic", "stacked"))
    with pytest.raises(ValueError, match="needs probabilities, but LinearSVC"):
        _fit_heart(heart, LinearSVC(), metric="brier")
    with pytest.raises(InvalidParameterError, match="routing"):
        _fit_heart(heart, scaled_lr, routing="fair")
    with pytest.raises(InvalidParameterError, match="correction"):
        _fit_heart(heart, scaled_lr, correction="fdr")
    with pytest.raises(ValueError, match="test='delong' applies to metric='auc'"):
        _fit_heart(heart, scaled_lr, test="delong")
    with pytest.raises(InvalidParameterError, match="alpha"):
        _fit_heart(heart, scaled_lr, alpha=1.5)
    with pytest.raises(ValueError, match="'weight' is not a column of X"):
        _fit_heart(heart, scaled_lr, group_columns=["sex", "weight"])
    with pytest.raises(ValueError, match="only one class"):
        _fit_heart((X, np.ones(len(y))), scaled_lr)
    with pytest.raises(ValueError, match="except the group columns \\['sex'\\]"):
        _fit_heart(heart, scaled_lr, group_columns=["sex"])


def test_fairuse_classifier_sample_weight_reaches_base_fits(heart, scaled_lr):
    """Check that sample_weight reaches every base fit."""
    X, y = heart
    weights = np.random.default_rng(0).uniform(0.1, 3, size=len(y))
    clf = FairUseClassifier(
        LogisticRegression(max_iter=5000), group_columns=HEART_GROUPS, random_state=0
    ).fit(X, y, sample_weight=weights)
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    weighted = LogisticRegression(max_iter=5000).fit(features, y, weights)
    unweighted = LogisticRegression(max_iter=5000).fit(features, y)
    coef = clf.estimators_["generic"].coef_
    assert_allclose(coef, weighted.coef_, rtol=1e-4)
    assert not np.allclose(coef, unweighted.coef_, rtol=1e-4)
    male = X["sex"].eq("male") & X["age_group"].eq("<60")
    rows = male.to_numpy()
    decoupled = clf.estimators_["decoupled"][clf.groups_.index(("male", "<60"))]
    own = LogisticRegression(max_iter=5000).fit(features[rows], y[rows], weights[rows])
    assert_allclose(decoupled.coef_, own.coef_, rtol=1e-4)
    with pytest.raises(ValueError, match="_NoWeights.fit does not accept sample_"):
        FairUseClassifier(_NoWeights(), group_columns=HEART_GROUPS).fit(
            X, y, sample_weight=weights
        )


def test_fairuse_classifier_sample_weight_reaches_pipeline_last_step(heart):
    """Check that without metadata routing sample_weight reaches the last step
    of a Pipeline base, as ``<step>__sample_weight`` does for the Pipeline."""
    X, y = heart
    weights = np.random.default_rng(0).uniform(0.1, 3, size=len(y))
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    rows = (X["sex"].eq("male") & X["age_group"].eq("<60")).to_numpy()

    def alone(rows=slice(None), **params):
        pipeline = make_pipeline(StandardScaler(), LogisticRegression())
        return pipeline.fit(features[rows], y[rows], **params).predict_proba(features)

    def weighted(rows=slice(None)):
        return alone(rows, logisticregression__sample_weight=weights[rows])

    base = make_pipeline(StandardScaler(), LogisticRegression())
    clf = FairUseClassifier(base, group_columns=HEART_GROUPS, cv=3)
    clf.fit(X, y, sample_weight=weights)
    assert_allclose(clf.estimators_["generic"].predict_proba(features), weighted())
    assert not np.allclose(weighted(), alone())
    decoupled = clf.estimators_["decoupled"][clf.groups_.index(("male", "<60"))]
    assert_allclose(decoupled.predict_proba(features), weighted(rows))
    nested = make_pipeline(make_pipeline(StandardScaler(), LogisticRegression()))
    clf = FairUseClassifier(nested, group_columns=HEART_GROUPS, cv=3)
    clf.fit(X, y, sample_weight=weights)
    assert_allclose(clf.estimators_["generic"].predict_proba(features), weighted())
    unweighted = make_pipeline(StandardScaler(), _NoWeights())
    expected = r"_NoWeights.fit \(the last step of the Pipeline\) does not accept"
    with pytest.raises(ValueError, match=expected):
        FairUseClassifier(unweighted, group_columns=HEART_GROUPS).fit(
            X, y, sample_weight=weights
        )


class _NoWeights(LogisticRegression):
    """A real logistic regression whose fit takes no sample_weight."""

    def fit(self, X, y):
        return super().fit(X, y)


def test_fairuse_classifier_sample_weight_metadata_routing(heart):
    """Check that sample_weight follows metadata routing when it is enabled."""
    import sklearn
    from sklearn.exceptions import UnsetMetadataPassedError

    X, y = heart
    weights = np.random.default_rng(1).uniform(0.1, 3, size=len(y))
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    with sklearn.config_context(enable_metadata_routing=True):
        base = LogisticRegression(max_iter=5000).set_fit_request(sample_weight=True)
        clf = FairUseClassifier(base, group_columns=HEART_GROUPS, random_state=0)
        clf.fit(X, y, sample_weight=weights)
        expected = LogisticRegression(max_iter=5000).fit(features, y, weights)
        assert_allclose(clf.estimators_["generic"].coef_, expected.coef_, rtol=1e-4)
        unrequested = FairUseClassifier(
            LogisticRegression(), group_columns=HEART_GROUPS
        )
        with pytest.raises(UnsetMetadataPassedError):
            unrequested.fit(X, y, sample_weight=weights)


def _weighted_lr(class_weight, scaled):
    lr = LogisticRegression(max_iter=5000, class_weight=class_weight)
    return make_pipeline(StandardScaler(), lr) if scaled else lr


@pytest.mark.parametrize(
    ("labels", "weights"),
    [(("no", "yes"), "dict"), ((0, 1), "dict"), ((-1, 1), "dict"),
     (("no", "yes"), "balanced")],
    ids=str,
)  # fmt: skip
@pytest.mark.parametrize("scaled", [False, True], ids=["plain", "pipeline"])
def test_fairuse_classifier_class_weight_keyed_by_labels(
    heart, labels, weights, scaled
):
    """Check that a class_weight keyed by the labels of y, on the base or on a
    Pipeline's last step, weighs the base fits as it weighs the base alone."""
    X, y = heart
    y = np.asarray(labels)[y]
    class_weight = {labels[0]: 1, labels[1]: 3} if weights == "dict" else weights
    features = X.drop(columns=HEART_GROUPS).to_numpy(dtype=float)
    rows = (X["sex"].eq("male") & X["age_group"].eq("<60")).to_numpy()

    def alone(rows=slice(None), class_weight=class_weight):
        fitted = _weighted_lr(class_weight, scaled).fit(features[rows], y[rows])
        return fitted.predict_proba(features)

    assert not np.allclose(alone(), alone(class_weight=None))
    clf = FairUseClassifier(
        _weighted_lr(class_weight, scaled), group_columns=HEART_GROUPS, cv=3
    ).fit(X, y)
    assert_allclose(clf.estimators_["generic"].predict_proba(features), alone())
    decoupled = clf.estimators_["decoupled"][clf.groups_.index(("male", "<60"))]
    assert_allclose(decoupled.predict_proba(features), alone(rows))
    without_groups = FairUseClassifier(_weighted_lr(class_weight, scaled), cv=3)
    assert_allclose(without_groups.fit(features, y).predict_proba(features), alone())


def test_fairuse_classifier_class_weight_unknown_label(heart):
    """Check that a class_weight key that is no label of y is refused, naming
    the parameter, the key and the labels."""
    X, y = heart
    labels = np.array(["no", "yes"])[y]
    base = _weighted_lr({"no": 1, "maybe": 3}, scaled=True)
    clf = FairUseClassifier(base, group_columns=HEART_GROUPS)
    expected = (
        r"logisticregression__class_weight=\{'no': 1, 'maybe': 3\} has key\(s\) "
        r"\['maybe'\] that are not labels of y; the labels seen in y are "
        r"\['no', 'yes'\]"
    )
    with pytest.raises(ValueError, match=expected):
        clf.fit(X, labels)
    with pytest.raises(ValueError, match=r"estimator's class_weight=\{0: 1, 2: 3\}"):
        FairUseClassifier(_weighted_lr({0: 1, 2: 3}, scaled=False)).fit(
            X.drop(columns=HEART_GROUPS), y
        )


def test_fairuse_classifier_default_base_is_scaled_logistic_regression():
    """Check that estimator=None stands for the command line's standardized
    logistic regression, which converges on unscaled clinical features."""
    X, y = load_whas500(return_X_y=True)
    clf = FairUseClassifier(group_columns=["sex", "age_group"], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.estimator is None
    for fitted in (clf.estimators_["generic"], *clf.estimators_["decoupled"]):
        assert isinstance(fitted, Pipeline)
        assert [type(step) for _, step in fitted.steps] == [
            StandardScaler,
            LogisticRegression,
        ]
        assert fitted[-1].max_iter == 1000


def test_fairuse_classifier_verbose_reports_progress(heart, scaled_lr, capsys):
    """Check that verbose > 0 prints the fitting stages to stderr."""
    _fit_heart(heart, scaled_lr, verbose=1)
    err = capsys.readouterr().err
    assert "fitting 5 split(s) and all rows: 42 fits" in err


def test_fairuse_classifier_auc_undefined_group_stays_generic():
    """Check that a group with one class under AUC stays generic and says why."""
    X, y = random_grouped_data(4, n=500, levels=(3,))
    y = y.copy()
    y[(X["g0"] == "level2").to_numpy()] = 0
    clf = FairUseClassifier(group_columns="g0", metric="auc", random_state=0)
    _assert_fair_on_evidence(clf, X, y)
    frame = clf.audit_report_.to_frame()
    assert clf.routing_[("level2",)] == ("generic", None)
    assert np.isnan(clf.audit_report_.risks[2]).all()
    assert "kept generic: auc is undefined on these rows" in frame["note"].iloc[2]
    assert "the group lacks a class" in frame["note"].iloc[2]


def _small_frame(seed=0, n=400):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 2)), columns=["f0", "f1"])
    X["g"] = rng.choice(["a", "b"], n)
    return X, (X["f0"] > 0).astype(int).to_numpy()


def test_fairuse_classifier_few_grouped_rows():
    """Check folds whose test rows all withheld their group are skipped."""
    X, y = _small_frame()
    X["g"] = np.where(np.arange(len(y)) < 10, X["g"], None)
    clf = FairUseClassifier(group_columns="g", random_state=1).fit(X, y)
    assert clf.audit_report_.n.sum() == 10
    assert clf.audit_report_.n_withheld == len(y) - 10


def test_fairuse_classifier_training_classes_errors():
    """Check clear errors when the variants could not learn every class."""
    X, y = _small_frame()
    with pytest.raises(ValueError, match="no group to personalize for"):
        FairUseClassifier(group_columns="g").fit(X.assign(g=np.nan), y)
    only_negatives = X.assign(g=np.where(y == 1, None, X["g"]))
    with pytest.raises(ValueError, match="hold only the class \\[0\\]"):
        FairUseClassifier(group_columns="g").fit(only_negatives, y)
    y3 = np.digitize(X["f0"], [-0.5, 0.5])
    ungrouped = X.assign(g=np.where(y3 == 2, None, X["g"]))
    with pytest.raises(ValueError, match="\\[2\\] have no row with a complete group"):
        FairUseClassifier(group_columns="g").fit(ungrouped, y3)
    rare = np.where(y3 == 2, 1, y3)
    rare[0] = 2
    with pytest.raises(ValueError, match="training part of the holdout split"):
        FairUseClassifier(group_columns="g", cv=0.5, random_state=0).fit(X, rare)


def test_fairuse_classifier_float_outputs_whatever_the_routes():
    """Check that outputs are float64 whichever candidates a batch reaches."""
    X, y = _small_frame()
    X = X.astype({"f0": "float32", "f1": "float32"})
    clf = FairUseClassifier(group_columns="g", random_state=0).fit(X, y)
    mixed = X.iloc[:3].assign(g=[None, "a", "b"])
    for batch in (X.iloc[:3], mixed):
        assert clf.decision_function(batch).dtype == np.float64
        assert clf.predict_proba(batch).dtype == np.float64


def test_fairuse_classifier_small_holdout_many_groups():
    """Check a holdout too small to hold every (group, label) stratum."""
    X, y = _small_frame()
    X["g"] = np.random.default_rng(0).integers(0, 20, len(y))
    clf = FairUseClassifier(group_columns="g", cv=0.05, random_state=0)
    _assert_fair_on_evidence(clf, X, y)
    assert clf.audit_report_.n.sum() == 20


def test_fairuse_classifier_nullable_and_list_inputs():
    """Check nullable integer group columns and list-of-lists input."""
    X, y = _small_frame()
    values = pd.array(np.random.default_rng(1).integers(1, 3, len(y)), dtype="Int64")
    values[0] = pd.NA
    clf = FairUseClassifier(group_columns="g").fit(X.assign(g=values), y)
    assert clf.groups_ == [(1,), (2,)]
    assert clf.audit_report_.n_withheld == 1
    from_list = FairUseClassifier(group_columns=2, random_state=0)
    from_list.fit(X.to_numpy().tolist(), y)
    from_frame = FairUseClassifier(group_columns="g", random_state=0).fit(X, y)
    assert dict(from_list.routing_) == dict(from_frame.routing_)


@pytest.mark.parametrize("method", ["predict", "predict_log_proba", "score"])
def test_fairuse_classifier_unseen_warning_points_at_caller(method):
    """Check that the unseen-group warning names the caller's line, not ours."""
    X, y = _small_frame()
    clf = FairUseClassifier(group_columns="g", random_state=0).fit(X, y)
    new = X.assign(g="c")
    with pytest.warns(UnseenGroupWarning) as record:
        getattr(clf, method)(*([new, y] if method == "score" else [new]))
    assert "fairuse_estimators" not in record[0].filename


def _uninformative_groups(seed, n=300):
    """Labels from the features alone; group columns that carry nothing."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    X["g0"] = rng.choice(["x", "y"], n)
    X["g1"] = rng.choice(["p", "q", "r"], n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["a"] + X["b"])))).astype(int)
    return X, y


def test_report_grades_routes_out_of_fold_not_where_they_were_chosen():
    """Check that with group columns that cannot help (every true gain is at
    most 0), the report's routed gains are not optimistic: the routes each
    fold's rows are graded under were chosen on the other folds. Graded on
    the evidence that chose them, best routing shows a gain on every group."""
    reported, in_sample = [], []
    for seed in range(6):
        X, y = _uninformative_groups(seed)
        clf = FairUseClassifier(
            LogisticRegression(), group_columns=["g0", "g1"], routing="best",
            random_state=seed,
        )  # fmt: skip
        _, risks = fit_on_routing_evidence(clf, X, y)
        reported.extend(clf.audit_report_.to_frame()["gain"])
        in_sample.extend(risks[:, 0] - risks[np.arange(len(risks)), clf._route])
    assert min(in_sample) >= 0 and np.mean(in_sample) > 0.02
    assert np.mean(reported) <= 0.01, np.mean(reported)
    assert min(reported) < 0


def test_holdout_report_marks_routes_chosen_on_it_and_tests_nothing(heart):
    """Check that on a holdout, which both chose the routes and grades them,
    the routed model's figures carry no verdict and say why."""
    X, y = heart
    clf = FairUseClassifier(
        make_pipeline(StandardScaler(), LogisticRegression()),
        group_columns=HEART_GROUPS, cv=0.4, routing="best", random_state=0,
    ).fit(X, y)  # fmt: skip
    frame = clf.audit_report_.to_frame()
    assert (frame["rationality"] == "untested").all()
    assert (frame["envy_freeness"] == "untested").all()
    moved = frame["route"] != "generic"
    assert moved.any()
    why = frame.loc[moved, "note"]
    assert why.str.contains("the routes were chosen on this evidence").all()
    assert frame["p_gain"].isna().all() and frame["gain_low"].isna().all()
    summary = clf.audit_report_.summary_table().loc["routed"]
    assert summary["rationality_gains"] == summary["envy_gains"] == 0


def _kth_models(estimators, k):
    """The ``k``-th fold model of every deployed fold ensemble."""
    kth = {}
    for variant, model in estimators.items():
        if variant == "decoupled":
            kth[variant] = [m and m.estimators_[k] for m in model]
        else:
            kth[variant] = model.estimators_[k]
    return kth


def _fold_member(clf, k):
    """A copy of ``clf`` deploying the ``k``-th fold model of every variant."""
    member = clone(clf)
    member.__dict__.update(clf.__dict__)
    member.estimators_ = _kth_models(clf.estimators_, k)
    if clf._levels is not None:
        member._levels = [
            {**level, "estimators": _kth_models(level["estimators"], k)}
            for level in clf._levels
        ]
    return member


@pytest.mark.parametrize("reporting", ["all", "partial"])
def test_ensemble_deploys_the_fold_models_averaged_behind_every_route(
    heart, scaled_lr, reporting
):
    """Check that with ensemble=True every row's prediction is its route's fold
    models averaged (with a group, withheld or reporting part of it), that the
    routes and the evidence are those of a refitting fit, and that the reports
    say what was deployed."""
    X, y = heart
    params = {"routing": "best", "reporting": reporting, "cv": 3}
    clf = _fit_heart(heart, scaled_lr, ensemble=True, **params)
    refit = _fit_heart(heart, scaled_lr, **params)
    assert dict(clf.routing_) == dict(refit.routing_)
    assert_array_equal(
        clf.audit_report_.risk_matrix().to_numpy(),
        refit.audit_report_.risk_matrix().to_numpy(),
    )
    assert clf.audit_report_.evidence.endswith("deployed averaged")
    assert refit.audit_report_.evidence.endswith("deployed refitted on all rows")
    rows = pd.concat(
        [X, X.head(20).assign(sex=None), X.tail(20).assign(age_group=None)]
    )
    if reporting == "partial":
        for subset in clf.reports_by_subset_.values():
            assert subset.evidence.endswith("deployed averaged")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a withheld value is no unseen one
        members = [_fold_member(clf, k).predict_proba(rows) for k in range(3)]
        assert_allclose(clf.predict_proba(rows), np.mean(members, axis=0))
    assert_array_equal(clf.predict(rows), clf.predict_proba(rows).argmax(axis=1))
    assert not any(hasattr(m, "estimators_") for m in refit.estimators_.values())
