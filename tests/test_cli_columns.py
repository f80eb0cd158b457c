"""The command's column options: --id, --drop and --sep."""

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, fairuse_main

from fairuse_estimators._files import read_model_file
from fairuse_estimators.datasets import load_csv, load_heart

GROUPS = "sex,age_group"


@pytest.fixture
def files(tmp_path):
    """The heart data with a patient id and a free-text note, as comma- and
    semicolon-separated files."""
    frame = load_heart().frame
    frame.insert(0, "patient", [f"p{k:04d}" for k in range(len(frame))])
    frame["note"] = "seen in clinic; follow up"
    comma, semicolon = tmp_path / "heart.csv", tmp_path / "heart_semicolon.csv"
    frame.to_csv(comma, index=False)
    frame.to_csv(semicolon, index=False, sep=";")
    return frame, comma, semicolon


def test_id_and_drop_keep_columns_out_of_the_model(files, tmp_path, capsys):
    """Check that an id column and a text note, which make a fit fail as
    features, are left out with --id and --drop; that predict copies the id
    into its output in row order; and that the model never saw either."""
    frame, comma, _ = files
    model = tmp_path / "model.skops"
    options = ["--target", "y", "--groups", GROUPS]
    failed = fairuse_main(capsys, "fit", comma, *options, "--out", model)
    assert failed.returncode == 2 and "'patient'" in failed.stderr
    fitted = fairuse_main(
        capsys, "fit", comma, *options, "--id", "patient", "--drop", "note",
        "--out", model,
    )  # fmt: skip
    assert fitted.returncode == 0, fitted.stderr
    out = tmp_path / "predictions.csv"
    predicted = fairuse_main(
        capsys, "predict", model, comma, "--id", "patient", "--out", out
    )
    assert predicted.returncode == 0, predicted.stderr
    predictions = pd.read_csv(out)
    assert predictions.columns[0] == "patient"
    assert predictions["patient"].tolist() == frame["patient"].tolist()
    clf = read_model_file(model)
    assert "patient" not in clf.feature_names_in_
    assert "note" not in clf.feature_names_in_
    audited = fairuse_main(
        capsys, "audit", comma, *options, "--id", "patient", "--drop", "note"
    )
    assert audited.returncode == 0, audited.stderr


def test_sep_reads_other_separators_alike(files, tmp_path, capsys):
    """Check that --sep ';' reads the same data as the comma-separated
    file: the same predictions."""
    _, comma, semicolon = files
    common = ["--target", "y", "--groups", GROUPS, "--id", "patient"]
    common += ["--drop", "note"]
    results = []
    for path, sep in ((comma, ","), (semicolon, ";")):
        model = tmp_path / f"model{len(results)}.skops"
        out = tmp_path / f"out{len(results)}.csv"
        assert (
            fairuse_main(
                capsys, "fit", path, *common, "--sep", sep, "--out", model
            ).returncode
            == 0
        )
        assert fairuse_main(
            capsys, "predict", model, path, "--sep", sep, "--id", "patient",
            "--out", out,
        ).returncode == 0  # fmt: skip
        results.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(results[0], results[1])


def test_column_options_name_what_is_wrong(files, tmp_path, capsys):
    """Check the one-line errors: a column to drop that is absent, or that
    is the target or a group column, and an --id the file lacks."""
    _, comma, _ = files
    options = ["--target", "y", "--groups", GROUPS, "--drop", "note"]
    absent = fairuse_main(capsys, "audit", comma, *options, "--id", "mrn")
    assert_one_line_error(absent, "['mrn']", "to drop are not in")
    target = fairuse_main(capsys, "audit", comma, *options[:4], "--drop", "y,note")
    assert_one_line_error(target, "['y']", "target or a group column")
    with pytest.raises(ValueError, match=r"\['sex'\].*target or a group column"):
        load_csv(comma, target="y", group_columns=GROUPS, drop="sex")
    data = load_csv(comma, target="y", group_columns=GROUPS, drop=["patient", "note"])
    assert "patient" not in data.data.columns and data.data.shape == (303, 20)
    assert np.array_equal(data.target.to_numpy(), load_heart().target.to_numpy())
