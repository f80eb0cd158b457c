"""Which groups of the bundled datasets could be tested at all?

For each bundled dataset, ``FairUseClassifier`` (scaled logistic regression,
error) is fitted on a stratified 80% split; its cross-fitted evidence (the
fit's ``audit_report_``) and the held-out 20% (``audit``) are read for the
one-hot variant, which every group reports: per group the rows, the minimum
detectable gain of its rationality test (power 0.8 at alpha over the
family) and the verdict. The section ``testability`` of
``docs/benchmarks.md`` is rewritten unless ``--no-write``.

Run from the repository root::

    .venv/bin/python benchmarks/testability.py
"""

import argparse
import datetime
import time
import warnings

import numpy as np
import pandas as pd
from _page import write_section
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from fairuse_estimators import FairUseClassifier
from fairuse_estimators.datasets import list_datasets, load_dataset


def rows(name, seed=0):
    """Per-group rows of the one-hot variant on both kinds of evidence."""
    data = load_dataset(name)
    X, y = data.data, data.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf = FairUseClassifier(base, group_columns=data.group_columns, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X_train, y_train)
        reports = {
            "cross-fitted (80%)": clf.audit_report_,
            "test split (20%)": clf.audit(X_test, y_test, random_state=seed),
        }
    found = []
    for evidence, report in reports.items():
        frame = report.to_frame("onehot")
        for label, row in zip(report.group_labels, frame.itertuples()):
            found.append(
                {
                    "dataset": name,
                    "evidence": evidence,
                    "group": label,
                    "n": int(row.n),
                    "gain": row.gain,
                    "detectable": row.detectable_gain,
                    "verdict": row.rationality,
                }
            )
    return found


def _cell(value):
    if isinstance(value, float):
        if np.isnan(value):
            return "-"
        return "none" if np.isinf(value) else f"{value:.3f}"
    return str(value)


def markdown(frame, seconds):
    counts = frame.groupby("evidence").verdict.value_counts().unstack(fill_value=0)
    lines = [
        f"Command: `.venv/bin/python benchmarks/testability.py`; run on "
        f"{datetime.date.today().isoformat()}, {seconds:.0f} s. Scaled logistic "
        "regression, error, McNemar's test at 0.1 with Holm across the groups; "
        "the one-hot variant's rationality test for every group. `detectable` is "
        "the smallest gain in error the test finds with power 0.8 at alpha over "
        "its family (none: no possible gain).",
        "",
        "Verdicts over all groups of the four datasets: "
        + "; ".join(
            f"{evidence}: " + ", ".join(f"{v} {int(n)}" for v, n in row.items() if n)
            for evidence, row in counts.iterrows()
        )
        + ".",
        "",
        "| dataset | evidence | group | n | gain | detectable | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list_datasets())
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    with threadpool_limits(1):
        frame = pd.DataFrame([r for name in args.datasets for r in rows(name)])
    text = markdown(frame, time.perf_counter() - start)
    print(text)
    if not args.no_write:
        path = write_section("testability", text, "Which groups can be tested")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
