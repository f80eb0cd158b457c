"""The bundled datasets and their loaders."""

import numpy as np
import pandas as pd
from numpy.testing import assert_array_equal

from fairuse_estimators.datasets import load_heart


def test_load_heart_bunch():
    """Check the heart Bunch: shapes, groups, target and provenance."""
    heart = load_heart()
    assert heart.data.shape == (303, 20)
    assert heart.group_columns == ["sex", "age_group"]
    assert isinstance(heart.data, pd.DataFrame)
    assert heart.target.sum() == 139
    sizes = heart.data.groupby(heart.group_columns).size()
    assert sizes.min() == 39 and len(sizes) == 4
    assert "CC BY 4.0" in heart.DESCR and "Detrano" in heart.DESCR
    assert heart.frame.shape == (303, 21)


def test_load_heart_return_X_y_and_arrays():
    """Check return_X_y and as_frame=False with integer group positions."""
    X, y = load_heart(return_X_y=True)
    heart = load_heart(as_frame=False)
    assert isinstance(heart.data, np.ndarray) and heart.data.dtype == object
    assert heart.group_columns == [18, 19]
    assert_array_equal(heart.data[:, 18], X["sex"])
    assert_array_equal(heart.target, y)
    assert heart.frame is None
