"""Frame helpers of the report: envy columns, reporting advice, JSON records.

Pure functions of plain arrays and frames; :class:`~._report.FairUseReport`
builds its frames and its JSON with them.
"""

import math

import numpy as np
import pandas as pd

from ._stats import FIELD


def envy_columns(arrays, labels):
    """The per-group envy columns of :meth:`FairUseReport.to_frame`."""
    m = len(labels)
    envy, pair_verdicts = arrays["envy"], arrays["envy_verdicts"]
    reduction = -arrays["gaps"]
    columns = {
        "worst_envy": np.full(m, np.nan),
        "envied_group": [""] * m,
        "p_envy_gain": np.full(m, np.nan),
        "p_envy_violation": np.full(m, np.nan),
        "envy_freeness": ["untested"] * m,
    }
    for g in range(m):
        others = np.arange(m) != g
        if np.isfinite(reduction[g]).any():
            envied = int(np.nanargmax(reduction[g]))
            # + 0.0: an equal pair is no envy, shown as 0, never -0.
            columns["worst_envy"][g] = reduction[g, envied] + 0.0
            if reduction[g, envied] > 0:
                columns["envied_group"][g] = labels[envied]
        verdict = pair_verdicts[g, others]
        if (verdict == "untested").all():
            continue
        gains = envy[g, others, FIELD["p_gain_adjusted"]]
        columns["p_envy_gain"][g] = gains.max()  # nan if any pair is untested
        columns["p_envy_violation"][g] = np.nanmin(
            envy[g, others, FIELD["p_violation_adjusted"]]
        )
        if (verdict == "gain").all():
            columns["envy_freeness"][g] = "gain"
        elif (verdict == "violation").any():
            columns["envy_freeness"][g] = "violation"
        elif (verdict[verdict != "untested"] == "untestable").all():
            columns["envy_freeness"][g] = "untestable"
        else:
            columns["envy_freeness"][g] = "inconclusive"
    return columns


def records(frame):
    """JSON records of a frame, its index as leading fields."""
    if frame.index.names == [None]:
        return frame.reset_index().to_dict(orient="records")
    # A group column may share a report column's name ("n", "gain").
    index = frame.index.to_frame(index=False)
    index.columns = [
        f"{name} (group)" if name in frame.columns else name for name in index.columns
    ]
    rows = pd.concat([index, frame.reset_index(drop=True)], axis=1)
    return rows.to_dict(orient="records")


def jsonable(value):
    """Builtin, JSON-compatible copy of ``value``; NaN and inf become None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if pd.isna(value):
        return None
    return str(value)


def minimal_reporting_frame(report, index):
    """:meth:`FairUseReport.minimal_reporting` of ``report``, on ``index``."""
    columns = report.group_columns
    if report.routes is None:
        return pd.DataFrame(columns=["must_report", "adds_nothing", "route"])
    must = report.must_report
    if must is None:  # full reporting: all the columns or none
        must = [[] if route == 0 else list(columns) for route in report.routes]
    routes = [report.candidate_label(c, g) for g, c in enumerate(report.routes)]
    return pd.DataFrame(
        {
            "must_report": [", ".join(m) for m in must],
            "adds_nothing": [", ".join(c for c in columns if c not in m) for m in must],
            "route": routes,
        },
        index=index,
    )


_GATE_COLUMNS = ("candidate", "gain", "p_value", "p_adjusted", "before_repair")


def routing_frame(report, index):
    """:meth:`FairUseReport.routing_frame` of ``report``, on ``index``."""
    gate = report.gate
    if gate is None or report.routes is None:
        columns = ["route", "decision", *_GATE_COLUMNS, "why"]
        return pd.DataFrame(columns=columns)
    routes = report.routes
    label = report.candidate_label
    frame = pd.DataFrame(
        {
            "route": [label(c, g) for g, c in enumerate(routes)],
            "decision": gate["decision"],
            "candidate": [label(c, g) for g, c in enumerate(gate["candidate"])],
            "gain": np.asarray(gate["gain"], dtype=float),
            "p_value": np.asarray(gate["p_value"], dtype=float),
            "p_adjusted": np.asarray(gate["p_adjusted"], dtype=float),
            "before_repair": [label(c, g) for g, c in enumerate(gate["before_repair"])],
        },
        index=index,
    )
    baselines = [label(c, g) for g, c in enumerate(gate["baseline"])]
    frame["why"] = [
        _why(row, base, gate["settings"], report.metric)
        for row, base in zip(frame.itertuples(index=False), baselines)
    ]
    return frame


def _why(row, baseline, settings, metric):
    """One sentence: why a group got its route."""
    base = "the generic model" if baseline == "generic" else baseline
    gain = f"{row.gain:+.3f} in {metric}"
    p = f"adjusted p = {row.p_adjusted:.2g}"
    alpha, min_gain = settings.get("alpha"), settings.get("min_gain")
    if row.decision == "routed":
        return (
            f"routed to {row.route}: its gain over {base} ({gain}) was "
            f"significant ({settings.get('test')}, {p} <= alpha={alpha:.3g}) "
            f"and at least min_gain={min_gain:g}"
        )
    if row.decision == "envy_repair":
        return (
            f"moved from {row.before_repair} to {row.route} by envy repair: "
            f"{row.route}'s predictions were significantly better for it"
        )
    if row.decision == "lowest_risk":
        return (
            f"routed to {row.route}: the lowest estimated risk "
            "(routing='best' runs no test)"
        )
    if row.decision == "below_min_gain":
        return (
            f"kept on {base}: {row.candidate} gained {gain}, significant "
            f"({p}) but below min_gain={min_gain:g}"
        )
    if row.decision == "not_significant" and np.isnan(row.p_adjusted):
        return (
            f"kept on {base}: {row.candidate}'s gain ({gain}) could not be "
            "tested on the group's rows"
        )
    if row.decision == "not_significant":
        return (
            f"kept on {base}: its candidate closest to passing, "
            f"{row.candidate}, gained {gain}, not significantly "
            f"({p} > alpha={alpha:.3g})"
        )
    return f"kept on {base}: no personalized candidate has a defined risk"
