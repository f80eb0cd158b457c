"""The figure view: arrays read from a report's frames, and the drawing."""

import numpy as np
import pytest
from conftest import hand_built_report
from numpy.testing import assert_allclose, assert_array_equal

from fairuse_estimators import _figures

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def test_figures_report_arrays_from_public_frames():
    """Check the arrays the plots draw against the hand-built report."""
    arrays = _figures.report_arrays(hand_built_report())
    assert arrays["groups"] == ["<f>", "m"] and arrays["models"] == ["personalized"]
    assert_allclose(arrays["gains"], [[-0.2, 0.0]])
    assert_allclose(arrays["gain_low"], [[-0.3, np.nan]])
    assert_array_equal(arrays["verdicts"], [["violation", "untested"]])
    assert_allclose(arrays["envy_gaps"], [[np.nan, -0.2], [-0.1, np.nan]])
    assert_array_equal(
        arrays["envy_verdicts"], [["untested", "violation"], ["violation", "untested"]]
    )
    assert (arrays["metric"], arrays["alpha"]) == ("error", 0.1)


def test_figures_draw_gains_and_envy():
    """Check bar colors by verdict, the masked diagonal and the marks."""
    arrays = _figures.report_arrays(hand_built_report(groups=[("$x$",), ("m",)]))
    figure = Figure()
    gains_ax, envy_ax = figure.subplots(1, 2)
    bars, errorbars = _figures.draw_gains(gains_ax, **_figures._gains_arguments(arrays))
    colors = [to_hex(bar.get_facecolor()) for bar in bars["personalized"]]
    assert colors == [
        _figures.VERDICT_COLORS["violation"],
        _figures.VERDICT_COLORS["untested"],
    ]
    assert set(errorbars) == {"personalized"}
    assert [t.get_text() for t in gains_ax.get_xticklabels()] == ["\\$x\\$", "m"]
    heatmap = _figures.draw_envy(envy_ax, **_figures._envy_arguments(arrays))
    assert heatmap.get_array().mask.tolist() == [[True, False], [False, True]]
    marks = sorted(t.get_text() for t in envy_ax.texts)
    assert marks == ["-0.100*", "-0.200*"]
    assert len(_figures.svg_figures(arrays, 2)) == 2
