"""Named base estimators for the command line and the benchmarks."""

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import (
    LogisticRegression,
    PoissonRegressor,
    QuantileRegressor,
    Ridge,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

#: Names accepted by :func:`make_estimator`.
ESTIMATORS = ("logistic", "forest", "mlp", "boosting")
#: Names accepted by :func:`make_estimator` with ``task="regressor"``.
REGRESSORS = ("linear", "forest", "mlp", "boosting")
#: The random forest of both tasks (the paper's appendix G).
FOREST = {
    "n_estimators": 100, "max_depth": 20, "min_samples_split": 5,
    "min_samples_leaf": 2,
}  # fmt: skip
_DEFAULT_REPR = {
    "classifier": "make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))",
    "regressor": "make_pipeline(StandardScaler(), Ridge())",
}


def make_estimator(name, seed=None, task="classifier", metric=None, quantile=0.5):
    """Base estimator ``name`` with the settings used across the project.

    Parameters
    ----------
    name : {"logistic", "linear", "forest", "mlp", "boosting"}
        ``"logistic"``: standardized logistic regression (classifier);
        ``"linear"``: standardized ridge regression with ``alpha=1``
        (regressor); ``"forest"``: a random forest of 100 trees of depth at
        most 20; ``"mlp"``: a standardized (5, 2) multilayer perceptron, with
        sigmoid calibration for a classifier; ``"boosting"``: histogram
        gradient boosting.
    seed : int or None, default=None
        ``random_state`` of the randomized estimators.
    task : {"classifier", "regressor"}, default="classifier"
    metric, quantile : default=None, 0.5
        For a regressor, the loss it will be graded on: with ``"poisson"``
        the base predicts positive counts (``linear``: a standardized
        ``PoissonRegressor``; ``boosting``: ``loss="poisson"``), with
        ``"pinball"`` the ``quantile`` (``linear``: an unpenalized
        ``QuantileRegressor``; ``boosting``: ``loss="quantile"``); the forest
        and the net fit neither and are refused.

    Returns
    -------
    estimator : classifier or regressor
        An unfitted scikit-learn estimator.

    Examples
    --------
    >>> from fairuse_estimators._estimators import make_estimator
    >>> make_estimator("forest", seed=0).max_depth
    20
    >>> make_estimator("logistic")[-1]
    LogisticRegression(max_iter=1000)
    """
    if task == "regressor":
        if metric in ("poisson", "pinball"):
            return _make_for_loss(name, seed, metric, quantile)
        return _make_regressor(name, seed)
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if name == "forest":
        return RandomForestClassifier(**FOREST, random_state=seed)
    if name == "mlp":
        mlp = MLPClassifier(hidden_layer_sizes=(5, 2), max_iter=2000, random_state=seed)
        return CalibratedClassifierCV(
            make_pipeline(StandardScaler(), mlp), method="sigmoid"
        )
    if name == "boosting":
        return HistGradientBoostingClassifier(random_state=seed)
    raise ValueError(f"estimator must be one of {ESTIMATORS}; got {name!r}.")


def _make_for_loss(name, seed, metric, quantile):
    """A regressor of counts (``"poisson"``) or of a quantile (``"pinball"``)."""
    if name == "linear":
        if metric == "poisson":
            return make_pipeline(StandardScaler(), PoissonRegressor())
        regressor = QuantileRegressor(quantile=quantile, alpha=0.0, solver="highs")
        return make_pipeline(StandardScaler(), regressor)
    if name == "boosting":
        if metric == "poisson":
            return HistGradientBoostingRegressor(loss="poisson", random_state=seed)
        return HistGradientBoostingRegressor(
            loss="quantile", quantile=quantile, random_state=seed
        )
    raise ValueError(
        f"metric={metric!r} needs a base that predicts "
        f"{'positive counts' if metric == 'poisson' else 'a quantile'}; of the "
        f"named regressors only 'linear' and 'boosting' do, not {name!r}."
    )


def _make_regressor(name, seed):
    if name == "linear":
        return make_pipeline(StandardScaler(), Ridge())
    if name == "forest":
        return RandomForestRegressor(**FOREST, random_state=seed)
    if name == "mlp":
        mlp = MLPRegressor(hidden_layer_sizes=(5, 2), max_iter=2000, random_state=seed)
        return make_pipeline(StandardScaler(), mlp)
    if name == "boosting":
        return HistGradientBoostingRegressor(random_state=seed)
    raise ValueError(
        f"estimator must be one of {REGRESSORS} for a regressor; got {name!r}."
    )


def check_nested_params(estimator, params, task="classifier"):
    """Refuse ``estimator__<name>`` parameters for the default base estimator,
    which ``estimator=None`` stands for."""
    nested = sorted(key for key in params if key.startswith("estimator__"))
    if nested and estimator is None and params.get("estimator") is None:
        default = _DEFAULT_REPR[task]
        step = "logisticregression" if task == "classifier" else "ridge"
        owner = "FairUseClassifier" if task == "classifier" else "FairUseRegressor"
        raise ValueError(
            f"Cannot set {nested!r}: estimator=None stands for the default "
            f"{default}, which has no parameters to tune here. Pass the base "
            f"estimator explicitly, for example {owner}({default}, ...), and set "
            f"the parameters of its steps as estimator__{step}__<name>."
        )
