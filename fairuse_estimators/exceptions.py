"""Warning categories raised by fairuse_estimators.

They subclass :class:`UserWarning` so that users can filter them with the
standard :mod:`warnings` machinery.
"""

__all__ = ["UnseenGroupWarning"]


class UnseenGroupWarning(UserWarning):
    """A group value at prediction time was never seen during ``fit``.

    The rows carrying it are scored by the generic model, exactly like rows
    whose group was withheld. Pass ``handle_unknown="error"`` to
    :class:`~fairuse_estimators.FairUseClassifier` to raise instead.
    """
