"""Model files for the command: skops, and loading only what ``fit`` writes."""

from pathlib import Path

from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._classifier import FairUseClassifier
from ._files import read_model_file
from ._regressor import FairUseRegressor


class CommandError(Exception):
    """A mistake in the command's input, reported in one line."""


def skops_io():
    """skops.io, or a one-line error saying how to install it."""
    try:
        import skops.io
    except ImportError as exc:
        raise CommandError(
            "Saving and loading models needs skops, which is not installed; "
            "install it with: pip install skops (from a source checkout: pip "
            'install ".[skops]")'
        ) from exc
    return skops.io


def load_model(path, *, max_unpacked=None):
    """Load a model file written by ``fairuse fit``, refusing anything else.

    Every object in the file must be of a type on the exact list
    :data:`fairuse_estimators._files.TRUSTED_TYPES`, its unpacked size must
    stay within a bound, and it must hold a fitted
    :class:`~fairuse_estimators.FairUseClassifier` or
    :class:`~fairuse_estimators.FairUseRegressor`, or a Pipeline ending in
    one.

    Parameters
    ----------
    path : str or path-like
        File written by ``fairuse fit --out``.
    max_unpacked : int, default=None
        Bound on the file's unpacked size in bytes; ``None`` means
        ``min(100 * file size, 2 GiB)``.

    Returns
    -------
    model : FairUseClassifier, FairUseRegressor or Pipeline

    Raises
    ------
    CommandError
        If the file is missing, is not such a model, or holds a type not on
        the list.
    """
    skops_io()
    path = Path(path)
    if not path.is_file():
        raise CommandError(
            f"No model file found at {str(path)!r}; pass the file written by "
            "`fairuse fit --out`."
        )
    model = read_model_file(path, max_unpacked=max_unpacked)
    final = model
    if isinstance(model, Pipeline):
        steps = getattr(model, "steps", None)
        final = steps[-1][1] if isinstance(steps, list) and steps else None
    if not isinstance(final, FairUseClassifier | FairUseRegressor):
        raise CommandError(
            f"{str(path)!r} holds a {type(model).__name__}, not a fitted "
            "FairUseClassifier or FairUseRegressor, or a Pipeline ending in one; "
            "`fairuse predict` "
            "applies the models written by `fairuse fit`."
        )
    try:
        check_is_fitted(final)
    except NotFittedError as exc:
        raise CommandError(
            f"{str(path)!r} holds a FairUseClassifier that was never fitted; "
            "write the model with `fairuse fit`."
        ) from exc
    return model
