"""Per-group risks against scikit-learn's metrics and a reference ECE."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import __version__ as _sklearn_version
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

from fairuse_estimators._metrics import evidence_kind, group_risks

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
