"""Locating group columns and encoding intersectional groups."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from fairuse_estimators import ManyGroupsWarning
from fairuse_estimators._groups import (
    MANY_GROUPS,
    MAX_GROUPS,
    UNSEEN,
    WITHHELD,
    GroupEncoding,
    check_group_count,
    resolve_group_columns,
)

NAMES = np.array(["a", "sex", "race"], dtype=object)


def test_resolve_group_columns_names_and_positions():
    """Check that names, positions and negative positions resolve alike."""
    assert_array_equal(resolve_group_columns(["race", "sex"], 3, NAMES), [2, 1])
    assert_array_equal(resolve_group_columns([2, 1], 3, NAMES), [2, 1])
    assert_array_equal(resolve_group_columns(-1, 3, None), [2])
    assert_array_equal(resolve_group_columns("sex", 3, NAMES), [1])
    assert len(resolve_group_columns(None, 3, NAMES)) == 0


@pytest.mark.parametrize(
    ("group_columns", "names", "error", "match"),
    [
        (["age"], NAMES, ValueError, "'age' is not a column of X"),
        (["sex"], None, ValueError, "X has no column names"),
        ([3], None, ValueError, "position 3 is out of range for X with 3 columns"),
        (["sex", 1], NAMES, ValueError, "names the same column more than once"),
        ([True], None, TypeError, "got True of type bool"),
        ([1.5], None, TypeError, "got 1.5 of type float"),
        ([0, 1, 2], None, ValueError, "all of them group columns"),
    ],
)
def test_resolve_group_columns_errors(group_columns, names, error, match):
    """Check that bad group_columns raise errors naming the problem."""
    with pytest.raises(error, match=match):
        resolve_group_columns(group_columns, 3, names)


def test_group_encoding_ids_withheld_and_unseen():
    """Check intersectional ids, withheld rows and unseen values."""
    sex = np.array(["m", "f", "m", None, "f"], dtype=object)
    race = np.array(["b", "w", "w", "w", np.nan], dtype=object)
    encoding = GroupEncoding()
    ids = encoding.fit([sex, race], ["sex", "race"])
    assert encoding.groups == [("f", "w"), ("m", "b"), ("m", "w")]
    assert_array_equal(ids, [1, 0, 2, WITHHELD, WITHHELD])

    new_sex = np.array(["f", "x", "f", "m"], dtype=object)
    new_race = np.array(["w", "w", "b", None], dtype=object)
    ids, unseen = encoding.transform([new_sex, new_race], ["sex", "race"])
    assert_array_equal(ids, [0, UNSEEN, UNSEEN, WITHHELD])
    assert unseen == [
        "value 'x' in column 'sex'",
        "combination ('f', 'b') of ('sex', 'race')",
    ]


def test_group_encoding_blocks():
    """Check the one-hot and intersectional indicator blocks."""
    encoding = GroupEncoding()
    encoding.fit([np.array([0, 1, 1]), np.array(["x", "y", "z"])], ["g", "h"])
    assert_array_equal(
        encoding.onehot_block(np.array([0, 2])),
        [[1, 0, 1, 0, 0], [0, 1, 0, 0, 1]],
    )
    assert_array_equal(encoding.intersectional_block(np.array([1])), [[0, 1, 0]])


def test_group_encoding_categorical_bool_and_mixed_values():
    """Check pandas categoricals, booleans and mixed-type columns."""
    cat = pd.Categorical(["a", "b", "a"], categories=["a", "b", "unused"])
    flags = np.array([True, False, True])
    mixed = np.array([1, "one", 1], dtype=object)
    encoding = GroupEncoding()
    encoding.fit([np.asarray(cat), flags, mixed], ["c", "f", "m"])
    assert encoding.levels == [["a", "b"], [False, True], [1, "one"]]
    assert encoding.groups == [("a", True, 1), ("b", False, "one")]


def test_group_encoding_unhashable_value():
    """Check that an unhashable group value raises a TypeError naming the column."""
    values = np.array([{"a": 1}, "b"], dtype=object)
    with pytest.raises(TypeError, match="group column 'race' holds a value"):
        GroupEncoding().fit([values], ["race"])


def _encoding(*n_levels, n_rows=2000):
    """An encoding whose columns have the given numbers of levels, all crossed."""
    codes = np.unravel_index(np.arange(n_rows) % np.prod(n_levels), n_levels)
    encoding = GroupEncoding()
    encoding.fit(list(codes), [f"c{j}" for j in range(len(n_levels))])
    return encoding


def test_check_group_count_thresholds():
    """Check silence up to MANY_GROUPS, a warning above, an error above MAX."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ManyGroupsWarning)
        check_group_count(_encoding(MANY_GROUPS), ["c0"], 2000)
    match = "\\['c0', 'c1'\\] define 60 intersectional groups in 2000 rows "
    match += "\\(distinct values: 'c0' has 6, 'c1' has 10\\)"
    with pytest.warns(ManyGroupsWarning, match=match) as record:
        check_group_count(_encoding(6, 10), ["c0", "c1"], 2000)
    assert "continuous" not in str(record[0].message)
    assert record[0].filename == __file__
    with pytest.raises(ValueError, match=f"at most {MAX_GROUPS} groups"):
        check_group_count(_encoding(MAX_GROUPS + 1), ["c0"], 2000)


def test_check_group_count_names_continuous_column():
    """Check that a column with nearly as many values as rows is named."""
    with pytest.warns(ManyGroupsWarning, match="\\['c1'\\] have nearly as many"):
        check_group_count(_encoding(2, 90, n_rows=150), ["c0", "c1"], 150)


def _reference_ids(encoding, columns):
    """Group ids by a dict of the fitted groups, the definition transform keeps."""
    index = {group: i for i, group in enumerate(encoding.groups)}
    levels = [set(values) for values in encoding.levels]
    ids = []
    for row in zip(*columns):
        if any(pd.isna(value) for value in row):
            ids.append(WITHHELD)
        elif all(v in lv for v, lv in zip(row, levels)):
            ids.append(index.get(tuple(row), UNSEEN))
        else:
            ids.append(UNSEEN)
    return np.array(ids)


@pytest.mark.parametrize("n_levels", [(3, 4), (6, 6, 6, 6, 6)])
def test_group_encoding_transform_table_and_search_agree(n_levels):
    """Check transform's ids against a dict lookup, on the table path (few
    level combinations) and the binary-search path (many), with missing,
    unseen values and unseen combinations among the rows."""
    rng = np.random.default_rng(0)
    fit_columns = [rng.integers(0, k, size=300).astype(object) for k in n_levels]
    encoding = GroupEncoding()
    encoding.fit(fit_columns, [f"c{j}" for j in range(len(n_levels))])
    columns = [rng.integers(-1, k + 1, size=500).astype(object) for k in n_levels]
    for values in columns:
        values[rng.random(500) < 0.05] = None
    names = [f"c{j}" for j in range(len(n_levels))]
    ids, _ = encoding.transform(columns, names)
    expected = _reference_ids(encoding, columns)
    assert_array_equal(ids, expected)
    assert_array_equal(
        encoding._searched_ids(encoding._level_codes(columns, names)), expected
    )
    assert {UNSEEN, WITHHELD} <= set(ids.tolist())


@pytest.mark.parametrize("n_levels", [3, 40])
def test_group_ids_follow_sorted_combinations_with_few_or_many_possible(n_levels):
    """Check group ids against the sorted distinct tuples of the complete
    rows, with few possible combinations (counted) and with many more
    combinations than rows (sorted); values seen only beside a missing one
    are no level."""
    rng = np.random.default_rng(0)
    n = 500
    columns = [
        np.array([f"v{k:02d}" for k in rng.integers(n_levels, size=n)], dtype=object)
        for _ in range(3)
    ]
    columns[0][:7] = None
    columns[1][:7] = "only_beside_a_missing_value"
    ids = GroupEncoding().fit(columns, ["a", "b", "c"])
    complete = np.arange(n) >= 7
    rows = [tuple(c[i] for c in columns) for i in np.flatnonzero(complete)]
    distinct = sorted(set(rows))
    assert_array_equal(ids[~complete], WITHHELD)
    assert_array_equal(ids[complete], [distinct.index(r) for r in rows])
    encoding = GroupEncoding()
    encoding.fit(columns, ["a", "b", "c"])
    assert "only_beside_a_missing_value" not in encoding.levels[1]
    assert encoding.groups == distinct
