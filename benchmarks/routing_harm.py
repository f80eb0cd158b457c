"""How many groups does each way of using group attributes harm on test data?

Protocol: R stratified 80/20 splits of each dataset; a scaled logistic
regression as the base; for each split, count the groups whose test error under
a method is strictly above their test error under the generic model (fitted on
the same 80%). Methods: one-hot logistic regression (1Hot);
FairUseClassifier(routing="best") with its risks estimated on a 60/20 holdout
(``cv=0.25`` of the training split) or by 5-fold cross-fitting (``cv=5``);
FairUseClassifier with evidence routing gated by exact McNemar tests of the
error at 0.1 with Holm across each group's own candidates
(``gate_loss="metric", gate_family="group", min_gain=0``); the earlier
default, paired t-tests of the log loss with Holm across each group's own
candidates and at least one point of error gain
(``gate_loss="log_loss", gate_family="group"``); and FairUseClassifier with
its defaults (``routing="evidence"``: exact McNemar tests of the error at 0.1,
Holm across every group's candidates, and at least one point of error gain).

Run from the repository root::

    .venv/bin/python benchmarks/routing_harm.py --splits 20
"""

import argparse
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairuse_estimators import FairUseClassifier
from fairuse_estimators.datasets import load_dataset

DATASETS = {
    "whas500": ["sex", "age_group"],
    "heart": ["sex", "age_group"],
    "flchain": ["sex", "age_group"],
    "aids": ["sex", "race"],
}


def _base():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))


def _methods(groups, seed):
    onehot = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), groups),
            remainder=StandardScaler(),
        ),
        LogisticRegression(max_iter=2000),
    )
    return {
        "1Hot": onehot,
        "best, 60/20 holdout": FairUseClassifier(
            _base(), group_columns=groups, cv=0.25, routing="best", random_state=seed
        ),
        "best, 5-fold": FairUseClassifier(
            _base(), group_columns=groups, cv=5, routing="best", random_state=seed
        ),
        "evidence, McNemar gate per group": FairUseClassifier(
            _base(),
            group_columns=groups,
            gate_loss="metric",
            gate_family="group",
            min_gain=0.0,
            random_state=seed,
        ),
        "evidence, log-loss gate per group": FairUseClassifier(
            _base(),
            group_columns=groups,
            gate_loss="log_loss",
            gate_family="group",
            random_state=seed,
        ),
        "evidence, defaults": FairUseClassifier(
            _base(), group_columns=groups, random_state=seed
        ),
    }


def _harmed(pred, generic_pred, y, group_key):
    """Number of groups whose error under ``pred`` exceeds the generic one."""
    wrong, generic_wrong = pred != y, generic_pred != y
    return sum(
        wrong[group_key == g].mean() > generic_wrong[group_key == g].mean()
        for g in np.unique(group_key)
    )


def run(name, groups, n_splits):
    X, y = load_dataset(name, return_X_y=True)
    key = X[groups].astype(str).agg(" & ".join, axis=1).to_numpy()
    splitter = StratifiedShuffleSplit(n_splits, test_size=0.2, random_state=0)
    rows = []
    for seed, (train, test) in enumerate(splitter.split(X, key + y.astype(str))):
        X_train, X_test = X.iloc[train], X.iloc[test]
        generic = _base().fit(X_train.drop(columns=groups), y[train])
        generic_pred = generic.predict(X_test.drop(columns=groups))
        rows.append(("generic", 0, (generic_pred != y[test]).mean()))
        for method, model in _methods(groups, seed).items():
            pred = model.fit(X_train, y[train]).predict(X_test)
            harmed = _harmed(pred, generic_pred, y[test], key[test])
            rows.append((method, harmed, (pred != y[test]).mean()))
    result = pd.DataFrame(rows, columns=["method", "harmed groups", "test error"])
    return result.groupby("method", sort=False).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in args.datasets:
        table = run(name, DATASETS[name], args.splits)
        table["test error"] *= 100
        print(f"\n{name} ({args.splits} splits; harmed groups per split, error %)")
        print(table.round(2).to_string())


if __name__ == "__main__":
    main()
