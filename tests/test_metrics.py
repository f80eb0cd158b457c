"""Per-group risks against scikit-learn's metrics and a reference ECE."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from conftest import random_grouped_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import __version__ as _sklearn_version
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    get_scorer,
    log_loss,
    make_scorer,
    recall_score,
    roc_auc_score,
    zero_one_loss,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from fairuse_estimators import audit_fair_use
from fairuse_estimators._metrics import (
    GroupScorer,
    RowLoss,
    allocate_evidence,
    encode_labels,
    evidence_kind,
    group_risks,
    label_dtype,
    resolve_metric,
    row_losses,
)
from fairuse_estimators._variants import predict_evidence

SKLEARN_VERSION = tuple(int(part) for part in _sklearn_version.split(".")[:2])


def _hand_built(n_classes, seed=0, n=240, n_candidates=3, n_groups=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(n_classes, size=n)
    group_ids = rng.integers(n_groups, size=n)
    group_ids[:5] = -2  # withheld rows are ignored
    logits = rng.normal(size=(n_candidates, n, n_classes))
    logits[:, np.arange(n), y] += rng.uniform(0, 2, size=(n_candidates, 1))
    proba = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    proba = np.round(proba, 1)  # ties in scores and exact bin edges
    proba[..., -1] = 1 - proba[..., :-1].sum(axis=2)
    proba = np.clip(proba, 0, 1)
    proba /= proba.sum(axis=2, keepdims=True)
    return y, group_ids, proba


def _reference_ece(y, proba):
    """Loop over bins: debiased squared calibration error (Kumar et al. 2019),
    the sum over bins of (S^2 - V) / n_b, over n, with S the sum of
    confidence - outcome and V the sum of confidence * (1 - confidence)."""
    if proba.shape[1] == 2:
        confidence, outcome = proba[:, 1], (y == 1).astype(float)
    else:
        confidence = proba.max(axis=1)
        outcome = (proba.argmax(axis=1) == y).astype(float)
    total = 0.0
    for b in range(10):
        low, high = b / 10, (b + 1) / 10
        inside = (confidence >= low) & (
            (confidence < high) if b < 9 else (confidence <= high)
        )
        if inside.any():
            residual = (confidence[inside] - outcome[inside]).sum()
            variance = (confidence[inside] * (1 - confidence[inside])).sum()
            total += (residual**2 - variance) / inside.sum()
    return total / len(y)


def _reference(metric, y, proba, n_classes):
    labels = np.arange(n_classes)
    if metric == "error":
        return 1 - accuracy_score(y, proba.argmax(axis=1))
    if metric == "auc":
        return 1 - roc_auc_score(y, proba[:, 1])
    if metric == "log_loss":
        return log_loss(y, proba, labels=labels)
    if metric == "brier":
        if n_classes == 2:
            return brier_score_loss(y, proba[:, 1])
        if SKLEARN_VERSION < (1, 7):  # no multiclass Brier score before 1.7
            return ((proba - np.eye(n_classes)[y]) ** 2).sum(axis=1).mean()
        return brier_score_loss(y, proba, labels=labels)
    return _reference_ece(y, proba)


def _evidence(metric, proba):
    kind = evidence_kind(metric)
    if kind == "label":
        return proba.argmax(axis=2)
    if kind == "score":
        return proba[:, :, 1]
    return proba


CASES = [
    (metric, n_classes)
    for metric in ["error", "auc", "ece", "log_loss", "brier"]
    for n_classes in ([2] if metric == "auc" else [2, 3])
]


@pytest.mark.parametrize(("metric", "n_classes"), CASES)
def test_group_risks_match_reference(metric, n_classes):
    """Check every per-group risk against sklearn's metric on that group."""
    y, group_ids, proba = _hand_built(n_classes)
    risks = group_risks(metric, y, _evidence(metric, proba), group_ids, 3)
    assert risks.shape == (3, 3)
    for g in range(3):
        rows = group_ids == g
        for c in range(3):
            expected = _reference(metric, y[rows], proba[c, rows], n_classes)
            assert_allclose(risks[g, c], expected, rtol=1e-10, atol=1e-12)


def test_group_risks_undefined_cases_are_nan():
    """Check that an empty group and a one-class AUC group are nan, not zero."""
    y, group_ids, proba = _hand_built(2)
    y[group_ids == 1] = 0
    risks = group_risks("auc", y, proba[:, :, 1], group_ids, 4)
    assert np.isnan(risks[1]).all() and np.isnan(risks[3]).all()
    assert not np.isnan(risks[[0, 2]]).any()
    error = group_risks("error", y, proba.argmax(axis=2), group_ids, 4)
    assert np.isnan(error[3]).all() and not np.isnan(error[:3]).any()


@pytest.mark.parametrize("metric", ["error", "log_loss", "brier"])
def test_group_risks_skip_an_empty_group_between_others(metric):
    """Check that a group without rows between groups with rows is nan and
    leaves its neighbours' sums alone (each group's rows are summed as one
    slice of the rows sorted by group)."""
    y, group_ids, proba = _hand_built(2)
    shifted = np.where(group_ids >= 1, group_ids + 1, group_ids)  # no group 1
    risks = group_risks(metric, y, _evidence(metric, proba), shifted, 4)
    assert np.isnan(risks[1]).all()
    for g, original in ((0, 0), (2, 1), (3, 2)):
        rows = group_ids == original
        for c in range(3):
            expected = _reference(metric, y[rows], proba[c, rows], 2)
            assert_allclose(risks[g, c], expected, rtol=1e-10, atol=1e-12)


def _fitted_candidates(n_classes, n=900, seed=0):
    """Labels, group ids (some withheld) and the probabilities of a few
    logistic regressions, each on different features, on rows they did not
    train on."""
    X, y = random_grouped_data(seed, n=2 * n, levels=(3, 3), n_classes=n_classes)
    features = X.filter(like="f").to_numpy()
    group_ids = X["g0"].str[-1].astype(int) * 3 + X["g1"].str[-1].astype(int)
    train, test = slice(0, n), slice(n, 2 * n)
    proba = np.stack(
        [
            predict_evidence(
                LogisticRegression(C=c).fit(features[train, :k], y[train]),
                features[test, :k], "proba", np.arange(n_classes),
            )
            for c, k in [(1.0, 4), (0.01, 1), (10.0, 2), (1.0, 3), (0.1, 4)]
        ]
    )  # fmt: skip
    group_ids = group_ids.to_numpy()[test].copy()
    group_ids[:30] = -1  # withheld rows are ignored
    return y[test], group_ids, proba


def _sklearn_risk(metric, y, proba, labels):
    """A group's risk the old way: sklearn's metric on the group's rows."""
    y_pred = proba.argmax(axis=1)
    if metric == "error":
        return zero_one_loss(y, y_pred)
    if metric in ("fnr", "fpr"):
        return 1 - recall_score(y, y_pred, pos_label=int(metric == "fnr"))
    if metric == "balanced_error":
        return 1 - balanced_accuracy_score(y, y_pred)
    if metric == "log_loss":
        return log_loss(y, proba, labels=labels)
    if metric == "brier" and len(labels) == 2:
        return brier_score_loss(y, proba[:, 1])
    if metric == "brier":
        return ((proba - np.eye(len(labels))[y]) ** 2).sum(axis=1).mean()
    if metric == "auc":
        return 1 - roc_auc_score(y, proba[:, 1])
    if metric == "ece":
        return _reference_ece(y, proba)
    if metric == "cost":
        return (3.0 * ((y_pred != y) & (y == 1)) + (y_pred != y)).mean()
    return -recall_score(y, y_pred, average="macro")


def _cost(y_true, y_pred):
    return 3.0 * ((y_pred != y_true) & (y_true == "b")) + (y_pred != y_true)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("chunk", [2**22, 1000], ids=["one-chunk", "chunks"])
def test_group_risks_equal_sklearn_metrics_per_group(monkeypatch, n_classes, chunk):
    """Check every metric's risks, computed a chunk of candidates at a time on
    label evidence of the smallest integer type, against sklearn's metric
    on each group's rows of fitted models' predictions."""
    monkeypatch.setattr("fairuse_estimators._metrics.CHUNK", chunk)
    y, group_ids, proba = _fitted_candidates(n_classes)
    labels, names = np.arange(n_classes), np.array(["a", "b", "c"][:n_classes])
    metrics = ["error", "balanced_error", "log_loss", "brier", "ece", "cost", "recall"]
    if n_classes == 2:
        metrics += ["fnr", "fpr", "auc"]
    for name in metrics:
        metric = {
            "cost": RowLoss(_cost, names),
            "recall": GroupScorer(make_scorer(recall_score, average="macro"), labels),
        }.get(name, name)
        evidence = allocate_evidence(metric, y, group_ids, 9, len(proba), n_classes)
        kind = evidence_kind(metric)
        evidence.predictions[:] = {
            "label": proba.argmax(axis=2), "score": proba[:, :, 1], "proba": proba
        }[kind]  # fmt: skip
        risks = group_risks(
            metric, y, evidence.predictions, evidence.group_ids, evidence.n_groups
        )
        assert evidence.predictions.dtype == (np.int8 if kind == "label" else float)
        for g in range(9):
            rows = evidence.group_ids == g
            for c in range(len(proba)):
                expected = _sklearn_risk(name, y[rows], proba[c, rows], labels)
                assert_allclose(risks[g, c], expected, rtol=1e-10, atol=1e-12)


def test_group_risks_never_copy_all_of_the_evidence():
    """Check that the risk matrix of label evidence allocates less than half
    of a float64 loss of every candidate on every row, withheld rows and all,
    for every named metric computed from labels."""
    rng = np.random.default_rng(0)
    n_candidates, n = 160, 200_000
    y = rng.integers(2, size=n)
    group_ids = rng.integers(-1, 8, size=n)
    labels = rng.integers(2, size=(n_candidates, n), dtype=np.int8)
    for metric in ("error", "balanced_error"):
        tracemalloc.start()
        try:
            group_risks(metric, y, labels, group_ids, 8)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < n_candidates * n * 8 / 2, (metric, peak)


def test_label_dtype_is_the_smallest_holding_every_code():
    """Check that label codes -1 .. n_classes - 1 get int8 below 128 classes
    and a wider type beyond, and that a fitted model's predicted codes come
    in that type."""
    assert label_dtype(2) == np.int8 and label_dtype(128) == np.int8
    assert label_dtype(129) == np.int16 and label_dtype(40_000) == np.int32
    X, y = random_grouped_data(0, n=200, n_classes=3)
    features = X.filter(like="f").to_numpy()
    model = LogisticRegression().fit(features, y)
    codes = predict_evidence(model, features, "label", np.arange(3))
    assert codes.dtype == np.int8
    assert_array_equal(codes, model.predict(features))


# ------------------------------------------------- clinical and user metrics


def _fitted(X, y):
    encode = make_column_transformer((OneHotEncoder(), ["g"]), remainder="passthrough")
    personalized = make_pipeline(encode, LogisticRegression()).fit(X, y)
    return personalized, LogisticRegression().fit(X[["x"]], y)


def _audit_of(metric, X, y, **params):
    """An audit of a one-hot logistic regression against a generic one."""
    personalized, generic = _fitted(X, y)
    return audit_fair_use(
        personalized, X, y, group_columns="g", generic=generic, metric=metric,
        random_state=0, **params,
    )  # fmt: skip


def _audited(metric, seed=0, n=600, labels=(0, 1), **params):
    """An audit of a one-hot logistic regression against a generic one, with
    the fitted models and data, on labels ``labels``."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    y = np.asarray(labels)[
        (X["x"] + (X["g"] == "b") + rng.normal(size=n) > 0.3).astype(int)
    ]
    report, (personalized, generic) = _audit_of(metric, X, y, **params), _fitted(X, y)
    predictions = {
        "personalized": personalized.predict(X),
        "generic": generic.predict(X[["x"]]),
    }
    return report, X, y, predictions


def _per_group(report, X, y, predictions, reference):
    """Assert each group's risks equal ``reference(y, y_pred)`` on its rows."""
    frame = report.to_frame()
    for group in frame.index:
        rows = (X["g"] == group).to_numpy()
        for model, y_pred in predictions.items():
            expected = reference(y[rows], y_pred[rows])
            assert_allclose(frame.loc[group, f"risk_{model}"], expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("metric", "positive"), [("fnr", 1), ("fpr", 0)], ids=["fnr", "fpr"]
)
def test_class_error_rates_equal_one_minus_recall_of_their_class(metric, positive):
    """Check fnr = 1 - sensitivity and fpr = 1 - specificity per group, with
    ``n`` the group's rows of that class and the exact McNemar test."""
    # The positive class is the greater label, classes_[1], as in sklearn.
    report, X, y, predictions = _audited(metric, labels=("no", "yes"))
    label = ("no", "yes")[positive]

    def reference(y_true, y_pred):
        return 1 - recall_score(y_true, y_pred, pos_label=label)

    _per_group(report, X, y, predictions, reference)
    counts = pd.Series(y == label).groupby(X["g"].to_numpy()).sum()
    assert_array_equal(report.n, counts.loc[report.to_frame().index])
    assert report.settings["test"] == "mcnemar"
    # A group without rows of that class: the rate is undefined, and said so.
    y = np.where(X["g"] == "a", ("no", "yes")[1 - positive], y)
    frame = _audit_of(metric, X, y).to_frame()
    assert frame.loc["a", "n"] == 0 and np.isnan(frame.loc["a", "risk_generic"])
    side = "positive" if positive else "negative"
    assert f"no {side} rows, on which {metric} is defined" in frame.loc["a", "note"]


def test_balanced_error_is_one_minus_balanced_accuracy():
    """Check the balanced error per group against sklearn, and that it is
    tested as the mean of its class-weighted per-row errors."""
    report, X, y, predictions = _audited("balanced_error", n_bootstrap=200)

    def reference(y_true, y_pred):
        return 1 - balanced_accuracy_score(y_true, y_pred)

    _per_group(report, X, y, predictions, reference)
    assert report.settings["test"] == "bootstrap"
    assert np.isfinite(report.to_frame()["p_gain"]).all()
    y_g, _, proba = _hand_built(3)
    labels = proba.argmax(axis=2)
    losses = row_losses("balanced_error", y_g, labels)
    expected = [1 - balanced_accuracy_score(y_g, p) for p in labels]
    assert_allclose(losses.mean(axis=1), expected, rtol=1e-12)


def test_row_loss_callable_is_the_mean_of_its_losses_on_user_labels():
    """Check that a per-row loss sees the user's labels and averages."""
    costs = {"sick": 5.0, "well": 1.0}  # a missed sick patient costs five

    def weighted_error(y_true, y_pred):
        return np.where(y_true != y_pred, [costs[v] for v in y_true], 0.0)

    report, X, y, predictions = _audited(
        weighted_error, labels=("well", "sick"), n_bootstrap=200
    )

    def reference(y_true, y_pred):
        return weighted_error(y_true, y_pred).mean()

    _per_group(report, X, y, predictions, reference)
    assert report.metric == "weighted_error"
    assert not report.settings["higher_is_better"]
    assert report.settings["test"] == "bootstrap"


def test_scorer_risk_is_minus_its_score_and_reports_show_the_score():
    """Check a make_scorer metric: risk -score, shown as a score, tested by
    the bootstrap with resampling counts as sample weights."""
    scorer = make_scorer(f1_score, pos_label="sick")
    report, X, y, predictions = _audited(
        scorer, labels=("well", "sick"), n_bootstrap=200
    )

    def reference(y_true, y_pred):
        return -f1_score(y_true, y_pred, pos_label="sick")

    _per_group(report, X, y, predictions, reference)
    assert report.settings["higher_is_better"]
    assert "f1_score(pos_label='sick') (higher is better" in report.summary()
    assert report.to_dict()["higher_is_better"] is True
    frame = report.to_frame()
    assert np.isfinite(frame["p_gain"]).all()
    # A gain is a gain in the score: the generic risk minus the model's.
    expected = frame["risk_generic"] - frame["risk_personalized"]
    assert_allclose(frame["gain"], expected)


def test_probability_scorer_is_scored_on_predict_proba():
    """Check a scorer on probabilities gets the models' probabilities."""
    scorer = make_scorer(
        log_loss, greater_is_better=False, response_method="predict_proba"
    )
    report, X, y, _ = _audited(scorer, n_bootstrap=100)
    frame = report.to_frame()
    expected = _audited("log_loss", n_bootstrap=100)[0].to_frame()
    assert_allclose(frame["risk_generic"], expected["risk_generic"], rtol=1e-10)


def test_loss_scorer_is_shown_as_the_loss():
    """Check a scorer with greater_is_better=False: its risk is the loss, and
    reports call it a loss, lower is better."""
    report = _audited(get_scorer("neg_log_loss"), n_bootstrap=100)[0]
    expected = _audited("log_loss", n_bootstrap=100)[0].to_frame()
    assert_allclose(report.to_frame()["risk_generic"], expected["risk_generic"])
    assert not report.settings["higher_is_better"]
    assert "risk log_loss (lower is better)" in report.summary()


def test_scorer_undefined_on_resamples_is_untested_not_significant():
    """Check that a scorer undefined on a group, or on some of its
    resamples, leaves its comparisons untested with the reason, with no
    power claim, instead of p-values from NaN replicates."""
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b"], n)})
    y = (X["x"] + rng.normal(size=n) > 0).to_numpy().astype(int)
    rare = np.flatnonzero((X["g"] == "b").to_numpy() & (y == 1))
    y[rare[3:]] = 0  # group b keeps 3 positives: many resamples have none
    encode = make_column_transformer((OneHotEncoder(), ["g"]), remainder="passthrough")
    personalized = make_pipeline(encode, LogisticRegression()).fit(X, y)
    generic = LogisticRegression().fit(X[["x"]], y)
    report = audit_fair_use(
        personalized, X, y, group_columns="g", generic=generic,
        metric=get_scorer("roc_auc"), n_bootstrap=200, random_state=0,
    )  # fmt: skip
    frame = report.to_frame()
    assert frame.loc["b", "rationality"] == "untested"
    assert (
        "undefined on the group or on some of its bootstrap" in frame.loc["b", "note"]
    )
    assert np.isnan(frame.loc["b", "p_gain"]) and np.isnan(
        frame.loc["b", "p_violation"]
    )
    # A scorer's best possible score is unknown: never "untestable", and no
    # detectable gain is claimed.
    assert frame.loc["a", "rationality"] in ("gain", "violation", "inconclusive")
    assert np.isnan(frame.loc["a", "detectable_gain"])


def test_scorer_that_fails_on_every_group_is_refused_with_its_reason():
    """Check a scorer that raises on every group (pos_label=1 is no label
    of y) is refused with sklearn's own reason, not turned into verdicts."""
    with pytest.raises(ValueError, match="could not score any group.*pos_label"):
        _audited(get_scorer("recall"), labels=("no", "yes"), n_bootstrap=50)


def test_decision_function_scorer_scores_the_positive_class():
    """Check a scorer on decision_function gets the audit's positive-class
    scores, equal to the named AUC."""
    scorer = make_scorer(roc_auc_score, response_method="decision_function")
    report = _audited(scorer, n_bootstrap=100)[0]
    expected = _audited("auc", n_bootstrap=100)[0].to_frame()
    assert_allclose(-report.to_frame()["risk_generic"], 1 - expected["risk_generic"])


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (lambda y_true, y_pred: float(np.mean(y_true != y_pred)), "one loss per row"),
        (lambda y_true, y_pred: np.full(len(y_true), np.nan), "NaN or infinite"),
        (
            make_scorer(lambda y_true, y_pred: 1.0),
            "takes no sample_weight, which the bootstrap needs",
        ),
        (3, "metric must be a name, a per-row loss"),
        (recall_score, "must return one loss per row.*make_scorer"),
        ("sensitivity", "metric must be one of"),
    ],
    ids=["scalar", "nan", "no-weights", "number", "whole-group", "unknown-name"],
)
def test_metrics_that_cannot_be_compared_per_group_raise_clearly(metric, message):
    """Check each unusable metric is refused before any test, with why."""
    with pytest.raises((ValueError, TypeError), match=message):
        _audited(metric)


def test_whole_group_function_on_three_classes_names_the_fix():
    """Check that a whole-group function that raises on multiclass labels
    (binary averaging) is refused naming the labels and make_scorer."""
    with pytest.raises(ValueError, match=r"failed when called as loss.*\[0, 1, 2\]"):
        resolve_metric(recall_score, [0, 1, 2])


def test_class_error_rates_need_a_binary_target():
    """Check fnr and fpr name balanced_error for more than two classes."""
    from fairuse_estimators import FairUseClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=90), "g": rng.choice(["a", "b"], 90)})
    y = np.digitize(X["x"], [-0.5, 0.5])
    for metric in ("fnr", "fpr"):
        with pytest.raises(ValueError, match="y has 3 classes. Use 'balanced_error'"):
            FairUseClassifier(group_columns="g", metric=metric).fit(X, y)


def test_fixed_threshold_classifier_audits_sensitivity_at_that_threshold():
    """Check the documented way to audit a rate at a threshold: the base is
    sklearn's FixedThresholdClassifier, and the routed model's false-negative
    rate at the threshold is the one reported."""
    from sklearn.model_selection import FixedThresholdClassifier

    from fairuse_estimators import FairUseClassifier

    rng = np.random.default_rng(1)
    n = 900
    X = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b"], n)})
    y = (X["x"] + rng.normal(size=n) > 0.8).astype(int)
    rates = []
    for threshold in (0.5, 0.2):
        base = FixedThresholdClassifier(LogisticRegression(), threshold=threshold)
        clf = FairUseClassifier(
            base, group_columns="g", metric="fnr", variants=["generic"], cv=0.5,
            random_state=0,
        ).fit(X, y)  # fmt: skip
        rates.append(clf.audit(X, y).to_frame()["risk_generic"])
    # A lower threshold flags more patients: fewer false negatives in every group.
    assert (rates[1] < rates[0]).all()


@pytest.mark.parametrize(
    "values, classes",
    [
        ([0, 1, 2, 1, 0], [0, 1, 2]),  # the classes are their own codes
        ([0, 1, 2, -2], [0, 1, 2]),  # codes below them
        ([0, 1, 5], [0, 1, 2]),  # and above
        ([0, 2, 2, 7], [0, 2, 7]),  # integers that are not codes
        ([1.0, 0.0, 0.5], [0, 1]),  # floats
        (["b", "a", "z"], ["a", "b"]),  # labels
        (np.array([1, 0, 1], dtype=np.int8), [0.0, 1.0]),
    ],
)
def test_encode_labels_gives_positions_among_the_classes(values, classes):
    """Check each value's position among the sorted classes, -1 for a value
    that is none of them, whether or not the values are already codes."""
    position = {c: k for k, c in enumerate(classes)}
    expected = [position.get(v, -1) for v in np.asarray(values).tolist()]
    codes = encode_labels(np.asarray(values), np.asarray(classes))
    assert codes.dtype == np.intp
    assert codes.tolist() == expected
