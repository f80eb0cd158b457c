"""Warning categories raised by fairuse_estimators.

They subclass :class:`UserWarning` so that users can filter them with the
standard :mod:`warnings` machinery.
"""

__all__ = ["FairUseVersionWarning", "ManyGroupsWarning", "UnseenGroupWarning"]


class UnseenGroupWarning(UserWarning):
    """A group value at prediction time was never seen during ``fit``.

    The rows carrying it are scored by the generic model, exactly like rows
    whose group was withheld. Pass ``handle_unknown="error"`` to
    :class:`~fairuse_estimators.FairUseClassifier` to raise instead.
    """


class ManyGroupsWarning(UserWarning):
    """The group columns define more intersectional groups than is sensible.

    The candidate pool holds ``1 + 3m`` predictors for ``m`` groups and each
    is scored on every evaluated row, so fitting time grows with the square
    of ``m``, while a small group's risk estimates rest on a few rows. A
    group column with almost as many distinct values as rows is usually a
    continuous measurement that should be binned (for example with
    :func:`pandas.cut`) or kept out of ``group_columns``.
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
