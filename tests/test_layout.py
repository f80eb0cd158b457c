"""The package's shape: one-way imports, small units, examples where they belong."""

import ast
import importlib
import inspect
import io
import tokenize
from pathlib import Path

import pytest

import fairuse_estimators
import fairuse_estimators.datasets

PACKAGE = Path(fairuse_estimators.__file__).parent
#: The stages in the order data flows through them. A module may import only
#: modules of earlier layers, and views import only other views.
LAYERS = [
    ["_version", "exceptions", "_files", "_threads"],
    ["_groups"],
    ["_pool", "_pooling"],
    ["_losses"],
    ["_metrics"],
    ["_variants", "_bootstrap", "_power"],
    ["_stats"],
    ["_evidence", "_planner"],
    ["_text", "_figures", "_html"],
    ["_frames"],
    ["_report"],
    ["_audit"],
    ["_routing"],
    ["_levels"],
    ["_tree"],
    ["_reporting"],
    ["_estimators", "datasets"],
    ["_meta"],
    ["_classifier", "_regressor", "plotting"],
    ["_scoring", "_model_files", "_demo", "_options"],
    ["cli", "__init__"],
]
VIEWS = {"_text", "_figures", "_html"}
MAX_MODULE, MAX_CLASS, MAX_FUNCTION = 400, 350, 60


def _modules():
    return sorted(p for p in PACKAGE.glob("*.py"))


def _layer(name):
    for rank, names in enumerate(LAYERS):
        if name in names:
            return rank
    raise AssertionError(f"{name} is in no layer of LAYERS")


def _imported(tree):
    """Package modules a module imports, and where (top level or not)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            targets = [node.module] if node.module else [a.name for a in node.names]
            for target in targets:
                found.append((target.split(".")[0], node.col_offset == 0))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_layout_imports_flow_one_way(path):
    """Check that a module imports only earlier stages, at the top level, and
    that views import no stage at all."""
    tree = ast.parse(path.read_text())
    rank = _layer(path.stem)
    for target, top_level in _imported(tree):
        assert top_level, f"{path.stem} imports {target} inside a function"
        if path.stem in VIEWS:
            assert target in VIEWS, f"the view {path.stem} imports {target}"
        elif path.stem != "__init__":
            assert _layer(target) < rank, f"{path.stem} imports later {target}"


def _code_lines(source):
    """Line numbers holding code: no blank, comment or docstring lines."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
            first = node.body[0] if node.body else None
            value = getattr(getattr(first, "value", None), "value", None)
            if isinstance(first, ast.Expr) and isinstance(value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines = set()
    skipped = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (*skipped, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstrings


@pytest.mark.parametrize(
    "path", [*_modules(), *sorted((PACKAGE / "datasets").glob("*.py"))],
    ids=lambda p: p.stem,
)  # fmt: skip
def test_layout_units_stay_small(path):
    """Check the sizes in code lines: modules, classes and functions."""
    source = path.read_text()
    lines = _code_lines(source)
    assert len(lines) <= MAX_MODULE, (path.stem, len(lines))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION
            size = sum(node.lineno <= line <= node.end_lineno for line in lines)
            assert size <= limit, (path.stem, node.name, size)


def _public_objects():
    for module in (fairuse_estimators, fairuse_estimators.datasets):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
    plotting = importlib.import_module("fairuse_estimators.plotting")
    yield "FairUseDisplay", plotting.FairUseDisplay


@pytest.mark.parametrize(("name", "obj"), list(_public_objects()), ids=lambda x: x)
def test_layout_public_classes_and_functions_show_an_example(name, obj):
    """Check that every public class and function has an Examples section that
    runs as a doctest."""
    assert "Examples\n" in (obj.__doc__ or ""), name
    assert ">>> " in obj.__doc__, name
