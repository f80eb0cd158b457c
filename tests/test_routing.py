"""Routing on hand-written risk matrices and hand-built evidence."""

import numpy as np
import pytest
from nulls import draw
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import binom
from sklearn.linear_model import LogisticRegression

from fairuse_estimators import _routing
from fairuse_estimators._metrics import Evidence, risk_matrix, row_losses
from fairuse_estimators._pool import (
    DEFAULT_VARIANTS,
    build_pool,
    own_candidates,
)
from fairuse_estimators._routing import (
    best_routes,
    gate_kind,
    gated_routes,
    route,
    routes_by_fold,
    routing_notes,
    with_selected,
)
from fairuse_estimators._stats import TestOptions, adjust_pvalues

OPTIONS = TestOptions("mcnemar", 0.1, "holm", 1, 0)


@pytest.fixture
def pool():
    """Generic and one one-hot candidate per group, for two groups."""
    return build_pool(("generic", "onehot"), 2, np.zeros(2, bool))


def test_best_routes_lowest_risk_ties_to_the_simpler(pool):
    """Check that the lowest risk wins, ties go to generic then own, and a
    group without evidence stays generic."""
    risks = np.array(
        [
            [0.3, 0.2, 0.1],  # another group's candidate is lowest
            [0.2, 0.2, 0.2],  # a tie: generic
        ]
    )
    assert_array_equal(best_routes(risks, pool), [2, 0])
    risks[1] = [0.3, 0.1, 0.1]  # a tie between candidates: the group's own first
    assert_array_equal(best_routes(risks, pool), [2, 2])
    risks[0] = np.nan
    assert_array_equal(best_routes(risks, pool), [0, 2])
    allowed = np.array([[True, True, False], [True, False, False]])
    risks[0] = [0.3, 0.2, 0.1]
    assert_array_equal(best_routes(risks, pool, allowed), [1, 0])


def _world(n=200, own_gain=(60, 0), cross_gain=(0, 0), seed=0):
    """Label evidence of generic and each group's one-hot candidate.

    The generic model errs on 40% of every group's rows. Candidate ``1 + g``
    corrects ``own_gain[g]`` of them on its own group's rows and
    ``cross_gain[h]`` on group ``h``'s rows when ``h != g``.
    """
    rng = np.random.default_rng(seed)
    group_ids = np.repeat([0, 1], n)
    y = rng.integers(2, size=2 * n)
    wrong = np.zeros(2 * n, bool)
    for g in (0, 1):
        rows = np.flatnonzero(group_ids == g)
        wrong[rng.choice(rows, int(0.4 * n), replace=False)] = True
    predictions = np.tile(np.where(wrong, 1 - y, y), (3, 1))
    for candidate, g in ((1, 0), (2, 1)):
        for h in (0, 1):
            fixed = own_gain[g] if h == g else cross_gain[h]
            rows = np.flatnonzero(wrong & (group_ids == h))[:fixed]
            predictions[candidate, rows] = y[rows]
    return Evidence("error", y, predictions, group_ids, 2)


def test_gated_routes_take_only_significant_own_gains(pool):
    """Check that a group leaves generic for its own candidate on a significant
    gain, and one without a gain stays generic."""
    evidence = _world(own_gain=(60, 2))
    routes, below, _ = gated_routes(
        evidence, risk_matrix(evidence), pool, OPTIONS, min_gain=0.01
    )
    assert_array_equal(routes, [1, 0])
    assert not below.any()


def test_gated_routes_keep_gains_below_min_gain_generic(pool):
    """Check that a significant gain smaller than min_gain keeps the group on
    the generic model, and says so."""
    evidence = _world(n=2000, own_gain=(100, 0))  # +0.05, p far below 0.1
    risks = risk_matrix(evidence)
    routes, below, _ = gated_routes(evidence, risks, pool, OPTIONS, min_gain=0.1)
    assert_array_equal(routes, [0, 0])
    assert_array_equal(below, [True, False])
    notes = routing_notes(risks, np.array([2000, 2000]), ["", ""], below, "error", 0.1)
    assert notes == ["kept generic: significant gains below min_gain=0.1", ""]


def test_gated_routes_repair_envy(pool):
    """Check that a group significantly better served by another group's route
    takes it, although its own candidate brought no gain."""
    evidence = _world(own_gain=(60, 0), cross_gain=(0, 50))
    routes, *_ = gated_routes(
        evidence, risk_matrix(evidence), pool, OPTIONS, min_gain=0.01
    )
    assert_array_equal(routes, [1, 1])


def test_gated_routes_record_what_decided_each_route(pool):
    """Check that the routing record names, for every group, the candidate it
    weighed, its raw and adjusted p-values, and the decision: routed, kept
    back by min_gain, not significant, or moved by envy repair."""
    evidence = _world(own_gain=(60, 2))
    risks = risk_matrix(evidence)
    routes, _, record = gated_routes(evidence, risks, pool, OPTIONS, min_gain=0.01)
    assert_array_equal(record.decision, ["routed", "not_significant"])
    assert_array_equal(record.candidate, [1, 2])
    assert_allclose(record.gain, risks[[0, 1], 0] - risks[[0, 1], [1, 2]])
    assert_allclose(record.p_adjusted, adjust_pvalues(record.p_value, "holm"))
    assert record.p_adjusted[0] <= OPTIONS.alpha < record.p_adjusted[1]
    assert record.settings["min_gain"] == 0.01
    assert record.settings["test"] == OPTIONS.test
    *_, record = gated_routes(evidence, risks, pool, OPTIONS, min_gain=0.5)
    assert_array_equal(record.decision, ["below_min_gain", "not_significant"])
    evidence = _world(own_gain=(60, 0), cross_gain=(0, 50))
    routes, _, record = gated_routes(
        evidence, risk_matrix(evidence), pool, OPTIONS, min_gain=0.01
    )
    assert_array_equal(record.decision, ["routed", "envy_repair"])
    assert_array_equal(record.before_repair, [1, 0])
    assert_array_equal(routes, [1, 1])
    best, _, record = route("best", evidence, risks, pool, OPTIONS, min_gain=0.0)
    assert_array_equal(record.decision, ["lowest_risk"] * 2)
    assert np.isnan(record.p_value).all()


def test_route_dispatches_and_gate_kind():
    """Check that "best" ignores the tests and the gate's loss is chosen by
    metric and base."""
    pool = build_pool(("generic", "onehot"), 2, np.zeros(2, bool))
    evidence = _world(own_gain=(2, 0))
    risks = risk_matrix(evidence)
    best, below, _ = route("best", evidence, risks, pool, OPTIONS, min_gain=0.5)
    assert_array_equal(best, best_routes(risks, pool))
    assert best[0] == 1 and not below.any()
    assert route("evidence", evidence, risks, pool, OPTIONS, min_gain=0.0)[0][0] == 0

    class Labels:
        def predict(self, X):
            return X

    class Probabilities(Labels):
        def predict_proba(self, X):
            return X

    assert gate_kind("evidence", "auto", "error", Probabilities()) is None
    assert gate_kind("evidence", "log_loss", "error", Probabilities()) == "log_loss"
    assert gate_kind("evidence", "auto", "error", Labels()) is None
    assert gate_kind("evidence", "auto", "auc", Probabilities()) is None
    assert gate_kind("evidence", "brier", "auc", Probabilities()) == "brier"
    assert gate_kind("best", "log_loss", "error", Probabilities()) is None


def _null_world(world, m, n, seed, losses=None):
    """Evidence of ``m`` groups of ``n`` rows with a generic, a one-hot, an
    intersectional and a decoupled candidate each, from ``tests/nulls.py``,
    and its pool; ``losses`` names a per-row gate loss to attach."""
    rng = np.random.default_rng(seed)
    pool = build_pool(DEFAULT_VARIANTS, m, np.ones(m, bool))
    y, proba, _ = draw(world, 1, m * n, rng, "log_loss", n_candidates=pool.size)
    evidence = Evidence("error", y, proba.argmax(axis=2), np.repeat(np.arange(m), n), m)
    if losses is not None:
        evidence = evidence._replace(losses=row_losses(losses, y, proba))
    return evidence._replace(folds=rng.permutation(m * n) % 5), pool


def _any_routed(world, m, n, n_worlds, gate_loss="auto", **params):
    """In how many worlds some group leaves the generic model."""
    kind = gate_kind("evidence", gate_loss, "error", LogisticRegression())
    count = 0
    for seed in range(n_worlds):
        evidence, pool = _null_world(world, m, n, seed, losses=kind)
        risks = risk_matrix(evidence)
        routes, *_ = route("evidence", evidence, risks, pool, GATE, min_gain=0.01,
                          **params)  # fmt: skip
        count += (routes != 0).any()
    return count


GATE = TestOptions("mcnemar", 0.1, "holm", 200, 0)
N_WORLDS = 150


def test_gate_keeps_any_group_leaving_generic_below_alpha_at_the_null():
    """Check that with 8 groups whose candidates all equal generic in truth,
    the chance that any group is routed off generic is at most alpha: the
    gate corrects across every group's candidates. Corrected within each
    group only, it routes some group in far more worlds."""
    count = _any_routed("exchangeable", 8, 60, N_WORLDS)
    assert binom.sf(count - 1, N_WORLDS, 0.1) > 0.001, count
    per_group = _any_routed("exchangeable", 8, 60, N_WORLDS, family="group")
    assert per_group > 2 * max(count, 5), (count, per_group)


def test_default_gate_does_not_route_to_worse_error_for_a_lower_log_loss():
    """Check that where the personalized candidates lower the log loss but
    raise the error, the default gate (a test of the error itself) keeps
    every group generic in all but at most alpha of the worlds, where a gate
    on the log loss routes groups to the worse error in most of them."""
    count = _any_routed("calibration", 4, 200, N_WORLDS)
    assert binom.sf(count - 1, N_WORLDS, 0.1) > 0.001, count
    on_log_loss = _any_routed("calibration", 4, 200, 40, gate_loss="log_loss")
    assert on_log_loss > 0.5 * 40, on_log_loss


def test_routes_by_fold_are_chosen_without_the_fold_and_stitched_by_row():
    """Check that each fold's routes are those chosen on the other folds'
    rows alone, and the routed candidate predicts each row with the
    candidate of its own fold's routes."""
    evidence, pool = _null_world("exchangeable", 4, 80, 3)
    evidence = evidence._replace(predictions=evidence.predictions.copy())
    # Group 1's one-hot candidate fixes most of the generic model's errors.
    rows = np.flatnonzero(evidence.group_ids == 1)
    evidence.predictions[own_candidates(pool)[1, 0], rows] = evidence.y[rows]
    fold_routes = routes_by_fold("best", evidence, pool, GATE, min_gain=0.0)
    assert fold_routes.shape == (5, 4)
    for k in range(5):
        kept = evidence._replace(
            group_ids=np.where(evidence.folds == k, -1, evidence.group_ids)
        )
        assert_array_equal(fold_routes[k], best_routes(risk_matrix(kept), pool))
    graded, extended, routed = with_selected(evidence, pool, fold_routes)
    varying = np.flatnonzero((fold_routes != fold_routes[0]).any(axis=0))
    assert_array_equal(extended.groups[pool.size :], varying)
    assert (extended.variants[pool.size :] == "routed").all()
    for g in range(4):
        chosen = fold_routes[evidence.folds, g]
        mine = np.flatnonzero(evidence.group_ids == g)
        assert_array_equal(
            graded.predictions[routed[g], mine],
            evidence.predictions[chosen[mine], mine],
        )
    assert routed[1] == own_candidates(pool)[1, 0]  # alike in every fold


@pytest.mark.parametrize("metric", ["error", "log_loss", "brier"])
def test_risks_without_each_fold_equal_one_risk_matrix_per_fold(metric):
    """Check the one-pass risk matrices without each fold against
    risk_matrix of the evidence with that fold's rows removed, with rows of
    no group, rows of no fold and a group absent outside one fold."""
    rng = np.random.default_rng(0)
    n, n_groups, n_folds = 600, 5, 4
    y = rng.integers(2, size=n)
    proba = rng.dirichlet([1, 1], size=(3, n))
    predictions = proba.argmax(axis=2) if metric == "error" else proba
    group_ids = rng.integers(-1, n_groups - 1, size=n)
    folds = rng.integers(-1, n_folds, size=n)
    group_ids[:7], folds[:7] = n_groups - 1, 2  # the last group: fold 2 only
    evidence = Evidence(metric, y, predictions, group_ids, n_groups, folds=folds)
    found = _routing._risks_without_each_fold(evidence, n_folds)
    for k in range(n_folds):
        held_out = evidence._replace(group_ids=np.where(folds == k, -1, group_ids))
        assert_allclose(found[k], risk_matrix(held_out), rtol=1e-12, atol=1e-15)
    assert np.isnan(found[2][-1]).all() and not np.isnan(found[1][-1]).any()
    assert _routing._risks_without_each_fold(evidence._replace(metric="auc"), 4) is None
