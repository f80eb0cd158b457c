"""The candidate pool as arrays: building it and reading each group's candidates."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fairuse_estimators._pool import (
    audited_models,
    build_pool,
    check_variants,
    find_candidate,
    own_candidates,
    own_mask,
    preference,
    serving,
)


@pytest.fixture
def pool():
    """Three groups; group 1 has no decoupled model."""
    return build_pool(
        ("generic", "onehot", "intersectional", "decoupled"),
        3,
        np.array([True, False, True]),
    )


def test_pool_lists_generic_then_each_variant_per_group(pool):
    """Check the order of the pool: generic, then variant by variant."""
    assert pool.variants.tolist() == (
        ["generic"] + ["onehot"] * 3 + ["intersectional"] * 3 + ["decoupled"] * 2
    )
    assert_array_equal(pool.groups, [-1, 0, 1, 2, 0, 1, 2, 0, 2])
    assert (pool.size, pool.n_groups) == (9, 3)
    assert build_pool(("generic",), 3, np.ones(3, bool)).size == 1


def test_pool_lookups(pool):
    """Check each group's own candidates, the mask, lookups and serving."""
    # One column per personalized variant; the pool has no partially pooled.
    assert_array_equal(
        own_candidates(pool), [[1, 4, 7, -1], [2, 5, -1, -1], [3, 6, 8, -1]]
    )
    mask = own_mask(pool)
    assert mask.sum(axis=1).tolist() == [3, 2, 3]
    assert not mask[:, 0].any() and mask[1, 5] and not mask[1, 8]
    assert find_candidate(pool, "intersectional", 2) == 6
    assert find_candidate(pool, "decoupled", 1) == -1
    assert find_candidate(pool, "generic", 2) == 0
    assert_array_equal(serving(pool, "onehot", None), [1, 2, 3])
    assert_array_equal(serving(pool, "decoupled", 2), [8])
    assert_array_equal(serving(pool, "generic", None), [0])


def test_pool_with_a_mask_per_variant_of_one_model_per_group():
    """Check that decoupled and partially pooled candidates follow their own
    eligibility masks and that each such model serves its group alone."""
    pool = build_pool(
        ("generic", "decoupled", "partially_pooled"),
        3,
        {"decoupled": np.array([True, False, False]),
         "partially_pooled": np.array([True, True, False])},
    )  # fmt: skip
    assert pool.variants.tolist() == ["generic", "decoupled"] + ["partially_pooled"] * 2
    assert_array_equal(pool.groups, [-1, 0, 0, 1])
    assert_array_equal(serving(pool, "partially_pooled", 1), [3])
    assert find_candidate(pool, "partially_pooled", 2) == -1


def test_pool_preference_is_generic_own_then_others(pool):
    """Check the tie-breaking order of a group's candidates."""
    assert preference(pool, own_candidates(pool)[1]).tolist() == [
        0, 2, 5, 1, 3, 4, 6, 7, 8,
    ]  # fmt: skip


def test_pool_audited_models(pool):
    """Check the routed model first, then each fitted variant as a model."""
    names, assignments = audited_models(
        pool, np.array([0, 5, 8]), ("generic", "onehot", "decoupled")
    )
    assert names == ["routed", "onehot", "decoupled"]
    assert_array_equal(assignments, [[0, 5, 8], [1, 2, 3], [7, -1, 8]])


@pytest.mark.parametrize(
    ("variants", "match"),
    [
        (("generic", "stacked"), "non-empty subset"),
        ((), "non-empty subset"),
        (("onehot",), "must include 'generic'"),
        (("generic", "onehot", "onehot"), "lists a variant twice"),
    ],
)
def test_pool_check_variants(variants, match):
    """Check that a bad variants parameter is refused by name."""
    with pytest.raises(ValueError, match=match):
        check_variants(variants)
