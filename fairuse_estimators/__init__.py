"""Use group attributes in a classifier only where they help every group."""

from ._classifier import FairUseClassifier
from ._report import FairUseReport
from .exceptions import FairUseVersionWarning, ManyGroupsWarning, UnseenGroupWarning

__version__ = "0.1.0.dev0"

__all__ = [
    "FairUseClassifier",
    "FairUseReport",
    "FairUseVersionWarning",
    "ManyGroupsWarning",
    "UnseenGroupWarning",
    "__version__",
]
