"""Tests of the variant helpers that prepare a base estimator for its fits."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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
