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
    assert len(_figures.svg_figures(arrays)) == 2


@pytest.mark.parametrize("kind", ["gains", "envy", "both"])
def test_figures_layout_grows_with_the_groups_up_to_a_bound(kind):
    """Check that a new figure widens with the groups, never past 14 inches
    either way, even with long intersectional labels."""
    models = ["routed", "onehot", "intersectional", "decoupled"]
    sizes = []
    for m in (2, 4, 8, 16, 40):
        groups = [f"sex=female, age_group=70+, region=r{k}" for k in range(m)]
        sizes.append(_figures.figure_layout(kind, groups, models)["figsize"])
    sizes = np.array(sizes)
    assert ((4 <= sizes) & (sizes <= 14)).all()
    # "both" stacks its plots once side by side is too wide: its area grows.
    grows = sizes.prod(axis=1) if kind == "both" else sizes[:, 0]
    assert (np.diff(grows[:4]) >= 0).all() and grows[3] > grows[0]


def test_figures_svg_figures_keep_their_size_bound():
    """Check that the HTML page's plots of 16 groups are at most 14 inches wide."""
    groups = [(f"sex={k % 2}", f"age_group={k // 2}") for k in range(16)]
    arrays = _figures.report_arrays(hand_built_report(groups=groups[:2]))
    m = len(groups)
    arrays.update(
        groups=[", ".join(g) for g in groups],
        gains=np.zeros((1, m)),
        gain_low=np.full((1, m), np.nan),
        gain_high=np.full((1, m), np.nan),
        verdicts=np.full((1, m), "untested", dtype=object),
        envy_gaps=np.where(np.eye(m, dtype=bool), np.nan, 0.0),
        envy_verdicts=np.full((m, m), "inconclusive", dtype=object),
    )
    for svg in _figures.svg_figures(arrays):
        width = float(svg.split('width="', 1)[1].split("pt", 1)[0])
        assert 4 * 72 <= width <= 14 * 72
