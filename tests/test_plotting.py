"""FairUseDisplay: gains by verdict and the envy heatmap."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import random_grouped_data, threshold_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeClassifier

from fairuse_estimators import FairUseClassifier, FairUseDisplay, audit_fair_use
from fairuse_estimators.plotting import VERDICT_COLORS

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex, to_rgb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def close_figures():
    """Close the figures each test opens."""
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def planted_report(planted):
    """The audit of the planted personalized tree, with one gain and one harm."""
    personalized, generic, X, y = planted
    return audit_fair_use(personalized, X, y, group_columns="group", generic=generic)


@pytest.fixture(scope="module")
def fitted_classifier():
    """A routed classifier on thresholds that differ by group, and test rows."""
    thresholds = {"gain": 0.8, "harm": 0.0, "null": 0.0}
    X, y = threshold_data(thresholds, 0)
    clf = FairUseClassifier(
        DecisionTreeClassifier(max_depth=1, random_state=0),
        group_columns="group",
        random_state=0,
    ).fit(X, y)
    return clf, *threshold_data(thresholds, 1)


def test_fairuse_display_bars_are_gains_colored_by_verdict(planted_report):
    """Check that each group's bar is its gain, in its rationality verdict's color."""
    display = FairUseDisplay.from_report(planted_report, kind="gains")
    frame = planted_report.to_frame()
    bars = display.bars_["personalized"]
    assert len(bars) == 3
    assert_allclose([bar.get_height() for bar in bars], frame["gain"])
    colors = [to_hex(bar.get_facecolor()) for bar in bars]
    assert colors == [VERDICT_COLORS[v] for v in frame["rationality"]]
    assert set(frame["rationality"]) >= {"gain", "violation"}
    assert display.heatmap_ is None and display.envy_ax_ is None


def test_fairuse_display_errorbars_span_the_intervals(planted_report):
    """Check that every error bar runs from the interval's low to its high end."""
    display = FairUseDisplay.from_report(planted_report, kind="gains")
    frame = planted_report.to_frame()
    _, _, (segments,) = display.errorbars_["personalized"].lines
    paths = segments.get_segments()
    assert len(paths) == 3
    assert_allclose([path[:, 1].min() for path in paths], frame["gain_low"])
    assert_allclose([path[:, 1].max() for path in paths], frame["gain_high"])


def test_fairuse_display_envy_heatmap_holds_the_envy_gaps(planted_report):
    """Check that the heatmap's cells are the envy gaps of each ordered pair."""
    display = FairUseDisplay.from_report(planted_report, kind="envy")
    image = display.heatmap_.get_array()
    pairs = planted_report.envy_frame()
    labels = ["gain", "harm", "null"]
    for row in pairs.itertuples():
        g, h = labels.index(row.group), labels.index(row.reported_group)
        assert image[g, h] == pytest.approx(row.gap)
    assert_array_equal(np.ma.getmaskarray(image), np.eye(3, dtype=bool))
    texts = [t.get_text() for t in display.envy_ax_.texts]
    assert "-0.113*" in texts  # the significant envy of 'harm' for 'null'
    assert display.ax_ is None


def test_fairuse_display_puts_several_models_side_by_side(fitted_classifier):
    """Check that from_estimator audits a classifier and plots every model."""
    clf, X, y = fitted_classifier
    display = FairUseDisplay.from_estimator(clf, X, y)
    report = clf.audit(X, y)
    assert display.models == report.models == list(display.bars_)
    centers = np.array(
        [
            [bar.get_x() + bar.get_width() / 2 for bar in display.bars_[m]]
            for m in display.models
        ]
    )
    assert centers.shape == (4, 3)
    assert (np.diff(centers, axis=0) > 0).all()  # side by side within a group
    for model in display.models:
        colors = [to_hex(bar.get_facecolor()) for bar in display.bars_[model]]
        verdicts = report.to_frame(model)["rationality"]
        assert colors == [VERDICT_COLORS[v] for v in verdicts]
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert set(report.models) <= set(legend)
    assert display.heatmap_ is not None and display.figure_ is display.ax_.figure


def test_fairuse_display_from_estimator_audits_any_model(planted, planted_report):
    """Check that a plain fitted model is audited with audit_fair_use."""
    personalized, generic, X, y = planted
    display = FairUseDisplay.from_estimator(
        personalized, X, y, group_columns="group", generic=generic
    )
    assert display.models == ["personalized"]
    assert_allclose(display.gains[0], planted_report.to_frame()["gain"])


def test_fairuse_display_plot_uses_given_axes_and_returns_itself(planted_report):
    """Check that plot draws on the given axes and returns the display."""
    display = FairUseDisplay._from_report(planted_report)
    figure, (left, right) = plt.subplots(1, 2)
    assert display.plot(ax=(left, right)) is display
    assert display.ax_ is left and display.envy_ax_ is right
    assert display.figure_ is figure
    assert len(left.patches) == 3 and len(right.images) == 1


def test_fairuse_display_plot_rejects_unknown_kind(planted_report):
    """Check that an unknown kind raises a ValueError naming the options."""
    display = FairUseDisplay._from_report(planted_report)
    with pytest.raises(ValueError, match="kind must be one of"):
        display.plot(kind="violin")


def test_fairuse_display_without_matplotlib_says_how_to_install():
    """Check that plotting without matplotlib says to install the plot extra."""
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from fairuse_estimators import FairUseDisplay\n"
        "FairUseDisplay(groups=[], models=[], gains=None, gain_low=None,"
        " gain_high=None, verdicts=None, envy_gaps=None, envy_verdicts=None,"
        " envy_model='m').plot()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "ImportError: Plotting fair-use reports needs matplotlib" in result.stderr
    assert "pip install matplotlib (from a source checkout" in result.stderr


#: Group columns of the readability reports, with their numbers of levels:
#: 2, 8 and 16 intersectional groups with long "column=value" labels.
READABILITY_LEVELS = {
    2: {"sex": 2},
    8: {"sex": 2, "age_group": 4},
    16: {"sex": 2, "age_group": 4, "region": 2},
}
MAX_INCHES = 14


def _readability_rows(n_groups, seed):
    levels = READABILITY_LEVELS[n_groups]
    X, y = random_grouped_data(seed, n=1500, levels=tuple(levels.values()))
    names = {f"g{j}": name for j, name in enumerate(levels)}
    for old, name in names.items():
        X[old] = f"{name}=" + X[old].str.replace("level", "value")
    return X.rename(columns=names), y, list(levels)


@pytest.fixture(scope="module", params=sorted(READABILITY_LEVELS))
def grouped_report(request):
    """The audit of a FairUseClassifier with 2, 8 or 16 intersectional groups."""
    X, y, columns = _readability_rows(request.param, 0)
    clf = FairUseClassifier(
        LogisticRegression(), group_columns=columns, random_state=0
    ).fit(X.iloc[:1000], y[:1000])
    report = clf.audit(X.iloc[1000:], y[1000:])
    assert len(report.groups) == request.param
    return report


@pytest.fixture(scope="module")
def group_blind_report():
    """The audit of a model that ignores its group columns: every envy gap is 0."""
    X, y, columns = _readability_rows(8, 1)
    blind = make_pipeline(
        make_column_transformer(("drop", columns), remainder="passthrough"),
        LogisticRegression(),
    ).fit(X, y)
    return audit_fair_use(blind, X, y, group_columns=columns, random_state=0)


def _drawn(report, kind, ax=None):
    display = FairUseDisplay.from_report(report, kind=kind, ax=ax)
    display.figure_.canvas.draw()
    return display, display.figure_.canvas.get_renderer()


def _overlap(a, b):
    """Whether two display boxes share more than a pixel's width."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width > 1 and height > 1


def _assert_apart(texts, renderer, what):
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_text()]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not _overlap(boxes[i], boxes[j]), (what, i, j)


def _assert_inside_figure(text, renderer):
    box, frame = text.get_window_extent(renderer), text.figure.bbox
    assert box.x0 >= frame.x0 - 1 and box.x1 <= frame.x1 + 1, text.get_text()
    assert box.y0 >= frame.y0 - 1 and box.y1 <= frame.y1 + 1, text.get_text()


def _luminance(color):
    """WCAG relative luminance of a matplotlib color."""
    rgb = np.asarray(to_rgb(color))
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def _contrast(a, b):
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("kind", ["gains", "envy", "both"])
def test_fairuse_display_figure_grows_with_groups_within_bounds(grouped_report, kind):
    """Check that a new figure is at most 14 inches either way and at least
    9 inches wide for 16 groups."""
    display, _ = _drawn(grouped_report, kind)
    width, height = display.figure_.get_size_inches()
    assert 4 <= width <= MAX_INCHES and 3 <= height <= MAX_INCHES
    if len(grouped_report.groups) == 16:
        assert width >= 9


@pytest.mark.parametrize("kind", ["gains", "envy", "both"])
def test_fairuse_display_tick_labels_do_not_overlap(grouped_report, kind):
    """Check that no two group labels overlap and none leaves the figure."""
    display, renderer = _drawn(grouped_report, kind)
    axes_labels = []
    if display.ax_ is not None:
        axes_labels.append(display.ax_.get_xticklabels())
    if display.envy_ax_ is not None:
        axes_labels.append(display.envy_ax_.get_xticklabels())
        axes_labels.append(display.envy_ax_.get_yticklabels())
    for labels in axes_labels:
        assert len(labels) == len(grouped_report.groups)
        _assert_apart(labels, renderer, kind)
        for label in labels:
            _assert_inside_figure(label, renderer)


def _assert_colorbar_clear_of_title(display, renderer):
    title = display.envy_ax_.title
    _assert_inside_figure(title, renderer)
    colorbar = display.heatmap_.colorbar.ax.get_tightbbox(renderer)
    assert not _overlap(colorbar, title.get_window_extent(renderer))
    frame = display.figure_.bbox
    assert frame.x0 - 1 <= colorbar.x0 and colorbar.x1 <= frame.x1 + 1


def test_fairuse_display_envy_colorbar_stays_clear_of_the_title(grouped_report):
    """Check that the title fits in the figure and clears the colour bar,
    its ticks and its label."""
    display, renderer = _drawn(grouped_report, "envy")
    assert display.heatmap_.colorbar.ax.yaxis.label.get_text() == "change in error"
    _assert_colorbar_clear_of_title(display, renderer)


def test_fairuse_display_envy_scale_has_a_floor(group_blind_report):
    """Check that all-zero envy gaps get a readable, symmetric colour scale."""
    display, renderer = _drawn(group_blind_report, "envy")
    gaps = display.envy_gaps[~np.eye(len(display.groups), dtype=bool)]
    assert_allclose(gaps, 0.0, atol=1e-12)
    low, high = display.heatmap_.get_clim()
    assert low == -high and high > 1e-6
    colorbar = display.heatmap_.colorbar
    assert colorbar.ax.yaxis.get_offset_text().get_text() == ""
    _assert_colorbar_clear_of_title(display, renderer)


def _annotations(display):
    """The heatmap's annotations with the (row, column) of their cells."""
    return [
        (text, int(round(text.get_position()[1])), int(round(text.get_position()[0])))
        for text in display.envy_ax_.texts
    ]


def test_fairuse_display_envy_annotations_contrast_with_their_cells(grouped_report):
    """Check that each gap is written in the colour, black or white, that
    contrasts most with its cell, at a WCAG ratio of at least 4.5."""
    display, _ = _drawn(grouped_report, "envy")
    heatmap = display.heatmap_
    annotations = _annotations(display)
    assert annotations
    for text, g, h in annotations:
        cell = heatmap.cmap(heatmap.norm(display.envy_gaps[g, h]))
        other = "black" if _luminance(text.get_color()) > 0.5 else "white"
        assert _contrast(text.get_color(), cell) >= _contrast(other, cell)
        assert _contrast(text.get_color(), cell) >= 4.5


def _assert_annotations_fit(display, renderer):
    ax = display.envy_ax_
    for text, g, h in _annotations(display):
        corners = ax.transData.transform([[h - 0.5, g + 0.5], [h + 0.5, g - 0.5]])
        box = text.get_window_extent(renderer)
        assert corners[0, 0] - 1 <= box.x0 and box.x1 <= corners[1, 0] + 1, (g, h)
        assert corners[0, 1] - 1 <= box.y0 and box.y1 <= corners[1, 1] + 1, (g, h)


@pytest.mark.parametrize("kind", ["envy", "both"])
def test_fairuse_display_envy_annotations_fit_their_cells(grouped_report, kind):
    """Check that every gap is written, inside its cell."""
    display, renderer = _drawn(grouped_report, kind)
    m = len(display.groups)
    assert len(display.envy_ax_.texts) == m * (m - 1)
    _assert_annotations_fit(display, renderer)


def test_fairuse_display_envy_drops_numbers_that_cannot_fit(grouped_report):
    """Check that on a small given Axes the gaps shrink or give way to the
    violation marks alone, and that whatever is written fits its cell."""
    figure, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    display, renderer = _drawn(grouped_report, "envy", ax=ax)
    _assert_annotations_fit(display, renderer)
    if len(display.groups) == 16:
        texts = {text.get_text() for text in display.envy_ax_.texts}
        assert texts <= {"*"}


def test_fairuse_display_gains_legend_hides_no_bar(grouped_report):
    """Check that the legend covers no bar and no interval."""
    display, renderer = _drawn(grouped_report, "gains")
    legend = display.ax_.get_legend().get_window_extent(renderer)
    for model in display.models:
        for bar in display.bars_[model]:
            assert not _overlap(bar.get_window_extent(renderer), legend), model
        for line in display.errorbars_[model].lines[2]:
            assert not _overlap(line.get_window_extent(renderer), legend), model


def test_fairuse_display_plots_a_single_group():
    """Check that one group, with no pair to annotate, still plots."""
    display = FairUseDisplay(
        groups=["sex=female"],
        models=["personalized"],
        gains=np.array([[0.1]]),
        gain_low=np.array([[0.0]]),
        gain_high=np.array([[0.2]]),
        verdicts=np.array([["gain"]]),
        envy_gaps=np.array([[np.nan]]),
        envy_verdicts=np.array([["untested"]]),
        envy_model="personalized",
    ).plot()
    display.figure_.canvas.draw()
    assert len(display.envy_ax_.texts) == 0 and len(display.bars_["personalized"]) == 1
    assert display.heatmap_.get_clim() == (-0.01, 0.01)
