"""The paper's toy examples of how personalization harms (Figures 4, 6 and 7)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

from fairuse_estimators import FairUseClassifier, audit_fair_use

GROUPS = ["g1", "g2"]


def _counts_data(counts, scale=1):
    """Rows with a constant feature from ``{(g1, g2): (n_pos, n_neg)}``."""
    rows = []
    for (g1, g2), (n_pos, n_neg) in counts.items():
        rows += [(0.0, g1, g2, 1)] * (n_pos * scale) + [(0.0, g1, g2, 0)] * (
            n_neg * scale
        )
    frame = pd.DataFrame(rows, columns=["x", "g1", "g2", "y"])
    return frame.drop(columns="y"), frame["y"].to_numpy()


def _onehot_tree(columns):
    return make_pipeline(
        make_column_transformer((OneHotEncoder(), columns), remainder="passthrough"),
        DecisionTreeClassifier(random_state=0),
    )


def _fitted(counts):
    X, y = _counts_data(counts)
    personalized = _onehot_tree(GROUPS).fit(X, y)
    generic = DecisionTreeClassifier(random_state=0).fit(X[["x"]], y)
    return personalized, generic


# Figure 6: training counts that differ from the population by sampling error.
FIGURE6_TRAIN = {(0, 0): (65, 60), (1, 0): (60, 65), (0, 1): (60, 65), (1, 1): (70, 55)}
FIGURE6_TRUE = {(0, 0): (13, 12), (1, 0): (12, 13), (0, 1): (13, 12), (1, 1): (14, 11)}


def test_figure6_small_samples_harm_one_hot_and_evidence_routing_abstains():
    """Check that one-hot harms (0, 1) in deployment and evidence routing does not."""
    personalized, generic = _fitted(FIGURE6_TRAIN)
    X_true, y_true = _counts_data(FIGURE6_TRUE, scale=200)
    report = audit_fair_use(
        personalized, X_true, y_true, group_columns=GROUPS, generic=generic
    )
    frame = report.to_frame()
    violated = frame.index[frame["rationality"] == "violation"].tolist()
    assert violated == [(0, 1)]
    assert frame.loc[(0, 1), "gain"] == pytest.approx(-(13 - 12) / 25)
    # The training gains (5 of 125 rows) are not evidence: every group stays generic.
    X_train, y_train = _counts_data(FIGURE6_TRAIN)
    clf = FairUseClassifier(
        DecisionTreeClassifier(random_state=0), group_columns=GROUPS, random_state=0
    ).fit(X_train, y_train)
    assert len(clf.audit_report_.generic_groups()) == 4
    deployed = clf.audit(X_true, y_true).summary_table().loc["routed"]
    assert deployed["rationality_violations"] == deployed["harmed_groups"] == 0


# Figure 7: label shift in group (0, 1) after training.
FIGURE7_TRAIN = {(0, 0): (21, 0), (1, 0): (5, 25), (0, 1): (5, 25), (1, 1): (20, 0)}
FIGURE7_TRUE = {(0, 0): (2, 0), (1, 0): (1, 5), (0, 1): (6, 5), (1, 1): (2, 0)}


def test_figure7_label_shift_is_flagged_by_the_audit():
    """Check that a strong training gain turns into a flagged violation under shift."""
    X_train, y_train = _counts_data(FIGURE7_TRAIN)
    clf = FairUseClassifier(
        DecisionTreeClassifier(random_state=0), group_columns=GROUPS, random_state=0
    ).fit(X_train, y_train)
    # On the training evidence the gains of (1, 0) and (0, 1) are significant.
    fit_frame = clf.audit_report_.to_frame()
    assert clf.routing_[(1, 0)][0] != "generic" and clf.routing_[(0, 1)][0] != "generic"
    assert (fit_frame.loc[[(1, 0), (0, 1)], "rationality"] == "gain").all()
    X_true, y_true = _counts_data(FIGURE7_TRUE, scale=50)
    frame = clf.audit(X_true, y_true).to_frame()
    assert frame.loc[(0, 1), "rationality"] == "violation"
    assert frame.loc[(1, 0), "rationality"] == "gain"
    assert frame.loc[(0, 1), "gain"] < 0


def _figure4_data():
    """Group 0 (100 rows): y = x1 and x2 is x1 with 15 flips. Group 1 (40 rows):
    y = x2, 28 positives, and x1 independent of y."""
    x1 = np.repeat([0, 1], 50)
    x2 = x1.copy()
    x2[np.r_[0:8, 50:57]] ^= 1
    major = pd.DataFrame({"x1": x1, "x2": x2, "g": "major", "y": x1})
    y = np.r_[np.ones(28), np.zeros(12)].astype(int)
    x1 = np.r_[np.ones(14), np.zeros(14), np.ones(6), np.zeros(6)].astype(int)
    minor = pd.DataFrame({"x1": x1, "x2": y, "g": "minor", "y": y})
    frame = pd.concat([major, minor], ignore_index=True)
    return frame.drop(columns="y"), frame["y"].to_numpy()


def _one_variable(variable, group=None):
    """A tree on one variable, and the one-hot group column when given."""
    columns = [("passthrough", [variable])]
    if group is not None:
        columns.append((OneHotEncoder(), [group]))
    return make_pipeline(
        make_column_transformer(*columns), DecisionTreeClassifier(random_state=0)
    )


def test_figure4_model_selection_favours_the_majority():
    """Check that choosing one variable by overall error harms the minority group."""
    X, y = _figure4_data()
    X_generic = X.drop(columns="g")

    def select(group, data):
        fits = {v: _one_variable(v, group).fit(data, y) for v in ("x1", "x2")}
        errors = {v: (m.predict(data) != y).mean() for v, m in fits.items()}
        chosen = min(errors, key=errors.get)
        return chosen, fits[chosen]

    generic_variable, generic = select(None, X_generic)
    personal_variable, personalized = select("g", X)
    # Without the group, x2 errs least; with it, x1 serves the majority perfectly.
    assert (generic_variable, personal_variable) == ("x2", "x1")
    report = audit_fair_use(personalized, X, y, group_columns="g", generic=generic)
    frame = report.to_frame()
    assert frame.loc["major", "rationality"] == "gain"
    assert frame.loc["minor", "rationality"] == "violation"
    assert frame.loc["minor", "gain"] == -12 / 40
