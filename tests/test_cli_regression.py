"""The command for a continuous target: task choice, estimators, losses."""

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from conftest import assert_one_line_error, fairuse_main
from numpy.testing import assert_allclose
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_pinball_loss

from fairuse_estimators import FairUseRegressor
from fairuse_estimators.datasets import load_diabetes, load_whas500_los

GROUPS = "sex,age_group"


@pytest.fixture(scope="module")
def stays(tmp_path_factory):
    """The bundled length-of-stay data as a user's CSV file."""
    path = tmp_path_factory.mktemp("data") / "stays.csv"
    load_whas500_los().frame.rename(columns={"y": "los"}).to_csv(path, index=False)
    return path


def test_audit_chooses_regression_for_a_numeric_target_and_says_so(capsys, stays):
    result = fairuse_main(capsys, "audit", stays, "--target", "los", "--groups", GROUPS)
    assert result.returncode == 0, result.stderr
    assert "numeric with 27 distinct values: fitting FairUseRegressor" in result.stdout
    assert "FairUseRegressor(linear)" in result.stdout
    assert "risk squared_error" in result.stdout


def test_task_classification_reads_values_as_labels(capsys, stays):
    """Check that --task classification keeps the classifier, which then
    refuses a target of many classes with the usual message."""
    result = fairuse_main(
        capsys, "audit", stays, "--target", "los", "--groups", GROUPS,
        "--task", "classification",
    )  # fmt: skip
    assert_one_line_error(result, "fairuse needs a binary target")


def test_fit_pinball_fits_a_quantile_base_and_predict_matches(capsys, stays, tmp_path):
    """Check that --metric pinball fits gradient boosting at the quantile, and
    that `fairuse predict` gives the saved regressor's predictions."""
    model = tmp_path / "q.skops"
    result = fairuse_main(
        capsys, "fit", stays, "--target", "los", "--groups", GROUPS,
        "--metric", "pinball", "--quantile", "0.9", "--estimator", "boosting",
        "--out", model,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "risk pinball(quantile=0.9)" in result.stdout
    reg = sio.load(model, trusted=sio.get_untrusted_types(file=model))
    assert isinstance(reg, FairUseRegressor)
    base = reg.estimators_["generic"]
    assert isinstance(base, HistGradientBoostingRegressor)
    assert (base.loss, base.quantile) == ("quantile", 0.9)
    out = tmp_path / "predictions.csv"
    assert fairuse_main(capsys, "predict", model, stays, "--out", out).returncode == 0
    X = pd.read_csv(stays, dtype={"sex": str, "age_group": str}).drop(columns="los")
    predictions = pd.read_csv(out)
    assert list(predictions.columns) == ["prediction"]
    assert_allclose(predictions["prediction"], reg.predict(X), rtol=1e-12)
    y = pd.read_csv(stays)["los"]
    # A quantile model: about 90% of stays at or below its predictions.
    assert 0.8 < (y <= predictions["prediction"]).mean() < 0.97
    assert mean_pinball_loss(y, predictions["prediction"], alpha=0.9) < (
        mean_pinball_loss(y, predictions["prediction"], alpha=0.5)
    )


@pytest.mark.parametrize(
    "options, fragments",
    [
        (["--gate-loss", "log_loss"], ["--gate-loss applies to classification only"]),
        (["--estimator", "logistic"], ["for a regressor", "'logistic'"]),
        (["--metric", "poisson", "--estimator", "forest"], ["positive counts"]),
        (["--metric", "error"], ["metric"]),
        (["--test", "mcnemar"], ["test"]),
    ],
)
def test_regression_refuses_options_of_the_classifier(
    capsys, stays, options, fragments
):
    result = fairuse_main(
        capsys, "audit", stays, "--target", "los", "--groups", GROUPS, *options
    )
    assert_one_line_error(result, *fragments)


def test_demo_runs_a_regression_dataset(capsys, tmp_path):
    """Check that `fairuse demo` on a bundled regression set fits the
    regressor and writes its HTML report."""
    page = tmp_path / "demo.html"
    result = fairuse_main(capsys, "demo", "--dataset", "diabetes", "--html", page)
    assert result.returncode == 0, result.stderr
    assert "FairUseRegressor(linear) on the diabetes data" in result.stdout
    assert page.read_text().count("squared_error") >= 1
    assert len(load_diabetes().frame) == 442


def test_plan_takes_a_regression_loss(capsys):
    from fairuse_estimators import required_group_size

    result = fairuse_main(
        capsys, "plan", "--metric", "squared_error", "--sd", "900", "--gains", "100"
    )
    assert result.returncode == 0, result.stderr
    rows = required_group_size(100.0, metric="squared_error", sd=900.0)
    assert result.stdout.splitlines()[-1].split() == ["100", str(rows)]


def test_a_regression_loss_implies_the_task(capsys, tmp_path):
    """Check that --metric poisson reads a count target with few values as
    continuous, and that a numeric target refused as labels suggests
    --task regression."""
    frame = load_whas500_los().frame
    frame = frame.assign(y=np.minimum(frame["y"], 5.0))  # 6 distinct values
    path = tmp_path / "few.csv"
    frame.to_csv(path, index=False)
    result = fairuse_main(
        capsys, "audit", path, "--target", "y", "--groups", GROUPS,
        "--metric", "poisson",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "FairUseRegressor(linear)" in result.stdout
    result = fairuse_main(capsys, "audit", path, "--target", "y", "--groups", GROUPS)
    assert_one_line_error(result, "holds 6 classes", "--task regression")
