"""What does partial reporting gain, cost and keep safe?

Two tables, the section ``partial-reporting`` of ``docs/benchmarks.md``
(rewritten unless ``--no-write``):

- ``bundled``: the Table 1 protocol (scaled logistic regression, error, 20
  stratified 80/20 splits) on every bundled dataset, with
  ``reporting="partial"``. On each test split, the rows are made to report
  one attribute only (the other masked): the gain in error of their routes
  over the generic model, which all-or-nothing reporting gives them (the
  same fitted generic model); the same on the full rows; how many
  attributes the report says each group can drop; and the splits with a
  significant rationality, envy or participatory violation in the audit of
  the test split.
- ``cost``: the fit time of ``reporting="partial"`` against
  ``reporting="all"``, side by side in one run (alternating, median of
  ``--repeats``), on synthetic data with k = 2, 3 and 4 binary attributes.

Run from the repository root::

    .venv/bin/python benchmarks/partial_reporting.py
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _page import write_section
from sklearn.model_selection import StratifiedShuffleSplit
from threadpoolctl import threadpool_limits

from fairuse_estimators import FairUseClassifier
from fairuse_estimators._estimators import make_estimator
from fairuse_estimators.datasets import list_datasets, load_dataset


def split_rows(X, y, groups, split, train, test):
    """Figures of one split of one dataset."""
    clf = FairUseClassifier(
        make_estimator("logistic", split), group_columns=groups,
        reporting="partial", random_state=split,
    ).fit(X.iloc[train], y[train])  # fmt: skip
    X_test, y_test = X.iloc[test], y[test]
    features = X_test.drop(columns=groups)
    generic = clf.estimators_["generic"].predict(features.to_numpy())
    row = {"split": split}
    for kept in [*groups, "all"]:
        shown = X_test if kept == "all" else X_test.assign(
            **{g: None for g in groups if g != kept}
        )  # fmt: skip
        routed = clf.predict(shown)
        row[f"gain {kept}"] = np.mean(generic != y_test) - np.mean(routed != y_test)
    advice = clf.audit_report_.minimal_reporting()
    dropped = [len([c for c in a.split(", ") if c]) for a in advice["adds_nothing"]]
    row["dropped per group"] = np.mean(dropped)
    report = clf.audit(X_test, y_test, random_state=split)
    summary = report.summary_table().loc["routed"]
    participation = report.participation_frame()
    row["rationality violation"] = summary["rationality_violations"] > 0
    row["envy violation"] = summary["envy_violations"] > 0
    row["participatory violation"] = (participation["verdict"] == "violation").any()
    return row


def bundled(splits):
    rows = []
    for name in list_datasets():
        data = load_dataset(name)
        X, y, groups = data.data, np.asarray(data.target), list(data.group_columns)
        key = X[groups].astype(str).agg("|".join, axis=1) + "|" + pd.Series(
            y, index=X.index
        ).astype(str)  # fmt: skip
        splitter = StratifiedShuffleSplit(splits, test_size=0.2, random_state=0)
        start = time.perf_counter()
        for split, (train, test) in enumerate(splitter.split(X, key)):
            found = split_rows(X, y, groups, split, train, test)
            rows.append({"dataset": name, "attributes": groups, **found})
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    return rows


def _gain(frame, column):
    values = frame[f"gain {column}"]
    return f"{values.mean():+.4f} ({values.std():.4f})"


def bundled_table(rows):
    """One line per dataset: mean gains (with their spread over splits)."""
    lines = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = pd.DataFrame([r for r in rows if r["dataset"] == name])
        first, second = mine["attributes"].iloc[0]

        lines.append(
            {
                "dataset": name,
                "rows reporting one attribute: first": f"{first}: {_gain(mine, first)}",
                "second": f"{second}: {_gain(mine, second)}",
                "full rows": _gain(mine, "all"),
                "attributes dropped per group": round(
                    mine["dropped per group"].mean(), 2
                ),
                "splits with a violation (rationality / envy / participatory)": (
                    f"{int(mine['rationality violation'].sum())} / "
                    f"{int(mine['envy violation'].sum())} / "
                    f"{int(mine['participatory violation'].sum())} of {len(mine)}"
                ),
            }
        )
    return pd.DataFrame(lines)


def synthetic(k, n=2000, seed=0):
    """Rows with k binary attributes, the first of which shifts the label."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"x{j}" for j in range(5)])
    names = [f"a{j}" for j in range(k)]
    for name in names:
        X[name] = rng.choice(["p", "q"], n)
    logit = X["x0"] + np.where(X["a0"] == "p", X["x1"], -X["x1"])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y, names


def cost(repeats):
    rows = []
    for k in (2, 3, 4):
        X, y, names = synthetic(k)
        times = {"all": [], "partial": []}
        for _ in range(repeats):
            for reporting in times:
                clf = FairUseClassifier(
                    group_columns=names, reporting=reporting, random_state=0
                )
                start = time.perf_counter()
                clf.fit(X, y)
                times[reporting].append(time.perf_counter() - start)
        full, partial = np.median(times["all"]), np.median(times["partial"])
        rows.append(
            {
                "k": k,
                "groups": 2**k,
                "subsets": 2**k,
                "fit all (s)": f"{full:.2f}",
                "fit partial (s)": f"{partial:.2f}",
                "ratio": f"{partial / full:.2f}",
            }
        )
        print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def _markdown(frame):
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.to_numpy()]
    return "\n".join([header, rule, *body])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = bundled(args.splits)
        costs = cost(args.repeats)
    minutes = (time.perf_counter() - start) / 60
    text = "\n\n".join(
        [
            f"`.venv/bin/python benchmarks/partial_reporting.py --splits "
            f"{args.splits}` ({minutes:.1f} min on this machine).",
            "### On the bundled datasets\n\nScaled logistic regression, error, "
            '`reporting="partial"` with the defaults, on the 80% of each of '
            f"{args.splits} stratified splits. Gains are in error over the "
            "generic model on the 20% test rows (mean, with the standard "
            "deviation over splits): rows made to report one attribute only (the "
            "other masked), which all-or-nothing reporting would give the generic "
            "model, and the full rows. Attributes dropped: the mean number of "
            "group columns the report says a group can leave out. Violations: "
            "splits whose audit of the test split found a significant one.\n\n"
            + _markdown(bundled_table(rows)),
            "### Fit cost\n\nSynthetic data (2,000 rows, 5 features, k binary "
            'attributes), the default classifier; `reporting="partial"` and '
            '`"all"` fitted alternately in one run, median of '
            f"{args.repeats}.\n\n" + _markdown(costs),
        ]
    )
    print(text)
    if not args.no_write:
        path = write_section("partial-reporting", text, "Partial reporting")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
