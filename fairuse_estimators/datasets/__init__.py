"""Real clinical datasets with group attributes, bundled with the package."""

from ._base import (
    list_datasets,
    load_aids,
    load_dataset,
    load_flchain,
    load_heart,
    load_whas500,
)

__all__ = [
    "list_datasets",
    "load_aids",
    "load_dataset",
    "load_flchain",
    "load_heart",
    "load_whas500",
]
