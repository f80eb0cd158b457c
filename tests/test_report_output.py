"""Reports people read: text, HTML and progress."""

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import HEART_GROUPS, threshold_data
from numpy.testing import assert_array_equal
from sklearn.tree import DecisionTreeClassifier

from fairuse_estimators import FairUseClassifier, FairUseReport, audit_fair_use

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def planted_report(planted):
    """The audit of the planted personalized tree, with one gain and one harm."""
    personalized, generic, X, y = planted
    return audit_fair_use(
        personalized, X, y, group_columns="group", generic=generic, random_state=0
    )


@pytest.fixture(scope="module")
def routed_report():
    """A routed classifier on the planted thresholds, audited on new rows."""
    X, y = threshold_data({"gain": 0.8, "harm": 0.0, "null": 0.0}, 0)
    X_test, y_test = threshold_data({"gain": 0.8, "harm": 0.0, "null": 0.0}, 1)
    clf = FairUseClassifier(
        DecisionTreeClassifier(max_depth=1, random_state=0),
        group_columns="group",
        random_state=0,
    ).fit(X, y)
    return clf.audit(X_test, y_test)


def _report_with_groups(groups):
    """A hand-built report on the given groups, with no tests."""
    m = len(groups)
    return FairUseReport(
        metric="error",
        group_columns=["g"],
        groups=[(g,) for g in groups],
        n=[30] * m,
        risks=np.column_stack([np.full(m, 0.2), np.full((m, m), 0.1)]),
        variants=["generic", "personalized"],
        candidate_variants=["generic"] + ["personalized"] * m,
        candidate_groups=[-1, *range(m)],
        models=["personalized"],
        assignments=[list(range(1, m + 1))],
        notes=[""] * m,
        settings={
            "test": "bootstrap",
            "alpha": 0.05,
            "correction": "holm",
            "n_bootstrap": 321,
            "random_state": 7,
            "version": "9.9",
        },
    )


def test_report_str_is_the_per_group_table(planted_report):
    """Check that str(report) shows every group's risks, gain interval and verdicts."""
    text = str(planted_report)
    assert text == planted_report.summary()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("group"))
    for column in [
        "n",
        "generic",
        "personalized",
        "gain [bounds]",
        "route",
        "rationality",
        "envy-freeness",
    ]:
        assert column in header
    frame = planted_report.to_frame()
    for group, row in frame.iterrows():
        line = next(line for line in lines if line.startswith(f"{group} "))
        cells = re.split(r"\s{2,}", line.strip())
        assert cells[:4] == [
            group,
            str(row.n),
            f"{row.risk_generic:.3f}",
            f"{row.risk_personalized:.3f}",
        ]
        assert cells[4] == (
            f"{row.gain:+.3f} [{row.gain_low:+.3f}, {row.gain_high:+.3f}]"
        )
        assert cells[-2:] == [row.rationality, row.envy_freeness]
    assert re.search(r"^personalized\s+0\.\d{3}\s+0\.\d{3}", text, flags=re.M)


def test_report_summary_has_one_line_per_significant_violation(planted_report):
    """Check that each significant rationality and envy violation gets a line."""
    frame = planted_report.to_frame()
    pairs = planted_report.envy_frame()
    expected = (frame["rationality"] == "violation").sum() + (
        pairs["verdict"] == "violation"
    ).sum()
    assert expected >= 2
    violations = planted_report.violations()
    assert len(violations) == expected
    text = planted_report.summary()
    assert "Significant violations:" in text
    for line in violations:
        assert f"  {line}" in text.splitlines()
    assert "rationality violation for group (harm)" in text
    assert "envy-freeness violation for group (harm)" in text
    assert "the predictions for (null)" in text


def test_report_summary_names_groups_that_need_not_report(routed_report):
    """Check that the groups routed to the generic model are listed by name."""
    generic = routed_report.generic_groups()
    assert ("gain",) not in generic and ("null",) in generic
    last = routed_report.summary().splitlines()[-1]
    assert last.startswith("Groups routed to the generic model")
    assert "(null)" in last and "(gain)" not in last
    for model in routed_report.models:
        assert re.search(rf"^{model}\s", str(routed_report), flags=re.M)


def test_report_repr_is_one_line(planted_report):
    """Check that repr(report) stays a one-line description."""
    assert "\n" not in repr(planted_report)
    assert repr(planted_report).startswith("FairUseReport(metric='error'")


def test_report_to_html_is_self_contained(planted_report, tmp_path):
    """Check that the HTML page has tables, inline SVG plots and the settings,
    and loads nothing from elsewhere."""
    path = tmp_path / "report.html"
    page = planted_report.to_html(path)
    assert path.read_text(encoding="utf-8") == page
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<table>") >= 3 and page.count("<svg") == 2
    assert not re.search(r"<script|<link|<img|src=|@import|url\(http", page)
    assert not re.search(r'href="(?!#|data:)', page)
    settings = planted_report.to_dict()
    for name in [
        "metric",
        "test",
        "alpha",
        "correction",
        "bootstrap replicates (B)",
        "seed",
        "version",
    ]:
        assert f"<td>{name}</td>" in page
    assert f"<td>{settings['version']}</td>" in page
    assert '<td class="violation">violation</td>' in page
    for line in planted_report.violations():
        assert f"<li>{line}</li>" in page


def test_report_to_html_escapes_group_values():
    """Check that group values are escaped in the tables and the plots."""
    report = _report_with_groups(["<b>x&y</b>", "plain"])
    page = report.to_html()
    assert "<b>x&y</b>" not in page
    assert "&lt;b&gt;x&amp;y&lt;/b&gt;" in page
    assert "<td>321</td>" in page and "<td>7</td>" in page and "<td>9.9</td>" in page


def test_report_repr_html_is_the_page_body(planted_report):
    """Check that notebooks get the page's body: tables and plots."""
    fragment = planted_report._repr_html_()
    assert fragment.startswith('<div class="fairuse-report">')
    assert "<table>" in fragment and "<svg" in fragment
    assert "<html" not in fragment


def test_report_to_html_without_matplotlib_keeps_tables():
    """Check that without matplotlib the page has the tables and says why there
    are no plots."""
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "sys.path.insert(0, 'tests')\n"
        "from test_report_output import _report_with_groups\n"
        "print(_report_with_groups(['a', 'b']).to_html())\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "<table>" in result.stdout and "<svg" not in result.stdout
    assert "pip install matplotlib (from a source checkout" in result.stdout


def test_audit_fair_use_verbose_prints_test_progress(planted, capsys):
    """Check that verbose=1 prints one line for the tests and verbose=2 one
    bootstrap progress line per group."""
    personalized, generic, X, y = planted
    for verbose in (1, 2):
        audit_fair_use(
            personalized,
            X,
            y,
            group_columns="group",
            generic=generic,
            test="bootstrap",
            n_bootstrap=50,
            random_state=0,
            verbose=verbose,
        )
        lines = capsys.readouterr().err.splitlines()
        if verbose == 1:
            # Rationality of 3 groups and envy of 3 x 2 pairs.
            assert lines == ["bootstrap: 9 tests on 3 groups"]
        else:
            assert lines == [f"bootstrap: group {k}/3" for k in (1, 2, 3)]
    audit_fair_use(personalized, X, y, group_columns="group", generic=generic)
    assert capsys.readouterr().err == ""


def test_fairuse_classifier_verbose_prints_fits_and_tests(heart, scaled_lr, capsys):
    """Check that verbose fit and audit print fits done / total and test progress."""
    X, y = heart
    clf = FairUseClassifier(
        scaled_lr,
        group_columns=HEART_GROUPS,
        cv=3,
        test="bootstrap",
        metric="brier",
        n_bootstrap=20,
        random_state=0,
        verbose=1,
    ).fit(X, y)
    err = capsys.readouterr().err.splitlines()
    fits = [line for line in err if "fits done:" in line]
    total = int(fits[0].split("/")[1])
    # One line per quarter of the fits done, the last at the total.
    done = [int(line.split(": ")[1].split("/")[0]) for line in fits]
    assert len(done) == 4 and done[-1] == total
    assert done == [-(-total * q // 4) for q in (1, 2, 3, 4)]
    assert any(line.startswith("bootstrap: ") and "on 4 groups" in line for line in err)
    clf.audit(X, y)
    assert "bootstrap: group 1/4" not in capsys.readouterr().err
    clf.set_params(verbose=2).audit(X, y)
    assert "bootstrap: group 1/4" in capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("name", ["n", "gain", "note", "route"])
def test_report_json_with_group_column_named_like_a_report_column(name):
    """Check that a group column called like a report column still exports,
    under a name that says it is the group."""
    X, y = threshold_data({"a": 0.8, "b": 0.0}, 0, sizes=(300, 300))
    X = X.rename(columns={"group": name})
    clf = FairUseClassifier(
        DecisionTreeClassifier(max_depth=1), group_columns=name, cv=3, random_state=0
    ).fit(X, y)
    record = json.loads(clf.audit_report_.to_json())
    groups = record["models"]["routed"]["groups"]
    assert [row[f"{name} (group)"] for row in groups] == ["a", "b"]
    assert "n" in groups[0]
    assert record["group_columns"] == [name]


def test_group_labels_are_unambiguous():
    """Check that values holding commas or quotes cannot make two groups print
    alike."""
    from fairuse_estimators._report import group_label

    assert group_label(("a, b", "c")) != group_label(("a", "b, c"))
    assert group_label(("a, b", "c")) == "'a, b', c"
    assert group_label(("female", "<60")) == "female, <60"
    assert group_label((" x", "")) == "' x', ''"
    assert group_label((1, 2.5)) == "1, 2.5"


def test_report_draws_dollar_signs_as_written(tmp_path):
    """Check that group values with $ are neither parsed as math (which
    crashed) nor mislabelled, in the page and in the Display."""
    pytest.importorskip("matplotlib")
    from matplotlib.text import Text

    from fairuse_estimators import FairUseDisplay

    X, y = threshold_data({"$\\foo$": 0.8, "income $10k-$20k": 0.0}, 0, (300, 300))
    report = FairUseClassifier(
        DecisionTreeClassifier(max_depth=1), group_columns="group", cv=3,
        random_state=0,
    ).fit(X, y).audit_report_  # fmt: skip
    page = report.to_html(tmp_path / "page.html")
    assert "income $10k-$20k" in page
    display = FairUseDisplay.from_report(report)
    for ax in (display.ax_, display.envy_ax_):
        shown = [Text()._preprocess_math(t.get_text()) for t in ax.get_xticklabels()]
        assert shown == [("$\\foo$", False), ("income $10k-$20k", False)]


def test_no_envy_names_no_group_and_shows_no_negative_zero():
    """Check a group served exactly as well by every other group's
    predictions: worst_envy is 0 (never -0) and it envies nobody, while a
    group that envies names whom."""
    report = FairUseReport(
        metric="error",
        group_columns=["g"],
        groups=[("a",), ("b",), ("c",)],
        n=[30, 30, 30],
        risks=[[0.2, 0.2, 0.2, 0.2], [0.2, 0.1, 0.3, 0.3], [0.4, 0.4, 0.4, 0.3]],
        variants=["generic", "personalized"],
        candidate_variants=["generic", "personalized", "personalized", "personalized"],
        candidate_groups=[-1, 0, 1, 2],
        models=["personalized"],
        assignments=[[1, 2, 3]],
        notes=["", "", ""],
    )
    frame = report.to_frame()
    equal, envious, content = frame.loc["a"], frame.loc["b"], frame.loc["c"]
    assert equal.worst_envy == 0 and not np.signbit(equal.worst_envy)
    assert equal.envied_group == ""
    assert envious.worst_envy == pytest.approx(0.2)  # its own 0.3, a's 0.1
    assert envious.envied_group == "a"
    assert content.worst_envy == pytest.approx(-0.1) and content.envied_group == ""
    record = json.loads(report.to_json())["models"]["personalized"]["groups"][0]
    assert record["worst_envy"] == 0 and str(record["worst_envy"]) == "0.0"


def test_report_explains_every_route_in_frame_text_html_and_json(routed_report):
    """Check that every group's route comes with the decision and the gate's
    evidence behind it, the same in the frame, the text, the HTML and the
    JSON, and that an untested group routed to generic says why."""
    routing = routed_report.routing_frame()
    assert list(routing.index) == [g[0] for g in routed_report.groups]
    routed = routing["decision"] == "routed"
    # Exactly the groups off the generic model were routed by the gate, on
    # an adjusted p-value at most alpha; the others were not.
    assert_array_equal(routed, np.asarray(routed_report.routes) != 0)
    alpha = routed_report.alpha
    assert (routing.loc[routed, "p_adjusted"] <= alpha).all()
    kept = routing.loc[~routed]
    assert (
        (kept["p_adjusted"] > alpha) | (kept["decision"] != "not_significant")
    ).all()
    assert (routing["p_adjusted"] >= routing["p_value"]).all()
    frame = routed_report.to_frame()
    assert frame["decision"].tolist() == routing["why"].tolist()
    assert routing.loc["gain", "why"].startswith("routed to ")
    assert routing.loc["null", "why"].startswith("kept on the generic model")
    text = routed_report.summary()
    page = routed_report.to_html(plots=False)
    for label, why in zip(routed_report.group_labels, routing["why"]):
        assert f"  {label}: {why}" in text
        assert html.escape(f"{label}: {why}") in page
    record = json.loads(routed_report.to_json())
    assert [r["decision"] for r in record["routing"]] == routing["decision"].tolist()
    assert record["routing_settings"]["min_gain"] == 0.01
    untested = frame["rationality"] == "untested"
    assert untested.any()
    assert all(note.startswith("untested: ") for note in frame.loc[untested, "note"])


def test_report_without_groups_names_no_test(heart):
    """Check that a fit without group columns reports that no test ran,
    in text and HTML, with no setting printed as None."""
    X, y = heart
    clf = FairUseClassifier(DecisionTreeClassifier(max_depth=2, random_state=0))
    report = clf.fit(X.select_dtypes("number"), y).audit_report_
    text, page = report.summary(), report._repr_html_()
    assert "no test run" in text and "no test run" in page
    assert "None" not in text and "None" not in page
    assert "No groups to audit." in text


def test_report_without_correction_claims_no_family_wise_rate(planted):
    """Check that correction="none" is worded as no correction, without the
    family-wise promise of a corrected report."""
    personalized, generic, X, y = planted
    report = audit_fair_use(
        personalized, X, y, group_columns="group", generic=generic,
        correction="none", random_state=0,
    )  # fmt: skip
    text = report.summary()
    assert "with no correction" in text and "none correction" not in text
    assert "each kind of false verdict has probability at most" not in text
    assert "each verdict alone is false with probability at most 0.1" in text
