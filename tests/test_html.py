"""The HTML view, on a report built by hand."""

import re

import pytest
from conftest import hand_built_report

from fairuse_estimators import _html


def test_html_page_escapes_and_marks_verdicts():
    """Check that data is escaped, verdict cells carry their class, and the
    page holds the tables, violations and settings."""
    report = hand_built_report(groups=[("<script>alert(1)</script>",), ("m",)])
    page = _html.page(report, plots=False)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('<td class="violation">violation</td>') == 3
    assert page.count("<li>") == len(report.violations()) == 3
    assert "<h3>Plots</h3>" not in page
    settings = re.search(r"<h3>Settings</h3>\n(.*?)</table>", page, re.S).group(1)
    assert "<td>version</td><td>0.0.test</td>" in settings
    assert "<td>withheld rows</td><td>3</td>" in settings


def test_html_fragment_draws_both_plots_inline():
    """Check that the notebook fragment carries the two plots as inline SVG."""
    pytest.importorskip("matplotlib")
    fragment = _html.fragment(hand_built_report())
    assert not fragment.startswith("<!DOCTYPE")
    assert fragment.count('<div class="fairuse-plot"><svg') == 2
    # Namespaces name URLs; nothing is loaded from one.
    assert not re.search(r"(src|href)=\"https?:", fragment)


def test_html_table_cells():
    """Check the table helper: header cells, escaping, verdict classes."""
    table = _html.table(["a", "b"], [["<x>", "gain"]], verdict_columns=(1,))
    assert "<th>a</th><th>b</th>" in table
    assert '<td>&lt;x&gt;</td><td class="gain">gain</td>' in table
