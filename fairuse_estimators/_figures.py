"""Drawing the gains and the envy heatmap with matplotlib, from arrays.

A view: it reads a report's public frames (:func:`report_arrays`) and draws
on the Axes it is given. Nothing here knows the estimator or the statistics;
:class:`~fairuse_estimators.FairUseDisplay` and the HTML page both use it.
"""

import numpy as np

#: Bar color of each verdict: green for a significant gain, red for a
#: significant violation, grey otherwise.
VERDICT_COLORS = {
    "gain": "#1a9641",
    "violation": "#d7191c",
    "inconclusive": "#9e9e9e",
    "untestable": "#f2f2f2",
    "untested": "#e0e0e0",
}
_VERDICTS = ("untested", "untestable", "inconclusive", "gain", "violation")
_HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
#: Colour range of the heatmap when every gap is about zero.
_MIN_SCALE = 0.01
#: Colour of the diagonal, no pair, told apart from cells of gap 0.
_DIAGONAL = "0.85"


def check_matplotlib():
    """Import matplotlib, or raise an ImportError saying how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "Plotting fair-use reports needs matplotlib, which is not installed. "
            "Install it with: pip install matplotlib (from a source checkout: "
            'pip install ".[plot]")'
        ) from exc


def _plain(text):
    """``text`` drawn as written: a ``$`` never starts matplotlib's math mode."""
    return str(text).replace("$", r"\$")


def report_arrays(report, models=None, envy_model=None):
    """The arrays the plots draw, read from a report's public frames.

    Parameters
    ----------
    report : FairUseReport
    models : list of str, default=None
        Models of the gains plot; ``None`` for all of ``report.models``.
    envy_model : str, default=None
        Model of the envy heatmap; ``None`` for the first of ``models``.

    Returns
    -------
    arrays : dict
        The keyword arguments of
        :class:`~fairuse_estimators.FairUseDisplay`.
    """
    models = list(report.models if models is None else models)
    frames = [report.to_frame(model) for model in models]
    envy_model = models[0] if envy_model is None else envy_model
    m = len(report.groups)
    pairs = report.envy_frame(envy_model)
    # envy_frame lists the ordered pairs row by row, the diagonal left out.
    g_index, h_index = np.nonzero(~np.eye(m, dtype=bool))
    gaps = np.full((m, m), np.nan)
    gaps[g_index, h_index] = pairs["gap"].to_numpy(dtype=float)
    pair_verdicts = np.full((m, m), "untested", dtype=object)
    pair_verdicts[g_index, h_index] = pairs["verdict"].to_numpy()

    def stacked(column):
        return np.vstack([frame[column].to_numpy() for frame in frames])

    return {
        "groups": report.group_labels,
        "models": models,
        "gains": stacked("gain").astype(float),
        "gain_low": stacked("gain_low").astype(float),
        "gain_high": stacked("gain_high").astype(float),
        "verdicts": stacked("rationality").astype(object),
        "envy_gaps": gaps,
        "envy_verdicts": pair_verdicts,
        "envy_model": envy_model,
        "metric": report.metric,
        "alpha": report.alpha,
    }


def draw_gains(ax, groups, models, gains, gain_low, gain_high, verdicts, metric, alpha):
    """Bars of each model's gain per group, colored by verdict, with intervals.

    Returns
    -------
    bars : dict of str to BarContainer
    errorbars : dict of str to ErrorbarContainer
    """
    from matplotlib.patches import Patch

    n_models, n_groups = gains.shape
    width = 0.8 / n_models
    x = np.arange(n_groups)
    bars, errorbars = {}, {}
    for k, model in enumerate(models):
        offset = x + (k - (n_models - 1) / 2) * width
        bars[model] = ax.bar(
            offset,
            np.nan_to_num(gains[k]),
            width,
            color=[VERDICT_COLORS[v] for v in verdicts[k]],
            edgecolor="black",
            linewidth=0.6,
            hatch=_HATCHES[k % len(_HATCHES)],
            label=_plain(model),
        )
        low, high = gain_low[k], gain_high[k]
        # Centred on the interval, which need not be symmetric about the gain.
        errorbars[model] = ax.errorbar(
            offset,
            (low + high) / 2,
            yerr=(high - low) / 2,
            fmt="none",
            ecolor="black",
            capsize=3,
            linewidth=1,
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, [_plain(g) for g in groups], rotation=30, ha="right")
    ax.set_ylabel(f"gain in {metric} over generic (higher is better)")
    ax.set_title(f"Gain of each group, with the bounds of its tests at alpha={alpha:g}")
    handles = [
        Patch(facecolor=VERDICT_COLORS[v], edgecolor="black", label=v)
        for v in _VERDICTS
        if (verdicts == v).any()
    ]
    if n_models > 1:
        handles += [
            Patch(
                facecolor="white",
                edgecolor="black",
                hatch=_HATCHES[k % len(_HATCHES)],
                label=_plain(model),
            )
            for k, model in enumerate(models)
        ]
    ax.legend(handles=handles, fontsize="small", loc="best")
    return bars, errorbars


def draw_envy(ax, groups, envy_gaps, envy_verdicts, envy_model, metric):
    """Heatmap of the risk change of each group under each other group's
    predictions; significant violations marked with ``*``.

    Returns
    -------
    heatmap : AxesImage
    """
    import matplotlib

    gaps = np.ma.masked_invalid(envy_gaps)
    scale = float(np.abs(gaps).max()) if gaps.count() else 0.0
    # Equal gaps everywhere (a model blind to the groups) would otherwise
    # stretch rounding noise over the whole colour range.
    scale = max(scale, _MIN_SCALE)
    cmap = matplotlib.colormaps["RdBu"].with_extremes(bad=_DIAGONAL)
    heatmap = ax.imshow(gaps, cmap=cmap, vmin=-scale, vmax=scale)
    m = len(groups)
    for g in range(m):
        for h in range(m):
            if np.isfinite(envy_gaps[g, h]):
                mark = "*" if envy_verdicts[g, h] == "violation" else ""
                ax.text(
                    h,
                    g,
                    f"{envy_gaps[g, h]:+.3f}{mark}",
                    ha="center",
                    va="center",
                    fontsize="small",
                )
    labels = [_plain(g) for g in groups]
    ax.set_xticks(np.arange(m), labels, rotation=30, ha="right")
    ax.set_yticks(np.arange(m), labels)
    ax.set_xlabel("reported group")
    ax.set_ylabel("group")
    ax.set_title(
        f"Envy under {_plain(repr(envy_model))}: risk change from reporting "
        "another group (* significant violation)",
        fontsize="medium",
        wrap=True,
    )
    ax.figure.colorbar(heatmap, ax=ax, label=f"change in {metric}")
    return heatmap


def svg_figures(arrays, n_groups):
    """The gains plot and the envy heatmap as inline SVG strings."""
    import io

    from matplotlib.figure import Figure

    width = 0.9 * n_groups + 3
    svgs = []
    for kind, size in (("gains", (width + 1, 4.5)), ("envy", (width + 2, 4.5))):
        # A bare Figure needs no GUI backend and leaves pyplot's state alone.
        figure = Figure(figsize=size, layout="constrained")
        ax = figure.subplots()
        if kind == "gains":
            draw_gains(ax, **_gains_arguments(arrays))
        else:
            draw_envy(ax, **_envy_arguments(arrays))
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
        text = buffer.getvalue()
        svgs.append(text[text.index("<svg") :])
    return svgs


def _gains_arguments(arrays):
    keys = ("groups", "models", "gains", "gain_low", "gain_high", "verdicts")
    return {k: arrays[k] for k in (*keys, "metric", "alpha")}


def _envy_arguments(arrays):
    keys = ("groups", "envy_gaps", "envy_verdicts", "envy_model", "metric")
    return {k: arrays[k] for k in keys}
