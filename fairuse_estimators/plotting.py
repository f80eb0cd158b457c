"""Plots of fair-use reports in scikit-learn's Display style (matplotlib optional)."""

from ._audit import audit_fair_use
from ._figures import (
    VERDICT_COLORS,
    check_matplotlib,
    draw_envy,
    draw_gains,
    figure_layout,
    report_arrays,
)

__all__ = ["VERDICT_COLORS", "FairUseDisplay", "check_matplotlib"]
_KINDS = ("both", "gains", "envy")


class FairUseDisplay:
    """Per-group gains and envy of personalized models, as plots.

    The gains plot shows, for every group, each model's gain over the generic
    model (``risk_generic - risk_personalized``, higher is better) as a bar
    colored by the rationality verdict (:data:`VERDICT_COLORS`), with its
    confidence interval; several models stand side by side, told apart by
    their hatching. The envy heatmap shows, for one model, the gap
    ``risk_reported - risk_own`` of every group (rows) under the predictions
    made for every other reported group (columns): negative gaps (red) mean
    the group would be better served by another group's predictions;
    significant envy-freeness violations are marked with ``*``.

    Use :meth:`from_report` or :meth:`from_estimator` to build one;
    matplotlib is needed only to plot (``pip install matplotlib``, or
    ``pip install ".[plot]"`` from a source checkout).

    Parameters
    ----------
    groups : list of str
        Group labels.
    models : list of str
        Names of the models in the gains plot.
    gains : ndarray of shape (n_models, n_groups)
        Gain of each group under each model.
    gain_low, gain_high : ndarray of shape (n_models, n_groups)
        Confidence interval of each gain; ``nan`` where untested.
    verdicts : ndarray of str of shape (n_models, n_groups)
        Rationality verdict of each group under each model.
    envy_gaps : ndarray of shape (n_groups, n_groups)
        ``envy_gaps[g, h]``: risk of group ``g`` under the predictions made
        for group ``h`` minus its risk under its own; ``nan`` on the
        diagonal.
    envy_verdicts : ndarray of str of shape (n_groups, n_groups)
        Envy-freeness verdict of each pair.
    envy_model : str
        Model of the envy heatmap.
    metric : str, default="error"
        Name of the risk.
    alpha : float, default=0.1
        Significance level of the verdicts.

    Attributes
    ----------
    ax_ : matplotlib Axes or None
        Axes of the gains plot.
    envy_ax_ : matplotlib Axes or None
        Axes of the envy heatmap.
    figure_ : matplotlib Figure
        Figure holding the plots.
    bars_ : dict of str to BarContainer
        The gain bars of each model.
    errorbars_ : dict of str to ErrorbarContainer
        The confidence intervals of each model.
    heatmap_ : matplotlib AxesImage or None
        The envy heatmap; its array holds ``envy_gaps``.

    See Also
    --------
    FairUseReport : The evidence behind the plots.

    Notes
    -----
    The plots stay readable from 2 to dozens of groups. A figure made by
    :meth:`plot` grows with the number of groups up to 14 inches either way,
    and with ``kind="both"`` stacks the plots when side by side would be
    wider. Group labels wrap between the group columns' values, turn upright
    when too wide for their tick, and shrink to fit; where even the smallest
    font is too large, every second (third...) one is shown. Each gap is
    written in black on a light cell and in white on a dark one, as large as
    its cell allows; where no number fits, only the ``*`` of significant
    violations is. The colour scale is symmetric about 0 and spans at least
    ±0.01, so that gaps all about 0 are drawn pale rather than stretched.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fairuse_estimators import FairUseClassifier, FairUseDisplay
    >>> from fairuse_estimators.datasets import load_heart
    >>> X, y = load_heart(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, test_size=0.3, random_state=0, stratify=y)
    >>> base = make_pipeline(StandardScaler(), LogisticRegression())
    >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
    ...                         random_state=0).fit(X_train, y_train)
    >>> display = FairUseDisplay.from_estimator(clf, X_test, y_test)
    >>> display.models
    ['routed', 'onehot', 'intersectional', 'decoupled']
    >>> len(display.bars_["onehot"])
    4
    >>> display.heatmap_.get_array().shape
    (4, 4)
    """

    def __init__(
        self,
        *,
        groups,
        models,
        gains,
        gain_low,
        gain_high,
        verdicts,
        envy_gaps,
        envy_verdicts,
        envy_model,
        metric="error",
        alpha=0.1,
    ):
        self.groups = groups
        self.models = models
        self.gains = gains
        self.gain_low = gain_low
        self.gain_high = gain_high
        self.verdicts = verdicts
        self.envy_gaps = envy_gaps
        self.envy_verdicts = envy_verdicts
        self.envy_model = envy_model
        self.metric = metric
        self.alpha = alpha

    @classmethod
    def _from_report(cls, report, models=None, envy_model=None):
        return cls(**report_arrays(report, models, envy_model))

    @classmethod
    def from_report(cls, report, *, models=None, envy_model=None, kind="both", ax=None):
        """Plot the gains and the envy heatmap of a :class:`FairUseReport`.

        Parameters
        ----------
        report : FairUseReport
            Report of :func:`~fairuse_estimators.audit_fair_use` or of
            :meth:`FairUseClassifier.audit`.
        models : list of str, default=None
            Models of the gains plot, side by side; ``None`` means all of
            ``report.models``.
        envy_model : str, default=None
            Model of the envy heatmap; ``None`` means the first of
            ``models``.
        kind : {"both", "gains", "envy"}, default="both"
            What to plot.
        ax : matplotlib Axes or pair of Axes, default=None
            Where to plot; a pair (gains, envy) when ``kind="both"``.
            ``None`` creates a figure.

        Returns
        -------
        display : FairUseDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.preprocessing import OneHotEncoder
        >>> from sklearn.compose import make_column_transformer
        >>> from sklearn.pipeline import make_pipeline
        >>> from fairuse_estimators import FairUseDisplay, audit_fair_use
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> onehot = make_pipeline(
        ...     make_column_transformer((OneHotEncoder(), ["sex", "age_group"]),
        ...                             remainder="passthrough"),
        ...     LogisticRegression(max_iter=5000)).fit(X, y)
        >>> report = audit_fair_use(onehot, X, y, group_columns=["sex", "age_group"])
        >>> display = FairUseDisplay.from_report(report, kind="envy")
        >>> display.envy_model, display.ax_ is None
        ('personalized', True)
        """
        check_matplotlib()
        return cls._from_report(report, models, envy_model).plot(ax=ax, kind=kind)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        group_columns=None,
        generic=None,
        models=None,
        envy_model=None,
        kind="both",
        ax=None,
        **audit_params,
    ):
        """Audit a fitted estimator on ``X, y`` and plot the report.

        Parameters
        ----------
        estimator : fitted estimator
            A :class:`~fairuse_estimators.FairUseClassifier` (audited with its
            :meth:`~fairuse_estimators.FairUseClassifier.audit`), or any
            fitted classifier taking the group columns inside ``X`` (audited
            with :func:`~fairuse_estimators.audit_fair_use`).
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Labelled rows the estimator was not fitted on, group columns
            included.
        y : array-like of shape (n_samples,)
            True labels.
        group_columns : str, int or sequence, default=None
            Group columns, for an estimator other than a FairUseClassifier.
        generic : fitted estimator, default=None
            Generic model, for an estimator other than a FairUseClassifier.
        models, envy_model, kind, ax
            As in :meth:`from_report`.
        **audit_params : dict
            Options of the audit (``metric``, ``test``, ``alpha``,
            ``correction``, ``n_bootstrap``, ``random_state``).

        Returns
        -------
        display : FairUseDisplay

        Examples
        --------
        See :class:`FairUseDisplay`.
        """
        check_matplotlib()
        if hasattr(estimator, "audit") and group_columns is None:
            report = estimator.audit(X, y, **audit_params)
        else:
            report = audit_fair_use(
                estimator,
                X,
                y,
                group_columns=group_columns,
                generic=generic,
                **audit_params,
            )
        return cls.from_report(
            report, models=models, envy_model=envy_model, kind=kind, ax=ax
        )

    def plot(self, ax=None, *, kind="both"):
        """Plot the gains, the envy heatmap, or both.

        Parameters
        ----------
        ax : matplotlib Axes or pair of Axes, default=None
            Where to plot: one Axes for ``kind="gains"`` or ``"envy"``, a pair
            (gains, envy) for ``kind="both"``. ``None`` creates a figure.
        kind : {"both", "gains", "envy"}, default="both"
            What to plot.

        Returns
        -------
        display : FairUseDisplay
            ``self``, with the plotted artists as attributes.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> from fairuse_estimators import FairUseDisplay
        >>> display = FairUseDisplay(
        ...     groups=["a", "b"], models=["personalized"],
        ...     gains=np.array([[0.1, -0.05]]), gain_low=np.array([[0.05, -0.1]]),
        ...     gain_high=np.array([[0.15, 0.0]]),
        ...     verdicts=np.array([["gain", "inconclusive"]]),
        ...     envy_gaps=np.array([[np.nan, 0.02], [-0.01, np.nan]]),
        ...     envy_verdicts=np.array([["untested", "inconclusive"],
        ...                             ["inconclusive", "untested"]]),
        ...     envy_model="personalized")
        >>> fig, ax = plt.subplots()
        >>> display.plot(ax=ax, kind="gains") is display
        True
        >>> from matplotlib.colors import to_hex
        >>> [to_hex(bar.get_facecolor()) for bar in display.bars_["personalized"]]
        ['#1a9641', '#9e9e9e']
        """
        check_matplotlib()
        import matplotlib.pyplot as plt

        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}.")
        if ax is None:
            layout = figure_layout(kind, self.groups, self.models)
            _, ax = plt.subplots(**layout, layout="constrained")
        if kind == "both":
            gains_ax, envy_ax = ax
        else:
            gains_ax, envy_ax = (ax, None) if kind == "gains" else (None, ax)
        self.ax_, self.envy_ax_ = gains_ax, envy_ax
        self.bars_, self.errorbars_, self.heatmap_ = {}, {}, None
        if gains_ax is not None:
            self._plot_gains(gains_ax)
        if envy_ax is not None:
            self._plot_envy(envy_ax)
        self.figure_ = (gains_ax if gains_ax is not None else envy_ax).figure
        return self

    def _plot_gains(self, ax):
        self.bars_, self.errorbars_ = draw_gains(
            ax,
            self.groups,
            self.models,
            self.gains,
            self.gain_low,
            self.gain_high,
            self.verdicts,
            self.metric,
            self.alpha,
        )

    def _plot_envy(self, ax):
        self.heatmap_ = draw_envy(
            ax,
            self.groups,
            self.envy_gaps,
            self.envy_verdicts,
            self.envy_model,
            self.metric,
        )
