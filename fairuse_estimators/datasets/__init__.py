"""Real clinical datasets with group attributes, bundled with the package."""

from ._base import (
    list_datasets,
    load_aids,
    load_dataset,
    load_diabetes,
    load_flchain,
    load_heart,
    load_whas500,
    load_whas500_los,
)
from ._csv import load_csv

__all__ = [
    "list_datasets",
    "load_aids",
    "load_csv",
    "load_dataset",
    "load_diabetes",
    "load_flchain",
    "load_heart",
    "load_whas500",
    "load_whas500_los",
]
