"""Use group attributes in a classifier only where they help every group."""

from ._audit import audit_fair_use
from ._classifier import FairUseClassifier
from ._report import FairUseReport
from ._version import __version__
from .exceptions import FairUseVersionWarning, ManyGroupsWarning, UnseenGroupWarning

__all__ = [
    "FairUseClassifier",
    "FairUseReport",
    "FairUseVersionWarning",
    "ManyGroupsWarning",
    "UnseenGroupWarning",
    "__version__",
    "audit_fair_use",
]
