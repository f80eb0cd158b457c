"""The bundled datasets and their loaders."""

from importlib import resources

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from fairuse_estimators.datasets import (
    list_datasets,
    load_aids,
    load_dataset,
    load_flchain,
    load_heart,
    load_whas500,
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
    assert set(bunch.target.unique()) == {0, 1}
    assert_array_equal(bunch.target_names, ["no event", "event"])
    assert bunch.filename == f"{name}.csv"


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
    assert pd.api.types.is_integer_dtype(bunch.target)
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
    msg = r"Unknown dataset 'hearts'\. The bundled datasets are \['aids', 'flchain'"
    with pytest.raises(ValueError, match=msg):
        load_dataset("hearts")
