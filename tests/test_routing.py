"""Routing on hand-written risk matrices and hand-built evidence."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fairuse_estimators._metrics import Evidence, risk_matrix
from fairuse_estimators._pool import build_pool
from fairuse_estimators._routing import (
    best_routes,
    gate_kind,
    gated_routes,
    route,
    routing_notes,
)
from fairuse_estimators._stats import TestOptions

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
    routes, below = gated_routes(
        evidence, risk_matrix(evidence), pool, OPTIONS, min_gain=0.01
    )
    assert_array_equal(routes, [1, 0])
    assert not below.any()


def test_gated_routes_keep_gains_below_min_gain_generic(pool):
    """Check that a significant gain smaller than min_gain keeps the group on
    the generic model, and says so."""
    evidence = _world(n=2000, own_gain=(100, 0))  # +0.05, p far below 0.1
    risks = risk_matrix(evidence)
    routes, below = gated_routes(evidence, risks, pool, OPTIONS, min_gain=0.1)
    assert_array_equal(routes, [0, 0])
    assert_array_equal(below, [True, False])
    notes = routing_notes(risks, np.array([2000, 2000]), ["", ""], below, "error", 0.1)
    assert notes == ["kept generic: significant gains below min_gain=0.1", ""]


def test_gated_routes_repair_envy(pool):
    """Check that a group significantly better served by another group's route
    takes it, although its own candidate brought no gain."""
    evidence = _world(own_gain=(60, 0), cross_gain=(0, 50))
    routes, _ = gated_routes(
        evidence, risk_matrix(evidence), pool, OPTIONS, min_gain=0.01
    )
    assert_array_equal(routes, [1, 1])


def test_route_dispatches_and_gate_kind():
    """Check that "best" ignores the tests and the gate's loss is chosen by
    metric and base."""
    pool = build_pool(("generic", "onehot"), 2, np.zeros(2, bool))
    evidence = _world(own_gain=(2, 0))
    risks = risk_matrix(evidence)
    best, below = route("best", evidence, risks, pool, OPTIONS, min_gain=0.5)
    assert_array_equal(best, best_routes(risks, pool))
    assert best[0] == 1 and not below.any()
    assert route("evidence", evidence, risks, pool, OPTIONS, min_gain=0.0)[0][0] == 0

    class Labels:
        def predict(self, X):
            return X

    class Probabilities(Labels):
        def predict_proba(self, X):
            return X

    assert gate_kind("evidence", "auto", "error", Probabilities()) == "log_loss"
    assert gate_kind("evidence", "auto", "error", Labels()) is None
    assert gate_kind("evidence", "auto", "auc", Probabilities()) is None
    assert gate_kind("evidence", "brier", "auc", Probabilities()) == "brier"
    assert gate_kind("best", "log_loss", "error", Probabilities()) is None
