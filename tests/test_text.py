"""The text view, on a report built by hand."""

from conftest import hand_built_report

from fairuse_estimators import _text


def test_text_summary_of_a_hand_built_report():
    """Check the headline, the per-group and per-model tables and the
    violation sentences."""
    report = hand_built_report()
    lines = report.summary().splitlines()
    assert lines[0] == (
        "Fair-use audit: risk error (lower is better), mcnemar test at alpha=0.1 "
        "with holm correction; 90 audited rows; 3 withheld rows"
    )
    assert lines[1].startswith("Verdicts: one-sided tests at alpha=0.1, holm ")
    assert "each kind of false verdict has probability at most 0.1" in lines[1]
    assert lines[2].startswith("Bounds: one-sided, each at the level of its")
    assert lines[3].startswith("Detectable: the smallest gain the group's test")
    lines = lines[3:]
    header = lines[3].split()
    assert header[:4] == ["group", "n", "generic", "personalized"]
    assert "detectable" in header
    # A report built without power fields has no detectable gain: "-".
    assert lines[4].split() == [
        "<f>", "50", "0.100", "0.300", "-0.200", "[-0.300,", "-0.100]", "-",
        "personalized", "violation", "violation",
    ]  # fmt: skip
    assert lines[5].split() == [
        "m", "40", "0.200", "0.200", "+0.000", "-", "personalized", "untested",
        "violation",
    ]  # fmt: skip
    assert lines[9].split()[:4] == ["personalized", "0.250", "0.150", "-0.100"]
    assert lines[9].split()[-2:] == ["0/1", "0/2"]
    assert lines[11] == "Significant violations:"
    assert lines[12:] == [f"  {line}" for line in report.violations()]
    assert report.violations() == [
        "personalized: rationality violation for group (<f>): gain -0.200 "
        "[-0.300, -0.100] over the generic model, adjusted p = 0.02",
        "personalized: envy-freeness violation for group (<f>): the predictions "
        "for (m) change its risk by -0.200 [-0.300, -0.100], adjusted p = 0.01",
        "personalized: envy-freeness violation for group (m): the predictions for "
        "(<f>) change its risk by -0.100 [-0.200, -0.050], adjusted p = 0.03",
    ]


def test_text_error_rates_name_the_family():
    """Check that the summary says which error rate the verdicts control."""
    report = hand_built_report()
    report.settings["family"] = "model"
    assert _text.error_rates(report)[0] == (
        "Verdicts: one-sided tests at alpha=0.1, holm correction over all tests "
        "of each model: any false verdict about a model has probability at most "
        "0.1."
    )


def test_text_minimization_line_and_settings():
    """Check the data-minimization line of a routed report and the settings."""
    assert _text.minimization_line(hand_built_report()) == ""
    routed = hand_built_report(routes=[0, 2])
    assert _text.minimization_line(routed) == (
        "Groups routed to the generic model, which need not report their "
        "attributes: (<f>)"
    )
    assert routed.summary().splitlines()[-1] == _text.minimization_line(routed)
    personalized = hand_built_report(routes=[1, 2])
    assert "every group's route uses its attributes" in _text.minimization_line(
        personalized
    )
    settings = dict(_text.settings_items(routed))
    assert settings["seed"] == 0 and settings["version"] == "0.0.test"


def test_text_cells_and_alignment():
    """Check number formatting and the fixed-width table."""
    assert _text.number(float("nan")) == "-"
    assert _text.number(0.12345, signed=True) == "+0.123"
    assert _text.with_interval(0.1, float("nan"), 0.2) == "+0.100"
    lines = _text.fixed_width(["name", "n"], [["a", "10"], ["bbb", "2"]])
    assert lines == ["name   n", "a     10", "bbb    2"]


def test_auc_reports_read_as_auc_higher_is_better():
    """Check that an AUC report shows AUC, not its risk 1 - AUC, in text
    and HTML, with gains unchanged (an AUC gain is a risk reduction)."""
    from fairuse_estimators import FairUseReport

    report = FairUseReport(
        metric="auc",
        group_columns=["g"],
        groups=[("a",), ("b",)],
        n=[40, 40],
        risks=[[0.30, 0.20], [0.25, 0.35]],
        variants=["generic", "personalized"],
        candidate_variants=["generic", "personalized"],
        candidate_groups=[-1, -1],
        models=["personalized"],
        assignments=[[1, 1]],
        notes=["", ""],
    )
    text = report.summary()
    assert text.startswith("Fair-use audit: AUC (higher is better; gains are AUC")
    table = text.split("Groups under")[1].splitlines()[2:4]
    rows = {line.split()[0]: line.split() for line in table}
    assert rows["a"][2:5] == ["0.700", "0.800", "+0.100"]
    assert rows["b"][2:5] == ["0.750", "0.650", "-0.100"]
    assert "AUC" in text.split("Models")[1].splitlines()[1].split()
    assert "<h2>Fair-use audit: AUC (higher is better" in report.to_html(plots=False)
    # The frames stay in risk units, as documented.
    assert report.to_frame().loc["a", "risk_generic"] == 0.30
