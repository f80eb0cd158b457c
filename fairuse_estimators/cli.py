"""The ``fairuse`` command: fit, audit and apply fair-use models on CSV files.

Subcommands:

- ``fairuse demo``: fit on a bundled dataset, audit on held-out rows, write an
  HTML report;
- ``fairuse audit DATA.csv``: the same on your own data;
- ``fairuse fit DATA.csv --out model.skops``: fit on all rows and save;
- ``fairuse predict model.skops DATA.csv``: predict with a saved model;
- ``fairuse plan``: rows per group a study needs to detect a gain.

Mistakes in the input end with a one-line ``fairuse: error: ...`` message and
exit code 2.
"""

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from ._demo import demo_facts, demo_story
from ._estimators import make_estimator
from ._files import (
    atomic_output,
    check_outputs,
    spreadsheet_safe,
    terminal_safe,
    write_atomic,
)
from ._metrics import REGRESSION_METRICS
from ._model_files import CommandError, load_model, skops_io
from ._options import (
    ESTIMATOR_OF,
    PARAMETER_OPTIONS,
    data_options,
    file_options,
    model_options,
    overwrite_option,
    parameter_option,
    task_defaults,
)
from ._planner import plan_table
from ._text import fixed_width
from ._version import __version__
from .datasets import list_datasets, load_csv, load_dataset
from .datasets._csv import read_frame

# ------------------------------------------------------------------- data


def read_data(path, target, groups, drop=None, sep=",", task="classification"):
    """Features with group columns, and a binary or continuous target, from a
    CSV file.

    Parameters
    ----------
    path : str or path-like
        CSV file with a header line.
    target : str
        Name of the target column; it must hold exactly two classes, or
        numbers for regression.
    groups : str
        Comma-separated names of the group columns; each must hold at least
        two values.
    drop : list of str, default=None
        Columns to leave out (identifiers, notes).
    sep : str, default=","
        Field separator.
    task : {"classification", "regression", "auto"}, default="classification"
        As in :func:`~fairuse_estimators.datasets.load_csv`.

    Returns
    -------
    X : pandas.DataFrame
        Features, group columns included.
    y : pandas.Series
        Target.
    group_columns : list of str
    task : {"classification", "regression"}

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from fairuse_estimators.cli import read_data
    >>> from fairuse_estimators.datasets import load_heart
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "heart.csv"
    >>> load_heart().frame.to_csv(path, index=False)
    >>> X, y, groups, task = read_data(path, "y", "sex,age_group")
    >>> X.shape, groups
    ((303, 20), ['sex', 'age_group'])
    >>> folder.cleanup()
    """
    data = load_csv(
        path, target=target, group_columns=groups, drop=drop, sep=sep, task=task
    )
    classes = [] if data.task == "regression" else data.target_names.tolist()
    if data.task == "classification" and len(classes) != 2:
        shown = ", ".join(map(repr, classes[:5]))
        shown += ", ..." if len(classes) > 5 else ""
        raise ValueError(
            f"The target column {target!r} in {str(path)!r} holds {len(classes)} "
            f"classes ({shown}); fairuse needs a binary target. Binarize it first "
            "(for example value > threshold)"
            + (
                ", or pass --task regression to model its values."
                if pd.api.types.is_numeric_dtype(data.target)
                else "."
            )
        )
    for column in data.group_columns:
        values = data.data[column].dropna().unique()
        if len(values) < 2:
            holds = f"a single value, {values[0]!r}" if len(values) else "no value"
            raise ValueError(
                f"The group column {column!r} in {str(path)!r} holds {holds}; a "
                "group attribute needs at least two values to compare groups. "
                "Drop it from --groups."
            )
    return data.data, data.target, data.group_columns, data.task


def make_model(args, group_columns, task="classification"):
    """The FairUseClassifier or FairUseRegressor the options describe; an
    option the task's estimator lacks must keep its default."""
    estimator = ESTIMATOR_OF[task]
    own = estimator._parameter_constraints
    passed = {}
    for name in (*PARAMETER_OPTIONS, "verbose"):
        value = getattr(args, name)
        if name in own and value is not None:
            passed[name] = value
        elif name not in own and value not in (None, *task_defaults(name).values()):
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} applies to {_tasks_of(name)} only, not {task}.")
    # The estimator's own default base and task name, as estimator=None has.
    base = make_estimator(
        args.estimator or estimator._default, args.seed, task=estimator._task,
        metric=passed.get("metric"), quantile=passed.get("quantile", 0.5),
    )  # fmt: skip
    return estimator(
        base, group_columns=group_columns, random_state=args.seed, **passed
    )


def _tasks_of(name):
    return " and ".join(task_defaults(name))


def _read(args):
    """The data of ``audit`` and ``fit``, saying which task ``auto`` chose."""
    asked = args.task
    if asked == "auto" and args.metric in REGRESSION_METRICS:
        asked = "regression"  # a loss of a continuous target says what it is
    X, y, group_columns, task = read_data(
        args.data, args.target, args.groups, *_left_out(args), task=asked
    )
    if asked == "auto" and task == "regression":
        _say(
            f"The target {args.target!r} is numeric with {y.nunique()} distinct "
            "values: fitting FairUseRegressor (pass --task classification to "
            "read its values as class labels).\n"
        )
    return X, y, group_columns, task


def _say(text="", file=None):
    """Print text from the user's data with control characters escaped."""
    print(terminal_safe(text), file=file)


def _check_report_outputs(args, inputs=(), **outputs):
    """Refuse the output paths of a subcommand before any fitting starts."""
    check_outputs(
        {"--html": args.html, "--json": args.json, **outputs},
        [*inputs],
        overwrite=args.overwrite,
    )


def _fit_and_audit(args, X, y, group_columns, source, task, story=False):
    """Fit on a training split, audit on the held-out split, print and write;
    with ``story``, end the tables with what they show in plain words."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, random_state=args.seed,
        stratify=y if task == "classification" else None,
    )  # fmt: skip
    clf = make_model(args, group_columns, task).fit(X_train, y_train)
    report = clf.audit(X_test, y_test)
    # The files first: a reader that stops early (``| head``) loses none.
    written = _write_reports(report, args)
    base = args.estimator or clf._default
    _say(
        f"{type(clf).__name__}({base}) on {source}: fitted on "
        f"{len(y_train)} rows, audited on {len(y_test)} held-out rows\n"
    )
    _say(report.summary())
    _say_tree(clf)
    if story:
        _say(f"\n{demo_story(demo_facts(report))}")
    _say_written(written)
    return 0


def _say_tree(clf):
    if clf.reporting == "sequential":
        _say(f"\n{clf.reporting_tree_}")


def _write_reports(report, args):
    """Write the asked-for HTML and JSON reports; return the lines that say so."""
    written = []
    for path, render in ((args.html, report.to_html), (args.json, report.to_json)):
        if path:
            write_atomic(path, render(), overwrite=args.overwrite)
            written.append(f"Wrote {Path(path).resolve()}")
    return written


def _say_written(lines):
    for line in lines:
        _say(f"\n{line}")


# --------------------------------------------------------------- commands


def demo(args):
    """Fit and audit the fair-use estimator of a bundled dataset's task."""
    _check_report_outputs(args)
    data = load_dataset(args.dataset)
    source = f"the {args.dataset} data"
    task = data.get("task", "classification")
    return _fit_and_audit(
        args, data.data, data.target, data.group_columns, source, task, story=True
    )


def audit(args):
    """Fit and audit FairUseClassifier or FairUseRegressor on the user's CSV file."""
    _check_report_outputs(args, [args.data])
    X, y, group_columns, task = _read(args)
    return _fit_and_audit(args, X, y, group_columns, str(args.data), task)


def fit(args):
    """Fit on every row of a CSV file and save the model with skops."""
    sio = skops_io()
    _check_report_outputs(args, [args.data], **{"--out": args.out})
    X, y, group_columns, task = _read(args)
    clf = make_model(args, group_columns, task).fit(X, y)
    # The files first: a reader that stops early (``| head``) loses none.
    write_atomic(args.out, sio.dumps(clf), overwrite=args.overwrite)
    written = _write_reports(clf.audit_report_, args)
    _say(clf.audit_report_.summary())
    _say_tree(clf)
    _say_written([*written, f"Saved the fitted model to {Path(args.out).resolve()}"])
    return 0


def _present(frame, column, path):
    if column not in frame.columns:
        raise ValueError(
            f"The --id column {column!r} is not in {str(path)!r}; its columns are "
            f"{list(frame.columns)!r}."
        )
    return column


def _group_column_names(model):
    """Names of the group columns of a saved fair-use model."""
    final = model[-1] if isinstance(model, Pipeline) else model
    names = getattr(final, "feature_names_in_", None)
    if names is None:
        return []
    return [str(names[j]) for j in final.group_indices_]


def predict(args):
    """Predict the rows of a CSV file with a model saved by ``fairuse fit``."""
    check_outputs(
        {"--out": args.out}, [args.model, args.data], overwrite=args.overwrite
    )
    max_unpacked = None
    if args.max_unpacked_mb is not None:
        max_unpacked = int(args.max_unpacked_mb * 1024**2)
    model = load_model(args.model, max_unpacked=max_unpacked)
    columns = getattr(model, "feature_names_in_", None)
    if columns is None:
        raise CommandError(
            f"The model in {str(args.model)!r} was fitted without column names, "
            "so its columns cannot be found in a CSV file; fit it on a "
            "DataFrame (as `fairuse fit` does)."
        )
    columns = [str(c) for c in columns]
    # The group columns are read as `fit` read them: "NA" is a group there.
    frame = read_frame(args.data, _group_column_names(model), sep=args.sep)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The columns {missing!r} the model was fitted on are not in "
            f"{str(args.data)!r}; its columns are {list(frame.columns)!r}."
        )
    X = frame[columns]
    predictions = pd.DataFrame({"prediction": model.predict(X)}, index=frame.index)
    if args.id:
        predictions.insert(0, args.id, frame[_present(frame, args.id, args.data)])
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        for j, label in enumerate(model.classes_):
            predictions[f"proba_{label}"] = proba[:, j]
    predictions = spreadsheet_safe(predictions)
    if args.out == "-":
        predictions.to_csv(sys.stdout, index=False)
    else:
        with atomic_output(args.out, overwrite=args.overwrite) as file:
            predictions.to_csv(file, index=False)
        _say(f"Wrote {len(predictions)} predictions to {Path(args.out).resolve()}")
    return 0


# ----------------------------------------------------------------- parser


def _left_out(args):
    """Columns the model must not see (``--drop``, ``--id``), and ``--sep``."""
    drop = [c for c in (args.drop or "").split(",") if c.strip()]
    return [*drop, *([args.id] if args.id else [])], args.sep


def build_parser():
    """The argument parser of the ``fairuse`` command."""
    parser = argparse.ArgumentParser(
        prog="fairuse",
        description="Use group attributes in a classifier only where they help "
        "every group, and audit that they do.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser(
        "demo",
        help="fit and audit on a bundled dataset, write fairuse-demo.html",
        description="Fit FairUseClassifier (FairUseRegressor for a regression "
        "dataset) on a bundled dataset, audit it on a "
        "held-out split, print the summary and write an HTML report.",
    )
    sub.add_argument(
        "--dataset",
        choices=list_datasets(),
        # flchain's groups are large enough for the tests to show both a
        # harm the routed model prevents and gains; heart's are not.
        default="flchain",
        help="bundled dataset (default: %(default)s)",
    )
    model_options(sub, split=True)
    sub.set_defaults(func=demo, html="fairuse-demo.html")
    sub = commands.add_parser(
        "audit",
        help="fit and audit on your CSV file",
        description="Fit the generic and personalized variants and the routed "
        "model on a training split of DATA.csv, audit them on the held-out "
        "split and print the summary.",
    )
    data_options(sub)
    model_options(sub, split=True)
    sub.set_defaults(func=audit)
    sub = commands.add_parser(
        "fit",
        help="fit on every row of your CSV file and save the model with skops",
        description="Fit FairUseClassifier or FairUseRegressor on every row of "
        "DATA.csv, print the "
        "cross-fitted evidence for its routes and save it with skops.",
    )
    data_options(sub)
    model_options(sub, split=False)
    sub.add_argument("--out", required=True, metavar="MODEL.skops", help="model file")
    sub.set_defaults(func=fit)
    _predict_parser(commands)
    _plan_parser(commands)
    return parser


def _predict_parser(commands):
    sub = commands.add_parser(
        "predict",
        help="predict the rows of a CSV file with a saved model",
        description="Predict every row of DATA.csv with a model saved by "
        "`fairuse fit`. The model file may hold only the exact types `fairuse "
        "fit` writes; any other file is refused without running anything from "
        "it.",
    )
    sub.add_argument("model", metavar="MODEL.skops", help="file from `fairuse fit`")
    sub.add_argument("data", type=Path, metavar="DATA.csv", help="CSV file")
    file_options(sub, dropping=False)
    sub.add_argument(
        "--out",
        default="-",
        metavar="PATH",
        help="predictions CSV: prediction and, for a classifier, one proba_<class> "
        "column per class "
        "(default: standard output)",
    )
    overwrite_option(sub)
    sub.add_argument(
        "--max-unpacked-mb",
        type=float,
        metavar="MB",
        help="largest unpacked size of the model file (default: 100 times the "
        "file size, at most 2048 MB)",
    )
    sub.set_defaults(func=predict)


def _plan_parser(commands):
    sub = commands.add_parser(
        "plan",
        help="rows per group a study needs to detect a gain",
        description="Print the rows each group needs for the library's test to "
        "detect a gain with the given power, at alpha over the size of the "
        "family the test is corrected in.",
    )
    parameter_option(sub, "metric", "risk to compare, lower is better")
    parameter_option(sub, "test", "paired test, as in `fairuse audit`")
    parameter_option(sub, "alpha", "significance level", type=float)
    for flag, kind, default, text in (
        ("--tests", int, 1, "tests in the family the test is corrected in; for "
         "the gate, up to 3 per group"),
        ("--power", float, 0.8, "power to reach"),
        ("--disagreement", float, None, "for error: share of rows where exactly "
         "one of the two models is wrong (default for McNemar's test: the gain "
         "itself, the fewest rows any pair of models needs)"),
        ("--sd", float, None, "for the other metrics: standard deviation of the "
         "per-row loss differences"),
        ("--gains", str, "0.01,0.02,0.05,0.1", "comma-separated gains in the "
         "metric's risk"),
    ):  # fmt: skip
        sub.add_argument(
            flag, type=kind, default=default, help=f"{text} (default: %(default)s)"
        )
    sub.set_defaults(func=plan)


def plan(args):
    """Print the rows per group needed to detect each gain."""
    title, header, rows = plan_table(
        args.gains, metric=args.metric or "error", test=args.test, alpha=args.alpha,
        n_tests=args.tests, power=args.power, disagreement=args.disagreement,
        sd=args.sd,
    )  # fmt: skip
    for line in [title, *fixed_width(header, rows)]:
        _say(line)
    return 0


def main(argv=None):
    """Entry point of the ``fairuse`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; ``None`` means ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 when the input is wrong (with a one-line message on
        stderr).
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader (`head`, say) has gone: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (CommandError, ValueError, TypeError, OSError) as exc:
        message = " ".join(str(exc).split())
        _say(f"fairuse: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
