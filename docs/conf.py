"""Sphinx configuration of the fairuse_estimators documentation.

Build with ``make docs``; warnings are errors, so a broken docstring, a bad
cross-reference or a failing gallery example fails the build.
"""

import os

import fairuse_estimators

project = "fairuse_estimators"
author = "fairuse_estimators developers"
copyright = "fairuse_estimators developers"
release = fairuse_estimators.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
# No intersphinx: it downloads inventories at build time, and an offline build
# would then fail on the warning. References to other projects render as code.

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
default_role = "literal"

# -- API reference ------------------------------------------------------------

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Checks that matter to a reader: every public object and method has a
# docstring and documents exactly its parameters and what it returns. As in
# scikit-learn, examples live on the classes and public functions, where they
# fit once; tests/test_layout.py checks that each of those has one (and the
# examples run as doctests in `make test`).
numpydoc_validation_checks = {
    "GL08",  # the object has no docstring
    "PR01",  # a parameter is not documented
    "PR02",  # a documented parameter does not exist
    "PR07",  # a parameter has no description
    "RT01",  # no Returns section
}
numpydoc_validation_exclude = set()

# -- Gallery ------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("fairuse_estimators",),
    "download_all_examples": False,
    "remove_config_comments": True,
    # A failing example fails the build.
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
}

# -- HTML ---------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"fairuse_estimators {release}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_toc_level": 2,
}
html_show_sourcelink = False
html_static_path = []

os.environ.setdefault("MPLBACKEND", "Agg")


def _skip_request_setters(app, what, name, obj, skip, options):
    # scikit-learn generates set_{method}_request on every estimator; they are
    # documented in scikit-learn's metadata routing guide, not here.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_request_setters)
