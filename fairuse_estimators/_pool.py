"""The candidate pool: every predictor a group can be served by, as arrays.

A *candidate* is a function of the features alone: the generic model, or a
personalized variant with the reported group fixed to some group ``g'``. The
pool lists them as two aligned arrays, the variant of each candidate and its
reported group (``-1`` for the generic model, always candidate 0). A
*personalized model* maps each group to a candidate; the models a report
audits are rows of an assignment matrix ``(n_models, n_groups)``.
"""

from typing import NamedTuple

import numpy as np

VARIANTS = ("generic", "onehot", "intersectional", "decoupled", "partially_pooled")
#: The variants the estimators fit unless told otherwise.
DEFAULT_VARIANTS = VARIANTS[:4]
#: The personalized variants, in the order a group prefers them on ties.
PERSONALIZED = VARIANTS[1:]
#: Variants whose fitted model takes an indicator block after the features.
BLOCK_VARIANTS = ("onehot", "intersectional")
#: Variants with one model per group, on the features alone.
GROUP_VARIANTS = ("decoupled", "partially_pooled")


class Pool(NamedTuple):
    """Variant and reported group of every candidate (transient, never stored).

    Attributes
    ----------
    variants : ndarray of str of shape (n_candidates,)
    groups : ndarray of int of shape (n_candidates,)
        Reported group of each candidate; ``-1`` for the generic model.
    n_groups : int
    """

    variants: np.ndarray
    groups: np.ndarray
    n_groups: int

    @property
    def size(self):
        return len(self.variants)


def check_variants(variants):
    """Refuse a ``variants`` parameter that is not a subset with generic."""
    given = tuple(variants)
    unknown = sorted(set(given) - set(VARIANTS))
    if unknown or not given:
        raise ValueError(
            f"variants must be a non-empty subset of {VARIANTS}; got {variants!r}."
        )
    if "generic" not in given:
        raise ValueError(
            "variants must include 'generic': it is the baseline every group is "
            "compared with and the model for withheld or unseen groups."
        )
    if len(set(given)) != len(given):
        raise ValueError(f"variants lists a variant twice: {variants!r}.")


def build_pool(variants, n_groups, eligible):
    """The pool: generic, then each personalized variant for each group.

    Parameters
    ----------
    variants : sequence of str
        Fitted variants; ``"generic"`` among them.
    n_groups : int
    eligible : ndarray of bool of shape (n_groups,) or dict
        Groups that have a model of their own, for every variant of
        :data:`GROUP_VARIANTS`, or a mask per such variant.

    Returns
    -------
    pool : Pool
    """
    names, groups = ["generic"], [-1]
    for variant in PERSONALIZED:
        if variant not in variants:
            continue
        has = eligible.get(variant) if isinstance(eligible, dict) else eligible
        for g in range(n_groups):
            if variant not in GROUP_VARIANTS or has[g]:
                names.append(variant)
                groups.append(g)
    return Pool(np.asarray(names), np.asarray(groups, dtype=np.intp), n_groups)


def find_candidate(pool, variant, group):
    """Index of candidate ``(variant, group)``, or ``-1`` if absent.

    The generic model is candidate 0 whatever ``group`` is.
    """
    if variant == "generic":
        return 0
    hits = np.flatnonzero((pool.variants == variant) & (pool.groups == group))
    return int(hits[0]) if len(hits) else -1


def own_candidates(pool):
    """Each group's own candidate of each personalized variant, ``(m, 3)``.

    ``-1`` where the group has no candidate of that variant.
    """
    own = np.full((pool.n_groups, len(PERSONALIZED)), -1, np.intp)
    for j, variant in enumerate(PERSONALIZED):
        mask = pool.variants == variant
        own[pool.groups[mask], j] = np.flatnonzero(mask)
    return own


def own_mask(pool):
    """Boolean ``(m, C)``: whether candidate ``c`` is one of group ``g``'s own
    personalized candidates."""
    mask = np.zeros((pool.n_groups, pool.size), dtype=bool)
    rows = np.arange(pool.n_groups)[:, None]
    own = own_candidates(pool)
    mask[rows, np.maximum(own, 0)] = own >= 0
    return mask


def preference(pool, own):
    """Candidates from simplest to most complex for a group with ``own`` ones:
    the generic model, the group's own candidates, then every other."""
    own = own[own > 0]
    rest = np.setdiff1d(np.arange(1, pool.size), own)
    return np.concatenate([[0], own, rest])


def serving(pool, variant, group):
    """Candidates a fitted model of ``variant`` serves, in group order: every
    candidate of a block variant, the group's own for a model of one group."""
    if variant in BLOCK_VARIANTS:
        return np.flatnonzero(pool.variants == variant)
    if variant in GROUP_VARIANTS:
        return np.flatnonzero((pool.variants == variant) & (pool.groups == group))
    return np.array([0])


def audited_models(pool, routes, variants):
    """Names of the audited models and each group's candidate under each.

    The routed model first, then each fitted personalized variant as a model
    of its own (``-1`` for a group without a candidate of that variant).
    """
    own = own_candidates(pool)
    fitted = [j for j, v in enumerate(PERSONALIZED) if v in variants]
    names = ["routed"] + [PERSONALIZED[j] for j in fitted]
    return names, np.vstack([routes, own[:, fitted].T])
