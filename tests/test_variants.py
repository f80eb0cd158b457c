"""Tests of the variant helpers that prepare a base estimator for its fits."""

import numpy as np
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
