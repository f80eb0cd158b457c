"""Power: the planner against simulations of the library's own tests, and
the report's ``untestable`` verdicts and minimum detectable gains."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

from fairuse_estimators import (
    audit_fair_use,
    minimum_detectable_gain,
    planned_power,
    required_group_size,
)
from fairuse_estimators._metrics import Evidence, risk_matrix
from fairuse_estimators._power import _critical, mcnemar_power
from fairuse_estimators._stats import FIELD, TestOptions, paired_tests
from fairuse_estimators.cli import main

WORLDS = 2000


def _simulated_power(metric, test, y, predictions, n, level, seed=0):
    """Share of worlds (groups of ``n`` rows) whose gain test rejects."""
    worlds = len(y) // n
    ids = np.repeat(np.arange(worlds), n)
    evidence = Evidence(metric, y, predictions, ids, worlds)
    comparisons = np.column_stack(
        [np.arange(worlds), np.zeros(worlds, int), np.ones(worlds, int)]
    )
    options = TestOptions(test, level, "none", 999, seed)
    tests = paired_tests(evidence, risk_matrix(evidence), comparisons, options)
    return np.mean(tests.result[:, FIELD["p_gain"]] <= level)


def _within_monte_carlo(simulated, planned, worlds=WORLDS, slack=0.0):
    se = np.sqrt(planned * (1 - planned) / worlds)
    assert abs(simulated - planned) <= 3 * se + slack, (simulated, planned, se)


def _mcnemar_worlds(n, gain, disagreement, worlds, rng):
    """Labels of a generic (candidate 0) and a better candidate on rows where
    exactly one is wrong with the given shares; y is all ones."""
    cells = rng.choice(
        3,
        size=n * worlds,
        p=[(disagreement + gain) / 2, (disagreement - gain) / 2, 1 - disagreement],
    )
    y = np.ones(n * worlds, dtype=np.intp)
    generic = np.where(cells == 0, 0, 1)  # wrong on "generic worse" rows
    candidate = np.where(cells == 1, 0, 1)  # wrong on "candidate worse" rows
    return y, np.vstack([generic, candidate])


def test_critical_counts_follow_the_exact_test_rule():
    """Check each critical count against the test's own p-value rule."""
    for n in (0, 1, 7, 40):
        for level in (0.3, 0.1, 0.0125):
            found = _critical(n, level)
            for total in range(n + 1):
                rejecting = [
                    s for s in range(total + 1) if binom.sf(s - 1, total, 0.5) <= level
                ]
                assert found[total] == (rejecting[0] if rejecting else total + 1)


@pytest.mark.parametrize(
    "gain, disagreement, n_tests", [(0.1, 0.3, 1), (0.05, 0.15, 6), (0.2, 0.2, 12)]
)
def test_planned_mcnemar_size_has_the_power_it_promises(gain, disagreement, n_tests):
    """Check that at the planned size McNemar's test reaches power 0.8 in
    simulation, within Monte Carlo error of the exact power."""
    n = required_group_size(gain, disagreement=disagreement, n_tests=n_tests)
    planned = planned_power(n, gain, disagreement=disagreement, n_tests=n_tests)
    assert 0.8 <= planned < 0.86
    assert planned_power(n // 2, gain, disagreement=disagreement, n_tests=n_tests) < 0.8
    rng = np.random.default_rng(1)
    y, labels = _mcnemar_worlds(n, gain, disagreement, WORLDS, rng)
    simulated = _simulated_power("error", "mcnemar", y, labels, n, 0.1 / n_tests)
    _within_monte_carlo(simulated, planned)


def test_mcnemar_power_beyond_the_exact_range_follows_the_normal_approximation():
    """Check the large-sample power against the exact sum near the switch."""
    exact = mcnemar_power(5000, 0.01, 0.1, 0.05)
    approximate = mcnemar_power(5001, 0.01, 0.1, 0.05)
    assert abs(exact - approximate) < 0.01


def test_planned_bootstrap_size_for_a_mean_loss_has_its_power():
    """Check the bootstrap test of a mean loss difference (the larger of the
    t and bootstrap-t p-values) at the size planned from its sd."""
    gain, sd = 0.05, 0.4
    n = required_group_size(gain, metric="log_loss", test="bootstrap", sd=sd)
    planned = planned_power(n, gain, metric="log_loss", test="bootstrap", sd=sd)
    rng = np.random.default_rng(2)
    # Per-row log losses whose differences are normal with that mean and sd.
    reference = rng.uniform(2.0, 3.0, size=n * WORLDS)
    candidate = reference - rng.normal(gain, sd, size=n * WORLDS)
    # Log loss of probability p for the label 1 is -log(p): invert it.
    proba = np.exp(-np.stack([reference, np.maximum(candidate, 1e-9)]))
    scores = np.stack([1 - proba, proba], axis=-1)
    y = np.ones(n * WORLDS, dtype=np.intp)
    simulated = _simulated_power("log_loss", "bootstrap", y, scores, n, 0.1)
    # The combined test is at most as powerful as its t-test.
    _within_monte_carlo(simulated, planned, slack=0.02)


@pytest.mark.parametrize("test", ["delong", "bootstrap"])
def test_planned_auc_size_has_its_power(test):
    """Check DeLong's test and the percentile bootstrap of AUC at the size
    planned from a pilot's standard error."""
    rng = np.random.default_rng(3)
    worlds = WORLDS if test == "delong" else WORLDS // 2

    def world(n):
        y = (rng.random(n) < 0.4).astype(np.intp)
        shared = rng.normal(size=n)
        generic = 0.8 * y + 0.6 * shared + 0.8 * rng.normal(size=n)
        better = 1.2 * y + 0.6 * shared + 0.8 * rng.normal(size=n)
        return y, np.vstack([generic, better])

    # Pilot: the gain in AUC and sqrt(n) times its standard error.
    pilot = 40_000
    y, scores = world(pilot)
    from fairuse_estimators._stats import _delong

    _, _, bounds, _ = _delong(y, scores, np.array([[0, 1]]))
    gain, sd = float(bounds.gain[0]), float(bounds.sd[0] * np.sqrt(pilot))
    n = required_group_size(gain, metric="auc", test=test, sd=sd)
    planned = planned_power(n, gain, metric="auc", test=test, sd=sd)
    ys, all_scores = zip(*(world(n) for _ in range(worlds)))
    y, scores = np.concatenate(ys), np.hstack(all_scores)
    simulated = _simulated_power("auc", test, y, scores, n, 0.1)
    _within_monte_carlo(simulated, planned, worlds, slack=0.02)


def test_minimum_detectable_gain_inverts_the_planned_power():
    """Check that the detectable gain at a size has the target power."""
    for settings in (
        {"disagreement": 0.25},
        {"disagreement": 0.25, "test": "bootstrap"},
        {"metric": "brier", "sd": 0.3, "n_tests": 4},
    ):
        gain = minimum_detectable_gain(300, **settings)
        assert planned_power(300, gain, **settings) == pytest.approx(0.8, abs=1e-3)
        assert planned_power(300, 0.9 * gain, **settings) < 0.8


def test_class_error_rates_are_planned_as_an_error_on_their_class_rows():
    """Check fnr and fpr plan like error on the rows of their class (McNemar
    by default, per-row disagreement with the bootstrap)."""
    for settings in ({}, {"test": "bootstrap"}):
        for metric in ("fnr", "fpr"):
            assert minimum_detectable_gain(
                200, metric=metric, disagreement=0.2, **settings
            ) == minimum_detectable_gain(200, disagreement=0.2, **settings)
    assert required_group_size(0.1, metric="fnr") == required_group_size(0.1)


def test_best_case_mcnemar_needs_enough_wrong_rows_to_reach_the_level():
    """Check the bound with every disagreement favouring the candidate: the
    test needs ceil(log2(1 / level)) discordant rows, all in its favour."""
    level = 0.1 / 3
    needed = int(np.ceil(np.log2(1 / level)))
    gain = minimum_detectable_gain(40, n_tests=3)
    assert binom.sf(needed - 1, 40, gain) == pytest.approx(0.8, abs=1e-3)


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"metric": "log_loss"}, "sd must be a positive number"),
        ({"sd": 0.3}, "sd does not apply to McNemar"),
        ({"disagreement": 1.5}, "disagreement must be a share"),
        ({"n_tests": 0}, "n_tests must be a positive integer"),
        ({"alpha": 1.0}, "alpha must be a number"),
        ({"metric": "accuracy"}, "metric must be one of"),
    ],
)
def test_planner_refuses_bad_settings_in_a_sentence(settings, match):
    with pytest.raises(ValueError, match=match):
        required_group_size(0.05, **settings)


def test_required_size_refuses_a_gain_above_the_disagreement():
    with pytest.raises(ValueError, match="cannot exceed disagreement"):
        required_group_size(0.3, disagreement=0.2)


# ----------------------------------------------------------- the report


def _data(rng, sizes):
    """A group column and two features; group g has sizes[g] rows."""
    group = np.repeat([f"g{k}" for k in range(len(sizes))], sizes)
    x = rng.normal(size=(len(group), 2))
    y = (x[:, 0] + 0.5 * rng.normal(size=len(group)) > 0).astype(int)
    return pd.DataFrame({"group": group, "x0": x[:, 0], "x1": x[:, 1]}), y


def _pipelines(personal_target=None):
    """A generic logistic regression on the features, and a personalized one
    with the group one-hot encoded (both real pipelines)."""
    generic = make_pipeline(
        make_column_transformer(("passthrough", ["x0", "x1"])), LogisticRegression()
    )
    personalized = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), ["group"]), ("passthrough", ["x0", "x1"])
        ),
        LogisticRegression(),
    )
    return generic, personalized


def _report(rng, sizes):
    X, y = _data(rng, sizes)
    generic, personalized = _pipelines()
    generic.fit(X, y)
    personalized.fit(X, y)
    return audit_fair_use(personalized, X, y, group_columns=["group"], generic=generic)


def test_small_groups_are_untestable_and_large_ones_inconclusive_with_a_reason():
    """Check the verdicts on a group of 12 rows and one of 3,000."""
    report = _report(np.random.default_rng(0), [12, 3000])
    frame = report.to_frame()
    small, large = frame.loc["g0"], frame.loc["g1"]
    assert small.rationality == "untestable"
    assert np.isinf(small.detectable_gain)
    assert "untestable: power" in small.note and "12 rows" in small.note
    assert large.rationality in ("inconclusive", "gain", "violation")
    assert np.isfinite(large.detectable_gain) and large.detectable_gain < 0.05


def test_report_detectable_gain_matches_the_planner():
    """Check the report's detectable gain against the planner at the observed
    disagreement and the family size of the rationality test: where no gain
    up to the observed disagreement is detectable, the report takes the
    disagreement to be the gain itself (the planner's best case)."""
    rng = np.random.default_rng(1)
    report = _report(rng, [1500, 2500])
    frame = report.to_frame()
    for g, label in enumerate(["g0", "g1"]):
        n = int(frame.loc[label, "n"])
        disagreement = np.asarray(report.statistics["rationality_power"])[0, g, 2]
        expected = minimum_detectable_gain(
            n, disagreement=float(disagreement), n_tests=2
        )
        if not np.isfinite(expected):
            expected = minimum_detectable_gain(n, n_tests=2)
        assert frame.loc[label, "detectable_gain"] == pytest.approx(expected, rel=1e-4)


def test_a_violation_is_never_hidden_by_untestable():
    """Check that a group whose gain could not be shown still gets a
    significant violation: with no generic error there is no possible gain,
    but a candidate wrong on every row is significantly worse."""
    X, y = _data(np.random.default_rng(2), [14, 400])
    flipped = np.where(X["group"] == "g0", 1 - y, y)
    tree = DecisionTreeClassifier(random_state=0)
    generic = make_pipeline(
        make_column_transformer(("passthrough", ["x0", "x1"])), tree
    )
    personalized = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), ["group"]), ("passthrough", ["x0", "x1"])
        ),
        DecisionTreeClassifier(random_state=0),
    )
    generic.fit(X, y)  # memorizes: no error, so no possible gain
    personalized.fit(X, flipped)  # wrong on every row of g0
    report = audit_fair_use(
        personalized, X, y, group_columns=["group"], generic=generic
    )
    row = report.to_frame().loc["g0"]
    assert row.risk_generic == 0 and row.risk_personalized == 1
    assert row.rationality == "violation"


def test_detectable_gain_is_in_every_output():
    report = _report(np.random.default_rng(3), [12, 600])
    text = str(report)
    assert "detectable" in text and "untestable" in text
    records = json.loads(report.to_json())["models"]["personalized"]["groups"]
    assert records[0]["detectable_gain"] is None  # inf: no possible gain
    assert records[1]["detectable_gain"] > 0
    assert "detectable_gap" in report.envy_frame().columns
    page = report.to_html(plots=False)
    assert '<td class="untestable">untestable</td>' in page
    assert "<th>detectable</th>" in page


def test_report_without_power_fields_keeps_its_old_verdicts():
    """Check that a report saved before power was kept reads as before."""
    report = _report(np.random.default_rng(4), [12, 600])
    state = report.__getstate__()
    state["statistics"] = {
        k: v for k, v in state["statistics"].items() if not k.endswith("_power")
    }
    old = type(report).__new__(type(report))
    old.__setstate__(state)
    frame = old.to_frame()
    assert frame.loc["g0", "rationality"] == "inconclusive"
    assert frame["detectable_gain"].isna().all()


# -------------------------------------------------------------- the command


def test_plan_command_prints_the_planner_sizes(capsys):
    assert main(["plan", "--disagreement", "0.2", "--tests", "6"]) == 0
    out = capsys.readouterr().out
    for gain in (0.01, 0.02, 0.05, 0.1):
        n = required_group_size(gain, disagreement=0.2, n_tests=6)
        assert f"{n:,}" in out
    assert "6 test(s)" in out


def test_plan_command_marks_impossible_gains_and_refuses_bad_input(capsys):
    assert main(["plan", "--disagreement", "0.03"]) == 0
    assert "impossible" in capsys.readouterr().out
    assert main(["plan", "--gains", "0.01,x"]) == 2
    assert "--gains must be comma-separated numbers" in capsys.readouterr().err
    assert main(["plan", "--metric", "log_loss"]) == 2
    assert "sd must be a positive number" in capsys.readouterr().err


def test_plan_command_runs_as_installed():
    done = subprocess.run(
        [sys.executable, "-m", "fairuse_estimators.cli", "plan", "--gains", "0.1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert " 54" in done.stdout  # rows for a gain of 0.1 at best


def test_planned_size_for_a_squared_error_gain_has_its_power():
    """Check the regression planner: at the size planned for a gain in the
    squared error from the sd of the per-row differences, the regressor's
    test finds the gain as often as planned."""
    gain, sd = 0.3, 2.0
    n = required_group_size(gain, metric="squared_error", sd=sd)
    planned = planned_power(n, gain, metric="squared_error", sd=sd)
    rng = np.random.default_rng(4)
    # A target of 0: a candidate's squared error is its prediction squared.
    reference = rng.uniform(2.0, 3.0, size=n * WORLDS)
    candidate = reference**2 - rng.normal(gain, sd, size=n * WORLDS)
    predictions = np.stack([reference, np.sqrt(np.maximum(candidate, 0.0))])
    y = np.zeros(n * WORLDS)
    simulated = _simulated_power("squared_error", "bootstrap", y, predictions, n, 0.1)
    _within_monte_carlo(simulated, planned, slack=0.02)


def test_untestable_only_when_no_gain_up_to_the_largest_is_detectable():
    """Check the verdict rule against its power inputs: a comparison whose
    power against a perfect candidate is low (that candidate's losses spread
    widely, as heavy-tailed squared errors do) but whose observed spread
    detects gains well below the largest possible one is inconclusive, not
    untestable; with neither, it is untestable."""
    from fairuse_estimators._power import (
        KINDS,
        POWER_FIELDS,
        P,
        detectable_gains,
        largest_gain_power,
    )
    from fairuse_estimators._report import _verdicts
    from fairuse_estimators._stats import STAT_FIELDS

    inputs = np.full((2, len(POWER_FIELDS)), np.nan)
    inputs[:, P["kind"]] = KINDS.index("student")
    inputs[:, P["n"]], inputs[:, P["df"]] = 180, 179
    inputs[:, P["largest"]], inputs[:, P["level"]] = 5.7, 0.1
    # Standard errors of the gain: against a perfect candidate, and observed.
    inputs[:, P["spread_largest"]] = 5.0
    inputs[:, P["spread"]] = [0.02, 5.0]
    largest, detectable = largest_gain_power(inputs), detectable_gains(inputs)
    assert (largest < 0.8).all()
    assert np.isfinite(detectable[0]) and detectable[0] < 0.1
    assert np.isinf(detectable[1])
    block = np.full((2, len(STAT_FIELDS)), np.nan)
    block[:, [STAT_FIELDS.index("p_gain_adjusted"),
              STAT_FIELDS.index("p_violation_adjusted")]] = 0.5  # fmt: skip
    verdicts = _verdicts(block, 0.1, (inputs, largest, detectable))
    assert verdicts.tolist() == ["inconclusive", "untestable"]
