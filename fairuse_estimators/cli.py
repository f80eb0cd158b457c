"""The ``fairuse`` command."""

import argparse
import sys

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import FairUseClassifier
from .datasets import load_heart


def demo(args):
    """Fit FairUseClassifier on the bundled heart data and print each group's route."""
    data = load_heart()
    base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf = FairUseClassifier(
        base,
        group_columns=data.group_columns,
        random_state=args.seed,
    )
    clf.fit(data.data, data.target)
    report = clf.audit_report_
    print(f"FairUseClassifier(LogisticRegression), heart data, n={len(data.target)}")
    print(f"risk: {report.metric}, evidence: {report.evidence}\n")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(report.to_frame().drop(columns="note").round(3).to_string())
    return 0


def main(argv=None):
    """Entry point of the ``fairuse`` command."""
    parser = argparse.ArgumentParser(prog="fairuse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="Fit FairUseClassifier on bundled data and print the routes."
    )
    demo_parser.add_argument("--seed", type=int, default=0, help="random seed")
    demo_parser.set_defaults(func=demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
