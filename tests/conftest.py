import os
import subprocess
import sys
from pathlib import Path

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
from threadpoolctl import threadpool_limits

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


def hand_built_report(routes=None, groups=(("<f>",), ("m",))):
    """A report built by hand: group 0 is significantly harmed by its
    personalized model (adjusted p = 0.02) and would be better off with group
    1's predictions (gap -0.2, adjusted p = 0.01); group 1 is served as by the
    generic model and would be better off with group 0's (gap -0.1, adjusted
    p = 0.03)."""
    from fairuse_estimators import FairUseReport

    nan = [np.nan] * 7
    return FairUseReport(
        metric="error",
        group_columns=["sex"],
        groups=list(groups),
        n=[50, 40],
        risks=[[0.1, 0.3, 0.1], [0.2, 0.1, 0.2]],
        variants=["generic", "personalized"],
        candidate_variants=["generic", "personalized", "personalized"],
        candidate_groups=[-1, 0, 1],
        models=["personalized"],
        assignments=[[1, 2]],
        notes=["", "a note"],
        routes=routes,
        n_withheld=3,
        evidence="90 audited rows",
        statistics={
            "rationality": [[[-0.2, -0.3, -0.1, 1.0, 0.01, 1.0, 0.02], nan]],
            "envy": [
                [
                    [nan, [-0.2, -0.3, -0.1, 1.0, 0.01, 1.0, 0.01]],
                    [[-0.1, -0.2, -0.05, 1.0, 0.02, 1.0, 0.03], nan],
                ]
            ],
            "rationality_untested": [["", "the group uses the generic model"]],
            "envy_untested": [[["the group itself", ""], ["", "the group itself"]]],
            "overall_risk": [0.25],
            "overall_generic": [0.15],
        },
        settings={
            "test": "mcnemar",
            "alpha": 0.1,
            "correction": "holm",
            "n_bootstrap": 1000,
            "random_state": 0,
            "version": "0.0.test",
        },
    )


ROOT = Path(__file__).resolve().parents[1]


#: The command runs with one BLAS thread, as the suite does.
COMMAND_ENV = dict(
    os.environ,
    PYTHONPATH=str(ROOT),
    PYTHONDONTWRITEBYTECODE="1",
    OPENBLAS_NUM_THREADS="1",
    OMP_NUM_THREADS="1",
    MKL_NUM_THREADS="1",
)


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    """Run the suite's many small fits on one BLAS thread: on a busy machine,
    BLAS threads waiting on each other made the suite several times slower."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def fairuse(*args, timeout=300, **kwargs):
    """Run this checkout's fairuse command; return the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "fairuse_estimators.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=kwargs.pop("env", COMMAND_ENV),
        timeout=timeout,
        check=False,
        **kwargs,
    )


def fairuse_main(capsys, *args):
    """Run the fairuse command in this process, like :func:`fairuse`."""
    from types import SimpleNamespace

    from fairuse_estimators.cli import main

    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=status, stdout=out, stderr=err)


def assert_one_line_error(result, *fragments):
    """Exit code 2 with a single ``fairuse: error:`` line holding ``fragments``."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fairuse: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def fit_on_routing_evidence(clf, X, y):
    """Fit ``clf``; return the statistics of its deployed routes on the very
    evidence that chose them, and that evidence's risk matrix.

    The report grades the routed model on routes chosen out of fold; what the
    routing stage itself guarantees (no significant violation where the
    routes were chosen) is read from the evidence ``route`` was given, by
    wrapping the real stage.
    """
    from unittest import mock

    from fairuse_estimators import _meta, _routing
    from fairuse_estimators._audit import fair_use_statistics

    with mock.patch.object(_meta, "route", wraps=_routing.route) as stage:
        clf.fit(X, y)
    _, evidence, risks, _, options = stage.call_args_list[0].args[:5]
    statistics = fair_use_statistics(evidence, risks, clf._route[None], options)
    return statistics, risks
