"""Tests of the variant helpers that prepare a base estimator for its fits."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairuse_estimators import _variants
from fairuse_estimators._variants import encode_class_weights


def test_encode_class_weights_rekeys_nested_dicts_on_a_clone():
    """Check that class_weight dicts are re-keyed to codes at any depth, on a
    clone, and that estimators without one are returned as they are."""
    classes = np.array(["high", "low", "mid"])
    weights = {"low": 2, "mid": 5}
    inner = LogisticRegression(class_weight=weights)
    base = CalibratedClassifierCV(make_pipeline(StandardScaler(), inner))
    encoded = encode_class_weights(base, classes)
    assert encoded is not base
    assert inner.class_weight == {"low": 2, "mid": 5}
    params = encoded.get_params()
    assert params["estimator__logisticregression__class_weight"] == {1: 2, 2: 5}
    for class_weight in (None, "balanced"):
        plain = make_pipeline(LogisticRegression(class_weight=class_weight))
        assert encode_class_weights(plain, classes) is plain


@pytest.mark.parametrize("kind", ["label", "score", "proba"])
@pytest.mark.parametrize("cells", [1, 200, 2**22])
def test_stacked_evidence_equals_one_call_per_entry(kind, cells):
    """Check that scoring stacked designs, in batches of any size, gives each
    entry what a call on its own design gives, with entries of two widths,
    shared and distinct rows, and an entry without rows."""
    from sklearn.datasets import make_classification

    from fairuse_estimators._variants import predict_evidence, stacked_evidence

    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    block = np.eye(3)[np.arange(120) % 3]
    with_block = LogisticRegression().fit(np.hstack([X, block]), y)
    plain = LogisticRegression().fit(X, y)
    classes = np.arange(2)
    shared, other = np.arange(0, 120, 2), np.arange(7, 50)
    entries = [(shared, np.eye(3)[[g]]) for g in range(3)]
    entries += [(other, np.eye(3)[[1]]), (np.arange(0), np.eye(3)[[2]])]
    got = stacked_evidence(with_block, X, entries, kind, classes, cells=cells)
    for (rows, row), scores in zip(entries, got):
        design = np.hstack([X[rows], np.repeat(row, len(rows), axis=0)])
        if len(rows):
            expected = predict_evidence(with_block, design, kind, classes)
            assert_allclose(scores, expected, rtol=0, atol=1e-12)
        else:
            assert len(scores) == 0
    mixed = [(shared, None), (other, None)]
    for (rows, _), scores in zip(
        mixed, stacked_evidence(plain, X, mixed, kind, classes, cells=cells)
    ):
        assert_allclose(scores, predict_evidence(plain, X[rows], kind, classes))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("block_rows", [None, 1, "codes"])
@pytest.mark.parametrize("as_mask", [False, True])
def test_design_equals_hstack_of_gathered_rows(monkeypatch, order, block_rows, as_mask):
    """Check that design builds the matrix np.hstack would, C-contiguous, in
    chunks smaller than the rows, from integer rows or a mask, with a block
    given as a single row or as group codes."""
    monkeypatch.setattr(_variants, "GATHER_BYTES", 7 * 8 * 3)  # three rows a chunk
    rng = np.random.default_rng(0)
    X = np.asarray(rng.normal(size=(40, 7)), order=order)
    mask = rng.random(40) < 0.6
    rows = mask if as_mask else np.flatnonzero(mask)[::-1]
    index = np.flatnonzero(rows) if as_mask else rows
    block = None
    if block_rows == 1:
        block = np.array([[0.0, 1.0, 0.0]])
    elif block_rows == "codes":  # each row's group and the groups' rows
        block = _variants.GroupBlock(np.eye(3), rng.integers(0, 3, size=40))
    expected = X[index]
    if block_rows == "codes":
        expected = np.hstack([expected, block.table[block.ids[index]]])
    elif block is not None:
        expected = np.hstack([expected, np.broadcast_to(block, (len(index), 3))])
    matrix = _variants.design(X, rows, block)
    assert matrix.flags.c_contiguous
    assert_array_equal(matrix, expected)


def test_candidate_rows_partitions_rows_in_order():
    """Check that candidate_rows yields each present candidate once, with its
    rows in increasing order, as one mask per candidate would."""
    rng = np.random.default_rng(0)
    candidates = rng.choice([0, 3, 4, 300], size=1000)
    found = list(_variants.candidate_rows(candidates))
    assert [c for c, _ in found] == [0, 3, 4, 300]
    for candidate, rows in found:
        assert_array_equal(rows, np.flatnonzero(candidates == candidate))
    ((only, rows),) = _variants.candidate_rows(np.full(5, 2))
    assert only == 2
    assert_array_equal(rows, np.arange(5))


def _three_class_data(seed=0, n=150):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.digitize(X[:, 0] + 0.5 * rng.normal(size=n), [-0.4, 0.4])
    return X, y


def test_fold_ensemble_averages_probabilities_aligned_by_class():
    """Check that the averaged probabilities align each member's columns with
    the classes any member learnt (a member that never saw a class gives it
    zero), and that predict takes the class of the highest average."""
    from fairuse_estimators._variants import FoldEnsemble

    X, y = _three_class_data()
    full = LogisticRegression().fit(X[:100], y[:100])
    seen = y != 1
    partial = LogisticRegression().fit(X[seen], y[seen])  # classes 0 and 2
    ensemble = FoldEnsemble([full, partial])
    assert_array_equal(ensemble.classes_, [0, 1, 2])
    expected = full.predict_proba(X)
    expected[:, [0, 2]] += partial.predict_proba(X)
    expected /= 2
    assert_allclose(ensemble.predict_proba(X), expected)
    assert_allclose(ensemble.predict_proba(X).sum(axis=1), 1)
    assert_array_equal(ensemble.predict(X), expected.argmax(axis=1))
    # The decision function ranks and predicts as the averaged probabilities.
    assert_allclose(ensemble.decision_function(X), np.log(expected))
    binary = FoldEnsemble([LogisticRegression().fit(X, y % 2)] * 2)
    proba = binary.predict_proba(X)
    assert_allclose(binary.decision_function(X), np.log(proba[:, 1] / proba[:, 0]))
    assert_array_equal(binary.predict(X), binary.decision_function(X) > 0)


def test_fold_ensemble_without_probabilities_averages_decisions_or_votes():
    """Check members without predict_proba: decision functions averaged
    (binary and multiclass) and predict read from them; members with neither
    method vote, ties going to the first class, as scipy's mode does."""
    from scipy.stats import mode
    from sklearn.linear_model import RidgeClassifier
    from sklearn.multiclass import OutputCodeClassifier

    from fairuse_estimators._variants import FoldEnsemble

    X, y = _three_class_data(1)
    for labels in (y % 2, y):
        members = [
            RidgeClassifier(alpha=a).fit(X[i::2], labels[i::2])
            for i, a in ((0, 1.0), (1, 30.0))
        ]
        ensemble = FoldEnsemble(members)
        assert not hasattr(ensemble, "predict_proba")
        mean = (members[0].decision_function(X) + members[1].decision_function(X)) / 2
        assert_allclose(ensemble.decision_function(X), mean)
        expected = (mean > 0).astype(int) if mean.ndim == 1 else mean.argmax(axis=1)
        assert_array_equal(ensemble.predict(X), expected)
    lacking = RidgeClassifier().fit(X[y != 1], y[y != 1])
    with pytest.raises(ValueError, match="learnt different classes"):
        FoldEnsemble([members[0], lacking]).decision_function(X)
    voters = [
        OutputCodeClassifier(LogisticRegression(), random_state=s).fit(X[s::3], y[s::3])
        for s in range(4)
    ]
    ensemble = FoldEnsemble(voters)
    assert not hasattr(ensemble, "predict_proba")
    assert not hasattr(ensemble, "decision_function")
    votes = np.column_stack([v.predict(X) for v in voters])
    assert_array_equal(ensemble.predict(X), mode(votes, axis=1).mode)
