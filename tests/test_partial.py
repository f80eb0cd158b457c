"""Partial reporting: any subset of the group attributes, data minimization,
the participatory guarantee, and no penalty for withholding."""

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import fairuse_main
from sklearn.base import clone

from fairuse_estimators import FairUseClassifier, UnseenGroupWarning
from fairuse_estimators._estimators import make_estimator
from fairuse_estimators._files import read_model_file

FEATURES = ["x1", "x2"]


def sex_helps_women(n=3000, seed=0):
    """Women (15%) have a risk factor ``x2`` that men do not; age helps nobody.

    A generic model averages the slope of ``x2`` over everyone: women gain
    much from a model of their own, men almost nothing.
    """
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n, p=[0.15, 0.85])
    age = rng.choice(["<60", "60+"], n)
    x1, x2 = rng.normal(size=(2, n))
    logit = 1.5 * x1 + np.where(sex == "female", 2.5 * x2, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "sex": sex, "age": age}), y


def fitted_world(reporting):
    """The world, and a classifier fitted on it with ``reporting``."""
    X, y = sex_helps_women()
    clf = FairUseClassifier(
        group_columns=["sex", "age"], reporting=reporting, random_state=0
    ).fit(X, y)
    return X, y, clf


@pytest.fixture(scope="module")
def world():
    return fitted_world("partial")


def test_partial_reporting_says_women_report_sex_only_and_men_nothing(world):
    """Check the paper's advice on data: the report says women need to
    report sex only, and men nothing."""
    _, _, clf = world
    advice = clf.audit_report_.minimal_reporting()
    women = advice.xs("female", level="sex")
    men = advice.xs("male", level="sex")
    assert (women["must_report"] == "sex").all()
    assert (women["adds_nothing"] == "age").all()
    assert (men["must_report"] == "").all()
    assert (men["adds_nothing"] == "sex, age").all()
    assert (
        clf.audit_report_.to_frame()["must_report"].tolist() == ["sex"] * 2 + [""] * 2
    )
    # Reporting age alone is worth nothing to anyone.
    by_age = clf.reports_by_subset_[("age",)]
    assert by_age.generic_groups() == by_age.groups


def test_partial_reporting_beats_generic_for_women_who_report_sex_only(world):
    """Check on fresh rows that report sex only (age masked) that routing
    serves women better than the generic model, which all-or-nothing
    reporting would give them."""
    _, _, clf = world
    X_test, y_test = sex_helps_women(seed=1)
    sex_only = X_test.assign(age=None)
    women = (X_test["sex"] == "female").to_numpy()
    routed = clf.predict(sex_only)[women] == y_test[women]
    generic = clf.estimators_["generic"].predict(X_test[FEATURES].to_numpy())
    generic = generic[women] == y_test[women]
    assert routed.mean() - generic.mean() > 0.05
    # The same rows under all-or-nothing reporting get the generic model.
    all_or_nothing = clone(clf).set_params(reporting="all").fit(*world[:2])
    withheld = all_or_nothing.predict(sex_only)[women] == y_test[women]
    np.testing.assert_array_equal(withheld, generic)


def test_partial_reporting_rows_follow_their_reporting_group_route(world):
    """Check that each row, whatever it reports, is scored by its reporting
    group's route: a woman reporting sex only by a model fitted on women
    alone, a row reporting nothing by the generic model fitted on everyone."""
    X, y, clf = world
    assert clf.routing_[("female", None)] == ("decoupled", ("female", None))
    assert clf.routing_[("male", None)] == ("generic", None)
    assert clf.routing_[("female", "60+")] == ("decoupled", ("female", None))
    women = (X["sex"] == "female").to_numpy()
    # The default base estimator, fitted alone.
    own = make_estimator("logistic").fit(X.loc[women, FEATURES].to_numpy(), y[women])
    everyone = make_estimator("logistic").fit(X[FEATURES].to_numpy(), y)
    X_new, _ = sex_helps_women(n=50, seed=2)
    X_new.loc[::2, "age"] = None
    X_new.loc[::3, "sex"] = None
    proba = clf.predict_proba(X_new)
    features = X_new[FEATURES].to_numpy()
    female = (X_new["sex"] == "female").to_numpy()
    nothing = X_new["sex"].isna().to_numpy()
    np.testing.assert_allclose(proba[female], own.predict_proba(features[female]))
    np.testing.assert_allclose(
        proba[nothing], everyone.predict_proba(features[nothing])
    )
    np.testing.assert_array_equal(clf.predict(X_new), proba.argmax(axis=1))


def test_partial_reporting_never_learns_from_who_withholds():
    """Check that withholding age in training changes no model that does not
    use age: the generic model and every model on sex alone are the same,
    so no candidate learns from which values are missing."""
    X, y = sex_helps_women(n=1500, seed=3)
    masked = X.copy()
    masked.loc[np.random.default_rng(0).random(len(X)) < 0.3, "age"] = None
    params = {"group_columns": ["sex", "age"], "reporting": "partial"}
    full = FairUseClassifier(**params, random_state=0).fit(X, y)
    partial = FairUseClassifier(**params, random_state=0).fit(masked, y)
    compared = 0
    for a, b in zip(full._levels[:2], partial._levels[:2]):  # nothing, sex
        for variant, model in a["estimators"].items():
            models = model if isinstance(model, list) else [model]
            others = b["estimators"][variant]
            others = others if isinstance(others, list) else [others]
            for first, second in zip(models, others, strict=True):
                # The default base: a scaler, then a logistic regression.
                np.testing.assert_allclose(first[0].mean_, second[0].mean_)
                np.testing.assert_allclose(first[0].scale_, second[0].scale_)
                np.testing.assert_allclose(first[-1].coef_, second[-1].coef_)
                compared += 1
    assert compared == 4  # generic, one-hot on sex, decoupled female and male
    assert partial.reports_by_subset_[("sex", "age")].n_withheld == (
        masked["age"].isna().sum()
    )


def test_partial_reporting_keeps_the_participatory_guarantee(world):
    """Check that no group is significantly worse off for reporting more,
    on the out-of-fold tests the report holds, and that every finer group
    is compared with each coarser subset."""
    _, _, clf = world
    frame = clf.audit_report_.participation_frame()
    assert len(frame) == 2 * len(clf.groups_)
    assert set(frame["reports"]) == {"sex", "age"}
    assert not (frame["verdict"] == "violation").any()
    # Against reporting age only (the generic model), women gain.
    women_vs_age = frame[
        frame["group"].str.startswith("female") & (frame["reports"] == "age")
    ]
    assert (women_vs_age["verdict"] == "gain").all()
    # Against reporting sex only, the route is the same: nothing to test.
    same = frame[frame["reports"] == "sex"]
    assert (same["note"] == "the same route").all()
    assert (same["verdict"] == "untested").all()


def test_partial_reporting_reports_in_every_view(world, tmp_path):
    """Check that text, HTML and JSON say what each group must report, and
    that the JSON round-trips the participatory tests."""
    _, _, clf = world
    report = clf.audit_report_
    text = report.summary()
    assert "What each group must report" in text
    assert "Participatory guarantee" in text
    page = report.to_html(plots=False)
    assert "What each group must report" in page
    data = json.loads(report.to_json())
    assert [r["must_report"] for r in data["minimal_reporting"]] == ["sex"] * 2 + [
        ""
    ] * 2
    assert len(data["participation"]) == len(report.participation_frame())
    assert report.to_frame().loc[("female", "60+"), "route"] == (
        "decoupled on sex as (female)"
    )


def test_partial_reporting_audits_new_rows(world):
    """Check that audit() grades the partial routes on new rows: women gain
    significantly over the generic model, nobody has a violation."""
    _, _, clf = world
    X_test, y_test = sex_helps_women(seed=5)
    report = clf.audit(X_test, y_test)
    frame = report.to_frame()
    assert (frame.loc["female", "rationality"] == "gain").all()
    assert frame["must_report"].tolist() == ["sex"] * 2 + [""] * 2
    # On new rows too, reporting more leaves no group worse off.
    participation = report.participation_frame()
    assert len(participation) == 2 * len(clf.groups_)
    assert not (participation["verdict"] == "violation").any()
    women = participation["group"].str.startswith("female")
    gains = participation.loc[women & (participation["reports"] == "age"), "verdict"]
    assert (gains == "gain").all()
    assert not (frame["rationality"] == "violation").any()
    assert frame.loc[("female", "<60"), "route"] == "decoupled on sex as (female)"


def test_partial_reporting_unseen_values_follow_handle_unknown(world):
    """Check that an unseen value in a reported column gets the generic model
    with a warning, or an error with handle_unknown='error'."""
    X, y, clf = world
    row = X.head(1).assign(sex="other", age=None)
    with pytest.warns(UnseenGroupWarning, match="'other'"):
        proba = clf.predict_proba(row)
    generic = clf.estimators_["generic"].predict_proba(row[FEATURES].to_numpy())
    np.testing.assert_allclose(proba, generic)
    strict = clone(clf).set_params(handle_unknown="error").fit(X, y)
    with pytest.raises(ValueError, match="'other'"):
        strict.predict(row)


def test_partial_reporting_refuses_too_many_attributes():
    """Check that more than five group columns are refused before any fit,
    with the reason."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.integers(0, 2, size=(60, 7)), columns=list("abcdefg"))
    y = rng.integers(0, 2, 60)
    clf = FairUseClassifier(group_columns=list("bcdefg"), reporting="partial")
    with pytest.raises(
        ValueError, match=r"at most 5 group columns; got 6.*2\*\*6 = 64"
    ):
        clf.fit(X, y)


def test_partial_reporting_holdout_shows_but_does_not_test(world):
    """Check that with a holdout the routes, chosen on the only evidence
    there is, are shown but neither they nor the participatory guarantee
    are tested."""
    X, y, _ = world
    clf = FairUseClassifier(
        group_columns=["sex", "age"], reporting="partial", cv=0.3, random_state=0
    ).fit(X, y)
    frame = clf.audit_report_.participation_frame()
    assert (frame["verdict"] == "untested").all()
    assert frame["p_violation"].isna().all()
    assert (clf.audit_report_.to_frame()["rationality"] == "untested").all()


def test_partial_reporting_survives_pickle_and_skops(world, tmp_path):
    """Check that a partial-reporting model round-trips through pickle and
    through a skops file the command would load, predicting alike."""
    pytest.importorskip("skops.io")
    import skops.io as sio

    X, _, clf = world
    X_new = X.head(40).copy()
    X_new.loc[::2, "age"] = None
    X_new.loc[::5, "sex"] = None
    expected = clf.predict_proba(X_new)
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(clf)).predict_proba(X_new), expected
    )
    path = tmp_path / "partial.skops"
    sio.dump(clf, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = read_model_file(path)
    np.testing.assert_allclose(loaded.predict_proba(X_new), expected)
    assert loaded.routing_ == clf.routing_


def test_fairuse_command_fits_audits_and_predicts_partial_reports(tmp_path, capsys):
    """Check the command end to end: ``audit --reporting partial`` prints what
    each group must report, and ``predict`` scores rows with blank group
    cells by their reporting group's route, as the fitted model does."""
    X, y = sex_helps_women(n=1500, seed=6)
    data = tmp_path / "world.csv"
    X.assign(y=y).to_csv(data, index=False)
    options = ["--target", "y", "--groups", "sex,age", "--reporting", "partial"]
    audited = fairuse_main(capsys, "audit", data, *options)
    assert audited.returncode == 0, audited.stderr
    assert "What each group must report" in audited.stdout
    model = tmp_path / "model.skops"
    fitted = fairuse_main(capsys, "fit", data, *options, "--out", model)
    assert fitted.returncode == 0, fitted.stderr
    blanks = X.head(30).copy()
    blanks.loc[::2, "age"] = None
    blanks.loc[::3, "sex"] = None
    new = tmp_path / "new.csv"
    blanks.to_csv(new, index=False)
    out = tmp_path / "predictions.csv"
    predicted = fairuse_main(capsys, "predict", model, new, "--out", out)
    assert predicted.returncode == 0, predicted.stderr
    expected = read_model_file(model).predict_proba(blanks)
    np.testing.assert_allclose(pd.read_csv(out)[["proba_0", "proba_1"]], expected)
    clf = FairUseClassifier(
        make_estimator("logistic", 0), group_columns=["sex", "age"],
        reporting="partial", random_state=0,
    ).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(clf.predict_proba(blanks), expected)


@pytest.fixture(scope="module")
def sequential():
    return fitted_world("sequential")


def test_reporting_tree_asks_sex_first_and_never_age(sequential):
    """Check the questionnaire on the paper's framing: ask sex, and stop
    there, for women (routed on sex, a certified step) and men (generic)."""
    _, _, clf = sequential
    tree = clf.reporting_tree_
    frame = tree.to_frame()
    assert frame["asks"].tolist() == ["sex", "", ""]
    assert frame["answer"].tolist() == [
        "nothing reported",
        "sex = female",
        "sex = male",
    ]
    women = frame.iloc[1]
    assert women["route"] == "decoupled on sex as (female)"
    assert women["verdict"] == "gain" and women["gain"] > 0
    assert frame.iloc[2]["route"] == "generic"
    text = str(tree)
    assert "nothing reported: generic" in text and "-> ask sex" in text
    assert "age" not in text.split("\n", 1)[1]
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = tree.plot()
    assert len(ax.texts) == 3 and len(ax.lines) == 2


def test_reporting_tree_predicts_from_the_answers_it_asks_for(sequential, world):
    """Check that prediction follows the tree: answers to questions the tree
    does not ask are ignored, as if left blank, and a row that leaves the
    first question blank gets the generic model."""
    X, _, clf = sequential
    _, _, partial = world  # the same fit, routed per reporting group
    X_new, _ = sex_helps_women(n=60, seed=7)
    X_new.loc[::4, "sex"] = None
    np.testing.assert_allclose(
        clf.predict_proba(X_new), partial.predict_proba(X_new.assign(age=None))
    )
    blank = X_new["sex"].isna().to_numpy()
    generic = clf.estimators_["generic"].predict_proba(X_new[FEATURES].to_numpy())
    np.testing.assert_allclose(clf.predict_proba(X_new)[blank], generic[blank])
    with pytest.warns(UnseenGroupWarning, match="'other'"):
        proba = clf.predict_proba(X_new.head(1).assign(sex="other"))
    np.testing.assert_allclose(proba, generic[:1])
    with pytest.raises(AttributeError, match="reporting='sequential'"):
        getattr(partial, "reporting_tree_")  # noqa: B009


def test_reporting_tree_survives_skops(sequential, tmp_path):
    """Check that a sequential model loads from a skops file the command
    would load, with the same tree and predictions."""
    sio = pytest.importorskip("skops.io")
    X, _, clf = sequential
    path = tmp_path / "tree.skops"
    sio.dump(clf, path)
    loaded = read_model_file(path)
    assert str(loaded.reporting_tree_) == str(clf.reporting_tree_)
    np.testing.assert_allclose(
        loaded.predict_proba(X.head(20)), clf.predict_proba(X.head(20))
    )


def test_partial_reports_name_coarser_candidates_by_their_own_groups():
    """Check that a full report names the candidates of a coarser subset by
    that subset's groups, in every view, also when the coarser subset has a
    group (a value seen only with the other column blank) that no full group
    has."""
    X, y = sex_helps_women(n=2000, seed=8)
    X.loc[X.index[:60], ["sex", "age"]] = ["other", None]
    clf = FairUseClassifier(
        group_columns=["sex", "age"], reporting="partial", random_state=0
    ).fit(X, y)
    report = clf.audit_report_
    columns = report.risk_matrix().columns
    assert ("decoupled on sex", "female") in columns
    assert ("onehot on sex", "other") in columns
    assert ("onehot on sex", "female, 60+") not in columns
    candidates = json.loads(report.to_json())["candidates"]
    assert {"variant": "decoupled on sex", "reported_group": "male"} in candidates
    X_test, y_test = sex_helps_women(n=800, seed=9)
    assert ("decoupled on sex", "female") in clf.audit(X_test, y_test).risk_matrix()


def test_gate_loss_tests_leave_rows_without_losses_to_the_metric():
    """Check that a loss test whose candidate has no loss on some of the
    group's rows (nan) is left untested, for the metric's test to decide,
    while the other comparisons of the group are tested as before."""
    from fairuse_estimators._stats import TestOptions, loss_tests

    rng = np.random.default_rng(0)
    losses = rng.random((3, 200)).astype(np.float32)
    group_ids = np.zeros(200, dtype=int)
    comparisons = np.array([[0, 0, 1], [0, 0, 2]])
    options = TestOptions("bootstrap", 0.1, "holm", 500, 0, "condition")
    complete = loss_tests(losses, group_ids, comparisons, options)
    losses[2, :5] = np.nan
    partial = loss_tests(losses, group_ids, comparisons, options)
    assert np.isfinite(complete).all()
    assert np.isnan(partial[1]) and partial[0] == complete[0]


def test_partial_reporting_on_one_column_audits_its_own_variants():
    """Check that with one group column the audit lists only the variants
    that subset fits (one-hot, decoupled: intersectional is the same
    design)."""
    X, y = sex_helps_women(n=1500, seed=10)
    clf = FairUseClassifier(group_columns="sex", reporting="partial", random_state=0)
    clf.fit(X.drop(columns="age"), y)
    assert clf.audit_report_.models == ["routed", "onehot", "decoupled"]
    X_test, y_test = sex_helps_women(n=600, seed=11)
    report = clf.audit(X_test.drop(columns="age"), y_test)
    assert report.models == ["routed", "onehot", "decoupled"]


def test_partial_reporting_needs_rows_that_report_every_column():
    """Check the error when no training row reports every group column."""
    X, y = sex_helps_women(n=300, seed=12)
    X.loc[X["sex"] == "female", "age"] = None
    X.loc[X["sex"] == "male", "sex"] = None
    clf = FairUseClassifier(group_columns=["sex", "age"], reporting="partial")
    with pytest.raises(ValueError, match="No row of X reports every group column"):
        clf.fit(X, y)


def test_reporting_tree_never_asks_what_changes_no_route_under_auc():
    """Check that under a metric whose group risks do not add up over
    subgroups (AUC), the tree still asks sex only: every route depends on
    sex alone."""
    X, y = sex_helps_women()
    clf = FairUseClassifier(
        group_columns=["sex", "age"], reporting="sequential", metric="auc",
        random_state=0,
    ).fit(X, y)  # fmt: skip
    asked = clf.reporting_tree_.to_frame()["asks"]
    assert asked.iloc[0] == "sex" and "age" not in set(asked)


def test_partial_reports_name_every_candidate_apart(world):
    """Check that no two candidates of a subset's report share a label, the
    routes chosen out of fold for the subset itself and for each coarser
    subset included."""
    _, _, clf = world
    for report in clf.reports_by_subset_.values():
        columns = report.risk_matrix().columns
        assert not columns.duplicated().any(), columns[columns.duplicated()]


@pytest.mark.parametrize("reporting", ["all", "partial", "sequential"])
def test_unhashable_group_values_at_predict_name_the_column(reporting):
    """Check that a list in a group column at prediction time raises an
    error naming the column, whatever the reporting."""
    X, y = sex_helps_women(n=400, seed=13)
    clf = FairUseClassifier(
        group_columns=["sex", "age"], reporting=reporting, cv=3, random_state=0
    ).fit(X, y)
    bad = X.head(3).copy()
    bad["sex"] = pd.Series([["female"], "male", "male"], index=bad.index, dtype=object)
    with pytest.raises(TypeError, match="group column 'sex' holds a value"):
        clf.predict(bad)
