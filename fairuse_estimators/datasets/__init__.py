"""Real clinical datasets with group attributes, bundled with the package."""

from ._base import load_heart

__all__ = ["load_heart"]
