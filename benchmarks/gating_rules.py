"""Gating rules of evidence routing, side by side on the same cross-fitted evidence.

For each bundled dataset and each stratified 80/20 split (the splits of
``paper_table.py``), ``FairUseClassifier`` is fitted once on the 80%; its
out-of-fold evidence (predicted labels and per-row log losses of every
candidate) and every candidate's predictions on the 20% are kept. Each gating
rule then picks routes from the same evidence, and the routes are scored on
the test split:

- ``harm ratio``: groups per split whose test error is above the generic
  model's, summed over the datasets, divided by the same sum for 1Hot (the
  goal of issue 4 is at most 0.25);
- the test error of each dataset minus the best of generic, 1Hot, All and
  DCP (goal at most +1 point).

Rules (every group tests only its own candidates: one-hot, intersectional,
decoupled; among the allowed ones it takes the lowest risk):

- ``mcnemar holm``: exact McNemar tests at 0.1, Holm across the group's
  candidates (the default until gate_loss and min_gain);
- ``mcnemar holm, all groups, min gain 0.01``: the same with Holm across every
  group's candidates and an error gain of at least a point, the gate of
  today's default (``gate_family="all"``, which the valid-routing simulations
  of ``validity.py`` require);
- ``mcnemar none``: the same without the correction;
- ``mcnemar mid-p holm``: the mid-p McNemar test;
- ``mcnemar sequence``: fixed-sequence testing at 0.1, the variants ordered by
  their pooled gain on the other groups' rows;
- ``shrinkage``: each group's error gain shrunk toward the variant's mean gain
  over groups (random-effects, DerSimonian-Laird), routed when the shrunk gain
  is significant at 0.1;
- ``pooled variant``: a variant significantly better over all rows (Holm across
  variants) is allowed for every group whose own gain is not negative;
- ``pooled variant, harm margin d``: the pooled test first; a variant that
  passes it is adopted for each group whose own evidence shows a loss below
  ``d`` (one-sided z-tests of non-inferiority, Holm across groups and
  variants): a fixed sequence, so that adopting a variant for a group it
  harms by more than ``d`` has probability at most 0.1;
- ``bootstrap max-t``: Romano-Wolf step-down over the group's candidates with a
  studentized bootstrap of the error gains, at 0.1;
- ``log loss holm``: one-sided bootstrap-t tests of the per-row log loss (the
  library's loss test) at 0.1, Holm
  across the group's candidates, with no worse error on the evidence;
- ``log loss holm, min gain d``: the same, and the error gain on the evidence
  at least ``d`` (``d = 0.01`` is the library's default);
- ``log-loss gate with envy repair``: the routes of the earlier default
  (``gate_loss="log_loss", gate_family="group"``), which add to the previous
  rule the move of a group to another group's route when that is
  significantly better for it.

Run from the repository root (the logistic regression takes about 4 minutes
for 100 splits)::

    .venv/bin/python benchmarks/gating_rules.py --splits 100
    .venv/bin/python benchmarks/gating_rules.py --model forest --splits 20 \\
        --datasets heart whas500 aids
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from paper_table import _markdown_table
from scipy.stats import binom, norm
from sklearn.model_selection import StratifiedShuffleSplit

from fairuse_estimators._estimators import make_estimator
from fairuse_estimators._evidence import fit_evidence, score_pool
from fairuse_estimators._groups import encode_groups, split_columns
from fairuse_estimators._metrics import risk_matrix
from fairuse_estimators._pool import own_candidates
from fairuse_estimators._routing import route
from fairuse_estimators._stats import (
    adjust_pvalues,
    check_test_options,
    loss_tests,
)
from fairuse_estimators._variants import encode_labels, variant_blocks
from fairuse_estimators.datasets import list_datasets, load_dataset

ALPHA = 0.1


def fit_world(base, X, y, groups, seed, ensemble=False):
    """The stages of a fit with the earlier log-loss gate, their evidence kept.

    The same stages ``FairUseClassifier.fit`` runs, called one by one so that
    the out-of-fold evidence every rule routes from stays at hand.
    """
    classes = np.unique(y)
    codes = encode_labels(y, classes)
    positions = [list(X.columns).index(g) for g in groups]
    features, columns = split_columns(X, positions)
    encoding, group_ids = encode_groups(columns, groups)
    settings = {
        "cv": 5,
        "variants": ("generic", "onehot", "intersectional", "decoupled"),
        "metric": "error",
        "gate": "log_loss",
        "min_group_size": 20,
        "classes": classes,
        "blocks": variant_blocks(encoding, group_ids),
        "params": {},
        "random_state": seed,
        "ensemble": ensemble,
    }
    fitted = fit_evidence(
        base, features, codes, group_ids, encoding.n_groups, settings=settings
    )
    risks = risk_matrix(fitted.evidence)
    options = check_test_options("error", random_state=seed)
    routes, *_ = route(
        "evidence",
        fitted.evidence,
        risks,
        fitted.pool,
        options,
        min_gain=0.01,
        family="group",
    )
    return fitted, risks, routes, encoding, classes, positions


def collect(name, model, n_splits, ensemble=False):
    """Evidence and test predictions of every split of one dataset."""
    bunch = load_dataset(name)
    X, y, groups = bunch.data, np.asarray(bunch.target), list(bunch.group_columns)
    key = (
        X[groups].astype(str).agg("|".join, axis=1)
        + "|"
        + pd.Series(y, index=X.index).astype(str)
    )
    splitter = StratifiedShuffleSplit(n_splits, test_size=0.2, random_state=0)
    worlds = []
    for split, (train, test) in enumerate(splitter.split(X, key)):
        base = make_estimator(model, split)
        fitted, risks, routes, encoding, classes, positions = fit_world(
            base, X.iloc[train], y[train], groups, split, ensemble
        )
        evidence = fitted.evidence
        features, columns = split_columns(X.iloc[test], positions)
        test_ids, _ = encoding.transform(columns, groups)
        test_codes = encode_labels(y[test], classes)
        test = score_pool(
            fitted.estimators, encoding, fitted.pool, features, test_codes,
            test_ids, "error", len(classes),
        )  # fmt: skip
        worlds.append(
            {
                "risks": risks,
                "wrong": evidence.predictions != evidence.y,
                "losses": evidence.losses,
                "group_ids": evidence.group_ids,
                "own": own_candidates(fitted.pool),
                "test_wrong": test.predictions != test_codes,
                "test_ids": test_ids,
                "routes": routes,
            }
        )
    return worlds


# ------------------------------------------------------------------- rules


def _own(world, g):
    own, risks = world["own"][g], world["risks"][g]
    return [int(k) for k in own if k > 0 and np.isfinite(risks[k])]


def _mcnemar_p(wrong_a, wrong_b, mid=False):
    b = int(np.sum(wrong_a & ~wrong_b))
    c = int(np.sum(~wrong_a & wrong_b))
    if b + c == 0:
        return 1.0
    if mid:
        return binom.sf(b, b + c, 0.5) + 0.5 * binom.pmf(b, b + c, 0.5)
    return binom.sf(b - 1, b + c, 0.5)


def _pick(world, allowed):
    """Lowest-risk allowed candidate per group; ties go to the generic model."""
    risks = world["risks"]
    routes = np.zeros(len(risks), dtype=int)
    for g, candidates in enumerate(allowed):
        best = risks[g, 0]
        for k in sorted(candidates):
            if risks[g, k] < best - 1e-12:
                routes[g], best = k, risks[g, k]
    return routes


def _tested(world, p_values, correction="holm", min_gain=None, family="group"):
    if family == "all":  # one correction over every group's candidates
        sizes = [len(p) for p in p_values]
        flat = np.concatenate([np.asarray(p, float) for p in p_values])
        flat = adjust_pvalues(flat, correction) if flat.size else flat
        p_values = np.split(flat, np.cumsum(sizes)[:-1])
        correction = "none"
    allowed = []
    for g, p in enumerate(p_values):
        ks = _own(world, g)
        p = adjust_pvalues(np.asarray(p, float), correction) if ks else []
        chosen = [k for k, q in zip(ks, p) if q <= ALPHA]
        if min_gain is not None:
            risks = world["risks"][g]
            chosen = [k for k in chosen if risks[0] - risks[k] >= min_gain - 1e-12]
        allowed.append(chosen)
    return _pick(world, allowed)


def rule_mcnemar(world, correction="holm", mid=False, min_gain=None, family="group"):
    wrong, ids = world["wrong"], world["group_ids"]
    p = [
        [
            _mcnemar_p(wrong[0, ids == g], wrong[k, ids == g], mid)
            for k in _own(world, g)
        ]
        for g in range(len(world["risks"]))
    ]
    return _tested(world, p, correction, min_gain=min_gain, family=family)


def rule_sequence(world):
    wrong, ids, own = world["wrong"], world["group_ids"], world["own"]
    rows = np.arange(len(ids))
    allowed = []
    for g in range(len(world["risks"])):
        other = (ids >= 0) & (ids != g)
        pooled = []
        for j in range(own.shape[1]):
            candidate = np.maximum(own[np.maximum(ids, 0), j], 0)
            pooled.append(wrong[0, other].sum() - wrong[candidate, rows][other].sum())
        chosen = []
        for j in np.argsort(-np.asarray(pooled), kind="stable"):
            k = own[g, j]
            if k <= 0 or not np.isfinite(world["risks"][g, k]):
                continue
            if _mcnemar_p(wrong[0, ids == g], wrong[k, ids == g]) > ALPHA:
                break
            chosen.append(int(k))
        allowed.append(chosen)
    return _pick(world, allowed)


def _gain_and_variance(world, g, k):
    rows = world["group_ids"] == g
    d = world["wrong"][0, rows].astype(float) - world["wrong"][k, rows]
    n = len(d)
    return d.mean(), max(d.var(ddof=1) / n if n > 1 else 0.0, 0.25 / n**2)


def rule_shrinkage(world):
    own, m = world["own"], len(world["risks"])
    allowed = [[] for _ in range(m)]
    for j in range(own.shape[1]):
        groups = [g for g in range(m) if own[g, j] in _own(world, g)]
        if len(groups) < 2:
            continue
        stats = np.array([_gain_and_variance(world, g, own[g, j]) for g in groups])
        d, v = stats[:, 0], stats[:, 1]
        w = 1 / v
        mu = np.sum(w * d) / w.sum()
        q = np.sum(w * (d - mu) ** 2)
        tau2 = max(0.0, (q - (len(d) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
        shrink = tau2 / (tau2 + v)
        mean = mu + shrink * (d - mu)
        variance = shrink * v + (1 - shrink) ** 2 / w.sum()
        for g, z in zip(groups, mean / np.sqrt(variance)):
            if z > norm.ppf(1 - ALPHA):
                allowed[g].append(int(own[g, j]))
    return _pick(world, allowed)


def _pooled_pvalues(world):
    """Holm-adjusted exact McNemar p-values of each variant's gain over the
    generic model on all grouped rows, each row scored by its own group's
    candidate of the variant."""
    wrong, ids, own = world["wrong"], world["group_ids"], world["own"]
    rows = np.flatnonzero(ids >= 0)
    p = []
    for j in range(own.shape[1]):
        candidate = np.maximum(own[ids[rows], j], 0)
        p.append(_mcnemar_p(wrong[0, rows], wrong[candidate, rows]))
    return adjust_pvalues(np.asarray(p), "holm")


def rule_pooled(world):
    own = world["own"]
    p = _pooled_pvalues(world)
    allowed = []
    for g in range(len(world["risks"])):
        risks = world["risks"][g]
        allowed.append(
            [
                int(own[g, j])
                for j in range(own.shape[1])
                if p[j] <= ALPHA
                and own[g, j] in _own(world, g)
                and risks[own[g, j]] <= risks[0]
            ]
        )
    return _pick(world, allowed)


def rule_pooled_protected(world, margin):
    """A variant whose gain over all grouped rows is significant (exact
    McNemar, Holm across the variants) is then adopted for each group whose
    own evidence shows it loses less than ``margin`` (a one-sided z-test of
    non-inferiority on the paired differences, Holm across the groups and
    variants that reached this step). Tested in this fixed sequence, the
    chance of adopting a variant for some group it harms by more than
    ``margin`` stays at most alpha."""
    wrong, ids, own = world["wrong"], world["group_ids"], world["own"]
    passed = np.flatnonzero(_pooled_pvalues(world) <= ALPHA)
    cells, p_harm = [], []
    for j in passed:
        for g in range(len(world["risks"])):
            k = own[g, j]
            if k not in _own(world, g):
                continue
            mine = ids == g
            d = wrong[0, mine].astype(float) - wrong[k, mine]
            se = max(np.sqrt(d.var(ddof=1) / len(d)), 0.5 / len(d))
            cells.append((g, int(k)))
            p_harm.append(norm.sf((d.mean() + margin) / se))
    allowed = [[] for _ in range(len(world["risks"]))]
    if cells:
        for (g, k), q in zip(cells, adjust_pvalues(np.asarray(p_harm), "holm")):
            if q <= ALPHA:
                allowed[g].append(k)
    return _pick(world, allowed)


def rule_max_t(world, n_bootstrap=1000):
    rng = np.random.default_rng(0)
    wrong, ids = world["wrong"].astype(float), world["group_ids"]
    allowed = []
    for g in range(len(world["risks"])):
        ks = _own(world, g)
        rows = np.flatnonzero(ids == g)
        if not ks:
            allowed.append([])
            continue
        d = wrong[0, rows][None] - wrong[ks][:, rows]
        gains = d.mean(axis=1)
        counts = rng.multinomial(
            len(rows), np.full(len(rows), 1 / len(rows)), n_bootstrap
        )
        replicates = counts @ d.T / len(rows)
        spread = np.maximum(replicates.std(axis=0), 1e-9)
        centred = (replicates - gains) / spread
        t = gains / spread
        adjusted, running = np.empty(len(ks)), 0.0
        for step, k in enumerate(np.argsort(-t)):
            rest = np.argsort(-t)[step:]
            p = (1 + np.sum(centred[:, rest].max(axis=1) >= t[k])) / (n_bootstrap + 1)
            running = max(running, p)
            adjusted[k] = running
        allowed.append([k for k, p in zip(ks, adjusted) if p <= ALPHA])
    return _pick(world, allowed)


def rule_log_loss(world, min_gain=0.0):
    ids, m = world["group_ids"], len(world["risks"])
    comparisons = np.array([(g, 0, k) for g in range(m) for k in _own(world, g)])
    options = check_test_options("error", random_state=0)
    p_all = loss_tests(world["losses"], ids, comparisons, options)
    p = []
    for g in range(m):
        mine = comparisons[:, 0] == g
        own_p = p_all[mine]
        # Groups below 20 rows fall back to the exact McNemar test.
        wrong = world["wrong"]
        own_p = [
            q if np.isfinite(q) else _mcnemar_p(wrong[0, ids == g], wrong[k, ids == g])
            for q, k in zip(own_p, comparisons[mine, 2])
        ]
        p.append(own_p)
    return _tested(world, p, min_gain=min_gain)


RULES = {
    "log-loss gate with envy repair": lambda w: w["routes"],
    "mcnemar holm": rule_mcnemar,
    "mcnemar holm, all groups, min gain 0.01": lambda w: rule_mcnemar(
        w, min_gain=0.01, family="all"
    ),
    "mcnemar none": lambda w: rule_mcnemar(w, correction="none"),
    "mcnemar mid-p holm": lambda w: rule_mcnemar(w, mid=True),
    "mcnemar sequence": rule_sequence,
    "shrinkage": rule_shrinkage,
    "pooled variant": rule_pooled,
    "pooled variant, harm margin 0.02": lambda w: rule_pooled_protected(w, 0.02),
    "pooled variant, harm margin 0.05": lambda w: rule_pooled_protected(w, 0.05),
    "bootstrap max-t": rule_max_t,
    "log loss holm": rule_log_loss,
    "log loss holm, min gain 0.005": lambda w: rule_log_loss(w, 0.005),
    "log loss holm, min gain 0.01": lambda w: rule_log_loss(w, 0.01),
    "log loss holm, min gain 0.02": lambda w: rule_log_loss(w, 0.02),
}
FIXED = {"generic": None, "1Hot": 0, "All": 1, "DCP": 2}


def score(worlds, routes_of):
    """Mean test error (points) and mean harmed groups per split."""
    errors, harmed = [], []
    for world in worlds:
        routes = routes_of(world)
        ids, test_wrong = world["test_ids"], world["test_wrong"]
        known = ids >= 0
        chosen = test_wrong[routes[ids[known]], np.flatnonzero(known)]
        errors.append(chosen.mean())
        generic = test_wrong[0, known]
        harmed.append(
            sum(
                chosen[ids[known] == g].mean() > generic[ids[known] == g].mean() + 1e-12
                for g in np.unique(ids[known])
            )
        )
    return 100 * np.mean(errors), np.mean(harmed)


def _fixed(column):
    def routes(world):
        if column is None:
            return np.zeros(len(world["risks"]), dtype=int)
        return np.maximum(world["own"][:, column], 0)

    return routes


def compare(data, lo, hi):
    rows = []
    reference = {
        name: {method: score(worlds[lo:hi], _fixed(c)) for method, c in FIXED.items()}
        for name, worlds in data.items()
    }
    onehot_harm = sum(ref["1Hot"][1] for ref in reference.values())
    for rule, routes_of in RULES.items():
        row = {"rule": rule}
        harm = 0.0
        for name, worlds in data.items():
            error, harmed = score(worlds[lo:hi], routes_of)
            best = min(value[0] for value in reference[name].values())
            row[f"{name} gap"] = error - best
            harm += harmed
        row["harm ratio"] = harm / onehot_harm
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("rule")
    gaps = [c for c in frame.columns if c.endswith("gap")]
    frame["largest gap"] = frame[gaps].max(axis=1)
    return frame[["harm ratio", "largest gap", *gaps]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--model", default="logistic")
    parser.add_argument("--datasets", nargs="*", default=list_datasets())
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="score the fold models averaged (ensemble=True) on the test splits",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    start = time.perf_counter()
    data = {
        name: collect(name, args.model, args.splits, args.ensemble)
        for name in args.datasets
    }
    deployed = "fold ensemble" if args.ensemble else "refit"
    print(f"{args.model} ({deployed}), fitted in {time.perf_counter() - start:.0f} s")
    slices = [(0, min(20, args.splits))]
    if args.splits > 20:
        slices.append((0, args.splits))
    for lo, hi in slices:
        print(f"\nsplits {lo + 1} to {hi}")
        print(_markdown_table(compare(data, lo, hi).round(2).reset_index()))


if __name__ == "__main__":
    main()
