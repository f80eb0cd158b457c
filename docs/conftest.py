"""Collect the documentation pages' code as doctests, but not the Sphinx config."""

collect_ignore = ["conf.py"]
