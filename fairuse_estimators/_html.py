"""The report as a self-contained HTML page: tables, violations, plots, settings.

A view: it reads a :class:`~fairuse_estimators.FairUseReport`'s public frames
(through the table cells of :mod:`._text`) and draws the plots with
:mod:`._figures`; every text from the data is escaped, and nothing is loaded
from the network.
"""

import html

from . import _figures, _text

CSS = (
    ".fairuse-report{font-family:sans-serif;color:#222}"
    ".fairuse-report table{border-collapse:collapse;margin:0.5em 0}"
    ".fairuse-report th,.fairuse-report td{border:1px solid #bbb;padding:2px 8px;"
    "text-align:right}"
    ".fairuse-report th:first-child,.fairuse-report td:first-child{text-align:left}"
    ".fairuse-report td.gain{background:#e5f5e0}"
    ".fairuse-report td.violation{background:#fee0d2}"
    ".fairuse-report td.untestable{color:#777;font-style:italic}"
    ".fairuse-report .fairuse-plot svg{max-width:100%;height:auto}"
)
#: Columns of the per-group table holding a verdict.
_VERDICT_COLUMNS = (7, 8)


def esc(text):
    """``text`` escaped for HTML, quotes included."""
    return html.escape(str(text), quote=True)


def table(header, rows, verdict_columns=()):
    """An HTML table of string cells; verdict cells get their verdict's class."""
    head = "".join(f"<th>{esc(cell)}</th>" for cell in header)
    lines = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for row in rows:
        cells = "".join(
            (f'<td class="{esc(cell)}">' if j in verdict_columns else "<td>")
            + f"{esc(cell)}</td>"
            for j, cell in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _items(items):
    if not items:
        return ""
    return "<ul>" + "".join(f"<li>{esc(item)}</li>" for item in items) + "</ul>"


def _settings_table(settings):
    """The settings that were set, as a table."""
    rows = [[k, str(v)] for k, v in settings.items() if v is not None]
    return table(["setting", "value"], rows)


def fragment(report, plots=True):
    """The report as an HTML fragment, as notebooks show it."""
    settings = dict(_text.settings_items(report))
    parts = [
        '<div class="fairuse-report">',
        f"<style>{CSS}</style>",
        f"<h2>Fair-use audit: {esc(_text.measure(report))}</h2>",
        f"<p>{esc(report.evidence)}; {esc(_text.test_clause(report))}; "
        f"{report.n_withheld} withheld rows.</p>",
        *(f"<p>{esc(line)}</p>" for line in _text.error_rates(report)),
    ]
    if len(report.groups):
        first = report.models[0]
        parts += [
            f"<h3>Groups under the {esc(repr(first))} model</h3>",
            table(*_text.group_table(report, first), _VERDICT_COLUMNS),
        ]
        decisions = _text.routing_lines(report)
        if decisions:
            parts += [
                "<h3>Routing decisions</h3>",
                f"<p>{esc(_text.ROUTING_TITLE)}</p>",
                _items(decisions),
            ]
        parts += [
            "<h3>Models</h3>",
            "<p>Risks over all audited rows; harmed: groups with a negative "
            "gain; g/v: groups with a significant gain / violation.</p>",
            table(*_text.model_table(report)),
            "<h3>Violations</h3>",
            _items(report.violations())
            or f"<p>No significant violation at alpha={settings['alpha']}.</p>",
        ]
        minimization = _text.minimization_line(report)
        reporting = _text.reporting_table(report)
        if minimization and reporting is None:
            parts.append(f"<p>{esc(minimization)}</p>")
        if reporting is not None:
            parts += [
                "<h3>What each group must report</h3>",
                table(*reporting),
                f"<p>{esc(_text.participation_line(report))}</p>",
            ]
        if plots:
            parts += ["<h3>Plots</h3>", _plots(report)]
        for model in report.models[1:]:
            parts += [
                f"<details><summary>Groups under the {esc(repr(model))} "
                "model</summary>",
                table(*_text.group_table(report, model), _VERDICT_COLUMNS),
                "</details>",
            ]
    else:
        parts.append("<p>No groups to audit.</p>")
    parts += [
        "<h3>Settings</h3>",
        _settings_table(settings),
        "</div>",
    ]
    return "\n".join(parts)


def _plots(report):
    """The gains and envy plots as inline SVG, or why they are missing."""
    try:
        _figures.check_matplotlib()
    except ImportError as exc:
        return f'<p class="fairuse-missing">{esc(str(exc))}</p>'
    arrays = _figures.report_arrays(report)
    svgs = _figures.svg_figures(arrays)
    return "\n".join(f'<div class="fairuse-plot">{svg}</div>' for svg in svgs)


def page(report, plots=True):
    """The report as a self-contained HTML document."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Fair-use audit: {esc(report.metric)}</title>\n</head>\n<body>\n"
        f"{fragment(report, plots=plots)}\n</body>\n</html>\n"
    )
