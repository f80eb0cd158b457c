"""Loaders for the clinical datasets bundled with the package."""

from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

TARGET = "y"


def _load_bundled(name, group_columns, *, return_X_y, as_frame):
    """Load ``data/<name>.csv`` and ``descr/<name>.rst`` in sklearn's Bunch style."""
    package = resources.files("fairuse_estimators.datasets")
    with resources.as_file(package / "data" / f"{name}.csv") as path:
        frame = pd.read_csv(path)
    descr = (package / "descr" / f"{name}.rst").read_text(encoding="utf-8")
    data = frame.drop(columns=TARGET)
    target = frame[TARGET].rename("target")
    groups = list(group_columns)
    if not as_frame:
        positions = [data.columns.get_loc(column) for column in groups]
        feature_names = np.asarray(data.columns, dtype=object)
        data = data.to_numpy(dtype=object)
        target = target.to_numpy()
        groups = positions
    else:
        feature_names = np.asarray(data.columns, dtype=object)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame if as_frame else None,
        feature_names=feature_names,
        group_columns=groups,
        target_names=np.array(["no event", "event"]),
        DESCR=descr,
        filename=f"{name}.csv",
    )


def load_heart(*, return_X_y=False, as_frame=True):
    """Load the UCI Heart Disease (Cleveland) data with sex and age groups.

    303 patients, 18 clinical features, two group attributes (``sex`` and
    ``age_group``, four intersectional groups) and a binary target: presence
    of heart disease. Raw age is not a feature, so ``age_group`` is the only
    age signal. See ``DESCR`` for provenance and license (CC BY 4.0).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        Return a pandas DataFrame and Series, with the group columns named in
        ``group_columns``. When False, ``data`` is an object ndarray and
        ``group_columns`` holds integer positions.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes ``data`` (features, group
        columns included), ``target``, ``frame``, ``feature_names``,
        ``group_columns``, ``target_names``, ``DESCR`` and ``filename``.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from fairuse_estimators.datasets import load_heart
    >>> heart = load_heart()
    >>> heart.data.shape
    (303, 20)
    >>> heart.group_columns
    ['sex', 'age_group']
    """
    return _load_bundled(
        "heart", ["sex", "age_group"], return_X_y=return_X_y, as_frame=as_frame
    )
