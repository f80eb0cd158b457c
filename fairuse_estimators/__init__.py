"""Use group attributes in a model only where they help every group."""

from ._audit import audit_fair_use
from ._classifier import FairUseClassifier
from ._planner import minimum_detectable_gain, planned_power, required_group_size
from ._regressor import FairUseRegressor
from ._report import FairUseReport
from ._scoring import make_fair_use_scorer, refit_without_violations
from ._version import __version__
from .exceptions import FairUseVersionWarning, ManyGroupsWarning, UnseenGroupWarning
from .plotting import FairUseDisplay

__all__ = [
    "FairUseClassifier",
    "FairUseDisplay",
    "FairUseRegressor",
    "FairUseReport",
    "FairUseVersionWarning",
    "ManyGroupsWarning",
    "UnseenGroupWarning",
    "__version__",
    "audit_fair_use",
    "make_fair_use_scorer",
    "minimum_detectable_gain",
    "planned_power",
    "refit_without_violations",
    "required_group_size",
]
