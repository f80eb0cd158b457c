"""The report as text: fixed-width tables, violation sentences, settings.

A view: it reads a :class:`~fairuse_estimators.FairUseReport`'s public frames
and attributes and imports nothing upstream. The table cells built here serve
the HTML page too.
"""

import numpy as np


def number(value, signed=False):
    """A risk or gain with three decimals; ``-`` where it is undefined."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _is_score(report):
    return report.metric == "auc" or report.settings.get("higher_is_better", False)


def measure(report):
    """What the tables show: AUC itself (higher is better) for ``auc``,
    whose risk is ``1 - AUC``, and a scorer's score, whose risk is minus the
    score; the risk (lower is better) otherwise."""
    if report.metric == "auc":
        return "AUC (higher is better; gains are AUC gains)"
    if _is_score(report):
        return f"{report.metric} (higher is better; gains are score gains)"
    return f"risk {report.metric} (lower is better)"


def shown(report, risk):
    """A risk as the tables show it: as AUC for ``auc``, as the score for a
    scorer."""
    if not _is_score(report):
        return risk
    return 1.0 - risk if report.metric == "auc" else -risk


def detectable(value):
    """A minimum detectable gain: ``none`` when no possible gain is,
    ``-`` when the comparison was not tested."""
    if value is None or np.isnan(value):
        return "-"
    return "none" if np.isinf(value) else f"{value:.3f}"


def with_interval(value, low, high):
    """A signed estimate followed by its interval, when it has one."""
    text = number(value, signed=True)
    if np.isfinite(low) and np.isfinite(high):
        text += f" [{low:+.3f}, {high:+.3f}]"
    return text


def fixed_width(header, rows):
    """Lines of a table: the first column left-aligned, the others right."""
    cells = [header, *rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(header))]

    def line(row):
        parts = [row[0].ljust(widths[0])]
        parts += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        return "  ".join(parts).rstrip()

    return [line(row) for row in cells]


def settings_items(report):
    """(name, value) pairs of the settings, as shown in text and HTML."""
    settings = report.settings
    seed = settings.get("random_state")
    return [
        ("metric", report.metric),
        ("test", settings.get("test")),
        ("alpha", settings.get("alpha")),
        ("correction", settings.get("correction")),
        ("family", settings.get("family", "condition")),
        ("bootstrap replicates (B)", settings.get("n_bootstrap")),
        ("seed", "none" if seed is None else seed),
        ("evidence", report.evidence),
        ("withheld rows", report.n_withheld),
        ("version", report.version),
    ]


def group_table(report, model=None):
    """Header and string cells of the per-group table (the paper's Figure 1)."""
    frame = report.to_frame(model)
    k = 0 if model is None else report.models.index(model)
    header = [
        "group",
        "n",
        "generic",
        "personalized",
        "gain [bounds]",
        "detectable",
        "route",
        "rationality",
        "envy-freeness",
    ]
    rows = [
        [
            label,
            str(row.n),
            number(shown(report, row.risk_generic)),
            number(shown(report, row.risk_personalized)),
            with_interval(row.gain, row.gain_low, row.gain_high),
            detectable(row.detectable_gain),
            # The deployed route; the graded one may mix folds' routes.
            row.route
            if "route" in frame
            else report.candidate_label(report.assignments[k, g], g),
            row.rationality,
            row.envy_freeness,
        ]
        for g, (label, row) in enumerate(
            zip(report.group_labels, frame.itertuples(index=False))
        )
    ]
    return header, rows


def model_table(report):
    """Header and string cells of the per-model table (the paper's Table 1)."""
    table = report.summary_table()
    header = [
        "model",
        ("AUC" if report.metric == "auc" else "score") if _is_score(report) else "risk",
        "generic",
        "gain",
        "best group gain",
        "worst group gain",
        "harmed",
        "rationality g/v",
        "envy g/v",
    ]
    rows = [
        [
            model,
            number(shown(report, row.risk)),
            number(shown(report, row.risk_generic)),
            number(row.gain, signed=True),
            number(row.best_group_gain, signed=True),
            number(row.worst_group_gain, signed=True),
            str(row.harmed_groups),
            f"{row.rationality_gains}/{row.rationality_violations}",
            f"{row.envy_gains}/{row.envy_violations}",
        ]
        for model, row in zip(table.index, table.itertuples(index=False))
    ]
    return header, rows


def violations(report):
    """One sentence per significant fair-use violation, model by model."""
    lines = []
    for model in report.models:
        frame = report.to_frame(model)
        for label, row in zip(report.group_labels, frame.itertuples(index=False)):
            if row.rationality == "violation":
                lines.append(
                    f"{model}: rationality violation for group ({label}): gain "
                    f"{with_interval(row.gain, row.gain_low, row.gain_high)} over "
                    f"the generic model, adjusted p = {row.p_violation:.2g}"
                )
        pairs = report.envy_frame(model)
        for row in pairs[pairs["verdict"] == "violation"].itertuples(index=False):
            lines.append(
                f"{model}: envy-freeness violation for group ({row.group}): the "
                f"predictions for ({row.reported_group}) change its risk by "
                f"{with_interval(row.gap, row.gap_low, row.gap_high)}, adjusted "
                f"p = {row.p_violation:.2g}"
            )
    return lines


def minimization_line(report):
    """Which groups need not report their attributes (routed reports only)."""
    if report.routes is None:
        return ""
    generic = [
        label for label, route in zip(report.group_labels, report.routes) if route == 0
    ]
    if not generic:
        return (
            "No group is routed to the generic model: every group's route uses "
            "its attributes."
        )
    labels = "; ".join(f"({label})" for label in generic)
    return (
        "Groups routed to the generic model, which need not report their "
        f"attributes: {labels}"
    )


def reporting_table(report):
    """Header and rows of the columns each group must report, and which add
    nothing (partial reporting only; ``None`` otherwise)."""
    if report.must_report is None:
        return None
    frame = report.minimal_reporting()
    rows = [
        [label, must or "nothing", rest or "-", route]
        for label, (must, rest, route) in zip(
            report.group_labels, frame.itertuples(index=False)
        )
    ]
    return ["group", "must report", "adds nothing", "route"], rows


def routing_lines(report):
    """One line per group: why it got its route (routed classifiers only)."""
    frame = report.routing_frame()
    return [f"{label}: {why}" for label, why in zip(report.group_labels, frame["why"])]


ROUTING_TITLE = (
    "Why each group got its route (on the evidence that chose the routes; "
    "the table above grades them out of fold):"
)


def participation_line(report):
    """The participatory tests in one sentence (partial reporting only)."""
    frame = report.participation_frame()
    if report.must_report is None or not len(frame):
        return ""
    counts = frame["verdict"].value_counts()
    found = ", ".join(f"{counts[v]} {v}" for v in counts.index)
    worse = frame.loc[frame["verdict"] == "violation", ["group", "reports"]]
    named = "; ".join(f"({g}) against reporting {r}" for g, r in worse.to_numpy())
    return (
        "Participatory guarantee (each route against reporting a coarser "
        f"subset only, out of fold): {found}."
        + (f" Worse off: {named}." if named else "")
    )


def test_clause(report):
    """The tests in a few words: ``"mcnemar test at alpha=0.1 with holm
    correction"``, or that none ran (a report without groups)."""
    settings = dict(settings_items(report))
    if settings.get("test") is None or settings.get("alpha") is None:
        return "no test run"
    correction = settings["correction"]
    return f"{settings['test']} test at alpha={settings['alpha']} with " + (
        "no correction" if correction == "none" else f"{correction} correction"
    )


def headline(report):
    """The first line: the risk, the test and how the risks were estimated."""
    return (
        f"Fair-use audit: {measure(report)}, {test_clause(report)}; "
        f"{report.evidence}; {report.n_withheld} withheld rows"
    )


def error_rates(report):
    """What each verdict and bound promises, in one sentence each; nothing
    when no test ran."""
    settings = report.settings
    alpha, correction = settings.get("alpha"), settings.get("correction")
    if alpha is None:
        return []
    if correction == "none":
        scope = (
            f"no correction: each verdict alone is false with probability at most "
            f"{alpha}, but among many groups some false verdict is more likely"
        )
    elif settings.get("family", "condition") == "model":
        scope = (
            f"{correction} correction over all tests of each model: any false "
            f"verdict about a model has probability at most {alpha}"
        )
    else:
        scope = (
            f"{correction} correction within each condition and direction of each "
            "model (rationality gains, rationality violations, envy gains, envy "
            f"violations): each kind of false verdict has probability at most "
            f"{alpha}"
        )
    return [
        f"Verdicts: one-sided tests at alpha={alpha}, {scope}.",
        "Bounds: one-sided, each at the level of its corrected test, so a bound "
        "excludes 0 exactly when its verdict is significant.",
        "Detectable: the smallest gain the group's test finds with power 0.8 at "
        "alpha over the size of its family (none: no possible gain); a test "
        "without that power even against the largest possible gain is "
        "untestable, one with it that found nothing inconclusive.",
    ]


def summary(report, model=None):
    """The report as fixed-width text: see :meth:`FairUseReport.summary`."""
    lines = [headline(report), *error_rates(report), ""]
    if not len(report.groups):
        return "\n".join([*lines, "No groups to audit."])
    model = report.models[0] if model is None else model
    lines += [
        f"Groups under the {model!r} model:",
        *fixed_width(*group_table(report, model)),
        "",
    ]
    decisions = routing_lines(report)
    if decisions and model == report.models[0]:
        lines += [ROUTING_TITLE, *(f"  {line}" for line in decisions), ""]
    lines += [
        "Models (risks over all audited rows; harmed: groups with a negative "
        "gain; g/v: groups with a significant gain / violation):",
        *fixed_width(*model_table(report)),
        "",
    ]
    found = report.violations()
    if found:
        lines += ["Significant violations:", *(f"  {v}" for v in found)]
    else:
        lines.append(f"No significant violation at alpha={report.alpha}.")
    reporting = reporting_table(report)
    minimization = minimization_line(report)
    if minimization and reporting is None:
        lines.append(minimization)
    if reporting is not None:
        lines += ["", "What each group must report (the other columns add nothing):"]
        lines += [*fixed_width(*reporting), participation_line(report)]
    return "\n".join(lines)
