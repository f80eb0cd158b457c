"""Loaders for the clinical datasets bundled with the package."""

from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

TARGET = "y"


def _to_bunch(
    data,
    target,
    frame,
    group_columns,
    *,
    target_names,
    descr,
    filename,
    return_X_y=False,
    as_frame=True,
    task="classification",
):
    """Wrap features, target and group columns in sklearn's Bunch style."""
    groups = list(group_columns)
    feature_names = np.asarray(data.columns, dtype=object)
    if not as_frame:
        groups = [data.columns.get_loc(column) for column in groups]
        data = data.to_numpy(dtype=object)
        target = target.to_numpy()
        frame = None
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        group_columns=groups,
        target_names=target_names,
        DESCR=descr,
        filename=filename,
        task=task,
    )


def _load_bundled(name, group_columns, *, return_X_y, as_frame, task="classification"):
    """Load ``data/<name>.csv`` and ``descr/<name>.rst`` in sklearn's Bunch style."""
    package = resources.files("fairuse_estimators.datasets")
    with resources.as_file(package / "data" / f"{name}.csv") as path:
        # Group values are labels, even where they look like numbers.
        frame = pd.read_csv(path, dtype=dict.fromkeys(group_columns, str))
    return _to_bunch(
        frame.drop(columns=TARGET),
        frame[TARGET].rename("target"),
        frame,
        group_columns,
        target_names=None if task == "regression" else np.array(["no event", "event"]),
        descr=(package / "descr" / f"{name}.rst").read_text(encoding="utf-8"),
        filename=f"{name}.csv",
        return_X_y=return_X_y,
        as_frame=as_frame,
        task=task,
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

    See Also
    --------
    load_dataset : Load any bundled dataset by name.

    Examples
    --------
    >>> from fairuse_estimators.datasets import load_heart
    >>> heart = load_heart()
    >>> heart.data.shape
    (303, 20)
    >>> heart.group_columns
    ['sex', 'age_group']
    >>> heart.target.value_counts().sort_index().tolist()
    [164, 139]
    >>> int(heart.data.groupby(heart.group_columns).size().min())
    39
    """
    return _load_bundled(
        "heart", ["sex", "age_group"], return_X_y=return_X_y, as_frame=as_frame
    )


def load_whas500(*, return_X_y=False, as_frame=True):
    """Load the Worcester Heart Attack Study (WHAS500) data with sex and age groups.

    500 patients admitted for acute myocardial infarction, 12 clinical
    features, two group attributes (``sex`` and ``age_group`` in '<60',
    '60-79', '80+': six intersectional groups, the smallest with 32 rows) and
    a binary target: death observed during follow-up (43% of patients).
    Follow-up length varies, and ``los`` (length of stay) is partly shaped by
    in-hospital deaths. See ``DESCR`` for provenance; the data carry no
    stated license.

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

    See Also
    --------
    load_dataset : Load any bundled dataset by name.

    Examples
    --------
    >>> from fairuse_estimators.datasets import load_whas500
    >>> whas = load_whas500()
    >>> whas.data.shape
    (500, 14)
    >>> whas.group_columns
    ['sex', 'age_group']
    >>> whas.target.value_counts().sort_index().tolist()
    [285, 215]
    >>> int(whas.data.groupby(whas.group_columns).size().min())
    32
    """
    return _load_bundled(
        "whas500", ["sex", "age_group"], return_X_y=return_X_y, as_frame=as_frame
    )


def load_flchain(*, return_X_y=False, as_frame=True):
    """Load the serum free light chain (flchain) cohort with sex and age groups.

    7874 Olmsted County residents aged 50 or more, 6 features (serum free
    light chain assay, creatinine, MGUS, sample year), two group attributes
    (``sex`` and ``age_group`` in '<60', '60-69', '70+': six intersectional
    groups, the smallest with 899 rows) and a binary target: death observed
    during follow-up (27.5%). ``creatinine`` was missing for 1350 rows and
    is filled with the mean over all rows. See ``DESCR`` for provenance and
    license (LGPL >= 2, that of the R ``survival`` package).

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

    See Also
    --------
    load_dataset : Load any bundled dataset by name.

    Examples
    --------
    >>> from fairuse_estimators.datasets import load_flchain
    >>> flchain = load_flchain()
    >>> flchain.data.shape
    (7874, 8)
    >>> flchain.group_columns
    ['sex', 'age_group']
    >>> flchain.target.value_counts().sort_index().tolist()
    [5705, 2169]
    >>> int(flchain.data.groupby(flchain.group_columns).size().min())
    899
    """
    return _load_bundled(
        "flchain", ["sex", "age_group"], return_X_y=return_X_y, as_frame=as_frame
    )


def load_aids(*, return_X_y=False, as_frame=True):
    """Load the AIDS Clinical Trials Group study 320 data with sex and race groups.

    1151 patients with HIV infection, 9 features (treatment arm, CD4 count,
    Karnofsky score, age, prior zidovudine, IV drug use, haemophilia), two
    group attributes (``sex`` and ``race`` in 'black', 'other', 'white': six
    intersectional groups, the smallest with 44 rows) and a rare binary
    target: an AIDS-defining diagnosis or death within the year of follow-up
    (8.3%). Women of 'other' race have no event at all. Age is a feature
    here, since it is not a group attribute. See ``DESCR`` for provenance;
    the data carry no stated license.

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

    See Also
    --------
    load_dataset : Load any bundled dataset by name.

    Examples
    --------
    >>> from fairuse_estimators.datasets import load_aids
    >>> aids = load_aids()
    >>> aids.data.shape
    (1151, 11)
    >>> aids.group_columns
    ['sex', 'race']
    >>> aids.target.value_counts().sort_index().tolist()
    [1055, 96]
    >>> aids.target.groupby([aids.data["sex"], aids.data["race"]]).sum().tolist()
    [6, 0, 9, 15, 24, 42]
    """
    return _load_bundled(
        "aids", ["sex", "race"], return_X_y=return_X_y, as_frame=as_frame
    )


def load_diabetes(*, return_X_y=False, as_frame=True):
    """Load the diabetes progression data with sex and age groups (regression).

    442 patients, 8 unscaled baseline measurements (body mass index, blood
    pressure, six serum measurements), two group attributes (``sex`` and
    ``age_group``, four intersectional groups) and a continuous target:
    disease progression one year after baseline. Raw age is not a feature.
    This is scikit-learn's ``load_diabetes(scaled=False)`` with age turned
    into a group attribute. See ``DESCR`` for provenance (BSD-3-Clause).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        Return a pandas DataFrame and Series; when False, ``data`` is an
        object ndarray and ``group_columns`` holds integer positions.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data``, ``target``, ``frame``, ``feature_names``,
        ``group_columns``, ``target_names`` (``None``), ``task``
        (``"regression"``), ``DESCR`` and ``filename``.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from fairuse_estimators.datasets import load_diabetes
    >>> data = load_diabetes()
    >>> data.data.shape, data.group_columns, data.task
    ((442, 10), ['sex', 'age_group'], 'regression')
    """
    return _load_bundled(
        "diabetes", ["sex", "age_group"], return_X_y=return_X_y, as_frame=as_frame,
        task="regression",
    )  # fmt: skip


def load_whas500_los(*, return_X_y=False, as_frame=True):
    """Load the length of hospital stay of the WHAS500 patients (regression).

    500 patients admitted for acute myocardial infarction, 11 admission
    features, two group attributes (``sex`` and ``age_group``, six
    intersectional groups) and a count target: days in hospital, for
    ``metric="poisson"`` or ``"squared_error"``. See ``DESCR`` for
    provenance (no data license stated, as for :func:`load_whas500`).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        Return a pandas DataFrame and Series; when False, ``data`` is an
        object ndarray and ``group_columns`` holds integer positions.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        As :func:`load_diabetes`.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from fairuse_estimators.datasets import load_whas500_los
    >>> X, y = load_whas500_los(return_X_y=True)
    >>> X.shape, float(y.max())
    ((500, 13), 47.0)
    """
    return _load_bundled(
        "whas500_los", ["sex", "age_group"], return_X_y=return_X_y,
        as_frame=as_frame, task="regression",
    )  # fmt: skip


_LOADERS = {
    "aids": load_aids,
    "flchain": load_flchain,
    "heart": load_heart,
    "whas500": load_whas500,
    "diabetes": load_diabetes,
    "whas500_los": load_whas500_los,
}


#: The bundled datasets whose target is continuous.
_REGRESSION = ("diabetes", "whas500_los")


def list_datasets(task=None):
    """List the names of the bundled datasets.

    Parameters
    ----------
    task : {"classification", "regression"} or None, default=None
        Only the datasets of this task; ``None`` lists them all.

    Returns
    -------
    names : list of str
        The names accepted by :func:`load_dataset`, sorted.

    See Also
    --------
    load_dataset : Load a bundled dataset by name.

    Examples
    --------
    >>> from fairuse_estimators.datasets import list_datasets
    >>> list_datasets()
    ['aids', 'diabetes', 'flchain', 'heart', 'whas500', 'whas500_los']
    >>> list_datasets(task="regression")
    ['diabetes', 'whas500_los']
    """
    if task not in (None, "classification", "regression"):
        raise ValueError(
            f"task must be 'classification', 'regression' or None; got {task!r}."
        )
    names = sorted(_LOADERS)
    if task is None:
        return names
    return [name for name in names if (name in _REGRESSION) == (task == "regression")]


def load_dataset(name, **kwargs):
    """Load a bundled dataset by name.

    Parameters
    ----------
    name : str
        One of the names returned by :func:`list_datasets`.
    **kwargs : dict
        Passed to the dataset's loader, for example ``return_X_y`` or
        ``as_frame``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple
        What the dataset's loader (``load_<name>``) returns.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled dataset.

    See Also
    --------
    list_datasets : The names of the bundled datasets.
    load_csv : Load your own data from a CSV file.

    Examples
    --------
    >>> from fairuse_estimators.datasets import load_dataset
    >>> X, y = load_dataset("whas500", return_X_y=True)
    >>> X.shape, round(float(y.mean()), 3)
    ((500, 14), 0.43)
    """
    if name not in _LOADERS:
        raise ValueError(
            f"Unknown dataset {name!r}. The bundled datasets are "
            f"{list_datasets()!r}; use load_csv to read your own data."
        )
    return _LOADERS[name](**kwargs)
