import os

# scikit-learn runs its array-API input check (numpy namespace) only when scipy
# is imported with this flag; set it before anything imports scipy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from fairuse_estimators.datasets import load_heart

HEART_GROUPS = ["sex", "age_group"]


@pytest.fixture(scope="session")
def heart():
    """The bundled heart data as (X, y)."""
    return load_heart(return_X_y=True)


@pytest.fixture
def scaled_lr():
    """A logistic regression that converges on unscaled clinical features."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def figure2_data():
    """The paper's Figure 2: labels follow an XOR of age and sex."""
    counts = [
        ("young", "female", 0, 24),
        ("young", "male", 25, 0),
        ("old", "female", 25, 0),
        ("old", "male", 0, 27),
    ]
    rows = []
    for age, sex, n_pos, n_neg in counts:
        rows += [(0.0, age, sex, 1)] * n_pos + [(0.0, age, sex, 0)] * n_neg
    frame = pd.DataFrame(rows, columns=["x", "age", "sex", "y"])
    return frame.drop(columns="y"), frame["y"].to_numpy()


def random_grouped_data(seed, n=400, n_features=4, levels=(2, 3), n_classes=2):
    """Features, group columns of the given numbers of levels, and labels.

    Each group has its own intercept and slope on the first feature, so
    personalization helps some groups and not others.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    codes = np.column_stack([rng.integers(k, size=n) for k in levels])
    group = np.ravel_multi_index(codes.T, levels)
    n_groups = int(np.prod(levels))
    intercepts = rng.normal(scale=1.5, size=(n_groups, n_classes))
    slopes = rng.normal(size=(n_groups, n_classes))
    logits = intercepts[group] + slopes[group] * X[:, :1] + X[:, 1:2]
    logits += rng.gumbel(size=logits.shape)
    y = logits.argmax(axis=1)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(n_features)])
    for j, k in enumerate(levels):
        frame[f"g{j}"] = np.array([f"level{c}" for c in range(k)])[codes[:, j]]
    return frame, y


THRESHOLDS_TRAIN = {"gain": 0.5, "harm": -0.5, "null": 0.0}
THRESHOLDS_TEST = {"gain": 0.5, "harm": 0.0, "null": 0.0}


def threshold_data(thresholds, seed, sizes=(600, 600, 1200)):
    """Labels y = 1[x > t_g]: the group decides the threshold."""
    rng = np.random.default_rng(seed)
    frames = []
    for (group, threshold), size in zip(thresholds.items(), sizes):
        x = rng.uniform(-2, 2, size)
        frames.append(pd.DataFrame({"x": x, "group": group, "y": (x > threshold) * 1}))
    frame = pd.concat(frames, ignore_index=True)
    return frame[["x", "group"]], frame["y"].to_numpy()


def planted_models():
    """A personalized tree trained where group 'harm' had a shifted threshold.

    On test data, 'gain' is served better by its own threshold than by the
    generic one, 'harm' is served worse and would be better off reporting
    'null', and 'null' gets the generic model's predictions.
    """
    X_train, y_train = threshold_data(THRESHOLDS_TRAIN, 0)
    X_test, y_test = threshold_data(THRESHOLDS_TEST, 1)
    personalized = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["group"]), remainder="passthrough"),
        DecisionTreeClassifier(random_state=0),
    ).fit(X_train, y_train)
    generic = DecisionTreeClassifier(max_depth=1, random_state=0).fit(
        X_train[["x"]], y_train
    )
    return personalized, generic, X_test, y_test


@pytest.fixture(scope="module")
def planted():
    """See :func:`planted_models`."""
    return planted_models()
