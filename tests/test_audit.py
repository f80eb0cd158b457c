"""Fair-use audits of existing models and of FairUseClassifier."""

import json

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
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from fairuse_estimators import (
    FairUseClassifier,
    __version__,
    _meta,
    audit_fair_use,
)
from fairuse_estimators._pool import own_candidates
from fairuse_estimators._routing import gate_kind, route
from fairuse_estimators._stats import FIELD
from fairuse_estimators.datasets import load_dataset


@pytest.mark.parametrize("test", ["mcnemar", "bootstrap"])
def test_audit_fair_use_finds_planted_gain_harm_and_envy(planted, test):
    """Check that planted gains, harms and envy are found; the null group is not."""
    personalized, generic, X, y = planted
    report = audit_fair_use(
        personalized,
        X,
        y,
        group_columns="group",
        generic=generic,
        test=test,
        random_state=0,
    )
    frame = report.to_frame()
    assert frame.loc["gain", "rationality"] == "gain"
    assert frame.loc["harm", "rationality"] == "violation"
    if test == "mcnemar":
        # The generic model makes no error on it: no gain is possible.
        assert frame.loc["null", "rationality"] == "untestable"
        assert "no gain is possible" in frame.loc["null", "note"]
    else:
        # Its predictions differ from the generic ones on a handful of rows:
        # too few for the bootstrap of an error difference, which says so.
        assert frame.loc["null", "rationality"] == "untested"
        assert "rows where the losses differ < 10" in frame.loc["null", "note"]
    assert frame.loc["harm", "envy_freeness"] == "violation"
    assert frame.loc["harm", "envied_group"] in ("gain", "null")
    assert frame.loc["gain", "envy_freeness"] == "gain"
    assert frame.loc["harm", "p_violation"] <= 0.1
    assert frame.loc["gain", "gain_low"] > 0 > frame.loc["harm", "gain_high"]
    summary = report.summary_table().loc["personalized"]
    assert summary["rationality_gains"] == 1
    assert summary["rationality_violations"] == 1
    assert summary["envy_violations"] == 1
    assert summary["harmed_groups"] == 1


def test_audit_fair_use_risks_equal_sklearn_metrics(planted):
    """Check every group's risks against accuracy and AUC from scikit-learn."""
    personalized, generic, X, y = planted
    for metric in ("error", "auc"):
        report = audit_fair_use(
            personalized, X, y, group_columns=["group"], generic=generic, metric=metric
        )
        frame = report.to_frame()
        for group in ("gain", "harm", "null"):
            rows = (X["group"] == group).to_numpy()
            if metric == "error":
                own = 1 - accuracy_score(y[rows], personalized.predict(X[rows]))
                base = 1 - accuracy_score(y[rows], generic.predict(X.loc[rows, ["x"]]))
            else:
                own = 1 - roc_auc_score(
                    y[rows], personalized.predict_proba(X[rows])[:, 1]
                )
                base = 1 - roc_auc_score(
                    y[rows], generic.predict_proba(X.loc[rows, ["x"]])[:, 1]
                )
            assert_allclose(frame.loc[group, "risk_personalized"], own)
            assert_allclose(frame.loc[group, "risk_generic"], base)
        pairs = report.envy_frame()
        harm_as_null = pairs[(pairs.group == "harm") & (pairs.reported_group == "null")]
        rows = (X["group"] == "harm").to_numpy()
        as_null = X[rows].assign(group="null")
        if metric == "error":
            expected = 1 - accuracy_score(y[rows], personalized.predict(as_null))
            assert_allclose(harm_as_null["risk_reported"].iloc[0], expected)


def test_audit_fair_use_without_generic_tests_envy_only(planted):
    """Check that generic=None leaves rationality untested with the reason."""
    personalized, _, X, y = planted
    report = audit_fair_use(personalized, X, y, group_columns="group")
    frame = report.to_frame()
    assert (frame["rationality"] == "untested").all()
    assert frame["note"].str.contains("no generic model was given").all()
    assert frame.loc["harm", "envy_freeness"] == "violation"
    assert np.isnan(report.summary_table().loc["personalized", "risk_generic"])


def test_audit_fair_use_accepts_arrays_and_counts_withheld_rows(planted):
    """Check numpy input with a positional group column and missing groups."""
    personalized, generic, X, y = planted
    frame_report = audit_fair_use(
        personalized, X, y, group_columns="group", generic=generic
    )
    X_missing = X.copy()
    X_missing.loc[:9, "group"] = None
    report = audit_fair_use(
        personalized, X_missing, y, group_columns=["group"], generic=generic
    )
    assert report.n_withheld == 10
    assert report.n.sum() == len(y) - 10
    assert_array_equal(
        report.to_frame()["rationality"], frame_report.to_frame()["rationality"]
    )


def test_audit_fair_use_bad_options(planted):
    """Check clear errors for bad metric, test, alpha, correction and B."""
    personalized, generic, X, y = planted
    cases = [
        ({"metric": "f1"}, "metric must be one of"),
        ({"test": "delong"}, "test='delong' applies to metric='auc'"),
        ({"alpha": 1.0}, "alpha must be a number in \\(0, 1\\)"),
        ({"correction": "fdr"}, "correction must be one of"),
        ({"n_bootstrap": 0}, "n_bootstrap must be an integer from 1 to"),
        ({"n_bootstrap": 10**7}, "n_bootstrap must be an integer from 1 to 1,000,000"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            audit_fair_use(personalized, X, y, group_columns="group", **options)
    with pytest.raises(ValueError, match="'sex' is not a column of X"):
        audit_fair_use(personalized, X, y, group_columns="sex")
    with pytest.raises(ValueError, match="X has 2400 rows but y has 10"):
        audit_fair_use(personalized, X, y[:10], group_columns="group")


def test_fairuse_classifier_audit_matches_its_predictions(heart, scaled_lr):
    """Check the audit of the routed model against its own predictions."""
    X, y = heart
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, random_state=0, stratify=y
    )
    clf = FairUseClassifier(scaled_lr, group_columns=HEART_GROUPS, random_state=0)
    clf.fit(X_train, y_train)
    report = clf.audit(X_test, y_test)
    assert report.models == ["routed", "onehot", "intersectional", "decoupled"]
    frame = report.to_frame()
    predictions = clf.predict(X_test)
    for group, row in frame.iterrows():
        rows = (X_test[HEART_GROUPS] == list(group)).all(axis=1).to_numpy()
        assert row["n"] == rows.sum()
        assert_allclose(
            row["risk_personalized"], np.mean(predictions[rows] != y_test[rows])
        )
        generic = clf.estimators_["generic"].predict(
            X_test[rows].drop(columns=HEART_GROUPS).to_numpy()
        )
        assert_allclose(row["risk_generic"], np.mean(generic != y_test[rows]))
    summary = report.summary_table()
    assert_allclose(summary.loc["routed", "risk"], np.mean(predictions != y_test))
    assert report.settings["test"] == "mcnemar"
    assert clf.audit(X_test, y_test, metric="auc").settings["test"] == "delong"


def test_fairuse_classifier_audit_rejects_unknown_labels(heart, scaled_lr):
    """Check that labels never seen in fit are named."""
    X, y = heart
    clf = FairUseClassifier(scaled_lr, group_columns=HEART_GROUPS, random_state=0)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="labels \\[7\\], which are not among"):
        clf.audit(X, np.where(np.arange(len(y)) == 0, 7, y))


def test_audit_fair_use_rejects_labels_the_model_never_saw(planted):
    """Check that audit_fair_use refuses unseen labels as clf.audit does, rather
    than letting one stray row shift a group's risks."""
    personalized, generic, X, y = planted
    y_bad = np.where(np.arange(len(y)) == 0, 7, y)
    with pytest.raises(ValueError, match="labels \\[7\\], which are not among"):
        audit_fair_use(personalized, X, y_bad, group_columns="group", generic=generic)
    other = DecisionTreeClassifier().fit(X[["x"]], np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="fit both on the same labels"):
        audit_fair_use(personalized, X, y, group_columns="group", generic=other)


@pytest.mark.parametrize(
    "metric, gate_loss",
    [
        ("error", "metric"),
        ("error", "log_loss"),
        ("auc", "metric"),
        ("log_loss", "metric"),
        ("ece", "metric"),
    ],
)
def test_evidence_routing_leaves_no_significant_violation(
    metric, gate_loss, heart, scaled_lr
):
    """Check that evidence routing has no significant violation on its evidence."""
    datasets = [
        heart,
        figure2_data(),
        *(random_grouped_data(s, n=600) for s in range(3)),
    ]
    for X, y in datasets:
        groups = (
            HEART_GROUPS
            if "sex" in X and "age_group" in X
            else (["age", "sex"] if "age" in X else ["g0", "g1"])
        )
        clf = FairUseClassifier(
            scaled_lr,
            group_columns=groups,
            metric=metric,
            routing="evidence",
            gate_loss=gate_loss,
            n_bootstrap=200,
            random_state=0,
        )
        statistics, risks = fit_on_routing_evidence(clf, X, y)
        for key in ("rationality", "envy"):
            violation = statistics[key][0][..., FIELD["p_violation_adjusted"]]
            assert not (np.nan_to_num(violation, nan=1) <= clf.alpha).any()
        frame = clf.audit_report_.to_frame()
        generic = (frame["route"] == "generic").to_numpy()
        assert set(clf.audit_report_.generic_groups()) == set(frame.index[generic])
        # A group that left the generic model gained at least min_gain where
        # its route was chosen...
        routes = clf._route
        gains = risks[:, 0] - risks[np.arange(len(routes)), routes]
        assert (gains[~generic] >= clf.min_gain - 1e-12).all()
        if gate_loss == "metric":
            # ... and, tested on the metric itself, its gain is significant.
            rationality = statistics["rationality"][0][~generic]
            assert (rationality[:, FIELD["p_gain_adjusted"]] <= clf.alpha).all()


def test_evidence_routing_personalizes_on_strong_evidence():
    """Check that figure 2's groups harmed by generic leave it, the others stay."""
    X, y = figure2_data()
    clf = FairUseClassifier(
        DecisionTreeClassifier(random_state=0),
        group_columns=["age", "sex"],
        routing="evidence",
        random_state=0,
    ).fit(X, y)
    frame = clf.audit_report_.to_frame()
    served = frame.index[frame["risk_generic"] == 0].tolist()
    assert sorted(clf.audit_report_.generic_groups()) == sorted(served)
    assert len(served) == 2
    assert (clf.predict(X) == y).all()


def test_report_to_json_carries_settings_and_frames(planted):
    """Check that the JSON holds settings, version, summary and per-pair results."""
    personalized, generic, X, y = planted
    report = audit_fair_use(
        personalized,
        X,
        y,
        group_columns="group",
        generic=generic,
        test="bootstrap",
        n_bootstrap=300,
        random_state=3,
    )
    data = json.loads(report.to_json())
    assert {k: data[k] for k in ("metric", "test", "alpha", "correction")} == {
        "metric": "error",
        "test": "bootstrap",
        "alpha": 0.1,
        "correction": "holm",
    }
    assert (data["n_bootstrap"], data["random_state"]) == (300, 3)
    assert data["version"] == __version__
    groups = data["models"]["personalized"]["groups"]
    assert [g["group"] for g in groups] == ["gain", "harm", "null"]
    assert groups[1]["rationality"] == "violation"
    assert len(data["models"]["personalized"]["envy"]) == 6
    assert data["summary"][0]["rationality_violations"] == 1
    # The 'null' group gets the generic predictions on every row: its
    # comparison is untested and its missing bounds are written as JSON null.
    assert [g["gain_low"] is None for g in groups] == [False, False, True]
    assert groups[2]["rationality"] == "untested"


def test_report_frames_agree(planted):
    """Check that summary counts and envy verdicts agree with the pair frame."""
    personalized, generic, X, y = planted
    report = audit_fair_use(personalized, X, y, group_columns="group", generic=generic)
    frame, pairs = report.to_frame(), report.envy_frame()
    assert len(pairs) == 3 * 2
    assert_allclose(pairs["gap"], pairs["risk_reported"] - pairs["risk_own"])
    for group, row in frame.iterrows():
        mine = pairs[pairs.group == group]
        assert row["worst_envy"] == pytest.approx(-mine["gap"].min())
        assert (row["envy_freeness"] == "violation") == (
            mine.verdict == "violation"
        ).any()
    with pytest.raises(ValueError, match="model must be one of the audited models"):
        report.to_frame("onehot")


@pytest.mark.parametrize("metric", ["error", "log_loss"])
def test_audit_fair_use_envy_risks_equal_predictions_as_reported(heart, metric):
    """Check every pair's risk against predictions with the group columns replaced.

    The rows are shuffled, so groups are interleaved as in real data.
    """
    X, y = heart
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X.iloc[order].reset_index(drop=True), y[order]
    personalized = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), HEART_GROUPS), remainder=StandardScaler()
        ),
        LogisticRegression(),
    ).fit(X, y)
    report = audit_fair_use(
        personalized, X, y, group_columns=HEART_GROUPS, metric=metric
    )
    pairs = report.envy_frame().set_index(["group", "reported_group"])
    groups = X[HEART_GROUPS].apply(tuple, axis=1)
    for own in report.groups:
        rows = (groups == own).to_numpy()
        for other in report.groups:
            as_other = X[rows].assign(**dict(zip(HEART_GROUPS, other)))
            if metric == "error":
                risk = np.mean(personalized.predict(as_other) != y[rows])
            else:
                risk = log_loss(
                    y[rows], personalized.predict_proba(as_other), labels=[0, 1]
                )
            if own == other:
                assert_allclose(report.to_frame().loc[own, "risk_personalized"], risk)
            else:
                key = (", ".join(own), ", ".join(other))
                assert_allclose(pairs.loc[key, "risk_reported"], risk)


def _shifted_group_data(seed, shift, n=400, small=0.25):
    """One feature, and a group column whose smaller level shifts the log-odds."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = np.where(rng.random(n) < small, "small", "large")
    logits = 1.5 * x + shift * (g == "small")
    y = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(int)
    return pd.DataFrame({"x": x, "g": g}), y


def _personalized_groups(X, y, seed, **params):
    clf = FairUseClassifier(
        LogisticRegression(),
        group_columns=["g"],
        variants=("generic", "onehot"),
        min_gain=0.0,
        random_state=seed,
        **params,
    ).fit(X, y)
    return {
        group for group, (variant, _) in clf.routing_.items() if variant != "generic"
    }


def test_log_loss_gate_finds_gains_the_error_test_misses():
    """Check that testing log loss personalizes a shifted small group more often."""
    found = {"log_loss": 0, "metric": 0}
    for seed in range(12):
        X, y = _shifted_group_data(seed, shift=1.5)
        for gate_loss in found:
            found[gate_loss] += ("small",) in _personalized_groups(
                X, y, seed, gate_loss=gate_loss
            )
    assert found["log_loss"] >= found["metric"] + 3


def test_log_loss_gate_keeps_groups_generic_under_the_null():
    """Check that groups without a shift rarely leave the generic model."""
    left = 0
    n_worlds = 30
    for seed in range(n_worlds):
        X, y = _shifted_group_data(100 + seed, shift=0.0, small=0.5)
        left += len(_personalized_groups(X, y, seed, gate_loss="log_loss"))
    # 60 group tests at alpha = 0.1: Binomial(60, 0.1) exceeds 13 with
    # probability below 0.01.
    assert left <= 13


def test_min_gain_keeps_small_significant_gains_generic(scaled_lr):
    """Check that gains below min_gain stay generic and the notes say why."""
    bunch = load_dataset("whas500")
    groups = list(bunch.group_columns)

    def fit(min_gain):
        # The log-loss gate, corrected within each group, routes several
        # whas500 groups: enough gains to put a threshold between.
        clf = FairUseClassifier(
            scaled_lr, group_columns=groups, min_gain=min_gain, gate_loss="log_loss",
            gate_family="group", random_state=0,
        )  # fmt: skip
        _, risks = fit_on_routing_evidence(clf, bunch.data, bunch.target)
        return clf, risks

    free, risks = fit(0.0)
    routed = free._route != 0
    gains = pd.Series(
        risks[routed, 0] - risks[routed, free._route[routed]],
        index=pd.MultiIndex.from_tuples(
            [free.groups_[g] for g in np.flatnonzero(routed)]
        ),
    ).sort_values()
    assert len(gains) >= 2 and gains.iloc[0] < gains.iloc[-1]
    threshold = (gains.iloc[0] + gains.iloc[-1]) / 2
    clf, _ = fit(threshold)
    frame = clf.audit_report_.to_frame()
    kept = gains.index[gains < threshold]
    assert (frame.loc[kept, "route"] == "generic").all()
    assert (frame.loc[gains.index[gains >= threshold], "route"] != "generic").all()
    notes = dict(zip(clf.groups_, clf.audit_report_.notes))
    for group in kept:
        assert f"significant gains below min_gain={threshold:g}" in notes[group]


def test_gate_loss_needs_probabilities():
    """Check that an explicit proper-score gate needs predict_proba, auto does not."""
    X, y = random_grouped_data(0, n=300)
    base = RidgeClassifier()
    with pytest.raises(ValueError, match="gate_loss='log_loss' tests predicted"):
        FairUseClassifier(base, group_columns=["g0", "g1"], gate_loss="log_loss").fit(
            X, y
        )
    clf = FairUseClassifier(base, group_columns=["g0", "g1"], random_state=0)
    clf.fit(X, y)

    def kind(clf):
        return gate_kind(clf.routing, clf.gate_loss, clf.metric, clf.estimator)

    assert kind(clf) is None
    lr = FairUseClassifier(LogisticRegression(), group_columns=["g0", "g1"])
    # "auto" tests the metric itself: a log-loss gain is no error gain.
    assert kind(lr) is None
    assert kind(lr.set_params(gate_loss="log_loss")) == "log_loss"
    assert kind(lr.set_params(routing="best")) is None


def _gate_inputs(clf, X, y, monkeypatch):
    """Fit ``clf`` and return the evidence its routing stage was given."""
    seen = []

    def keep(routing, evidence, *args, **kwargs):
        seen.append(evidence)
        return route(routing, evidence, *args, **kwargs)

    monkeypatch.setattr(_meta, "route", keep)
    clf.fit(X, y)
    monkeypatch.undo()
    evidence = seen[0]  # the full evidence; the routes out of fold come after
    return evidence.y, evidence.predictions, evidence.group_ids, evidence.losses


def test_gate_losses_are_the_log_loss_of_own_candidates_out_of_fold(
    scaled_lr, monkeypatch
):
    """Check the gate's losses against sklearn's log loss of the out-of-fold
    probabilities, on the rows of each candidate's own group."""
    X, y = load_dataset("whas500", return_X_y=True)
    groups = ["sex", "age_group"]
    gated = FairUseClassifier(
        scaled_lr, group_columns=groups, gate_loss="log_loss", random_state=0
    )
    _, _, group_ids, losses = _gate_inputs(gated, X, y, monkeypatch)
    proba = FairUseClassifier(
        scaled_lr,
        group_columns=groups,
        metric="log_loss",
        routing="evidence",
        random_state=0,
    )
    codes, evidence, _, _ = _gate_inputs(proba, X, y, monkeypatch)
    own = own_candidates(gated._pool())
    checked = 0
    for g in range(len(gated.groups_)):
        rows = np.flatnonzero(group_ids == g)
        for candidate in [0, *own[g][own[g] > 0]]:
            expected = [
                log_loss([codes[i]], [evidence[candidate, i]], labels=[0, 1])
                for i in rows
            ]
            assert_allclose(losses[candidate, rows], expected, rtol=1e-5)
            checked += 1
    assert checked == 4 * len(gated.groups_)  # generic and three own candidates
