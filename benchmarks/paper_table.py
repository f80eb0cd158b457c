"""The paper's Table 1 on the bundled datasets, with FairUseClassifier beside it.

Protocol (as in the paper's section 4 and appendix G): for each dataset, R
stratified 80/20 splits (stratified by group and label); for each model class
and metric, ``FairUseClassifier`` is fitted on the 80% and audited on the 20%
with :meth:`FairUseClassifier.audit`. Its fitted variants are the standard
personalized models, so one fit gives every method:

- ``generic``: the base on the features alone (the reference of every gain);
- ``1Hot``: the base on the features and a one-hot encoding of each group
  column;
- ``All``: the base on the features and a one-hot encoding of the
  intersectional group;
- ``DCP``: one base model per group (groups below ``min_group_size`` rows or
  lacking a class in a fold get the generic model);
- ``PP`` (with ``--pooled``): one base model per group fitted on every row,
  the group's own rows carrying half of the weight (the ``partially_pooled``
  variant, which ``FairUse`` then also routes to; model rows "..., pooled");
- ``FairUse``: the routed classifier with its defaults (``routing="evidence"``);
- ``FairUse (best)``: the routed classifier with ``routing="best"``.

Every row of the table averages over the test splits: the personalized risk,
the overall gain over generic, the best and worst group gain, the numbers of
groups with a significant rationality or envy-freeness gain or violation (the
library's tests at alpha = 0.1 with Holm's correction: exact McNemar for
error, DeLong for AUC, a bootstrap for ECE), and ``harmed``, the number of
groups whose test risk is above the generic model's. Risks are in percent
points for error and ECE and in AUC points (1 - AUC) for AUC.

Model classes (appendix G, and the common choice for tabular data): logistic
regression (scaled), a random forest (100 trees, max depth 20, min samples per
split 5, per leaf 2), histogram gradient boosting (scikit-learn's defaults)
and a small neural net (``MLPClassifier((5, 2))``, Platt-scaled by
``CalibratedClassifierCV``): the estimators of
``fairuse_estimators._estimators.make_estimator``.

With ``--task regression`` the same protocol runs ``FairUseRegressor`` on
the bundled regression datasets (splits stratified by group alone), with
ridge regression (``linear``), the random forest and gradient boosting as
regressors, and the squared error (risks in the target's squared units; the
accuracy goal is relative: within 2% of the best standard method).

Run from the repository root; the Markdown table goes into the section of
``docs/benchmarks.md`` between ``<!-- table1:start -->`` and
``<!-- table1:end -->`` (``table1-regression`` for regression) and the raw
numbers per split into ``benchmarks/results/``::

    .venv/bin/python benchmarks/paper_table.py --splits 20 --models logistic
    .venv/bin/python benchmarks/paper_table.py --task regression --splits 20
"""

import argparse
import datetime
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from _page import write_section
from sklearn.model_selection import StratifiedShuffleSplit

from fairuse_estimators import FairUseClassifier, FairUseRegressor, __version__
from fairuse_estimators._estimators import ESTIMATORS, REGRESSORS, make_estimator
from fairuse_estimators._metrics import METRICS, REGRESSION_METRICS
from fairuse_estimators._pool import DEFAULT_VARIANTS, VARIANTS
from fairuse_estimators.datasets import list_datasets, load_dataset

ROOT = Path(__file__).resolve().parents[1]
METHODS = {
    "generic": None,
    "1Hot": "onehot",
    "All": "intersectional",
    "DCP": "decoupled",
    "PP": "partially_pooled",
    "FairUse": "routed",
}
STANDARD = ("generic", "1Hot", "All", "DCP")
#: What differs between the tasks: the estimator, the base's task, whether
#: splits stratify by label, the scale risks are shown on (points, or the
#: target's own units) and the accuracy goal (absolute points or relative).
TASKS = {
    "classification": dict(
        estimator=FairUseClassifier, base="classifier", by_label=True, scale=100,
        models=["logistic", "forest", "boosting", "mlp"],
        metrics=["error", "auc", "ece"], section="table1",
    ),
    "regression": dict(
        estimator=FairUseRegressor, base="regressor", by_label=False, scale=1,
        models=["linear", "forest", "boosting"], metrics=["squared_error"],
        section="table1-regression",
    ),
}  # fmt: skip
COUNTS = [
    "rationality_gains",
    "rationality_violations",
    "envy_gains",
    "envy_violations",
    "harmed_groups",
]


def audit_rows(clf, X_test, y_test, metric, seed, best):
    """Table rows of every method from one fitted classifier."""
    report = clf.audit(X_test, y_test, n_bootstrap=200, random_state=seed)
    summary = report.summary_table()
    rows = [{"method": "generic", "risk": summary["risk_generic"].iloc[0]}]
    for method, model in METHODS.items():
        if model is not None and model in summary.index:
            rows.append({"method": method, **summary.loc[model].to_dict()})
    if best:
        rows[-1]["method"] = "FairUse (best)"
        rows = rows[-1:]
    return rows


def run_split(name, model, metric, split, train, test, X, y, groups, args):
    rows = []
    for best in (False, True) if args.best else (False,):
        task = TASKS[args.task]
        clf = task["estimator"](
            make_estimator(model, split, task=task["base"]),
            group_columns=groups,
            metric=metric,
            routing="best" if best else "evidence",
            ensemble=args.ensemble,
            variants=VARIANTS if args.pooled else DEFAULT_VARIANTS,
            n_bootstrap=200,
            n_jobs=args.n_jobs,
            random_state=split,
        ).fit(X.iloc[train], y[train])
        found = audit_rows(clf, X.iloc[test], y[test], metric, split, best)
        rows += found if not best else found[-1:]
    label = f"{model}, fold ensemble" if args.ensemble else model
    label += ", pooled" if args.pooled else ""
    for row in rows:
        row.update(dataset=name, model=label, metric=metric, split=split)
    return rows


def run(args):
    rows = []
    for name in args.datasets:
        bunch = load_dataset(name)
        X, y, groups = bunch.data, np.asarray(bunch.target), list(bunch.group_columns)
        key = X[groups].astype(str).agg("|".join, axis=1)
        if TASKS[args.task]["by_label"]:
            key = key + "|" + pd.Series(y).astype(str).set_axis(X.index)
        splitter = StratifiedShuffleSplit(args.splits, test_size=0.2, random_state=0)
        for model in args.models:
            start = time.perf_counter()
            for split, (train, test) in enumerate(splitter.split(X, key)):
                if not args.split_range[0] <= split < args.split_range[1]:
                    continue
                for metric in args.metrics:
                    rows += run_split(
                        name, model, metric, split, train, test, X, y, groups, args
                    )
            print(f"{name} {model}: {time.perf_counter() - start:.0f} s", flush=True)
    return pd.DataFrame(rows)


def table(raw, scale=100):
    """Means over splits, one row per (dataset, model, method, metric), risks
    times ``scale``."""
    points = raw.copy()
    for column in ("risk", "gain", "best_group_gain", "worst_group_gain"):
        points[column] = scale * points[column]
    keys = ["dataset", "model", "metric", "method"]
    order = {m: i for i, m in enumerate([*METHODS, "FairUse (best)"])}
    means = points.groupby(keys, sort=False)[
        ["risk", "gain", "best_group_gain", "worst_group_gain", *COUNTS]
    ].mean()
    means = means.reset_index()
    means["order"] = means["method"].map(order)
    return means.sort_values(["dataset", "model", "metric", "order"]).drop(
        columns="order"
    )


def _best_standard(means, model, metric):
    """Each dataset's lowest risk among generic, 1Hot, All and DCP."""
    rows = means[(means.metric == metric) & (means.model == model)]
    by = rows.set_index(["dataset", "method"])
    return {d: min(by.loc[(d, m), "risk"] for m in STANDARD) for d in rows.dataset}


def _gaps(fair, best, relative):
    """Each dataset's gap of the routed model to the best standard method: in
    points, or relative (in percent) for a regression loss."""
    if relative:
        return ", ".join(f"{d} {100 * (fair[d] / best[d] - 1):+.1f}%" for d in best)
    return ", ".join(f"{d} {fair[d] - best[d]:+.2f}" for d in best) + " points"


def goals(means, raw, relative=False):
    """Where the goals stand, per model class and metric: harm ratio, the gap
    to the best standard method (and, for a fold ensemble, to the best
    refitted one) and the significant violations of the routed model."""
    goal = "within 2%" if relative else "<= +1 point"
    lines = []
    for (model, metric), rows in means.groupby(["model", "metric"], sort=False):
        by = rows.set_index(["dataset", "method"])
        datasets = rows.dataset.unique()
        harmed_fair = sum(by.loc[(d, "FairUse"), "harmed_groups"] for d in datasets)
        harmed_onehot = sum(by.loc[(d, "1Hot"), "harmed_groups"] for d in datasets)
        fair = {d: by.loc[(d, "FairUse"), "risk"] for d in datasets}
        best = _best_standard(means, model, metric)
        mine = raw[(raw.model == model) & (raw.metric == metric)]
        mine = mine[mine.method == "FairUse"]
        violations = int((mine.rationality_violations + mine.envy_violations).sum())
        refit = model.replace(", fold ensemble", "")
        versus = ""
        if refit != model and refit in set(means[means.metric == metric].model):
            # The ensemble's routed model against the refitted standard ones.
            other = _best_standard(means, refit, metric)
            other = {d: other[d] for d in other if d in fair}
            versus = (
                f"; against the best of the refitted {refit} generic/1Hot/All/DCP: "
                + _gaps(fair, other, relative)
            )
        lines.append(
            f"- {model}, {metric}: harmed groups per split summed over datasets "
            f"{harmed_fair:.2f} (FairUse) vs {harmed_onehot:.2f} (1Hot), ratio "
            f"{harmed_fair / max(harmed_onehot, 1e-12):.2f} (goal <= 0.25); {metric} "
            "gap to the best of generic/1Hot/All/DCP: "
            + _gaps(fair, best, relative)
            + f" (goal {goal}); significant violations on {len(mine)} test "
            f"splits: {violations} (at most alpha = 0.1 of the splits){versus}."
        )
    return lines


def markdown(means, lines, args, seconds):
    units = "points" if args.task == "classification" else "the target's units"
    if args.from_csv:
        files = " ".join(map(str, args.from_csv))
        header = (
            f"Rebuilt on {datetime.date.today().isoformat()} with "
            "`.venv/bin/python benchmarks/paper_table.py "
            f"{'--task regression ' if args.task == 'regression' else ''}"
            f"--from-csv {files}` "
            f"({args.note or 'raw results per split'}). Means over "
            f"{args.splits} stratified 80/20 test splits; risk and gains in "
            f"{units}; counts are groups per split."
        )
        return "\n".join([header, "", *lines, "", _markdown_table(_shown(means))])
    header = (
        f"Command: `.venv/bin/python benchmarks/paper_table.py "
        f"{'--task regression ' if args.task == 'regression' else ''}"
        f"--splits {args.splits} "
        f"--models {' '.join(args.models)} --metrics {' '.join(args.metrics)}"
        f"{' --best' if args.best else ''}{' --ensemble' if args.ensemble else ''}"
        f"{' --pooled' if args.pooled else ''}`; "
        "run on "
        f"{datetime.date.today().isoformat()}, {platform.machine()} with "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"scikit-learn {sklearn.__version__}, fairuse_estimators {__version__}; "
        f"{seconds / 60:.0f} min. Means over {args.splits} stratified 80/20 test "
        f"splits; risk and gains in {units}; counts are groups per split."
    )
    return "\n".join([header, "", *lines, "", _markdown_table(_shown(means))])


def _shown(means):
    return means.rename(
        columns={
            "best_group_gain": "best gain",
            "worst_group_gain": "worst gain",
            "rationality_gains": "R gains",
            "rationality_violations": "R viol.",
            "envy_gains": "EF gains",
            "envy_violations": "EF viol.",
            "harmed_groups": "harmed",
        }
    )


def _markdown_table(frame):
    def cell(value):
        if isinstance(value, float):
            return "" if np.isnan(value) else f"{value:.2f}"
        return str(value)

    lines = [
        "| " + " | ".join(frame.columns) + " |",
        "|" + " --- |" * len(frame.columns),
    ]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument(
        "--split-range",
        type=int,
        nargs=2,
        default=(0, 10**9),
        metavar=("START", "STOP"),
        help="run only splits START to STOP - 1 of the --splits, so that a long "
        "run can be cut into parts whose CSVs are joined with --from-csv",
    )
    parser.add_argument("--task", choices=list(TASKS), default="classification")
    parser.add_argument(
        "--datasets", nargs="*", help="default: the bundled sets of the task"
    )
    parser.add_argument(
        "--models",
        nargs="*",
        choices=sorted({*ESTIMATORS, *REGRESSORS}),
        help="default: every model class of the task",
    )
    parser.add_argument("--metrics", nargs="*", help="default: the task's metrics")
    parser.add_argument("--best", action="store_true", help="also routing='best'")
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="deploy the fold models averaged (ensemble=True) instead of refits",
    )
    parser.add_argument(
        "--pooled",
        action="store_true",
        help="also fit the partially pooled variant (PP), which FairUse may route to",
    )
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument(
        "--no-write", action="store_true", help="leave docs/benchmarks.md as it is"
    )
    parser.add_argument(
        "--from-csv",
        type=Path,
        nargs="+",
        help="rebuild the table from CSV files this script wrote, without fitting",
    )
    parser.add_argument("--note", help="with --from-csv: how the files were made")
    args = parser.parse_args()
    task = TASKS[args.task]
    args.datasets = args.datasets or list_datasets(task=args.task)
    args.models = args.models or task["models"]
    args.metrics = args.metrics or task["metrics"]
    warnings.filterwarnings("ignore")
    start = time.perf_counter()
    if args.from_csv:
        raw = pd.concat([pd.read_csv(path) for path in args.from_csv])
        # The task's own runs only: a shell glob may take the other task's too.
        raw = raw[raw.metric.isin(METRICS if args.task == "classification" else
                                  REGRESSION_METRICS)]  # fmt: skip
        args.splits = raw.split.nunique()
        args.models = list(raw.model.unique())
        args.metrics = list(raw.metric.unique())
        args.best = "FairUse (best)" in set(raw.method)
        args.ensemble = raw.model.str.contains("fold ensemble").any()
        args.pooled = raw.model.str.endswith(", pooled").any()
        seconds = 0.0
    else:
        raw = run(args)
        seconds = time.perf_counter() - start
    means = table(raw, task["scale"])
    lines = goals(means, raw, relative=args.task == "regression")
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(means.round(2).to_string(index=False))
    print("\n".join(lines))
    if not args.from_csv:
        results = ROOT / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        parts = ["paper_table", *args.models, *args.metrics]
        if args.ensemble:
            parts.insert(1, "ensemble")
        if args.pooled:
            parts.insert(1, "pooled")
        if args.task == "regression":
            parts.insert(1, "regression")
        if sorted(args.datasets) != sorted(list_datasets(task=args.task)):
            parts += args.datasets
        if args.split_range[0] > 0 or args.split_range[1] < args.splits:
            parts += ["splits", *map(str, args.split_range)]
        name = "_".join(parts)
        raw.to_csv(results / f"{name}.csv", index=False)
        print(f"wrote {results / f'{name}.csv'}")
    if not args.no_write:
        text = markdown(means, lines, args, seconds)
        title = "The paper's Table 1" + (
            " for regression" if args.task == "regression" else ""
        )
        path = write_section(task["section"], text, title)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
