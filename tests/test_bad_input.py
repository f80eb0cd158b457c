"""Every bad input to FairUseClassifier gets a documented result or a clear error."""

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.multiclass import OutputCodeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from fairuse_estimators import (
    FairUseClassifier,
    ManyGroupsWarning,
    UnseenGroupWarning,
)
from fairuse_estimators._groups import MANY_GROUPS, MAX_GROUPS
from fairuse_estimators._metrics import METRICS


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 2)), columns=["f0", "f1"])
    X["g"] = rng.choice(["a", "b"], n)
    y = (X["f0"] + rng.normal(size=n) > 0).astype(int).to_numpy()
    return X, y


def _fit(X, y, **params):
    params = {"group_columns": "g", "random_state": 0, **params}
    return FairUseClassifier(**params).fit(X, y)


def _features(X):
    return X.drop(columns="g").to_numpy(dtype=float)


def _assert_sound_predictions(clf, X):
    """Predictions are finite, use only ``classes_`` and probabilities sum to 1."""
    assert np.isin(clf.predict(X), clf.classes_).all()
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(clf.classes_))
    assert np.isfinite(proba).all()
    assert_allclose(proba.sum(axis=1), 1.0)


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return _fit(X, y), X, y


# ------------------------------------------------------------- group columns


def test_fairuse_classifier_group_column_missing_at_fit():
    """Check that a group column absent from X at fit is named in the error."""
    X, y = _data()
    with pytest.raises(ValueError, match="'sex' is not a column of X"):
        _fit(X, y, group_columns="sex")


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_fairuse_classifier_group_column_missing_at_predict(fitted):
    """Check that a group column dropped at predict is named in the error."""
    clf, X, _ = fitted
    with pytest.raises(ValueError, match="seen at fit time, yet now missing:\n- g"):
        clf.predict(X.drop(columns="g"))
    with pytest.raises(ValueError, match="X has 2 features, but FairUseClassifier"):
        clf.predict(X.drop(columns="g").to_numpy())


def test_fairuse_classifier_group_column_index_out_of_range():
    """Check that an out-of-range group column position names X's width."""
    X, y = _data()
    with pytest.raises(ValueError, match="position 5 is out of range for X with 3"):
        _fit(X.to_numpy(dtype=object), y, group_columns=5)


@pytest.mark.parametrize("group_columns", [["g", "g"], [2, -1], ["g", 2]])
def test_fairuse_classifier_duplicate_group_columns(group_columns):
    """Check that naming one group column twice is refused."""
    X, y = _data()
    with pytest.raises(ValueError, match="names the same column more than once"):
        _fit(X, y, group_columns=group_columns)


def test_fairuse_classifier_wrong_number_of_features_at_predict(fitted):
    """Check that predict refuses X with another number of columns."""
    clf, X, y = fitted
    numpy_clf = _fit(X.to_numpy(dtype=object), y, group_columns=2)
    wide = np.hstack([X.to_numpy(dtype=object), X.to_numpy(dtype=object)])
    with pytest.raises(ValueError, match="X has 6 features, but .* expecting 3"):
        numpy_clf.predict(wide)
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- z"):
        clf.predict(X.assign(z=1.0))


# ------------------------------------------------------------------- targets


def test_fairuse_classifier_y_with_one_class():
    """Check that y with a single class is refused, naming the class."""
    X, y = _data()
    with pytest.raises(ValueError, match="y has only one class \\(0\\)"):
        _fit(X, np.zeros_like(y))


def test_fairuse_classifier_continuous_y():
    """Check that a continuous target is refused as not a classification target."""
    X, y = _data()
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        _fit(X, y + np.random.default_rng(0).normal(size=len(y)))


def test_fairuse_classifier_string_labels(fitted):
    """Check that string labels come back as the same strings."""
    _, X, y = fitted
    labels = np.where(y == 1, "sick", "well")
    clf = _fit(X, labels)
    assert_array_equal(clf.classes_, ["sick", "well"])
    _assert_sound_predictions(clf, X)
    assert clf.score(X, labels) > 0.6


def test_fairuse_classifier_three_classes(fitted):
    """Check three classes with every metric that is defined for them."""
    _, X, _ = fitted
    y3 = np.digitize(X["f0"], [-0.5, 0.5])
    # fnr and fpr are binary: see test_class_error_rates_need_a_binary_target.
    for metric in set(METRICS) - {"auc", "fnr", "fpr"}:
        clf = _fit(X, y3, metric=metric)
        assert_array_equal(clf.classes_, [0, 1, 2])
        _assert_sound_predictions(clf, X)
    with pytest.raises(ValueError, match="'auc' is defined for binary targets only"):
        _fit(X, y3, metric="auc")


# ---------------------------------------------------------- feature values


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_fairuse_classifier_nonfinite_feature_base_refuses(fitted, value):
    """Check that NaN or inf in a feature, which the base refuses, is named."""
    clf, X, y = fitted
    bad = X.copy()
    bad.loc[3, "f1"] = value
    match = "The feature column\\(s\\) \\['f1'\\] of X hold NaN or infinite"
    with pytest.raises(ValueError, match=match):
        _fit(bad, y)
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(ValueError, match=match):
            getattr(clf, method)(bad)


def test_fairuse_classifier_nan_feature_passes_to_base_that_takes_it(fitted):
    """Check that NaN features reach a base that handles missing values."""
    _, X, y = fitted
    holes = X.copy()
    holes.loc[::7, "f0"] = np.nan
    base = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    # OpenMP threads of several small fits fight each other on a busy machine.
    with threadpool_limits(1):
        clf = _fit(holes, y, estimator=base)
        _assert_sound_predictions(clf, holes)
        generic = clf.estimators_["generic"].predict_proba(_features(holes))
        assert_allclose(clf.predict_proba(holes.assign(g=None)), generic)


# ------------------------------------------------------------ group values


def test_fairuse_classifier_missing_group_values(fitted):
    """Check that missing group values at fit and predict mean the generic model."""
    clf, X, y = fitted
    holes = X.assign(g=X["g"].where(np.arange(len(X)) % 5 > 0))
    trained = _fit(holes, y)
    assert trained.audit_report_.n_withheld == (holes["g"].isna()).sum()
    assert trained.groups_ == [("a",), ("b",)]
    for model in (clf, trained):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnseenGroupWarning)
            pred = model.predict(holes)
        rows = holes["g"].isna().to_numpy()
        generic = model.estimators_["generic"].predict(_features(holes)[rows])
        assert_array_equal(pred[rows], model.classes_[generic])
        _assert_sound_predictions(model, holes)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_fairuse_classifier_tiny_group(fitted, size):
    """Check that a group of 1 to 3 rows is kept, without a decoupled model."""
    _, X, y = fitted
    tiny = X.copy()
    tiny.loc[: size - 1, "g"] = "tiny"
    for cv in (5, 0.3):
        clf = _fit(tiny, y, cv=cv)
        assert ("tiny",) in clf.groups_
        g = clf.groups_.index(("tiny",))
        assert clf.estimators_["decoupled"][g] is None
        frame = clf.audit_report_.to_frame()
        assert f"{size} rows < min_group_size=20" in frame["note"].iloc[g]
        _assert_sound_predictions(clf, tiny)


def test_fairuse_classifier_group_with_one_label(fitted):
    """Check that a group whose labels are all one class gets no decoupled model."""
    _, X, y = fitted
    pure = X.copy()
    pure.loc[:40, "g"] = "pure"
    y = y.copy()
    y[:41] = 1
    for metric in ("error", "auc", "log_loss"):
        clf = _fit(pure, y, metric=metric)
        g = clf.groups_.index(("pure",))
        assert clf.estimators_["decoupled"][g] is None
        note = clf.audit_report_.to_frame()["note"].iloc[g]
        assert "the group lacks a class" in note
        if metric == "auc":
            assert clf.routing_[("pure",)] == ("generic", None)
        _assert_sound_predictions(clf, pure)


def test_fairuse_classifier_categorical_with_unused_categories(fitted):
    """Check that unused categories are not groups, and are unseen at predict."""
    _, X, y = fitted
    categories = ["a", "b", "unused"]
    cat = X.assign(g=pd.Categorical(X["g"], categories=categories))
    clf = _fit(cat, y)
    assert clf.groups_ == [("a",), ("b",)]
    assert_array_equal(clf.predict(cat), _fit(X, y).predict(X))
    unused = cat.assign(g=pd.Categorical(["unused"] * len(X), categories=categories))
    with pytest.warns(UnseenGroupWarning, match="value 'unused' in column 'g'"):
        pred = clf.predict(unused)
    generic = clf.estimators_["generic"].predict(_features(X))
    assert_array_equal(pred, clf.classes_[generic])


def test_fairuse_classifier_boolean_and_mixed_group_columns(fitted):
    """Check boolean and mixed-type group columns; equal values are one group."""
    _, X, y = fitted
    flags = X.assign(g=X["g"].eq("a"))
    clf = _fit(flags, y)
    assert clf.groups_ == [(False,), (True,)]
    assert_array_equal(
        clf.predict(flags.assign(g=flags["g"].astype(int))), clf.predict(flags)
    )
    mixed = X.assign(g=X["g"].map({"a": 1, "b": "one"}).astype(object))
    clf = _fit(mixed, y)
    assert clf.groups_ == [(1,), ("one",)]
    _assert_sound_predictions(clf, mixed)
    # Python compares True equal to 1, so they are one group, as in a dict.
    even = np.arange(len(X)) % 2 == 0
    merged = X.assign(g=np.where(X["g"] == "b", "one", np.where(even, 1, True)))
    merged["g"] = [
        v if v == "one" else (1 if e else True) for v, e in zip(merged["g"], even)
    ]
    clf = _fit(merged, y)
    assert len(clf.groups_) == 2
    assert_array_equal(
        clf.predict(merged.assign(g=1)), clf.predict(merged.assign(g=True))
    )


def test_fairuse_classifier_continuous_group_column_refused_fast():
    """Check that a continuous group column on thousands of rows fails at once."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 2)), columns=["f0", "f1"])
    X["bmi"] = rng.normal(27, 4, size=len(X))
    y = (X["f0"] > 0).astype(int).to_numpy()
    start = time.perf_counter()
    match = (
        "define 3000 intersectional groups in 3000 rows.*\\['bmi'\\] have nearly "
        f"as many distinct values as rows.*at most {MAX_GROUPS} groups"
    )
    with pytest.raises(ValueError, match=match):
        _fit(X, y, group_columns="bmi")
    assert time.perf_counter() - start < 5


def test_fairuse_classifier_many_groups_warn(fitted):
    """Check that more than MANY_GROUPS groups warn with the count and column."""
    _, X, y = fitted
    many = X.assign(g=np.arange(len(X)) % (MANY_GROUPS + 10))
    match = f"define {MANY_GROUPS + 10} intersectional groups in 300 rows"
    with pytest.warns(ManyGroupsWarning, match=match) as record:
        clf = _fit(many, y, variants=("generic", "onehot"))
    assert "look like continuous" not in str(record[0].message)
    assert record[0].filename == __file__
    _assert_sound_predictions(clf, many)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ManyGroupsWarning)
        _fit(X.assign(g=np.arange(len(X)) % MANY_GROUPS), y, variants=("generic",))


def test_fairuse_classifier_continuous_group_column_warns_on_few_rows(fitted):
    """Check that a continuous group column on few rows warns it looks continuous."""
    _, X, y = fitted
    X = X.drop(columns="g").assign(bmi=np.random.default_rng(1).normal(27, 4, len(X)))
    with pytest.warns(ManyGroupsWarning, match="\\['bmi'\\] have nearly as many"):
        clf = _fit(X, y, group_columns="bmi", variants=("generic", "onehot"))
    _assert_sound_predictions(clf, X)


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"metric": "f1"}, InvalidParameterError, "'metric' parameter .* Got 'f1'"),
        ({"variants": ("generic", "stacked")}, ValueError, "non-empty subset of"),
        ({"variants": ("onehot",)}, ValueError, "must include 'generic'"),
        ({"variants": "generic"}, InvalidParameterError, "'variants' parameter"),
        ({"routing": "fair"}, InvalidParameterError, "'routing' parameter .* 'fair'"),
        ({"test": "ttest"}, InvalidParameterError, "'test' parameter .* 'ttest'"),
        ({"test": "delong"}, ValueError, "test='delong' applies to metric='auc'"),
        ({"correction": "fdr"}, InvalidParameterError, "'correction' parameter"),
        ({"n_bootstrap": 0}, InvalidParameterError, "'n_bootstrap' parameter"),
        (
            {"n_bootstrap": 10**7},
            InvalidParameterError,
            "'n_bootstrap' parameter .* range \\[1, 1000000\\]",
        ),
        ({"group_columns": []}, ValueError, r"group_columns=\[\] names no column"),
        ({"cv": 1}, InvalidParameterError, "'cv' parameter .* Got 1 instead"),
        ({"cv": 1.0}, InvalidParameterError, "'cv' parameter .* Got 1.0 instead"),
        ({"alpha": 0}, InvalidParameterError, "'alpha' parameter .* Got 0 instead"),
        ({"alpha": 1}, InvalidParameterError, "'alpha' parameter .* Got 1 instead"),
        ({"alpha": -0.1}, InvalidParameterError, "'alpha' parameter"),
        ({"alpha": 1.5}, InvalidParameterError, "'alpha' parameter"),
        ({"estimator": LinearRegression()}, TypeError, "got LinearRegression, a re"),
    ],
)
def test_fairuse_classifier_bad_parameters(fitted, params, error, match):
    """Check that bad parameter values are refused, naming the parameter."""
    _, X, y = fitted
    with pytest.raises(error, match=match):
        _fit(X, y, **params)


@pytest.mark.parametrize("metric", METRICS)
def test_fairuse_classifier_base_without_predict_proba(fitted, metric):
    """Check every metric with bases lacking predict_proba or any score."""
    _, X, y = fitted
    for base, scores in [
        (LinearSVC(), True),
        (OutputCodeClassifier(LinearSVC()), False),
    ]:
        name = type(base).__name__
        if metric in ("ece", "log_loss", "brier"):
            with pytest.raises(ValueError, match=f"needs probabilities, but {name}"):
                _fit(X, y, estimator=base, metric=metric)
        elif metric == "auc" and not scores:
            with pytest.raises(ValueError, match=f"needs scores, but {name} has"):
                _fit(X, y, estimator=base, metric=metric)
        else:
            clf = _fit(X, y, estimator=base, metric=metric)
            assert not hasattr(clf, "predict_proba")
            assert np.isin(clf.predict(X), clf.classes_).all()


# ---------------------------------------------------------------- other data


def test_fairuse_classifier_empty_X(fitted):
    """Check that empty X is refused at fit and predict."""
    clf, X, y = fitted
    with pytest.raises(ValueError, match="0 sample\\(s\\) .* minimum of 1"):
        _fit(X.iloc[:0], y[:0])
    for method in ("predict", "predict_proba"):
        with pytest.raises(ValueError, match="0 sample\\(s\\) .* minimum of 1"):
            getattr(clf, method)(X.iloc[:0])


def test_fairuse_classifier_sample_weight_wrong_length(fitted):
    """Check that sample_weight of the wrong length names its expected shape."""
    _, X, y = fitted
    with pytest.raises(ValueError, match="sample_weight.shape == \\(5,\\), expected"):
        FairUseClassifier(group_columns="g").fit(X, y, sample_weight=np.ones(5))


def test_fairuse_classifier_predict_before_fit(fitted):
    """Check that using an unfitted classifier raises NotFittedError."""
    _, X, _ = fitted
    clf = FairUseClassifier(group_columns="g")
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(clf, method)(X)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        clf.routing_  # noqa: B018


def test_fairuse_classifier_polars_dataframe(fitted):
    """Check that a polars DataFrame fits and predicts like its pandas twin."""
    pl = pytest.importorskip("polars")
    clf, X, y = fitted
    holes = X.assign(g=X["g"].where(np.arange(len(X)) % 9 > 0))
    groups = [None if pd.isna(v) else v for v in holes["g"]]
    frame = pl.DataFrame({"f0": holes["f0"], "f1": holes["f1"], "g": groups})
    assert frame["g"].null_count() > 0
    from_polars = _fit(frame, pl.Series(y))
    from_pandas = _fit(holes, y)
    assert list(from_polars.feature_names_in_) == ["f0", "f1", "g"]
    assert dict(from_polars.routing_) == dict(from_pandas.routing_)
    assert_allclose(from_polars.predict_proba(frame), from_pandas.predict_proba(holes))
    assert_allclose(clf.predict_proba(frame), clf.predict_proba(holes))


# ------------------------------------------------------- failures and weights


def test_fairuse_classifier_failed_refit_keeps_previous_model(fitted):
    """Check that a refit that fails midway leaves the previous fitted model,
    not a mix of the two fits."""
    clf, X, y = fitted
    clf = FairUseClassifier(group_columns="g", random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    groups, routes = list(clf.groups_), dict(clf.routing_)
    # Three groups and a feature the base cannot take: the failure comes after
    # the groups are encoded, inside the cross-fitting.
    bad = X.assign(g=np.resize(["a", "b", "c"], len(X)), f1=np.nan)
    with pytest.raises(ValueError, match="hold NaN or infinite values"):
        clf.fit(bad, y)
    assert clf.groups_ == groups and dict(clf.routing_) == routes
    assert_allclose(clf.predict_proba(X), expected)
    fresh = FairUseClassifier(group_columns="g")
    with pytest.raises(ValueError):
        fresh.fit(bad, y)
    with pytest.raises(NotFittedError):
        fresh.predict(X)


def test_fairuse_classifier_refuses_cv_that_trains_on_test_rows(fitted):
    """Check that splits whose train sets hold test rows are refused, since the
    risks would be in-sample."""
    _, X, y = fitted
    rows = np.arange(len(y))
    folds = np.array_split(rows, 3)
    leaky = [(rows, test) for test in folds]
    with pytest.raises(ValueError, match=r"Split 0 of cv trains on 100 of the rows"):
        _fit(X, y, cv=leaky)
    empty = [(rows[:0], rows)]
    with pytest.raises(ValueError, match="trains on no row"):
        _fit(X, y, cv=empty)
    honest = [(np.setdiff1d(rows, test), test) for test in folds]
    evidence = _fit(X, y, cv=honest).audit_report_.evidence
    assert evidence.startswith("3-fold cross-fitting of the fold models")


def test_fairuse_classifier_set_params_without_base(fitted):
    """Check that tuning the default base asks for an explicit base estimator."""
    from sklearn.linear_model import LogisticRegression

    clf = FairUseClassifier(group_columns="g")
    expected = r"Cannot set \['estimator__C'\]: .* default make_pipeline\(Standard"
    with pytest.raises(ValueError, match=expected):
        clf.set_params(estimator__C=0.5)
    clf.set_params(estimator=LogisticRegression(), estimator__C=0.5)
    assert clf.estimator.C == 0.5


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (lambda n: np.where(np.arange(n) == 0, -1.0, 1.0), "1 negative value"),
        (np.zeros, "zero on every row"),
    ],
)
def test_fairuse_classifier_bad_sample_weight(fitted, weights, match):
    """Check that negative or all-zero weights are refused in one sentence."""
    _, X, y = fitted
    with pytest.raises(ValueError, match=f"sample_weight .*{match}"):
        FairUseClassifier(group_columns="g").fit(X, y, sample_weight=weights(len(y)))


@pytest.mark.parametrize("scaled", [False, True], ids=["plain", "pipeline"])
def test_fairuse_classifier_group_with_zero_weight_gets_no_decoupled_model(
    fitted, scaled
):
    """Check that a group whose weights are all zero fits no model of its own,
    says why, and that the other variants still fit, with the weights given
    to the base or to a Pipeline's last step."""
    _, X, y = fitted
    weights = np.where(X["g"] == "a", 0.0, 1.0)
    base = LogisticRegression(max_iter=1000)
    base = make_pipeline(StandardScaler(), base) if scaled else base
    clf = FairUseClassifier(base, group_columns="g", random_state=0)
    clf.fit(X, y, sample_weight=weights)
    assert clf.estimators_["decoupled"][0] is None
    assert clf.estimators_["decoupled"][1] is not None
    note = clf.audit_report_.to_frame().loc["a", "note"]
    assert "sample_weight is zero on its rows" in note
    _assert_sound_predictions(clf, X)


def test_fairuse_classifier_duplicate_column_names(fitted):
    """Check that a DataFrame with a repeated column name is refused by name."""
    _, X, y = fitted
    doubled = pd.concat([X, X[["f0"]]], axis=1)
    with pytest.raises(ValueError, match=r"X has the columns \['f0'\] more than once"):
        _fit(doubled, y)


def test_group_columns_behind_a_column_transformer_say_how_to_keep_them(heart):
    """Check the two ways a ColumnTransformer upstream hides the group
    columns, and that the advised settings make the pipeline fit."""
    X, y = heart
    numeric = [c for c in X.columns if c not in ("sex", "age_group")]

    def pipeline(**options):
        columns = make_column_transformer(
            (StandardScaler(), numeric), remainder="passthrough", **options
        )
        return columns, make_pipeline(
            columns,
            FairUseClassifier(group_columns=["sex", "age_group"], random_state=0),
        )

    columns, pipe = pipeline()
    with pytest.raises(ValueError, match="has no column names.*set_output"):
        pipe.fit(X, y)
    columns.set_output(transform="pandas")
    with pytest.raises(
        ValueError, match="holds 'remainder__sex'.*verbose_feature_names_out=False"
    ):
        pipe.fit(X, y)
    columns, pipe = pipeline(verbose_feature_names_out=False)
    columns.set_output(transform="pandas")
    assert pipe.fit(X, y)[-1].groups_ == [
        ("female", "60+"), ("female", "<60"), ("male", "60+"), ("male", "<60")
    ]  # fmt: skip
