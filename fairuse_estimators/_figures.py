"""Drawing the gains and the envy heatmap with matplotlib, from arrays.

A view: it reads a report's public frames (:func:`report_arrays`) and draws
on the Axes it is given. Nothing here knows the estimator or the statistics;
:class:`~fairuse_estimators.FairUseDisplay` and the HTML page both use it.
"""

import textwrap

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
#: Sizes in points. Text is set at most at matplotlib's "small" size and
#: shrunk, down to _MIN_FONT, to fit the room a cell or a tick has.
_SMALL, _MIN_FONT, _TITLE_SIZE = 8.33, 4.5, 10.0
#: Share of a cell or a tick's room text may fill.
_FILL = 0.85
_MAX_INCHES = 14.0
#: Characters a line of a group label holds before it wraps.
_LABEL_CHARS = 18
#: Length of the heatmap's title, about, with a model name.
_ENVY_TITLE_CHARS = 100


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
    n_models, n_groups = gains.shape
    slot = _gains_slot(ax, groups, models)
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
            capsize=min(3.0, slot / n_models / 4),
            linewidth=1,
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlim(-0.5, n_groups - 0.5)
    _set_group_ticks(ax.xaxis, groups, slot)
    ax.set_ylabel(_wrapped(f"gain in {metric} over generic (higher is better)", 30))
    title = f"Gain of each group, with the bounds of its tests at alpha={alpha:g}"
    _set_title(ax, title, _room(ax)[0] - _legend_width(models))
    _gains_legend(ax, models, verdicts)
    return bars, errorbars


def _gains_legend(ax, models, verdicts):
    """The verdicts' colors and the models' hatches; beside the Axes, so
    that they hide no bar, when a layout engine makes them room."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=VERDICT_COLORS[v], edgecolor="black", label=v)
        for v in _VERDICTS
        if (verdicts == v).any()
    ]
    if len(models) > 1:
        handles += [
            Patch(
                facecolor="white",
                edgecolor="black",
                hatch=_HATCHES[k % len(_HATCHES)],
                label=_plain(model),
            )
            for k, model in enumerate(models)
        ]
    if _room(ax)[2]:
        # Beside the Axes, where the layout engine makes it room.
        place = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0}
    else:
        place = {"loc": "best"}
    ax.legend(handles=handles, fontsize="small", **place)


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
    # Cells fill the Axes, so the colour bar a layout engine sets beside the
    # Axes sits beside the cells.
    heatmap = ax.imshow(gaps, cmap=cmap, vmin=-scale, vmax=scale, aspect="auto")
    cell = _envy_cell(ax, groups)
    _annotate_cells(ax, heatmap, envy_gaps, envy_verdicts == "violation", cell)
    _set_group_ticks(ax.xaxis, groups, cell[0])
    _set_group_ticks(ax.yaxis, groups, cell[1])
    ax.set_xlabel("reported group")
    ax.set_ylabel("group")
    title = (
        f"Envy under {_plain(repr(envy_model))}: risk change from reporting "
        "another group (* significant violation)"
    )
    # No wider than the cells, so it never reaches over the colour bar.
    _set_title(ax, title, len(groups) * cell[0])
    colorbar = ax.figure.colorbar(heatmap, ax=ax, label=f"change in {metric}")
    colorbar.ax.tick_params(labelsize=_SMALL)
    return heatmap


def _annotate_cells(ax, heatmap, gaps, violations, cell):
    """Write each gap in its cell, ``cell`` (width, height) points large:
    in black or white as the cell is light or dark, as large as the cell
    allows; where no number fits, only the violations' ``*``."""
    g_index, h_index = np.nonzero(np.isfinite(gaps))
    if not g_index.size:
        return
    values = gaps[g_index, h_index]
    marks = np.where(violations[g_index, h_index], "*", "")
    texts = np.char.add([f"{v:+.3f}" for v in values], marks)
    room = _FILL * np.asarray(cell)
    size = _fitting_size(texts, *room)
    if size < _MIN_FONT:
        texts = marks
        size = _fitting_size(["*"], *room)
    if size < _MIN_FONT:
        return
    colors = heatmap.cmap(heatmap.norm(values))
    for g, h, text, color in zip(g_index, h_index, texts, colors):
        if text:
            ax.text(h, g, text, ha="center", va="center", fontsize=size,
                    color=_contrasting_color(color))  # fmt: skip


def _contrasting_color(color):
    """``"white"`` on a dark color, ``"black"`` on a light one.

    The one of higher WCAG contrast ratio: white when the relative luminance
    is below 0.179, where both ratios are equal.
    """
    from matplotlib.colors import to_rgb

    rgb = np.asarray(to_rgb(color))
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = linear @ [0.2126, 0.7152, 0.0722]
    return "white" if luminance < np.sqrt(1.05 * 0.05) - 0.05 else "black"


def svg_figures(arrays):
    """The gains plot and the envy heatmap as inline SVG strings."""
    import io

    from matplotlib.figure import Figure

    svgs = []
    for kind in ("gains", "envy"):
        size = figure_layout(kind, arrays["groups"], arrays["models"])["figsize"]
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


def _wrapped(text, chars):
    """``text`` broken at spaces into lines of about ``chars`` characters."""
    return textwrap.fill(
        text, max(chars, 12), break_long_words=False, break_on_hyphens=False
    )


def _chars(width, size):
    """Characters of ``size`` points that fit in ``width`` points."""
    return int(width / (0.56 * size))


def _title_fit(width):
    """Font size of a title ``width`` points wide, smaller if narrow, and
    the characters a line of it holds."""
    size = float(np.clip(width / (0.56 * 24), 6.0, _TITLE_SIZE))
    return size, _chars(width, size)


def _set_title(ax, title, width):
    """``title`` wrapped to ``width`` points."""
    size, chars = _title_fit(width)
    ax.set_title(_wrapped(title, chars), fontsize=size)


def _group_labels(groups):
    return [_wrapped(_plain(g), _LABEL_CHARS) for g in groups]


def _extents(texts):
    """Width and height, in points per point of font size, of each text."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(size=1.0)
    widths, heights = [], []
    for text in texts:
        lines = text.replace(r"\$", "$").split("\n")
        measured = [
            text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0]
            for line in lines
        ]
        widths.append(max(measured))
        heights.append(1.25 * len(lines))
    return np.array(widths), np.array(heights)


def _fitting_size(texts, width, height):
    """The largest font size, at most "small", at which every text fits in
    ``width`` by ``height`` points."""
    widths, heights = _extents(texts)
    return min(_SMALL, width / widths.max(), height / heights.max())


def _tick_fit(widths, heights, spacing, across):
    """Font size of labels ``spacing`` points apart, and whether labels
    side by side (``across``) must turn upright to fit."""
    turn = across and widths.max() * _SMALL > _FILL * spacing
    if across and not turn:
        return _SMALL, False
    return max(min(_SMALL, _FILL * spacing / heights.max()), _MIN_FONT), turn


def _set_group_ticks(axis, groups, spacing):
    """Group labels on ``axis``, wrapped, turned and shrunk to fit apart;
    where even the smallest font is too large, every second (third...) one."""
    labels = _group_labels(groups)
    widths, heights = _extents(labels)
    across = axis.axis_name == "x"
    size, turn = _tick_fit(widths, heights, spacing, across)
    along = heights.max() if turn or not across else widths.max()
    step = max(int(np.ceil(along * size / (_FILL * spacing))), 1)
    ticks = np.arange(0, len(groups), step)
    axis.set_ticks(ticks, [labels[k] for k in ticks], fontsize=size,
                   rotation=90 if turn else 0)  # fmt: skip


def _room(ax):
    """Width and height in points the Axes and, under a layout engine, its
    labels share; and whether a layout engine fits the labels in.

    A layout engine moves the Axes at draw time; until then its room is its
    cell's share of the figure.
    """
    figure = ax.figure
    width, height = np.array(figure.bbox.size) / figure.dpi * 72
    spec = ax.get_subplotspec()
    if figure.get_layout_engine() is None or spec is None:
        box = ax.get_position()
        return box.width * width, box.height * height, False
    grid = spec.get_gridspec()
    nrows, ncols = grid.get_geometry()

    def share(ratios, span, n):
        ratios = np.ones(n) if ratios is None else np.asarray(ratios, dtype=float)
        return ratios[span.start : span.stop].sum() / ratios.sum()

    return (
        share(grid.get_width_ratios(), spec.colspan, ncols) * width,
        share(grid.get_height_ratios(), spec.rowspan, nrows) * height,
        True,
    )


def _envy_margins(widths, heights, cell, m):
    """Points the heatmap's labels, colour bar and title take across and up,
    with cells ``cell`` (width, height) points large."""
    size, turn = _tick_fit(widths, heights, cell[0], True)
    y_size, _ = _tick_fit(widths, heights, cell[1], False)
    x_labels = (widths.max() if turn else heights.max()) * size
    title_size, chars = _title_fit(m * cell[0])
    title = 1.25 * title_size * np.ceil(_ENVY_TITLE_CHARS / chars)
    colorbar = m * cell[1] / 20 + 75
    return widths.max() * y_size + 30 + colorbar, x_labels + title + 45


def _envy_cell(ax, groups):
    """Width and height in points of a heatmap cell, once its labels,
    colour bar and title have their room."""
    widths, heights = _extents(_group_labels(groups))
    room_w, room_h, inside = _room(ax)
    m = len(groups)
    if not inside:
        # The colour bar takes a fifth of the Axes' width.
        return 0.8 * room_w / m, room_h / m
    cell = (room_w / m, room_h / m)
    for _ in range(4):
        across, up = _envy_margins(widths, heights, cell, m)
        cell = (max((room_w - across) / m, 1.0), max((room_h - up) / m, 1.0))
    return cell


def _legend_width(models):
    names = [*_VERDICTS, *models] if len(models) > 1 else list(_VERDICTS)
    return _extents(names)[0].max() * _SMALL + 45


def _gains_across(models):
    """Points the gains plot's y labels and legend take across."""
    return 75 + _legend_width(models)


def _gains_up(widths, heights, slot):
    """Points the gains plot's group labels and title take up."""
    size, turn = _tick_fit(widths, heights, slot, True)
    x_labels = (widths.max() if turn else heights.max()) * size
    return x_labels + 2.5 * _TITLE_SIZE + 40


def _gains_slot(ax, groups, models):
    """Width in points of a group's slot in the gains plot."""
    room_w, _, inside = _room(ax)
    across = _gains_across(models) if inside else 0.0
    return max((room_w - across) / len(groups), 1.0)


def figure_layout(kind, groups, models):
    """Grid and size of a new figure for ``kind``, growing with the groups
    up to 14 inches either way.

    Returns
    -------
    layout : dict
        Keyword arguments of :func:`matplotlib.pyplot.subplots`.
    """
    m = len(groups)
    widths, heights = _extents(_group_labels(groups))
    cell = np.clip(0.55 * 72 * m, 2.5 * 72, 9 * 72) / m
    across, up = _envy_margins(widths, heights, (cell, cell), m)
    envy = np.array([m * cell + across, m * cell + up]) / 72
    slot = max(36.0, 16.0 * len(models) + 14)
    gains = (
        np.array(
            [
                m * slot + _gains_across(models),
                3.2 * 72 + _gains_up(widths, heights, slot),
            ]
        )
        / 72
    )
    sizes = {"gains": gains, "envy": envy}
    if kind in sizes:
        return {"figsize": tuple(np.clip(sizes[kind], 4.0, _MAX_INCHES))}
    gains, envy = np.clip(gains, 4.0, _MAX_INCHES), np.clip(envy, 4.0, _MAX_INCHES)
    if gains[0] + envy[0] <= _MAX_INCHES:
        size = (gains[0] + envy[0], max(gains[1], envy[1]))
        return {"ncols": 2, "figsize": size, "width_ratios": (gains[0], envy[0])}
    size = (max(gains[0], envy[0]), min(gains[1] + envy[1], _MAX_INCHES))
    return {"nrows": 2, "figsize": size, "height_ratios": (gains[1], envy[1])}
