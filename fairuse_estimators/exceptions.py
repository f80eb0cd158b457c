"""Warning categories raised by fairuse_estimators.

They subclass :class:`UserWarning` so that users can filter them with the
standard :mod:`warnings` machinery.
"""

__all__ = ["ManyGroupsWarning", "UnseenGroupWarning"]


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
