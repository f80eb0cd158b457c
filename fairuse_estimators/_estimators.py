"""Named base estimators for the command line and the benchmarks."""

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

#: Names accepted by :func:`make_estimator`.
ESTIMATORS = ("logistic", "forest", "mlp", "boosting")


def make_estimator(name, seed=None):
    """Base classifier ``name`` with the settings used across the project.

    Parameters
    ----------
    name : {"logistic", "forest", "mlp", "boosting"}
        ``"logistic"``: standardized logistic regression; ``"forest"``: a
        random forest of 100 trees of depth at most 20; ``"mlp"``: a
        standardized (5, 2) multilayer perceptron with sigmoid calibration;
        ``"boosting"``: histogram gradient boosting.
    seed : int or None, default=None
        ``random_state`` of the randomized estimators.

    Returns
    -------
    estimator : classifier
        An unfitted scikit-learn classifier.

    Examples
    --------
    >>> from fairuse_estimators._estimators import make_estimator
    >>> make_estimator("forest", seed=0).max_depth
    20
    >>> make_estimator("logistic")[-1]
    LogisticRegression(max_iter=1000)
    """
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    if name == "forest":
        return RandomForestClassifier(
            n_estimators=100,
            max_depth=20,
            min_samples_split=5,
            min_samples_leaf=2,
            random_state=seed,
        )
    if name == "mlp":
        mlp = MLPClassifier(hidden_layer_sizes=(5, 2), max_iter=2000, random_state=seed)
        return CalibratedClassifierCV(
            make_pipeline(StandardScaler(), mlp), method="sigmoid"
        )
    if name == "boosting":
        return HistGradientBoostingClassifier(random_state=seed)
    raise ValueError(f"estimator must be one of {ESTIMATORS}; got {name!r}.")


def check_nested_params(estimator, params):
    """Refuse ``estimator__<name>`` parameters for the default base estimator,
    ``make_estimator("logistic")``, which ``estimator=None`` stands for."""
    nested = sorted(key for key in params if key.startswith("estimator__"))
    if nested and estimator is None and params.get("estimator") is None:
        raise ValueError(
            f"Cannot set {nested!r}: estimator=None stands for the default "
            "make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), "
            "which has no parameters to tune here. Pass the base estimator "
            "explicitly, for example FairUseClassifier(make_pipeline("
            "StandardScaler(), LogisticRegression(max_iter=1000)), ...), and set "
            "the parameters of its steps as estimator__logisticregression__<name>."
        )
