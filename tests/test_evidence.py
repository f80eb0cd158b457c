"""Making evidence: splits, eligibility, cross-fitting and scoring, stage by stage."""

import warnings

import numpy as np
import pytest
from conftest import HEART_GROUPS, random_grouped_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from fairuse_estimators import FairUseClassifier
from fairuse_estimators._evidence import (
    check_training_classes,
    decoupled_groups,
    evaluated_ids,
    fit_evidence,
    make_splits,
    score_pool,
    score_reported,
)
from fairuse_estimators._groups import encode_groups, split_columns
from fairuse_estimators._variants import (
    FoldEnsemble,
    candidate_model,
    design,
    variant_blocks,
)


@pytest.fixture(scope="module")
def world():
    """Features, labels and groups of a random grouped dataset."""
    X, y = random_grouped_data(0, n=300)
    features, columns = split_columns(X, [4, 5])
    encoding, group_ids = encode_groups(columns, ["g0", "g1"])
    return features, y, encoding, group_ids


def test_make_splits_kfold_evaluates_every_row_once_stratified(world):
    """Check K-fold cross-fitting: disjoint, covering, stratified by group and
    label, refit afterwards; a float is one holdout, not refit."""
    _, y, _, group_ids = world
    splits, refit = make_splits(5, y, group_ids, 2, random_state=0)
    assert refit and len(splits) == 5
    tested = np.concatenate([test for _, test in splits])
    assert_array_equal(np.sort(tested), np.arange(len(y)))
    for train, test in splits:
        assert not np.isin(test, train).any()
        strata = group_ids[test] * 2 + y[test]
        expected = np.bincount(group_ids * 2 + y, minlength=12) / 5
        assert np.abs(np.bincount(strata, minlength=12) - expected).max() <= 1
    holdout, refit = make_splits(0.25, y, group_ids, 2, random_state=0)
    assert not refit and len(holdout) == 1 and len(holdout[0][1]) == 75
    custom, refit = make_splits(KFold(3), y, group_ids, 2)
    assert refit and [len(test) for _, test in custom] == [100, 100, 100]
    assert_array_equal(evaluated_ids(holdout, group_ids)[holdout[0][0]], -1)


def test_decoupled_groups_say_why_a_group_has_none():
    """Check the three reasons a group gets no decoupled model."""
    y = np.array([0, 1] * 30 + [1] * 20 + [0, 1] * 5)
    group_ids = np.repeat([0, 1, 2], [60, 20, 10])
    splits, refit = make_splits(2, y, group_ids, 2, random_state=0)
    eligible, notes = decoupled_groups(y, group_ids, splits, refit, (3, 2), 15, None)
    assert_array_equal(eligible, [True, False, False])
    assert notes[1] == "no decoupled model: the group lacks a class"
    assert notes[2] == "no decoupled model: 10 rows < min_group_size=15"
    weights = np.where(group_ids == 0, 0.0, 1.0)
    eligible, notes = decoupled_groups(y, group_ids, splits, refit, (3, 2), 5, weights)
    assert not eligible[0] and "sample_weight is zero" in notes[0]


def test_check_training_classes_needs_every_class_deployed():
    """Check that a class only withheld rows carry is refused: the deployed
    models could never predict it."""
    y = np.array([0, 1] * 20 + [2] * 6)
    group_ids = np.concatenate([np.repeat([0, 1], 20), np.full(6, -2)])
    splits, refit = make_splits(2, y, group_ids, 3, random_state=0)
    with pytest.raises(ValueError, match=r"classes \[2\] have no row with a complete"):
        check_training_classes(y, group_ids, splits, refit, np.arange(3), 2)


def _settings(encoding, group_ids, y, **extra):
    return {
        "cv": 3,
        "variants": ("generic", "onehot", "decoupled"),
        "metric": "log_loss",
        "gate": None,
        "min_group_size": 20,
        "classes": np.unique(y),
        "blocks": variant_blocks(encoding, group_ids),
        "params": {},
        "random_state": 0,
        **extra,
    }


def test_fit_evidence_equals_fold_models_fitted_by_hand(world):
    """Check every candidate's out-of-fold probabilities against models fitted
    by hand on the same folds, and the deployed models against a refit."""
    X, y, encoding, group_ids = world
    base = LogisticRegression()
    settings = _settings(encoding, group_ids, y)
    fitted = fit_evidence(base, X, y, group_ids, encoding.n_groups, settings=settings)
    evidence, pool = fitted.evidence, fitted.pool
    assert fitted.estimated_by == (
        "3-fold cross-fitting of the fold models, deployed refitted on all rows"
    )
    onehot_rows = encoding.onehot_block(np.arange(encoding.n_groups))
    for train, test in make_splits(3, y, group_ids, 2, random_state=0)[0]:
        generic = clone(base).fit(X[train], y[train])
        assert_allclose(evidence.predictions[0, test], generic.predict_proba(X[test]))
        design = np.hstack([X, encoding.onehot_block(group_ids)])
        onehot = clone(base).fit(design[train], y[train])
        for g in range(encoding.n_groups):
            candidate = 1 + g  # onehot as group g
            reported = np.hstack([X[test], np.tile(onehot_rows[g], (len(test), 1))])
            assert_allclose(
                evidence.predictions[candidate, test], onehot.predict_proba(reported)
            )
        for candidate in np.flatnonzero(pool.variants == "decoupled"):
            g = pool.groups[candidate]
            own = train[group_ids[train] == g]
            model = clone(base).fit(X[own], y[own])
            assert_allclose(
                evidence.predictions[candidate, test], model.predict_proba(X[test])
            )
    deployed = clone(base).fit(X, y)
    assert_allclose(fitted.estimators["generic"].coef_, deployed.coef_)


def test_fit_evidence_with_ensemble_deploys_the_models_it_scored(world):
    """Check that ensemble=True leaves the evidence as it is, deploys each
    variant's fold models (the very models whose out-of-fold predictions are
    the evidence) averaged, fits nothing on all rows, and says so."""
    X, y, encoding, group_ids = world
    base = LogisticRegression()
    refit = fit_evidence(
        base, X, y, group_ids, encoding.n_groups,
        settings=_settings(encoding, group_ids, y),
    )  # fmt: skip
    fitted = fit_evidence(
        base, X, y, group_ids, encoding.n_groups,
        settings=_settings(encoding, group_ids, y, ensemble=True),
    )  # fmt: skip
    assert_array_equal(fitted.evidence.predictions, refit.evidence.predictions)
    assert_array_equal(fitted.evidence.folds, refit.evidence.folds)
    assert fitted.estimated_by == (
        "3-fold cross-fitting of the fold models, deployed averaged"
    )
    splits = make_splits(3, y, group_ids, 2, random_state=0)[0]
    new = np.random.default_rng(1).normal(size=(7, X.shape[1]))
    pool = fitted.pool
    for candidate in range(pool.size):
        variant, g = pool.variants[candidate], pool.groups[candidate]
        model, row = candidate_model(fitted.estimators, encoding, variant, g)
        assert isinstance(model, FoldEnsemble) and len(model.estimators_) == 3
        for member, (_, test) in zip(model.estimators_, splits):
            # Each member's predictions on its held-out rows are the evidence.
            assert_allclose(
                member.predict_proba(design(X, test, row)),
                fitted.evidence.predictions[candidate, test],
            )
        members = [
            m.predict_proba(design(new, np.arange(7), row)) for m in model.estimators_
        ]
        assert_allclose(
            model.predict_proba(design(new, np.arange(7), row)), np.mean(members, 0)
        )
    assert not isinstance(refit.estimators["generic"], FoldEnsemble)
    # A holdout's evaluated models are deployed either way.
    holdout = [
        fit_evidence(
            base,
            X,
            y,
            group_ids,
            encoding.n_groups,
            settings=_settings(encoding, group_ids, y, cv=0.3, ensemble=flag),
        )  # fmt: skip
        for flag in (False, True)
    ]
    for fit in holdout:
        assert type(fit.estimators["generic"]) is LogisticRegression
    assert_allclose(
        holdout[0].estimators["generic"].coef_, holdout[1].estimators["generic"].coef_
    )
    assert holdout[1].estimated_by == holdout[0].estimated_by


def test_fit_evidence_keeps_gate_losses_on_own_rows(world):
    """Check that the gate's losses are kept for each candidate's own group
    only, equal to the row log loss of its predictions."""
    X, y, encoding, group_ids = world
    settings = _settings(encoding, group_ids, y, metric="error", gate="log_loss")
    fitted = fit_evidence(
        LogisticRegression(), X, y, group_ids, encoding.n_groups, settings=settings
    )
    losses = fitted.evidence.losses
    assert losses.dtype == np.float32
    g = 2
    candidate = 1 + g
    assert (losses[candidate, group_ids != g] == 0).all()
    assert (losses[candidate, group_ids == g] > 0).all()
    assert (losses[0] > 0).all()  # the generic model: every row


def test_score_pool_and_score_reported_agree_with_predictions(world):
    """Check the audit's scoring against the fitted models' own predictions."""
    X, y, encoding, group_ids = world
    settings = _settings(encoding, group_ids, y)
    fitted = fit_evidence(
        LogisticRegression(), X, y, group_ids, encoding.n_groups, settings=settings
    )
    scored = score_pool(
        fitted.estimators, encoding, fitted.pool, X, y, group_ids, "error", 2
    )
    assert_array_equal(scored.predictions[0], fitted.estimators["generic"].predict(X))
    model = LogisticRegression().fit(np.column_stack([X, group_ids]), y)
    reported = score_reported(
        model, None, np.column_stack([X, group_ids]), [X.shape[1]], group_ids,
        y, np.array([0, 1]), "error",
    )  # fmt: skip
    assert (reported.predictions[0] == 0).all()  # no generic model given
    for g in range(encoding.n_groups):
        as_g = np.column_stack([X, np.full(len(y), g)])
        assert_array_equal(reported.predictions[1 + g], model.predict(as_g))


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_base_fit_warnings_come_back_as_one_summary(heart, n_jobs):
    """Check that the many fits' ConvergenceWarnings reach the caller once,
    counted per variant, from processes too, and that filters still apply."""
    X, y = heart
    clf = FairUseClassifier(
        LogisticRegression(max_iter=5),
        group_columns=HEART_GROUPS,
        random_state=0,
        n_jobs=n_jobs,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    (warning,) = caught
    assert warning.category is ConvergenceWarning
    assert "fairuse_estimators" not in warning.filename
    text = str(warning.message)
    fits = int(text.split(" of ")[1].split()[0])
    assert text.startswith(f"{fits} of {fits} base fits raised ConvergenceWarning")
    assert "(generic 6, onehot 6, intersectional 6, decoupled" in text
    assert "lbfgs failed to converge" in text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        clone(clf).fit(X, y)
    assert caught == []


def test_group_splitters_say_how_to_keep_a_patients_rows_together(heart):
    """Check that a splitter needing groups gets an error saying to pass its
    splits, and that those splits keep every patient's rows in one fold."""
    X, y = heart
    clf = FairUseClassifier(
        LogisticRegression(max_iter=5000), group_columns=["sex", "age_group"]
    )
    with pytest.raises(ValueError, match=r"cv=list\(GroupKFold\(\.\.\.\)\.split"):
        clf.set_params(cv=GroupKFold(3)).fit(X, y)
    patient = np.arange(len(y)) // 3  # three rows per patient
    splits = list(GroupKFold(3).split(X, y, groups=patient))
    fitted = clf.set_params(cv=splits).fit(X, y)
    assert fitted.audit_report_.evidence.startswith("3-fold cross-fitting of")
    for train, test in splits:
        assert not set(patient[train]) & set(patient[test])


class _ConfigRecordingLR(LogisticRegression):
    """A logistic regression that records whether its fits were told to skip
    the finiteness check."""

    seen = []

    def fit(self, X, y, sample_weight=None):
        import sklearn

        _ConfigRecordingLR.seen.append(sklearn.get_config()["assume_finite"])
        return super().fit(X, y, sample_weight=sample_weight)


def test_base_fits_skip_finiteness_scans_only_on_finite_inputs():
    """Check that the base fits skip their NaN scans when the features and
    weights are finite, and scan as usual when some feature is not, so that
    the base still refuses the NaN itself."""
    X, y = random_grouped_data(0, n=300)
    clf = FairUseClassifier(_ConfigRecordingLR(), group_columns=["g0", "g1"], cv=3)
    _ConfigRecordingLR.seen = []
    clf.fit(X, y)
    assert _ConfigRecordingLR.seen and all(_ConfigRecordingLR.seen)
    holes = X.copy()
    holes.iloc[5, 0] = np.nan
    _ConfigRecordingLR.seen = []
    with pytest.raises(ValueError, match="hold NaN or infinite values"):
        clone(clf).fit(holes, y)
    assert _ConfigRecordingLR.seen and not any(_ConfigRecordingLR.seen)


class _CountingLR(LogisticRegression):
    """A logistic regression that records the number of rows of each fit."""

    rows = []

    def fit(self, X, y, sample_weight=None):
        _CountingLR.rows.append(len(X))
        return super().fit(X, y, sample_weight=sample_weight)


def test_fit_evidence_deferred_fits_on_all_rows_when_asked(world):
    """Check that deferred evidence is complete before the fits on all rows
    run, and that collecting them gives the models an eager fit deploys."""
    X, y, encoding, group_ids = world
    settings = _settings(encoding, group_ids, y)
    _CountingLR.rows = []
    eager = fit_evidence(
        _CountingLR(), X, y, group_ids, encoding.n_groups, settings=settings
    )
    n_fits = len(_CountingLR.rows)
    _CountingLR.rows = []
    deferred = fit_evidence(
        _CountingLR(), X, y, group_ids, encoding.n_groups, settings=settings,
        deferred=True,
    )  # fmt: skip
    assert len(y) not in _CountingLR.rows  # only the fold fits so far
    assert_array_equal(deferred.evidence.predictions, eager.evidence.predictions)
    estimators = deferred.estimators()
    assert len(_CountingLR.rows) == n_fits and len(y) in _CountingLR.rows
    assert_allclose(estimators["generic"].coef_, eager.estimators["generic"].coef_)
    for ours, theirs in zip(estimators["decoupled"], eager.estimators["decoupled"]):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert_allclose(ours.coef_, theirs.coef_)


class _FailsOnAllRows(ClassifierMixin, BaseEstimator):
    """Fits on NaN (read as zero), except on ``n_rows`` rows, where it fails."""

    def __init__(self, n_rows=0):
        self.n_rows = n_rows

    def fit(self, X, y):
        if len(X) == self.n_rows:
            raise ValueError("this model cannot fit every row.")
        self.model_ = LogisticRegression().fit(np.nan_to_num(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(np.nan_to_num(X))

    def predict_proba(self, X):
        return self.model_.predict_proba(np.nan_to_num(X))


def test_failure_of_a_fit_on_all_rows_still_names_the_nonfinite_column():
    """Check that the fits on all rows, collected after the routes are
    chosen, fail with the error that names a feature column holding NaN,
    and leave the estimator as it was."""
    X, y = random_grouped_data(0, n=300)
    X.iloc[5, 0] = np.nan
    clf = FairUseClassifier(
        _FailsOnAllRows(n_rows=len(y)), group_columns=["g0", "g1"], cv=3
    )
    with pytest.raises(ValueError, match=r"\['f0'\] of X hold NaN") as raised:
        clf.fit(X, y)
    assert "cannot fit every row" in str(raised.value)
    assert not hasattr(clf, "audit_report_")
    clf.set_params(estimator=_FailsOnAllRows()).fit(X, y)  # the folds alone fit
    assert hasattr(clf, "audit_report_")
