"""FairUseRegressor: the classifier's contract for a continuous target."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor
from sklearn.metrics import (
    mean_absolute_error,
    mean_pinball_loss,
    mean_poisson_deviance,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairuse_estimators import FairUseRegressor, UnseenGroupWarning, audit_fair_use

GROUPS = ["g"]


def grouped_regression(seed=0, n=600, sizes=(0.45, 0.45, 0.10), poisson=False):
    """A feature, a group column and a target whose slope differs by group.

    Groups ``a`` and ``b`` share slope +1; the small group ``c`` has slope
    -1, so a pooled or one-hot linear model fits it badly.
    """
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=list(sizes))
    x = rng.normal(size=n)
    slope = np.where(group == "c", -1.0, 1.0)
    if poisson:
        y = rng.poisson(np.exp(0.5 * slope * x)).astype(float)
    else:
        y = slope * x + rng.normal(scale=0.5, size=n)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "g": group}), y


@pytest.fixture(scope="module")
def data():
    return grouped_regression()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return FairUseRegressor(
        LinearRegression(), group_columns=GROUPS, random_state=0
    ).fit(X, y)


def _group_rows(X, group):
    return np.flatnonzero(X["g"].to_numpy() == group)


@pytest.mark.parametrize(
    "metric, quantile, reference, base",
    [
        ("squared_error", 0.5, mean_squared_error, LinearRegression()),
        ("absolute_error", 0.5, mean_absolute_error, LinearRegression()),
        (
            "pinball",
            0.8,
            lambda y, p: mean_pinball_loss(y, p, alpha=0.8),
            HistGradientBoostingRegressor(
                loss="quantile", quantile=0.8, max_iter=30, random_state=0
            ),
        ),
        ("poisson", 0.5, mean_poisson_deviance, PoissonRegressor()),
    ],
)
def test_regressor_risks_equal_sklearn_metrics_per_group(
    metric, quantile, reference, base
):
    """Check that every group's audited risk under the generic model and under
    the routed model equals sklearn's metric on the group's rows."""
    X, y = grouped_regression(seed=1, poisson=metric == "poisson")
    X_new, y_new = grouped_regression(seed=2, poisson=metric == "poisson")
    reg = FairUseRegressor(
        base, group_columns=GROUPS, metric=metric, quantile=quantile, random_state=0
    ).fit(X, y)
    report = reg.audit(X_new, y_new)
    frame = report.to_frame("routed")
    generic = reg.estimators_["generic"]
    routed = reg.predict(X_new)
    for label, (group,) in enumerate(reg.groups_):
        rows = _group_rows(X_new, group)
        expected_generic = reference(
            y_new[rows],
            generic.predict(X_new.iloc[rows].drop(columns=GROUPS).to_numpy()),
        )
        assert_allclose(frame["risk_generic"].iloc[label], expected_generic, rtol=1e-9)
        assert_allclose(
            frame["risk_personalized"].iloc[label],
            reference(y_new[rows], routed[rows]),
            rtol=1e-9,
        )
    assert str(report.metric).startswith("pinball" if metric == "pinball" else metric)


def test_regressor_fixes_the_harm_of_onehot(data):
    """The regression toy: a one-hot linear model shares the slope of the two
    large groups with the small group of opposite slope; the regressor routes
    that group to its own model, with no violation on new rows and a lower
    squared error on the group than the one-hot model's."""
    X, y = data
    X_new, y_new = grouped_regression(seed=3)
    onehot = make_pipeline(
        make_column_transformer((OneHotEncoder(), GROUPS), remainder=StandardScaler()),
        LinearRegression(),
    ).fit(X, y)
    reg = FairUseRegressor(LinearRegression(), group_columns=GROUPS, random_state=0)
    reg.fit(X, y)
    assert reg.routing_[("c",)] == ("decoupled", ("c",))
    audited = reg.audit(X_new, y_new).to_frame("routed")
    assert (audited["rationality"] != "violation").all()
    assert (audited["envy_freeness"] != "violation").all()
    rows = _group_rows(X_new, "c")
    assert mean_squared_error(y_new[rows], reg.predict(X_new)[rows]) < (
        mean_squared_error(y_new[rows], onehot.predict(X_new)[rows])
    )


def test_regressor_harm_of_onehot_is_significant():
    """Check that the audit of the one-hot linear model flags the small group
    with a significant rationality violation when it has enough rows."""
    X, y = grouped_regression(seed=4, n=2000, sizes=(0.4, 0.4, 0.2))
    X_new, y_new = grouped_regression(seed=5, n=2000, sizes=(0.4, 0.4, 0.2))
    onehot = make_pipeline(
        make_column_transformer((OneHotEncoder(), GROUPS), remainder="passthrough"),
        LinearRegression(),
    ).fit(X, y)
    generic = LinearRegression().fit(X.drop(columns=GROUPS)[["z"]], y)
    # A generic model without x predicts the mean: on c, one-hot's slope of
    # the wrong sign does worse than no slope at all.
    wrapped = make_pipeline(
        make_column_transformer(("passthrough", ["z"])), LinearRegression()
    ).fit(X.drop(columns=GROUPS), y)
    report = audit_fair_use(
        onehot, X_new, y_new, group_columns=GROUPS, generic=wrapped, random_state=0
    )
    frame = report.to_frame()
    assert frame.loc["c", "rationality"] == "violation"
    assert frame.loc["a", "rationality"] == "gain"
    expected = mean_squared_error(
        y_new[_group_rows(X_new, "c")],
        generic.predict(X_new.iloc[_group_rows(X_new, "c")][["z"]]),
    )
    assert_allclose(frame.loc["c", "risk_generic"], expected)


def test_regressor_predicts_with_each_groups_route(fitted, data):
    """Check that predict calls each row's routed candidate and that withheld
    and unseen groups get the generic model."""
    X, _ = data
    X_new = X.head(30).copy()
    X_new.loc[X_new.index[:3], "g"] = np.nan
    X_new.loc[X_new.index[3:6], "g"] = "unseen"
    with pytest.warns(UnseenGroupWarning):
        predicted = fitted.predict(X_new)
    generic = fitted.estimators_["generic"].predict(X_new[["x", "z"]].to_numpy())
    assert_allclose(predicted[:6], generic[:6])
    for i in range(6, 30):
        group = X_new["g"].iloc[i]
        variant, reported = fitted.routing_[(group,)]
        assert variant == "decoupled"
        own = fitted.estimators_["decoupled"][fitted.groups_.index(reported)]
        assert_allclose(
            predicted[i], own.predict(X_new[["x", "z"]].iloc[[i]].to_numpy())[0]
        )
    with pytest.raises(ValueError, match="unseen"):
        clone(fitted).set_params(handle_unknown="error").fit(*data).predict(X_new)


def test_regressor_score_is_r2(fitted, data):
    X, y = data
    assert_allclose(fitted.score(X, y), r2_score(y, fitted.predict(X)))


def test_regressor_ensemble_deploys_the_fold_models(data):
    """Check that ensemble=True predicts the mean of the fold models."""
    X, y = data
    reg = FairUseRegressor(
        LinearRegression(), group_columns=GROUPS, ensemble=True, cv=4, random_state=0
    ).fit(X, y)
    generic = reg.estimators_["generic"]
    assert len(generic.estimators_) == 4
    features = X[["x", "z"]].to_numpy()
    expected = np.mean([m.predict(features) for m in generic.estimators_], axis=0)
    assert_allclose(generic.predict(features), expected)
    assert "deployed averaged" in reg.audit_report_.evidence


def test_regressor_sample_weight_reaches_every_fit(data):
    """Check that sample_weight changes the base fits as it changes the base."""
    X, y = data
    weights = np.where(X["x"] > 0, 5.0, 1.0)
    reg = FairUseRegressor(LinearRegression(), group_columns=GROUPS, random_state=0)
    reg.fit(X, y, sample_weight=weights)
    expected = LinearRegression().fit(X[["x", "z"]], y, sample_weight=weights)
    assert_allclose(reg.estimators_["generic"].coef_, expected.coef_)


def test_regressor_in_pipeline_grid_search_and_cross_val(data):
    """Check clone, a Pipeline, GridSearchCV and cross_val_score."""
    X, y = data
    reg = FairUseRegressor(
        make_pipeline(StandardScaler(), LinearRegression()),
        group_columns=GROUPS,
        cv=3,
        random_state=0,
    )
    scores = cross_val_score(reg, X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.5).all()
    grid = GridSearchCV(reg, {"min_gain": [0.0, 10.0]}, cv=3).fit(X, y)
    # A min_gain above every gain keeps every group generic, whose R^2 is lower.
    assert grid.best_params_ == {"min_gain": 0.0}
    kept = clone(reg).set_params(min_gain=10.0).fit(X, y)
    assert all(v == "generic" for v, _ in kept.routing_.values())


def test_regressor_joblib_and_pickle_round_trip(fitted, data, tmp_path):
    X, _ = data
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), fitted.predict(X))
    assert loaded.audit_report_.to_json() == fitted.audit_report_.to_json()


def test_regressor_skops_trusts_only_package_types(fitted, data):
    """Check that a skops file of a regressor needs the package's own types
    trusted and nothing else, and that the command's allow-list takes it."""
    sio = pytest.importorskip("skops.io")
    from fairuse_estimators._files import TRUSTED_TYPE_NAMES

    X, _ = data
    dumped = sio.dumps(fitted)
    untrusted = sorted(sio.get_untrusted_types(data=dumped))
    assert untrusted == [
        "fairuse_estimators._groups.GroupEncoding",
        "fairuse_estimators._regressor.FairUseRegressor",
        "fairuse_estimators._report.FairUseReport",
    ]
    assert set(untrusted) <= set(TRUSTED_TYPE_NAMES)
    loaded = sio.loads(dumped, trusted=untrusted)
    assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_regressor_partial_reporting(data):
    """Check that partial reporting fits a regressor and that a row reporting
    only one of two attributes gets a prediction of a model that uses no more
    than that attribute."""
    X, y = data
    hi = np.random.default_rng(7).choice(["hi", "lo"], size=len(X))
    # The second attribute shifts the target of group a only.
    y = y + np.where((X["g"] == "a") & (hi == "hi"), 2.0, 0.0)
    X = X.assign(h=hi)
    reg = FairUseRegressor(
        LinearRegression(), group_columns=["g", "h"], reporting="partial", cv=3,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    assert set(reg.reports_by_subset_) == {("g",), ("h",), ("g", "h")}
    assert reg.reports_by_subset_[("g",)].metric == "squared_error"
    rows = X.index[(X["g"] == "a") & (X["h"] == "hi")][:20]
    full = reg.predict(X.loc[rows])
    partial = reg.predict(X.loc[rows].assign(h=np.nan))
    # Reporting h = hi raises group a's predictions by about the shift.
    assert np.isfinite(partial).all()
    assert (full - partial).mean() > 0.5
    assert reg.routing_[("a", None)][0] != "generic"


def test_regressor_refuses_bad_input(data):
    X, y = data
    with pytest.raises(TypeError, match="estimator must be a regressor"):
        FairUseRegressor(LogisticRegression(), group_columns=GROUPS).fit(X, y)
    with pytest.raises(ValueError, match="test"):
        FairUseRegressor(group_columns=GROUPS, test="mcnemar").fit(X, y)
    with pytest.raises(ValueError, match="metric"):
        FairUseRegressor(group_columns=GROUPS, metric="error").fit(X, y)
    with pytest.raises(ValueError, match="non-negative target"):
        FairUseRegressor(
            PoissonRegressor(), group_columns=GROUPS, metric="poisson"
        ).fit(X, y)
    with pytest.raises(ValueError, match="non-negative predictions"):
        FairUseRegressor(
            LinearRegression(), group_columns=GROUPS, metric="poisson"
        ).fit(X, np.maximum(3 * X["x"].to_numpy(), 0.0))
    with pytest.raises(ValueError, match="NaN"):
        FairUseRegressor(group_columns=GROUPS).fit(
            X, np.where(np.arange(len(y)) == 0, np.nan, y)
        )
    with pytest.raises(ValueError, match="quantile"):
        FairUseRegressor(group_columns=GROUPS, quantile=1.5).fit(X, y)


def test_regressor_user_loss_and_scorer(data):
    """Check that a per-row loss and a scorer of a whole group serve as
    metrics, and that their risks are what they compute on each group."""
    from sklearn.metrics import make_scorer

    X, y = data
    X_new, y_new = grouped_regression(seed=6)

    def squared(y_true, y_pred):
        return (y_true - y_pred) ** 2

    by_loss = FairUseRegressor(
        LinearRegression(), group_columns=GROUPS, metric=squared, random_state=0
    ).fit(X, y)
    named = FairUseRegressor(LinearRegression(), group_columns=GROUPS, random_state=0)
    named.fit(X, y)
    assert_allclose(by_loss.audit_report_.risks, named.audit_report_.risks)
    r2 = make_scorer(r2_score)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = named.audit(X_new, y_new, metric=r2)
    predicted = named.predict(X_new)
    frame = report.to_frame("routed")
    for label, (group,) in enumerate(named.groups_):
        rows = _group_rows(X_new, group)
        assert_allclose(
            frame["risk_personalized"].iloc[label],
            -r2_score(y_new[rows], predicted[rows]),  # a scorer's risk: minus it
        )


def test_regressor_n_jobs_changes_no_result(data):
    X, y = data
    reg = FairUseRegressor(LinearRegression(), group_columns=GROUPS, random_state=0)
    serial, parallel = clone(reg).fit(X, y), clone(reg).set_params(n_jobs=2).fit(X, y)
    assert dict(parallel.routing_) == dict(serial.routing_)
    assert_allclose(parallel.audit_report_.risks, serial.audit_report_.risks)
    assert_allclose(parallel.predict(X), serial.predict(X))


def test_regressor_takes_tags_from_its_base():
    """Check that missing values are allowed exactly when the base allows them."""
    from sklearn.utils import get_tags

    assert get_tags(
        FairUseRegressor(HistGradientBoostingRegressor())
    ).input_tags.allow_nan
    assert not get_tags(FairUseRegressor(LinearRegression())).input_tags.allow_nan
    assert get_tags(FairUseRegressor()).estimator_type == "regressor"


def test_regressor_report_views_and_display(fitted, data, tmp_path):
    """Check the text, HTML, JSON and plot of a regressor's report: the loss is
    named and shown as a loss, and the JSON round trip keeps the risks."""
    import json

    pytest.importorskip("matplotlib")
    from fairuse_estimators import FairUseDisplay

    X, y = data
    report = fitted.audit(X, y)
    text = str(report)
    assert "risk squared_error (lower is better)" in text
    page = report.to_html()
    assert "squared_error" in page and "<svg" in page
    payload = json.loads(report.to_json())
    assert payload["metric"] == "squared_error"
    assert_allclose(np.asarray(payload["risks"], dtype=float), report.risks)
    display = FairUseDisplay.from_estimator(fitted, X, y)
    assert display.figure_ is not None
    path = tmp_path / "gains.png"
    display.figure_.savefig(path)
    assert path.stat().st_size > 0


def test_regressor_at_the_end_of_a_pipeline(data):
    """Check the regressor as the last step of a Pipeline whose first step
    keeps the group columns (a ColumnTransformer passing them through)."""
    from sklearn.compose import ColumnTransformer

    X, y = data
    prepare = ColumnTransformer(
        [("scale", StandardScaler(), ["x", "z"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    pipe = make_pipeline(
        prepare,
        FairUseRegressor(LinearRegression(), group_columns=GROUPS, random_state=0),
    ).fit(X, y)
    direct = FairUseRegressor(LinearRegression(), group_columns=GROUPS, random_state=0)
    direct.fit(prepare.fit_transform(X), y)
    assert_allclose(pipe.predict(X), direct.predict(prepare.transform(X)))
    assert dict(pipe[-1].routing_) == dict(direct.routing_)


@pytest.mark.parametrize("scale", [1e-7, 1e6])
def test_regressor_verdicts_do_not_depend_on_the_units_of_the_target(data, scale):
    """Check that a target in other units (squared errors of the order of
    1e-14, or of 1e12) gets the same routes and verdicts, its risks scaled by
    the square of the factor: no tolerance is absolute."""
    X, y = data
    reg = FairUseRegressor(LinearRegression(), group_columns=GROUPS, random_state=0)
    original = clone(reg).fit(X, y)
    scaled = clone(reg).fit(X, y * scale)
    assert dict(scaled.routing_) == dict(original.routing_)
    columns = ["route", "rationality", "envy_freeness"]
    frame, scaled_frame = (r.audit_report_.to_frame() for r in (original, scaled))
    pd.testing.assert_frame_equal(scaled_frame[columns], frame[columns])
    assert_allclose(scaled.audit_report_.risks, original.audit_report_.risks * scale**2)
    assert_allclose(scaled_frame["p_gain"], frame["p_gain"], rtol=1e-6)


def test_audit_refuses_a_generic_model_of_the_other_task(data):
    """Check that a classifier given as the generic model of a regressor (or
    the reverse) is refused, rather than its labels scored as values."""
    X, y = data
    features = X.drop(columns=GROUPS)
    personalized = FairUseRegressor(LinearRegression(), group_columns=GROUPS).fit(X, y)
    classifier = LogisticRegression().fit(features, y > 0)
    with pytest.raises(ValueError, match="generic is a classifier"):
        audit_fair_use(personalized, X, y, group_columns=GROUPS, generic=classifier)
    onehot = make_pipeline(
        make_column_transformer((OneHotEncoder(), GROUPS), remainder="passthrough"),
        LogisticRegression(),
    ).fit(X, y > 0)
    regressor = LinearRegression().fit(features, y)
    with pytest.raises(ValueError, match="generic is a regressor"):
        audit_fair_use(onehot, X, y > 0, group_columns=GROUPS, generic=regressor)


def test_audit_refuses_a_quantile_outside_the_unit_interval(data):
    X, y = data
    reg = FairUseRegressor(LinearRegression(), group_columns=GROUPS).fit(X, y)
    for quantile in (0.0, 2, -1):
        with pytest.raises(ValueError, match="quantile must be a number in"):
            audit_fair_use(reg, X, y, group_columns=GROUPS, metric="pinball",
                           quantile=quantile)  # fmt: skip


def test_default_base_is_fitted_for_the_metric(data):
    """Check that estimator=None fits a quantile regression for the pinball
    loss and a Poisson regression for counts, as the command line does."""
    from sklearn.linear_model import QuantileRegressor

    X, y = data
    reg = FairUseRegressor(
        group_columns=GROUPS, metric="pinball", quantile=0.9, random_state=0
    ).fit(X, y)
    base = reg.estimators_["generic"][-1]
    assert isinstance(base, QuantileRegressor) and base.quantile == 0.9
    covered = (y <= reg.predict(X)).mean()
    assert 0.85 < covered < 0.95
    X_counts, counts = grouped_regression(poisson=True)
    poisson = FairUseRegressor(group_columns=GROUPS, metric="poisson").fit(
        X_counts, counts
    )
    assert isinstance(poisson.estimators_["generic"][-1], PoissonRegressor)


def test_poisson_fit_survives_a_group_without_events(data):
    """A group whose counts are all 0 gets a decoupled Poisson model that
    predicts 0: its deviance on positive counts is huge but finite, and the
    fit goes on."""
    X, counts = grouped_regression(poisson=True)
    counts = np.where(X["g"] == "c", 0.0, counts)
    reg = FairUseRegressor(
        PoissonRegressor(alpha=0.0, max_iter=1000), group_columns=GROUPS,
        metric="poisson", random_state=0,
    )  # fmt: skip
    # The base's own warning on the group without events, reported once.
    with pytest.warns(RuntimeWarning, match="base fits raised RuntimeWarning"):
        reg.fit(X, counts)
    assert np.isfinite(reg.audit_report_.risks).all()
    assert np.isfinite(reg.predict(X)).all()


def test_a_relative_loss_of_a_positive_target_is_accepted(data):
    """Check that a per-row loss dividing by the target passes the early
    check (made on positive values) and equals its mean on each group."""
    X, y = data
    target = np.exp(y / 3) + 1

    def relative(y_true, y_pred):
        return np.abs(y_true - y_pred) / y_true

    reg = FairUseRegressor(
        LinearRegression(), group_columns=GROUPS, metric=relative, random_state=0
    ).fit(X, target)
    frame = reg.audit(X, target).to_frame("routed")
    predicted = reg.predict(X)
    for label, (group,) in enumerate(reg.groups_):
        rows = _group_rows(X, group)
        expected = relative(target[rows], predicted[rows]).mean()
        assert_allclose(frame["risk_personalized"].iloc[label], expected)


def test_a_loss_of_a_whole_group_is_refused_with_a_regression_example(data):
    """Check that a metric returning one number per group is refused with the
    way to pass it, named for a continuous target."""
    from sklearn.metrics import mean_squared_error

    X, y = data
    reg = FairUseRegressor(group_columns=GROUPS, metric=mean_squared_error)
    with pytest.raises(ValueError, match=r"one loss per row.*make_scorer\(r2_score\)"):
        reg.fit(X, y)


def test_audit_refuses_negative_counts_for_the_poisson_deviance():
    """Check that audit_fair_use refuses a negative target for the Poisson
    deviance, as the regressor does, rather than reporting NaN risks."""
    X, counts = grouped_regression(poisson=True)
    reg = FairUseRegressor(group_columns=GROUPS, metric="poisson").fit(X, counts)
    for audit in (
        lambda: audit_fair_use(
            reg, X, counts - 1, group_columns=GROUPS, metric="poisson"
        ),
        lambda: reg.audit(X, counts - 1),
    ):
        with pytest.raises(ValueError, match="needs a non-negative target"):
            audit()
