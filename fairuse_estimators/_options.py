"""The options of the ``fairuse`` command, read from the estimators.

Choices and defaults of every estimator parameter offered as an option come
from :class:`~fairuse_estimators.FairUseClassifier` and
:class:`~fairuse_estimators.FairUseRegressor` themselves, so that the command
never disagrees with the Python API.
"""

from pathlib import Path

from sklearn.utils._param_validation import StrOptions

from ._classifier import FairUseClassifier
from ._estimators import ESTIMATORS, REGRESSORS
from ._regressor import FairUseRegressor
from .datasets._csv import TASKS

#: The estimator of each task.
ESTIMATOR_OF = {"classification": FairUseClassifier, "regression": FairUseRegressor}


def choices(name, tasks=tuple(ESTIMATOR_OF)):
    """Values of a string parameter, from the estimators' own constraints."""
    found = set()
    for task in tasks:
        found.update(
            *(
                constraint.options
                for constraint in ESTIMATOR_OF[task]._parameter_constraints[name]
                if isinstance(constraint, StrOptions)
            )
        )
    return sorted(found)


def task_defaults(name):
    """The default of ``name`` for each task that has the parameter."""
    return {
        task: estimator().get_params()[name]
        for task, estimator in ESTIMATOR_OF.items()
        if name in estimator._parameter_constraints
    }


def parameter_option(parser, name, description, *, tasks=None, **kwargs):
    """An option for the estimator parameter ``name``, with its default.

    A parameter whose default differs between the tasks defaults to ``None``
    on the command line, each task's estimator then taking its own; with
    ``tasks`` given, only those tasks' choices and default are offered.
    """
    defaults = task_defaults(name)
    if tasks is not None:
        defaults = {task: defaults[task] for task in tasks}
    if "type" not in kwargs and "action" not in kwargs:
        kwargs["choices"] = choices(name, tuple(defaults))
    if len(set(map(str, defaults.values()))) == 1:
        default, shown = next(iter(defaults.values())), "%(default)s"
    else:
        default = None
        shown = ", ".join(f"{value} for {task}" for task, value in defaults.items())
    if len(defaults) == 1 and tasks is None:
        description += f"; {next(iter(defaults))} only"
    parser.add_argument(
        "--" + name.replace("_", "-"),
        default=default,
        help=f"{description} (default: {shown})",
        **kwargs,
    )


#: Estimator parameters offered as options: their help and argparse type.
PARAMETER_OPTIONS = {
    "metric": ("risk to compare, lower is better (auc is shown as AUC)", {}),
    "test": (
        "paired test: auto is McNemar for error, fnr and fpr, DeLong for auc, "
        "the bootstrap otherwise",
        {},
    ),
    "alpha": ("significance level", {"type": float}),
    "family": (
        "what each correction runs over: each condition and direction of a "
        "model, or all of a model's tests (the paper's correction)",
        {},
    ),
    "gate_loss": (
        "what decides whether a group leaves the generic model: auto tests the "
        "metric itself; log_loss and brier test that loss instead",
        {},
    ),
    "gate_family": (
        "what the gate's correction runs over: every group's candidates (the "
        "chance that any group is misrouted is at most alpha) or each group's own",
        {},
    ),
    "min_gain": (
        "smallest gain in the metric for which a group leaves the generic model",
        {"type": float},
    ),
    "quantile": ("the quantile of metric=pinball", {"type": float}),
    "ensemble": (
        "deploy each variant's cross-fitted fold models, averaged, so that the "
        "evidence is about the models that predict, instead of refits on all rows",
        {"action": "store_true"},
    ),
    "reporting": (
        "what a person may report: all group columns or none, any subset "
        "(routed per reporting group; the report says which columns each "
        "group must report), or answers to a reporting tree",
        {},
    ),
}


def model_options(parser, *, split):
    parser.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="what the target is: class labels or a continuous value; auto "
        "reads a numeric target with more than 10 distinct values as "
        "continuous, and says so (default: %(default)s)",
    )
    parser.add_argument(
        "--estimator",
        choices=sorted({*ESTIMATORS, *REGRESSORS}),
        help="base estimator: logistic for classification only, linear for "
        "regression only (default: logistic for classification, linear for "
        "regression)",
    )
    for name, (description, kwargs) in PARAMETER_OPTIONS.items():
        parameter_option(parser, name, description, **kwargs)
    if split:
        parser.add_argument(
            "--test-size",
            type=float,
            default=0.3,
            help="share of rows held out for the audit (default: %(default)s)",
        )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--html", metavar="PATH", help="write the report as HTML")
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON")
    overwrite_option(parser)
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="show progress on stderr"
    )


def overwrite_option(parser):
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace output files that already exist (an input file is never "
        "replaced)",
    )


def file_options(parser, dropping=True):
    parser.add_argument("--sep", default=",", help="field separator (default: ,)")
    parser.add_argument(
        "--id", metavar="COL", help="identifier column: never a feature; "
        "copied into the predictions by `fairuse predict`",
    )  # fmt: skip
    if dropping:
        parser.add_argument(
            "--drop", metavar="COL[,COL...]", help="columns to leave out"
        )


def data_options(parser):
    file_options(parser)
    parser.add_argument("data", type=Path, metavar="DATA.csv", help="CSV file")
    parser.add_argument(
        "--target",
        required=True,
        help="target column: binary labels, or numbers for regression",
    )
    parser.add_argument(
        "--groups",
        required=True,
        metavar="COL[,COL...]",
        help="comma-separated group attribute columns",
    )
