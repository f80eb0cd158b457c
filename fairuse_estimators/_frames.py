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
