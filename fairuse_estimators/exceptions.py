"""Warning categories raised by fairuse_estimators.

They subclass :class:`UserWarning` so that users can filter them with the
standard :mod:`warnings` machinery.
"""

import os
import sys

import sklearn.base

__all__ = ["FairUseVersionWarning", "ManyGroupsWarning", "UnseenGroupWarning"]
_INSIDE = (os.path.dirname(__file__), sklearn.base.__file__)


def caller_stacklevel():
    """Stack level, for ``warnings.warn`` in the caller of this function, of
    the first frame outside this package, so that a warning points at the
    user's line.

    The ``_fit_context`` wrapper scikit-learn puts around ``fit`` (in
    ``sklearn/base.py``) counts as inside.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_INSIDE):
        frame, level = frame.f_back, level + 1
    return level


class UnseenGroupWarning(UserWarning):
    """A group value at prediction time was never seen during ``fit``.

    The rows carrying it are scored by the generic model, exactly like rows
    whose group was withheld. Pass ``handle_unknown="error"`` to
    :class:`~fairuse_estimators.FairUseClassifier` to raise instead.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import pandas as pd
    >>> from fairuse_estimators import FairUseClassifier, UnseenGroupWarning
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=200),
    ...                   "g": rng.choice(["a", "b"], size=200)})
    >>> y = (X["x"] > 0).astype(int)
    >>> clf = FairUseClassifier(group_columns="g", variants=("generic", "onehot"),
    ...                         cv=3, random_state=0).fit(X, y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", UnseenGroupWarning)
    ...     clf.predict(pd.DataFrame({"x": [1.5], "g": ["c"]}))
    array([1])
    >>> print(caught[0].message)
    Group values not seen during fit: value 'c' in column 'g'. These rows are
    scored by the generic model.
    """


class ManyGroupsWarning(UserWarning):
    """The group columns define more intersectional groups than is sensible.

    The candidate pool holds ``1 + 3m`` predictors for ``m`` groups and each
    is scored on every evaluated row, so fitting time grows with the square
    of ``m``, while a small group's risk estimates rest on a few rows. A
    group column with almost as many distinct values as rows is usually a
    continuous measurement that should be binned (for example with
    :func:`pandas.cut`) or kept out of ``group_columns``.

    Examples
    --------
    Raw age in years as a group column makes one group per age:

    >>> import warnings
    >>> import numpy as np
    >>> import pandas as pd
    >>> from fairuse_estimators import FairUseClassifier, ManyGroupsWarning
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=300),
    ...                   "age": rng.integers(20, 90, size=300)})
    >>> y = (X["x"] > 0).astype(int)
    >>> clf = FairUseClassifier(group_columns="age", variants=("generic",), cv=2)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", ManyGroupsWarning)
    ...     _ = clf.fit(X, y)
    >>> caught[0].category.__name__
    'ManyGroupsWarning'

    Binned, it makes two:

    >>> X["age"] = pd.cut(X["age"], [0, 60, 120], labels=["<60", "60+"])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", ManyGroupsWarning)
    ...     clf.fit(X, y).groups_
    [('60+',), ('<60',)]
    """


class FairUseVersionWarning(UserWarning):
    """A model is loaded with another version of fairuse_estimators.

    Raised when a :class:`~fairuse_estimators.FairUseClassifier` pickled (or
    saved with skops) by one version of the package is loaded by another,
    like scikit-learn's :class:`~sklearn.exceptions.InconsistentVersionWarning`
    for its own estimators. The fitted state may not mean the same thing in
    both versions: refit the model, or load it with the version that saved
    it.

    Parameters
    ----------
    estimator_name : str
        Name of the estimator's class.
    current_version : str
        Version of fairuse_estimators doing the loading.
    original_version : str
        Version of fairuse_estimators that saved the model.

    Examples
    --------
    Loading raises the warning; a filter can turn it into an error, so that
    a service refuses a model saved by another version:

    >>> import warnings
    >>> from fairuse_estimators import FairUseVersionWarning
    >>> warning = FairUseVersionWarning(estimator_name="FairUseClassifier",
    ...                                 current_version="0.2.0",
    ...                                 original_version="0.1.0")
    >>> print(warning)
    Trying to load FairUseClassifier saved with fairuse_estimators 0.1.0 when
    using version 0.2.0. Its routes and fitted variants might not mean the same
    thing in this version: refit it, or load it with the version that saved it.
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", FairUseVersionWarning)
    ...     try:
    ...         warnings.warn(warning)
    ...     except FairUseVersionWarning as error:
    ...         print(error.original_version)
    0.1.0
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Trying to load {self.estimator_name} saved with fairuse_estimators "
            f"{self.original_version} when using version {self.current_version}. "
            "Its routes and fitted variants might not mean the same thing in this "
            "version: refit it, or load it with the version that saved it."
        )
