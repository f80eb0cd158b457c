"""Load a user's own CSV file in the Bunch style of the bundled datasets."""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target

from ._base import _to_bunch


def _as_column_list(group_columns):
    """Accept a list of names or a comma-separated string such as ``"sex,race"``."""
    if isinstance(group_columns, str):
        columns = [name.strip() for name in group_columns.split(",") if name.strip()]
    else:
        columns = list(group_columns)
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise ValueError(
            f"group_columns names the column(s) {repeated!r} more than once, in "
            f"{group_columns!r}; list each group attribute once."
        )
    if not columns:
        raise ValueError(
            "group_columns must name at least one column, got "
            f"{group_columns!r}. Pass a list such as ['sex', 'age_group'] or a "
            "comma-separated string such as 'sex,age_group'."
        )
    return columns


def read_frame(path, groups=(), sep=","):
    """Read a CSV file as the command and :func:`load_csv` both read it.

    In the group columns ``groups`` only an empty cell is missing: a group may
    well be called "NA" or "None", which pandas would otherwise read as
    missing. pandas' terse errors become sentences naming the file.
    """
    if not path.is_file():
        raise FileNotFoundError(
            f"No CSV file found at {str(path)!r}; pass the path of an existing file."
        )
    no_rows = (
        f"The CSV file {str(path)!r} has no data rows; expected a header line "
        "with the column names followed by at least one row."
    )
    try:
        frame = pd.read_csv(path, sep=sep)
        present = [column for column in groups if column in frame.columns]
        if present and not frame.empty:
            raw = pd.read_csv(
                path, sep=sep, usecols=present, keep_default_na=False, na_values=[""]
            )
            frame[present] = raw[present]
    except pd.errors.EmptyDataError as exc:
        raise ValueError(no_rows) from exc
    except pd.errors.ParserError as exc:
        raise ValueError(
            f"The file {str(path)!r} could not be read as CSV: {exc}"
        ) from exc
    if frame.empty:
        raise ValueError(no_rows)
    return frame


def _dropped(frame, path, drop, kept):
    """``frame`` without the columns ``drop``, which must exist and must not
    be the target or a group column."""
    if not drop:
        return frame
    if isinstance(drop, str):
        drop = drop.split(",")
    drop = list(dict.fromkeys(str(name).strip() for name in drop if str(name).strip()))
    absent = [column for column in drop if column not in frame.columns]
    if absent:
        raise ValueError(
            f"The columns {absent!r} to drop are not in the CSV file {str(path)!r}; "
            f"its columns are {list(frame.columns)!r}."
        )
    clash = [column for column in drop if column in kept]
    if clash:
        raise ValueError(
            f"The columns {clash!r} are to be dropped but are the target or a "
            "group column; drop only columns the model should not see."
        )
    return frame.drop(columns=drop)


def _check_columns(frame, path, target, groups):
    """Raise if a named column is absent or a feature column is not numeric."""
    where = f"the CSV file {str(path)!r}"
    available = f"its columns are {list(frame.columns)!r}"
    if target not in frame.columns:
        raise ValueError(
            f"The target column {target!r} is not in {where}; {available}."
        )
    absent = [column for column in groups if column not in frame.columns]
    if absent:
        raise ValueError(
            f"The group columns {absent!r} are not in {where}; {available}."
        )
    if target in groups:
        raise ValueError(
            f"The target column {target!r} is also listed in group_columns "
            f"{groups!r}; a column is either the target or a group attribute."
        )
    features = frame.columns.drop([target, *groups])
    if features.empty:
        raise ValueError(
            f"{where[0].upper()}{where[1:]} has no feature column besides the "
            f"target {target!r} and the group columns {groups!r}; the estimator "
            "needs at least one numeric feature."
        )
    text = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise ValueError(
            f"The feature columns {text!r} in {where} are not numeric, and the "
            "estimator needs numeric features. Add them to group_columns if they "
            "are group attributes, or encode them as numbers (for example as "
            "one-hot 0/1 columns) before loading."
        )


#: Most distinct values of a numeric target that ``task="auto"`` reads as
#: class labels; a numeric target with more is a continuous one.
MAX_AUTO_CLASSES = 10
TASKS = ("auto", "classification", "regression")


def target_task(y, task="auto"):
    """``"classification"`` or ``"regression"``: ``task`` itself, or for
    ``"auto"`` regression when ``y`` is numeric (not boolean) with more than
    :data:`MAX_AUTO_CLASSES` distinct values."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}.")
    if task != "auto":
        return task
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    many = y.nunique() > MAX_AUTO_CLASSES
    return "regression" if numeric and many else "classification"


def _check_target(y, path, task="classification"):
    """Raise unless ``y`` holds class labels (binary or categorical) or, for
    regression, finite numbers; no gaps either way."""
    where = f"The target column {y.name!r} in {str(path)!r}"
    n_missing = int(y.isna().sum())
    if n_missing:
        raise ValueError(
            f"{where} has {n_missing} missing value(s); drop or fill those rows "
            "before loading."
        )
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise ValueError(
                f"{where} must hold numbers for regression; it holds values such "
                f"as {y.head(3).tolist()!r}."
            )
        if not np.isfinite(y.to_numpy(dtype=float)).all():
            raise ValueError(
                f"{where} holds infinite values; every value must be finite."
            )
        return
    n_values = y.nunique()
    if n_values < 2:
        raise ValueError(
            f"{where} holds a single value, {y.tolist()[0]!r}; a classifier needs at "
            "least two classes."
        )
    kind = type_of_target(y.to_numpy())
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"{where} must be binary or categorical (class labels), but its "
            f"values look {kind} ({n_values} distinct values). Pass a column of "
            "class labels, binarize this one first (for example value > "
            "threshold), or read it as a continuous target (task='regression', "
            "--task regression on the command line)."
        )


def load_csv(path, *, target, group_columns, drop=None, sep=",", task="classification"):
    """Load your own data from a CSV file in the Bunch style of the bundled sets.

    The file needs a header line. Every column other than ``target`` and
    ``group_columns`` is a feature and must be numeric, since the estimator
    only encodes the group columns: a text column raises a ``ValueError``
    naming it, to be added to ``group_columns`` or encoded beforehand (for
    example as one-hot 0/1 columns). Missing feature values are kept as NaN
    (the base estimator has to accept them), and a missing group value means
    the group was withheld: the estimator gives such rows its generic model.

    Parameters
    ----------
    path : str or path-like
        Path of the CSV file (comma-separated, with a header line).
    target : str
        Name of the column holding the class labels: binary or categorical
        (text, or integers such as 0/1), without missing values. An integer
        column with more than two values is read as a multiclass target.
    group_columns : list of str or str
        Names of the group attribute columns. A comma-separated string such
        as ``"sex,age_group"`` (the form a command line passes) is split into
        a list.
    drop : list of str or str, default=None
        Columns to leave out of the data, such as a patient identifier or a
        free-text note; a comma-separated string is split as above.
    sep : str, default=","
        Field separator of the file, for example ``";"`` or ``"\\t"``.
    task : {"classification", "regression", "auto"}, default="classification"
        What the target is: class labels, or the values of a continuous
        target (finite numbers). ``"auto"`` reads a numeric target with more
        than 10 distinct values as continuous, any other as labels.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes ``data`` (a DataFrame of the
        features, group columns included, target excluded), ``target`` (a
        Series named after the target column), ``frame`` (the whole file),
        ``feature_names``, ``group_columns`` (a list of names),
        ``target_names`` (the sorted class labels; ``None`` for regression),
        ``task`` (``"classification"`` or ``"regression"``), ``DESCR`` and
        ``filename``.

    Raises
    ------
    FileNotFoundError
        If no file exists at ``path``.
    ValueError
        If the file is empty or has a header only, cannot be parsed, lacks
        the target or a group column, has a non-numeric feature column or no
        feature column at all, or if the target has missing values, a single
        value or continuous values.

    See Also
    --------
    load_dataset : Load a bundled dataset by name.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from fairuse_estimators.datasets import load_csv, load_heart
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "heart.csv"
    >>> load_heart().frame.to_csv(path, index=False)
    >>> data = load_csv(path, target="y", group_columns="sex,age_group")
    >>> data.data.shape
    (303, 20)
    >>> data.group_columns
    ['sex', 'age_group']
    >>> data.target_names.tolist()
    [0, 1]
    >>> data.target.value_counts().sort_index().tolist()
    [164, 139]
    >>> folder.cleanup()
    """
    path = Path(path)
    groups = _as_column_list(group_columns)
    frame = _dropped(read_frame(path, groups, sep), path, drop, [target, *groups])
    _check_columns(frame, path, target, groups)
    y = frame[target]
    task = target_task(y, task)
    _check_target(y, path, task)
    return _to_bunch(
        frame.drop(columns=target),
        y,
        frame,
        groups,
        target_names=None if task == "regression" else np.unique(y.to_numpy()),
        descr=(
            f"Data read from {str(path)!r}: {len(frame)} rows, target {target!r}, "
            f"group columns {groups!r}."
        ),
        filename=str(path),
        task=task,
    )
