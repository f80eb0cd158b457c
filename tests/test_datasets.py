"""The bundled datasets and their loaders."""

import re
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from fairuse_estimators.datasets import (
    list_datasets,
    load_aids,
    load_csv,
    load_dataset,
    load_diabetes,
    load_flchain,
    load_heart,
    load_whas500,
    load_whas500_los,
)

# What the shared data README documents for each file: rows, feature columns
# (group columns excluded), positives, group levels, license and citation.
EXPECTED = {
    "heart": dict(
        loader=load_heart,
        n_rows=303,
        n_features=18,
        positives=139,
        levels={"sex": ["female", "male"], "age_group": ["60+", "<60"]},
        smallest_group=39,
        license="CC BY 4.0",
        citation="Detrano",
    ),
    "whas500": dict(
        loader=load_whas500,
        n_rows=500,
        n_features=12,
        positives=215,
        levels={"sex": ["female", "male"], "age_group": ["60-79", "80+", "<60"]},
        smallest_group=32,
        license="License: Unclear",
        citation="Hosmer",
    ),
    "flchain": dict(
        loader=load_flchain,
        n_rows=7874,
        n_features=6,
        positives=2169,
        levels={"sex": ["female", "male"], "age_group": ["60-69", "70+", "<60"]},
        smallest_group=899,
        license="LGPL (>= 2)",
        citation="Dispenzieri",
    ),
    "aids": dict(
        loader=load_aids,
        n_rows=1151,
        n_features=9,
        positives=96,
        levels={"sex": ["female", "male"], "race": ["black", "other", "white"]},
        smallest_group=44,
        license="License: Unclear",
        citation="Hammer",
    ),
    # Regression sets: positives is the target's sum.
    "diabetes": dict(
        loader=load_diabetes,
        n_rows=442,
        n_features=8,
        positives=67243.0,
        levels={"sex": ["1", "2"], "age_group": ["50+", "<50"]},
        smallest_group=83,
        license="BSD-3-Clause",
        citation="Efron",
    ),
    "whas500_los": dict(
        loader=load_whas500_los,
        n_rows=500,
        n_features=11,
        positives=3058.0,
        levels={"sex": ["female", "male"], "age_group": ["60-79", "80+", "<60"]},
        smallest_group=32,
        license="License: Unclear",
        citation="Hosmer",
    ),
}
NAMES = sorted(EXPECTED)


@pytest.mark.parametrize("name", NAMES)
def test_loaders_bunch_shapes_and_target(name):
    """Check that each loader returns the documented rows, columns and positives."""
    expected = EXPECTED[name]
    bunch = expected["loader"]()
    n_columns = expected["n_features"] + len(expected["levels"])
    assert isinstance(bunch.data, pd.DataFrame)
    assert bunch.data.shape == (expected["n_rows"], n_columns)
    assert bunch.frame.shape == (expected["n_rows"], n_columns + 1)
    assert list(bunch.frame.columns[:-1]) == list(bunch.data.columns)
    assert_array_equal(bunch.feature_names, bunch.data.columns)
    assert bunch.target.name == "target"
    assert bunch.target.sum() == expected["positives"]
    assert bunch.filename == f"{name}.csv"
    if bunch.task == "regression":
        assert bunch.target_names is None
        assert bunch.target.dtype == float and bunch.target.nunique() > 10
    else:
        assert bunch.task == "classification"
        assert set(bunch.target.unique()) == {0, 1}
        assert_array_equal(bunch.target_names, ["no event", "event"])


@pytest.mark.parametrize("name", NAMES)
def test_loaders_group_columns_levels(name):
    """Check that the group columns are the last features with the README's levels."""
    expected = EXPECTED[name]
    bunch = expected["loader"]()
    groups = list(expected["levels"])
    assert bunch.group_columns == groups
    assert list(bunch.data.columns[-len(groups) :]) == groups
    for column, levels in expected["levels"].items():
        assert sorted(bunch.data[column].unique()) == levels
    sizes = bunch.data.groupby(groups).size()
    n_cells = np.prod([len(levels) for levels in expected["levels"].values()])
    assert len(sizes) == n_cells
    assert sizes.min() == expected["smallest_group"]


@pytest.mark.parametrize("name", NAMES)
def test_loaders_dtypes_without_missing_values(name):
    """Check that features are numeric, groups are strings and nothing is missing."""
    bunch = EXPECTED[name]["loader"]()
    features = bunch.data.drop(columns=bunch.group_columns)
    assert all(pd.api.types.is_numeric_dtype(dtype) for dtype in features.dtypes)
    for column in bunch.group_columns:
        assert pd.api.types.is_string_dtype(bunch.data[column])
    if bunch.task == "classification":
        assert pd.api.types.is_integer_dtype(bunch.target)
    else:
        assert np.isfinite(bunch.target).all()
    assert not bunch.frame.isna().any().any()


@pytest.mark.parametrize("name", NAMES)
def test_loaders_descr_provenance_and_license(name):
    """Check that DESCR names the license, citation, source file hash and groups."""
    descr = EXPECTED[name]["loader"]().DESCR
    assert descr.startswith(f".. _{name}_dataset:")
    assert EXPECTED[name]["license"] in descr
    assert EXPECTED[name]["citation"] in descr
    assert "sha256" in descr
    assert f"Rows n = {EXPECTED[name]['n_rows']}" in descr
    for column in EXPECTED[name]["levels"]:
        assert f"`{column}` in" in descr


@pytest.mark.parametrize("name", NAMES)
def test_loaders_return_X_y_and_arrays(name):
    """Check that return_X_y and as_frame=False agree with the frame version."""
    loader = EXPECTED[name]["loader"]
    X, y = loader(return_X_y=True)
    bunch = loader(as_frame=False)
    n_features = EXPECTED[name]["n_features"]
    assert isinstance(bunch.data, np.ndarray) and bunch.data.dtype == object
    assert bunch.group_columns == list(range(n_features, X.shape[1]))
    assert_array_equal(bunch.data[:, bunch.group_columns[0]], X.iloc[:, n_features])
    assert_array_equal(bunch.target, y)
    assert bunch.frame is None
    X_array, y_array = loader(return_X_y=True, as_frame=False)
    assert isinstance(X_array, np.ndarray) and isinstance(y_array, np.ndarray)


def test_data_files_ship_in_package():
    """Check that every dataset's CSV and DESCR, and LICENSES.md, are package data."""
    package = resources.files("fairuse_estimators.datasets")
    shipped = sorted(
        entry.name.removesuffix(".csv")
        for entry in (package / "data").iterdir()
        if entry.name.endswith(".csv")
    )
    assert shipped == NAMES
    for name in NAMES:
        assert (package / "descr" / f"{name}.rst").is_file()
    licenses = (package / "data" / "LICENSES.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"`{name}.csv`" in licenses


def test_list_datasets_sorted_names():
    """Check that list_datasets returns the sorted names of the bundled datasets."""
    assert list_datasets() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_load_dataset_dispatches_with_kwargs(name):
    """Check that load_dataset calls the named loader and passes its kwargs on."""
    X, y = load_dataset(name, return_X_y=True)
    X_expected, y_expected = EXPECTED[name]["loader"](return_X_y=True)
    pd.testing.assert_frame_equal(X, X_expected)
    pd.testing.assert_series_equal(y, y_expected)
    assert load_dataset(name, as_frame=False).frame is None


def test_load_dataset_unknown_name():
    """Check that an unknown name raises a ValueError listing the available names."""
    msg = r"Unknown dataset 'hearts'\. The bundled datasets are \['aids', 'diabetes'"
    with pytest.raises(ValueError, match=msg):
        load_dataset("hearts")


def _write_csv(tmp_path, text, name="patients.csv"):
    """Write ``text`` to a CSV file under ``tmp_path`` and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_CSV = """age,bp,sex,site,outcome
50,120.5,female,a,no
61,,male,b,yes
72,131.0,female,,yes
45,118.0,male,a,no
"""


def test_load_csv_bunch(tmp_path):
    """Check that load_csv returns features, labels and groups in the Bunch style."""
    path = _write_csv(tmp_path, GOOD_CSV)
    data = load_csv(path, target="outcome", group_columns=["sex", "site"])
    assert list(data.data.columns) == ["age", "bp", "sex", "site"]
    assert_array_equal(data.feature_names, ["age", "bp", "sex", "site"])
    assert data.group_columns == ["sex", "site"]
    assert data.target.name == "outcome"
    assert data.target.tolist() == ["no", "yes", "yes", "no"]
    assert data.target_names.tolist() == ["no", "yes"]
    assert data.frame.shape == (4, 5)
    assert data.filename == str(path)
    assert repr(str(path)) in data.DESCR and "4 rows" in data.DESCR


def test_load_csv_keeps_missing_features_and_groups(tmp_path):
    """Check that missing feature and group values stay NaN for the estimator."""
    data = load_csv(
        _write_csv(tmp_path, GOOD_CSV), target="outcome", group_columns="sex,site"
    )
    assert data.data["bp"].isna().sum() == 1
    assert data.data["site"].isna().sum() == 1


@pytest.mark.parametrize("group_columns", ["sex,site", " sex , site ", "sex,site,"])
def test_load_csv_group_columns_string(tmp_path, group_columns):
    """Check that a comma-separated group_columns string becomes a list of names."""
    path = _write_csv(tmp_path, GOOD_CSV)
    data = load_csv(path, target="outcome", group_columns=group_columns)
    assert data.group_columns == ["sex", "site"]


def test_load_csv_multiclass_integer_target(tmp_path):
    """Check that an integer target with three values is accepted as multiclass."""
    path = _write_csv(tmp_path, "x,g,grade\n1.5,a,0\n2.5,b,1\n3.5,a,2\n4.5,b,1\n")
    data = load_csv(path, target="grade", group_columns="g")
    assert data.target_names.tolist() == [0, 1, 2]


def test_load_csv_missing_file(tmp_path):
    """Check that a path with no file raises a FileNotFoundError naming it."""
    path = tmp_path / "absent.csv"
    with pytest.raises(FileNotFoundError, match="No CSV file found at .*absent"):
        load_csv(path, target="y", group_columns="sex")
    with pytest.raises(FileNotFoundError, match=re.escape(repr(str(tmp_path)))):
        load_csv(tmp_path, target="y", group_columns="sex")


@pytest.mark.parametrize("text", ["", "\n", "age,sex,outcome\n"])
def test_load_csv_no_data_rows(tmp_path, text):
    """Check that an empty file or a header-only file raises a clear ValueError."""
    path = _write_csv(tmp_path, text)
    msg = re.escape(f"The CSV file {str(path)!r} has no data rows; expected a header")
    with pytest.raises(ValueError, match=msg):
        load_csv(path, target="outcome", group_columns="sex")


def test_load_csv_unparsable_file(tmp_path):
    """Check that a row with too many fields raises a ValueError naming the file."""
    path = _write_csv(tmp_path, "a,sex,y\n1,f,0\n2,m,1,9\n")
    msg = re.escape(f"The file {str(path)!r} could not be read as CSV")
    with pytest.raises(ValueError, match=msg):
        load_csv(path, target="y", group_columns="sex")


def test_load_csv_missing_target_column(tmp_path):
    """Check that an absent target column is named, with the columns that exist."""
    path = _write_csv(tmp_path, GOOD_CSV)
    msg = (
        r"The target column 'death' is not in the CSV file .*; its columns are "
        r"\['age', 'bp', 'sex', 'site', 'outcome'\]\."
    )
    with pytest.raises(ValueError, match=msg):
        load_csv(path, target="death", group_columns="sex")


def test_load_csv_missing_group_column(tmp_path):
    """Check that absent group columns are named, with the columns that exist."""
    path = _write_csv(tmp_path, GOOD_CSV)
    msg = (
        r"The group columns \['race'\] are not in the CSV file .*; its columns "
        r"are \['age', 'bp', 'sex', 'site', 'outcome'\]\."
    )
    with pytest.raises(ValueError, match=msg):
        load_csv(path, target="outcome", group_columns="sex,race")


@pytest.mark.parametrize("group_columns", ["", " , ", []])
def test_load_csv_empty_group_columns(tmp_path, group_columns):
    """Check that group_columns naming no column raises a ValueError."""
    path = _write_csv(tmp_path, GOOD_CSV)
    with pytest.raises(ValueError, match="group_columns must name at least one"):
        load_csv(path, target="outcome", group_columns=group_columns)


def test_load_csv_target_among_group_columns(tmp_path):
    """Check that the target cannot also be a group column."""
    path = _write_csv(tmp_path, GOOD_CSV)
    msg = "The target column 'outcome' is also listed in group_columns"
    with pytest.raises(ValueError, match=msg):
        load_csv(path, target="outcome", group_columns="sex,outcome")


def test_load_csv_non_numeric_feature(tmp_path):
    """Check that a text feature column is named, with the two ways to fix it."""
    path = _write_csv(tmp_path, GOOD_CSV)
    msg = (
        r"The feature columns \['site'\] in the CSV file .* are not numeric.*"
        r"Add them to group_columns .* or encode them as numbers"
    )
    with pytest.raises(ValueError, match=msg):
        load_csv(path, target="outcome", group_columns="sex")


def test_load_csv_no_feature_column(tmp_path):
    """Check that a file with only the target and group columns raises."""
    path = _write_csv(tmp_path, "sex,outcome\nf,0\nm,1\n")
    with pytest.raises(ValueError, match="has no feature column besides the target"):
        load_csv(path, target="outcome", group_columns="sex")


def test_load_csv_target_with_missing_values(tmp_path):
    """Check that missing target values are counted in the error."""
    path = _write_csv(tmp_path, "x,sex,y\n1,f,0\n2,m,\n3,f,\n4,m,1\n")
    msg = r"The target column 'y' in .* has 2 missing value\(s\)"
    with pytest.raises(ValueError, match=msg):
        load_csv(path, target="y", group_columns="sex")


def test_load_csv_single_class_target(tmp_path):
    """Check that a target with one value raises, since it has a single class."""
    path = _write_csv(tmp_path, "x,sex,y\n1,f,1\n2,m,1\n")
    with pytest.raises(ValueError, match="holds a single value, 1; a classifier"):
        load_csv(path, target="y", group_columns="sex")


def test_load_csv_continuous_target(tmp_path):
    """Check that a float target is refused with its number of distinct values."""
    frame = load_aids().frame
    path = tmp_path / "aids.csv"
    frame.to_csv(path, index=False)
    n_values = frame["cd4"].nunique()
    msg = (
        rf"The target column 'cd4' in .* must be binary or categorical .*"
        rf"look continuous \({n_values} distinct values\)"
    )
    with pytest.raises(ValueError, match=msg):
        load_csv(path, target="cd4", group_columns=["sex", "race"])


def test_load_csv_keeps_group_values_named_like_missing_markers(tmp_path):
    """Check that groups called "NA" or "None" stay groups; only empty is missing."""
    path = tmp_path / "groups.csv"
    path.write_text("x,group,y\n1.0,NA,0\n2.0,None,1\n3.0,null,0\n4.0,,1\nNA,NA,0\n")
    data = load_csv(path, target="y", group_columns=["group"])
    assert data.data["group"].tolist()[:3] == ["NA", "None", "null"]
    assert data.data["group"].isna().tolist() == [False, False, False, True, False]
    # Feature columns keep pandas' usual missing markers.
    assert np.isnan(data.data["x"].iloc[4])


def test_list_datasets_by_task():
    """Check that list_datasets(task=...) splits the sets by their loaders' task."""
    for task in ("classification", "regression"):
        names = list_datasets(task=task)
        assert names and all(load_dataset(n).task == task for n in names)
    assert (
        sorted(list_datasets(task="classification") + list_datasets(task="regression"))
        == NAMES
    )
    with pytest.raises(ValueError, match="task must be"):
        list_datasets(task="survival")
