"""FairUseReport: risks, routes and fair-use verdicts of personalized models."""

import html
import json
import math

import numpy as np
import pandas as pd

from ._files import write_atomic
from ._stats import STAT_FIELDS
from ._variants import VARIANTS, find_candidate

GENERIC_LABEL = "-"
#: Verdict of a test: significant gain, significant violation, neither, or
#: not tested (with the reason recorded).
VERDICTS = ("untested", "inconclusive", "gain", "violation")
_FIELD = {name: i for i, name in enumerate(STAT_FIELDS)}


def package_version():
    """Version of this package, recorded in reports and fitted estimators."""
    from ._version import __version__

    return __version__


def group_label(group):
    """Readable label of a group tuple, e.g. ``"female, <60"``.

    A text value holding a comma, a quote at its start, surrounding spaces or
    nothing at all is quoted, so that two groups never share a label:
    ``("a, b", "c")`` reads ``'a, b', c`` and ``("a", "b, c")`` reads
    ``a, 'b, c'``.
    """
    return ", ".join(map(_label_part, group))


def _label_part(value):
    text = str(value)
    if isinstance(value, str) and (
        not text or "," in text or text != text.strip() or text[0] in "'\""
    ):
        return repr(value)
    return text


def _verdicts(block, alpha):
    p_gain, p_violation = (
        block[..., _FIELD["p_gain_adjusted"]],
        block[..., _FIELD["p_violation_adjusted"]],
    )
    with np.errstate(invalid="ignore"):
        gain = (p_gain <= alpha) & (p_gain <= p_violation)
        violation = (p_violation <= alpha) & ~gain
    codes = np.where(np.isnan(p_gain), 0, np.where(gain, 2, np.where(violation, 3, 1)))
    return np.asarray(VERDICTS, dtype=object)[codes]


class FairUseReport:
    """Risks of candidate predictors on every group, and fair-use verdicts.

    A *candidate* is the generic model or a personalized model with the
    reported group fixed; the risk matrix holds the risk of every candidate on
    the rows of every intersectional group. An audited *model* maps each group
    to a candidate: the routed :class:`~fairuse_estimators.FairUseClassifier`,
    each of its variants, or the personalized estimator given to
    :func:`~fairuse_estimators.audit_fair_use`. Risks are unweighted averages
    over the individuals of a group; lower is better.

    For every model and group the report holds two tests:

    - *rationality*: the gain ``risk_generic - risk_personalized`` of the
      group's own predictions over the generic model's;
    - *envy-freeness*: for every other group ``g'``, the gap between the
      group's risk under the predictions made for ``g'`` and under its own.

    Each verdict is ``"gain"`` (significantly better for the group),
    ``"violation"`` (significantly worse), ``"inconclusive"`` or
    ``"untested"`` (with the reason in the notes), at level ``alpha`` after
    the family-wise correction.

    Reports are built by :class:`~fairuse_estimators.FairUseClassifier` and
    :func:`~fairuse_estimators.audit_fair_use`; their state is plain lists,
    dicts and arrays so that joblib and skops carry it.

    ``str(report)`` is :meth:`summary`, a fixed-width table like the paper's
    Figure 1; :meth:`to_html` writes a self-contained page with the tables and
    the plots of :class:`~fairuse_estimators.FairUseDisplay`, which notebooks
    show directly.

    Parameters
    ----------
    metric : str
        Name of the risk (lower is better).
    group_columns : list of str
        Names of the group columns.
    groups : list of tuple
        Intersectional groups, in the order of the rows of ``risks``.
    n : array-like of int of shape (n_groups,)
        Number of evaluated rows of each group.
    risks : array-like of shape (n_groups, n_candidates)
        Risk of each candidate on each group; ``nan`` where undefined.
    variants : list of str
        Variants that were fitted.
    candidate_variants : list of str
        Variant of each candidate; candidate 0 is the generic model.
    candidate_groups : array-like of int of shape (n_candidates,)
        Reported group of each candidate, ``-1`` for the generic model.
    models : list of str
        Names of the audited models; the first is the one
        :meth:`to_frame` shows by default.
    assignments : array-like of int of shape (n_models, n_groups)
        Candidate of each group under each model, ``-1`` where a model has
        none.
    notes : list of str
        Per-group remarks (absent candidates and why), ``""`` for none.
    routes : array-like of int of shape (n_groups,), default=None
        Candidate each group is routed to, for a routed classifier.
    n_withheld : int, default=0
        Rows whose group was withheld (missing); they are not in any group.
    evidence : str, default=""
        How the risks were estimated, e.g. ``"5-fold cross-fitting"``.
    statistics : dict, default=None
        Test results from the audit (arrays of the tested comparisons and the
        reasons for untested ones); ``None`` when nothing was tested.
    settings : dict, default=None
        ``test``, ``alpha``, ``correction``, ``n_bootstrap``,
        ``random_state`` and ``version``.

    See Also
    --------
    FairUseClassifier.audit : Audit a routed classifier on new data.
    audit_fair_use : Audit any fitted model.
    fairuse_estimators.plotting.FairUseDisplay : Plot the gains and envy gaps.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fairuse_estimators import FairUseClassifier
    >>> from fairuse_estimators.datasets import load_heart
    >>> X, y = load_heart(return_X_y=True)
    >>> base = make_pipeline(StandardScaler(), LogisticRegression())
    >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
    ...                         random_state=0).fit(X, y)
    >>> report = clf.audit_report_
    >>> report.models
    ['routed', 'onehot', 'intersectional', 'decoupled']
    >>> report.summary_table().loc["onehot", ["harmed_groups", "rationality_gains"]]
    harmed_groups        2
    rationality_gains    0
    Name: onehot, dtype: ...
    """

    def __init__(
        self,
        *,
        metric,
        group_columns,
        groups,
        n,
        risks,
        variants,
        candidate_variants,
        candidate_groups,
        models,
        assignments,
        notes,
        routes=None,
        n_withheld=0,
        evidence="",
        statistics=None,
        settings=None,
    ):
        self.metric = str(metric)
        self.group_columns = [str(c) for c in group_columns]
        self.group_values = [list(g) for g in groups]
        self.n = np.asarray(n, dtype=np.int64)
        self.risks = np.asarray(risks, dtype=float)
        self.variants = [str(v) for v in variants]
        self.candidate_variants = [str(v) for v in candidate_variants]
        self.candidate_groups = np.asarray(candidate_groups, dtype=np.int64)
        self.models = [str(m) for m in models]
        self.assignments = np.asarray(assignments, dtype=np.int64).reshape(
            len(self.models), len(self.n)
        )
        self.notes = [str(note) for note in notes]
        self.routes = None if routes is None else np.asarray(routes, dtype=np.int64)
        self.n_withheld = int(n_withheld)
        self.evidence = str(evidence)
        self.statistics = statistics
        self.settings = dict(settings or {})

    # ------------------------------------------------------------ lookups

    @property
    def groups(self):
        """Intersectional groups as tuples, in report order.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> report.groups[:2]
        [('female', '60+'), ('female', '<60')]
        """
        return [tuple(g) for g in self.group_values]

    @property
    def alpha(self):
        """Significance level of the verdicts.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> report.alpha
        0.1
        """
        return self.settings.get("alpha", 0.1)

    def candidate_index(self, variant, group):
        """Index of the candidate ``(variant, group)``, or ``-1`` if absent.

        Parameters
        ----------
        variant : str
            Variant name, e.g. ``"onehot"``.
        group : int
            Index of the reported group in :attr:`groups`.

        Returns
        -------
        candidate : int

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> report.candidate_index("onehot", 1)
        2
        >>> report.candidate_label(report.candidate_index("onehot", 1))
        'onehot as (female, <60)'
        """
        return find_candidate(
            self.candidate_variants, self.candidate_groups, variant, group
        )

    def candidate_label(self, candidate, group=None):
        """Name of a candidate; from ``group``'s viewpoint when one is given.

        Parameters
        ----------
        candidate : int
            Index of the candidate.
        group : int, default=None
            Index of the group whose viewpoint names the candidate: its own
            candidates are named by their variant alone.

        Returns
        -------
        label : str

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> report.candidate_label(report.candidate_index("onehot", 1), group=0)
        'onehot as (female, <60)'
        """
        if candidate < 0:
            return "none"
        variant = self.candidate_variants[candidate]
        reported = self.candidate_groups[candidate]
        if variant == "generic" or reported == group:
            return variant
        return f"{variant} as ({group_label(self.group_values[reported])})"

    def generic_groups(self):
        """Groups routed to the generic model.

        These groups are served exactly as if they had withheld their
        attributes, so they need not report them (data minimization).

        Returns
        -------
        groups : list of tuple
            Empty when the report has no routes.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> report.generic_groups()
        [('female', '60+'), ('female', '<60'), ('male', '60+'), ('male', '<60')]
        """
        if self.routes is None:
            return []
        return [g for g, route in zip(self.groups, self.routes) if route == 0]

    def _model(self, model):
        if model is None:
            return 0
        if model not in self.models:
            raise ValueError(
                f"model must be one of the audited models {self.models!r}; "
                f"got {model!r}."
            )
        return self.models.index(model)

    def _index(self):
        names = self.group_columns or ["group"]
        if len(names) == 1:
            return pd.Index([g[0] for g in self.group_values], name=names[0])
        if not self.group_values:
            return pd.MultiIndex.from_arrays([[] for _ in names], names=names)
        return pd.MultiIndex.from_tuples(self.groups, names=names)

    def _tests(self, k):
        """Rationality (m, 7) and envy (m, m, 7) results of model ``k``."""
        m = len(self.n)
        if self.statistics is None:
            return np.full((m, 7), np.nan), np.full((m, m, 7), np.nan)
        return (
            np.asarray(self.statistics["rationality"], dtype=float)[k],
            np.asarray(self.statistics["envy"], dtype=float)[k],
        )

    def _untested(self, key, k):
        if self.statistics is None:
            return None
        return self.statistics[f"{key}_untested"][k]

    def _risk_under(self, k):
        """Risk of each group under model ``k``, and under every group's
        candidate of model ``k`` (rows: group, columns: reported group)."""
        model = self.assignments[k]
        cross = np.full((len(model), len(model)), np.nan)
        available = model >= 0
        cross[:, available] = self.risks[:, model[available]]
        return np.diagonal(cross).copy(), cross

    def _envy_matrices(self, k):
        """Gap ``R[g, M[g']] - R[g, M[g]]`` and verdict of every ordered pair
        of groups under model ``k``; ``nan`` and ``"untested"`` on the
        diagonal."""
        own, cross = self._risk_under(k)
        gaps = cross - own[:, None]
        np.fill_diagonal(gaps, np.nan)
        return gaps, _verdicts(self._tests(k)[1], self.alpha)

    # ------------------------------------------------------------- frames

    def to_frame(self, model=None):
        """One row per group: risks, gain, and both fair-use verdicts.

        Parameters
        ----------
        model : str, default=None
            Audited model to show; ``None`` means the first of
            :attr:`models` (the routed model for a classifier).

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by the group columns, with columns ``n``; ``route`` (the
            routed candidate, for a classifier); ``risk_generic``;
            ``risk_personalized`` (the group's risk under the model);
            ``gain`` (``risk_generic - risk_personalized``), its interval
            ``gain_low`` and ``gain_high``, ``p_rationality`` and
            ``rationality``; ``worst_envy`` (the largest risk reduction the
            group would get from another group's predictions; negative when
            its own are best), ``envied_group``, ``p_envy`` and
            ``envy_freeness``; for a classifier, one ``risk_<variant>``
            column per personalized variant; and ``note``.

        Notes
        -----
        ``p_rationality`` is the adjusted p-value of the direction with more
        evidence. ``envy_freeness`` is ``"violation"`` when some other
        group's predictions are significantly better for the group, and
        ``"gain"`` when its own are significantly better than every other
        group's; ``p_envy`` is then the largest adjusted p-value of those
        gains, and otherwise the smallest adjusted p-value of envy.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> report.to_frame()[["n", "route", "rationality"]]
                            n    route rationality
        sex    age_group
        female 60+         39  generic    untested
               <60         58  generic    untested
        male   60+         52  generic    untested
               <60        154  generic    untested
        """
        k = self._model(model)
        rationality, envy = self._tests(k)
        own, cross = self._risk_under(k)
        generic = self.risks[:, 0] if self.risks.shape[1] else np.full(len(own), np.nan)
        frame = pd.DataFrame({"n": self.n}, index=self._index())
        if self.routes is not None and k == 0:
            frame["route"] = [
                self.candidate_label(c, g) for g, c in enumerate(self.routes)
            ]
        frame["risk_generic"] = generic
        frame["risk_personalized"] = own
        frame["gain"] = generic - own
        frame["gain_low"] = rationality[:, _FIELD["low"]]
        frame["gain_high"] = rationality[:, _FIELD["high"]]
        frame["p_rationality"] = np.fmin(
            rationality[:, _FIELD["p_gain_adjusted"]],
            rationality[:, _FIELD["p_violation_adjusted"]],
        )
        frame["rationality"] = _verdicts(rationality, self.alpha)
        for column, values in self._envy_columns(k, envy).items():
            frame[column] = values
        if self.routes is not None:
            for variant in VARIANTS[1:]:
                if variant in self.models:
                    frame[f"risk_{variant}"] = self._risk_under(self._model(variant))[0]
        frame["note"] = self._notes(k)
        return frame

    def _envy_columns(self, k, envy):
        m = len(self.n)
        gaps, pair_verdicts = self._envy_matrices(k)
        reduction = -gaps
        columns = {
            "worst_envy": np.full(m, np.nan),
            "envied_group": [""] * m,
            "p_envy": np.full(m, np.nan),
            "envy_freeness": ["untested"] * m,
        }
        for g in range(m):
            others = np.arange(m) != g
            if np.isfinite(reduction[g]).any():
                envied = int(np.nanargmax(reduction[g]))
                columns["worst_envy"][g] = reduction[g, envied]
                columns["envied_group"][g] = group_label(self.group_values[envied])
            verdicts = pair_verdicts[g, others]
            if (verdicts == "untested").all():
                continue
            if (verdicts == "gain").all():
                columns["envy_freeness"][g] = "gain"
                columns["p_envy"][g] = envy[g, others, _FIELD["p_gain_adjusted"]].max()
                continue
            columns["envy_freeness"][g] = (
                "violation" if (verdicts == "violation").any() else "inconclusive"
            )
            columns["p_envy"][g] = np.nanmin(
                envy[g, others, _FIELD["p_violation_adjusted"]]
            )
        return columns

    def _notes(self, k):
        notes = list(self.notes)
        untested = self._untested("rationality", k)
        for g in range(len(notes)):
            why = untested[g] if untested is not None else ""
            if why and why != "the group uses the generic model":
                notes[g] = "; ".join(filter(None, [notes[g], f"untested: {why}"]))
        return notes

    def envy_frame(self, model=None):
        """One row per ordered pair of groups: the envy-freeness tests.

        Parameters
        ----------
        model : str, default=None
            Audited model to show; ``None`` means the first of
            :attr:`models`.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``group`` and ``reported_group`` (readable labels),
            ``risk_own`` (the group's risk under its own predictions),
            ``risk_reported`` (under the predictions made for
            ``reported_group``), ``gap`` (``risk_reported - risk_own``;
            negative means envy), its interval ``gap_low`` and ``gap_high``,
            ``p_value`` (adjusted, in the direction with more evidence),
            ``verdict`` and ``note`` (why a pair was not tested).

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> pairs = report.envy_frame("onehot")
        >>> pairs[["group", "reported_group", "gap"]].head(3).round(3)
                 group reported_group    gap
        0  female, 60+    female, <60  0.000
        1  female, 60+      male, 60+  0.179
        2  female, 60+      male, <60  0.154
        """
        k = self._model(model)
        _, envy = self._tests(k)
        own, cross = self._risk_under(k)
        gaps, verdicts = self._envy_matrices(k)
        untested = self._untested("envy", k)
        labels = [group_label(g) for g in self.group_values]
        g_index, h_index = np.nonzero(~np.eye(len(labels), dtype=bool))
        return pd.DataFrame(
            {
                "group": [labels[g] for g in g_index],
                "reported_group": [labels[h] for h in h_index],
                "risk_own": own[g_index],
                "risk_reported": cross[g_index, h_index],
                "gap": gaps[g_index, h_index],
                "gap_low": envy[g_index, h_index, _FIELD["low"]],
                "gap_high": envy[g_index, h_index, _FIELD["high"]],
                "p_value": np.fmin(
                    envy[g_index, h_index, _FIELD["p_gain_adjusted"]],
                    envy[g_index, h_index, _FIELD["p_violation_adjusted"]],
                ),
                "verdict": verdicts[g_index, h_index],
                "note": [
                    untested[g][h] if untested else "" for g, h in zip(g_index, h_index)
                ],
            }
        )

    def summary_table(self):
        """One row per audited model, as in the paper's Table 1.

        Returns
        -------
        table : pandas.DataFrame
            Indexed by model name, with columns ``risk`` (over all audited
            rows), ``risk_generic``, ``gain`` (their difference),
            ``best_group_gain`` and ``worst_group_gain``,
            ``harmed_groups`` (groups whose risk is above the generic
            model's, significant or not), ``rationality_gains``,
            ``rationality_violations``, ``envy_gains`` and
            ``envy_violations`` (numbers of groups with a significant
            verdict).

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> report.summary_table()[["harmed_groups", "rationality_violations"]]
                harmed_groups  rationality_violations
        model
        routed              0                       0
        onehot              0                       0
        """
        rows = []
        stats = self.statistics or {}
        overall = np.asarray(
            stats.get("overall_risk", np.full(len(self.models), np.nan))
        )
        generic = float(np.asarray(stats.get("overall_generic", [np.nan]))[0])
        for k, model in enumerate(self.models):
            frame = self.to_frame(model)
            gains = frame["gain"].to_numpy(dtype=float)
            finite = gains[np.isfinite(gains)]
            rows.append(
                {
                    "risk": overall[k],
                    "risk_generic": generic,
                    "gain": generic - overall[k],
                    "best_group_gain": finite.max() if len(finite) else np.nan,
                    "worst_group_gain": finite.min() if len(finite) else np.nan,
                    "harmed_groups": int((finite < 0).sum()),
                    "rationality_gains": int((frame["rationality"] == "gain").sum()),
                    "rationality_violations": int(
                        (frame["rationality"] == "violation").sum()
                    ),
                    "envy_gains": int((frame["envy_freeness"] == "gain").sum()),
                    "envy_violations": int(
                        (frame["envy_freeness"] == "violation").sum()
                    ),
                }
            )
        return pd.DataFrame(rows, index=pd.Index(self.models, name="model"))

    def risk_matrix(self):
        """Risk of every candidate on every group.

        Returns
        -------
        matrix : pandas.DataFrame of shape (n_groups, n_candidates)
            Rows are groups; columns are a MultiIndex ``(variant,
            reported_group)`` with reported group ``"-"`` for the generic
            model.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> report.risk_matrix().shape
        (4, 5)
        """
        return pd.DataFrame(
            self.risks, index=self._index(), columns=self._candidate_columns()
        )

    def _candidate_columns(self):
        return pd.MultiIndex.from_tuples(
            [
                (
                    variant,
                    GENERIC_LABEL if g < 0 else group_label(self.group_values[g]),
                )
                for variant, g in zip(self.candidate_variants, self.candidate_groups)
            ],
            names=["variant", "reported_group"],
        )

    # ------------------------------------------------------------- export

    def to_dict(self):
        """Everything in the report as JSON-compatible builtins.

        Returns
        -------
        report : dict
            Settings (metric, test, alpha, correction, n_bootstrap,
            random_state, version), the groups, the summary table, and per
            model the per-group frame and the envy pairs; missing values are
            ``None``. A group record names its group by the group columns,
            and a group column that shares the name of a report column (such
            as ``"n"``) by ``"<name> (group)"``.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> data = report.to_dict()
        >>> data["metric"], data["test"], len(data["models"])
        ('error', 'mcnemar', 2)
        """

        def records(frame):
            if frame.index.names == [None]:
                return frame.reset_index().to_dict(orient="records")
            # A group column may share a report column's name ("n", "gain").
            index = frame.index.to_frame(index=False)
            index.columns = [
                f"{name} (group)" if name in frame.columns else name
                for name in index.columns
            ]
            rows = pd.concat([index, frame.reset_index(drop=True)], axis=1)
            return rows.to_dict(orient="records")

        result = {
            "metric": self.metric,
            "evidence": self.evidence,
            **{
                key: self.settings.get(key)
                for key in (
                    "test",
                    "alpha",
                    "correction",
                    "n_bootstrap",
                    "random_state",
                )
            },
            "version": self.settings.get("version", package_version()),
            "group_columns": self.group_columns,
            "groups": self.group_values,
            "n_withheld": self.n_withheld,
            "generic_groups": [list(g) for g in self.generic_groups()],
            "summary": records(self.summary_table().reset_index()),
            "models": {
                model: {
                    "groups": records(self.to_frame(model)),
                    "envy": records(self.envy_frame(model)),
                }
                for model in self.models
            },
            "candidates": [
                {"variant": v, "reported_group": label}
                for v, label in self._candidate_columns()
            ],
            "risks": self.risks.tolist(),
        }
        return _jsonable(result)

    def to_json(self, path=None, *, indent=2):
        """The report as JSON text; also written to ``path`` when given.

        Parameters
        ----------
        path : str or path-like, default=None
            File to write.
        indent : int, default=2
            Spaces per nesting level of the JSON text.

        Returns
        -------
        text : str

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"], cv=3,
        ...                         variants=("generic", "onehot"), random_state=0)
        >>> report = clf.fit(X, y).audit_report_
        >>> import json
        >>> json.loads(report.to_json())["correction"]
        'holm'
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            write_atomic(path, text + "\n")
        return text

    # --------------------------------------------------------------- text

    def _interval_level(self):
        return f"{100 * (1 - self.alpha):g}%"

    def _group_table(self, model=None):
        """Header and string cells of the per-group table (the paper's Figure 1)."""
        k = self._model(model)
        frame = self.to_frame(self.models[k])
        header = [
            "group",
            "n",
            "generic",
            "personalized",
            f"gain [{self._interval_level()} CI]",
            "route",
            "rationality",
            "envy-freeness",
        ]
        rows = [
            [
                group_label(self.group_values[g]),
                str(self.n[g]),
                _number(row.risk_generic),
                _number(row.risk_personalized),
                _with_interval(row.gain, row.gain_low, row.gain_high),
                self.candidate_label(self.assignments[k, g], g),
                row.rationality,
                row.envy_freeness,
            ]
            for g, row in enumerate(frame.itertuples(index=False))
        ]
        return header, rows

    def _model_table(self):
        """Header and string cells of the per-model table (the paper's Table 1)."""
        table = self.summary_table()
        header = [
            "model",
            "risk",
            "generic",
            "gain",
            "best group gain",
            "worst group gain",
            "harmed",
            "rationality g/v",
            "envy g/v",
        ]
        rows = [
            [
                model,
                _number(row.risk),
                _number(row.risk_generic),
                _number(row.gain, signed=True),
                _number(row.best_group_gain, signed=True),
                _number(row.worst_group_gain, signed=True),
                str(row.harmed_groups),
                f"{row.rationality_gains}/{row.rationality_violations}",
                f"{row.envy_gains}/{row.envy_violations}",
            ]
            for model, row in zip(table.index, table.itertuples(index=False))
        ]
        return header, rows

    def violations(self):
        """One sentence per significant fair-use violation, model by model.

        Returns
        -------
        lines : list of str
            Rationality violations (a group significantly worse off than under
            the generic model) and envy-freeness violations (a group
            significantly better served by the predictions made for another
            group), with the estimate, its interval and the adjusted p-value.

        Examples
        --------
        >>> import numpy as np
        >>> from fairuse_estimators import FairUseReport
        >>> report = FairUseReport(
        ...     metric="error", group_columns=["sex"], groups=[("f",), ("m",)],
        ...     n=[50, 50], risks=[[0.1, 0.3, 0.1], [0.2, 0.2, 0.2]],
        ...     variants=["generic", "personalized"],
        ...     candidate_variants=["generic", "personalized", "personalized"],
        ...     candidate_groups=[-1, 0, 1], models=["personalized"],
        ...     assignments=[[1, 2]], notes=["", ""],
        ...     statistics={
        ...         "rationality": [[[-0.2, -0.3, -0.1, 1.0, 0.01, 1.0, 0.02],
        ...                          [np.nan] * 7]],
        ...         "envy": np.full((1, 2, 2, 7), np.nan),
        ...         "rationality_untested": [["", "same predictions"]],
        ...         "envy_untested": [[["", ""], ["", ""]]],
        ...         "overall_risk": [0.25], "overall_generic": [0.15]})
        >>> report.violations()
        ['personalized: rationality violation for group (f): gain -0.200 [-0.300, \
-0.100] over the generic model, adjusted p = 0.02']
        """
        lines = []
        for model in self.models:
            frame = self.to_frame(model)
            for g, row in enumerate(frame.itertuples(index=False)):
                if row.rationality == "violation":
                    lines.append(
                        f"{model}: rationality violation for group "
                        f"({group_label(self.group_values[g])}): gain "
                        f"{_with_interval(row.gain, row.gain_low, row.gain_high)} "
                        f"over the generic model, adjusted p = "
                        f"{row.p_rationality:.2g}"
                    )
            pairs = self.envy_frame(model)
            for row in pairs[pairs["verdict"] == "violation"].itertuples(index=False):
                lines.append(
                    f"{model}: envy-freeness violation for group ({row.group}): "
                    f"the predictions for ({row.reported_group}) change its risk "
                    f"by {_with_interval(row.gap, row.gap_low, row.gap_high)}, "
                    f"adjusted p = {row.p_value:.2g}"
                )
        return lines

    def _minimization_line(self):
        if self.routes is None:
            return ""
        generic = self.generic_groups()
        if not generic:
            return (
                "No group is routed to the generic model: every group's route "
                "uses its attributes."
            )
        labels = "; ".join(f"({group_label(g)})" for g in generic)
        return (
            "Groups routed to the generic model, which need not report their "
            f"attributes: {labels}"
        )

    def _settings_items(self):
        """(name, value) pairs of the settings, as shown in text and HTML."""
        settings = self.to_dict()
        seed = settings["random_state"]
        return [
            ("metric", self.metric),
            ("test", settings["test"]),
            ("alpha", settings["alpha"]),
            ("correction", settings["correction"]),
            ("bootstrap replicates (B)", settings["n_bootstrap"]),
            ("seed", "none" if seed is None else seed),
            ("evidence", self.evidence),
            ("withheld rows", self.n_withheld),
            ("version", settings["version"]),
        ]

    def summary(self, model=None):
        """The report as fixed-width text, as printed by ``str(report)``.

        A per-group table like the paper's Figure 1 for one model (group,
        ``n``, generic and personalized risk, gain with its interval, route,
        and both verdicts), the per-model table of the paper's Table 1, one
        line per significant violation, and the groups that need not report
        their attributes.

        Parameters
        ----------
        model : str, default=None
            Model of the per-group table; ``None`` means the first of
            :attr:`models`.

        Returns
        -------
        text : str

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.model_selection import train_test_split
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from fairuse_estimators import FairUseClassifier
        >>> from fairuse_estimators.datasets import load_heart
        >>> X, y = load_heart(return_X_y=True)
        >>> X_train, X_test, y_train, y_test = train_test_split(
        ...     X, y, test_size=0.3, random_state=0, stratify=y)
        >>> base = make_pipeline(StandardScaler(), LogisticRegression())
        >>> clf = FairUseClassifier(base, group_columns=["sex", "age_group"],
        ...                         random_state=0).fit(X_train, y_train)
        >>> lines = clf.audit(X_test, y_test).summary().splitlines()
        >>> print("\\n".join(lines[3:8]))
        group         n  generic  personalized  gain [90% CI]    route ...
        female, 60+  11    0.091         0.091         +0.000  generic ...
        female, <60  17    0.059         0.059         +0.000  generic ...
        male, 60+    11    0.182         0.182         +0.000  generic ...
        male, <60    52    0.212         0.212         +0.000  generic ...
        >>> print(lines[-1])
        Groups routed to the generic model, which need not report ...
        """
        k = self._model(model)
        settings = dict(self._settings_items())
        lines = [
            f"Fair-use audit: risk {self.metric} (lower is better), "
            f"{settings['test']} test at alpha={settings['alpha']} with "
            f"{settings['correction']} correction; {self.evidence}; "
            f"{self.n_withheld} withheld rows",
            "",
        ]
        if not len(self.n):
            return "\n".join([*lines, "No groups to audit."])
        lines += [
            f"Groups under the {self.models[k]!r} model:",
            *_fixed_width(*self._group_table(self.models[k])),
            "",
            "Models (risks over all audited rows; harmed: groups with a negative "
            "gain; g/v: groups with a significant gain / violation):",
            *_fixed_width(*self._model_table()),
            "",
        ]
        violations = self.violations()
        if violations:
            lines += ["Significant violations:", *(f"  {v}" for v in violations)]
        else:
            lines.append(f"No significant violation at alpha={settings['alpha']}.")
        minimization = self._minimization_line()
        if minimization:
            lines.append(minimization)
        return "\n".join(lines)

    # --------------------------------------------------------------- HTML

    def _html_body(self, plots=True):
        """The report as an HTML fragment: tables, violations, plots, settings."""
        settings = dict(self._settings_items())
        parts = [
            '<div class="fairuse-report">',
            f"<style>{_CSS}</style>",
            f"<h2>Fair-use audit: {_esc(self.metric)} (lower is better)</h2>",
            f"<p>{_esc(self.evidence)}; {settings['test']} test at alpha="
            f"{settings['alpha']} with {_esc(settings['correction'])} correction; "
            f"{self.n_withheld} withheld rows.</p>",
        ]
        if len(self.n):
            first = self.models[0]
            parts += [
                f"<h3>Groups under the {_esc(repr(first))} model</h3>",
                _html_table(*self._group_table(first), verdict_columns=(6, 7)),
                "<h3>Models</h3>",
                "<p>Risks over all audited rows; harmed: groups with a negative "
                "gain; g/v: groups with a significant gain / violation.</p>",
                _html_table(*self._model_table()),
                "<h3>Violations</h3>",
                _html_list(self.violations())
                or f"<p>No significant violation at alpha={settings['alpha']}.</p>",
            ]
            minimization = self._minimization_line()
            if minimization:
                parts.append(f"<p>{_esc(minimization)}</p>")
            if plots:
                parts += ["<h3>Plots</h3>", self._plots_html()]
            for model in self.models[1:]:
                parts += [
                    f"<details><summary>Groups under the {_esc(repr(model))} "
                    "model</summary>",
                    _html_table(*self._group_table(model), verdict_columns=(6, 7)),
                    "</details>",
                ]
        else:
            parts.append("<p>No groups to audit.</p>")
        parts += [
            "<h3>Settings</h3>",
            _html_table(
                ["setting", "value"], [[k, str(v)] for k, v in settings.items()]
            ),
            "</div>",
        ]
        return "\n".join(parts)

    def _plots_html(self):
        """The gains and envy plots as inline SVG, or why they are missing."""
        try:
            from .plotting import FairUseDisplay, check_matplotlib

            check_matplotlib()
        except ImportError as exc:
            return f'<p class="fairuse-missing">{_esc(str(exc))}</p>'
        import io

        from matplotlib.figure import Figure

        display = FairUseDisplay._from_report(self)
        width = 0.9 * len(self.n) + 3
        svgs = []
        for kind, size in (("gains", (width + 1, 4.5)), ("envy", (width + 2, 4.5))):
            # A bare Figure needs no GUI backend and leaves pyplot's state alone.
            figure = Figure(figsize=size, layout="constrained")
            display.plot(ax=figure.subplots(), kind=kind)
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg")
            text = buffer.getvalue()
            svgs.append(f'<div class="fairuse-plot">{text[text.index("<svg") :]}</div>')
        return "\n".join(svgs)

    def _repr_html_(self):
        return self._html_body()

    def to_html(self, path=None, *, plots=True):
        """The report as a self-contained HTML page; written to ``path`` if given.

        The page holds the per-group and per-model tables, the significant
        violations, the groups that need not report their attributes, the
        settings (metric, test, alpha, correction, bootstrap replicates, seed,
        version), and the plots of :class:`~fairuse_estimators.FairUseDisplay`
        as inline SVG. It loads nothing from the network. Without matplotlib
        the page says that the plots need the ``plot`` extra.

        Parameters
        ----------
        path : str or path-like, default=None
            File to write (UTF-8).
        plots : bool, default=True
            Whether to draw the plots.

        Returns
        -------
        page : str
            The HTML document.

        Examples
        --------
        >>> import numpy as np
        >>> from fairuse_estimators import FairUseReport
        >>> report = FairUseReport(
        ...     metric="error", group_columns=["sex"], groups=[("<f>",), ("m",)],
        ...     n=[50, 50], risks=[[0.1, 0.3, 0.1], [0.2, 0.2, 0.2]],
        ...     variants=["generic", "personalized"],
        ...     candidate_variants=["generic", "personalized", "personalized"],
        ...     candidate_groups=[-1, 0, 1], models=["personalized"],
        ...     assignments=[[1, 2]], notes=["", ""])
        >>> page = report.to_html(plots=False)
        >>> page.startswith("<!DOCTYPE html>"), "&lt;f&gt;" in page, "<f>" in page
        (True, True, False)
        """
        page = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>Fair-use audit: {_esc(self.metric)}</title>\n</head>\n<body>\n"
            f"{self._html_body(plots=plots)}\n</body>\n</html>\n"
        )
        if path is not None:
            write_atomic(path, page)
        return page

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return (
            f"FairUseReport(metric={self.metric!r}, groups={len(self.n)}, "
            f"candidates={len(self.candidate_variants)}, models={self.models!r}, "
            f"evidence={self.evidence!r}, withheld rows={self.n_withheld})"
        )


_CSS = (
    ".fairuse-report{font-family:sans-serif;color:#222}"
    ".fairuse-report table{border-collapse:collapse;margin:0.5em 0}"
    ".fairuse-report th,.fairuse-report td{border:1px solid #bbb;padding:2px 8px;"
    "text-align:right}"
    ".fairuse-report th:first-child,.fairuse-report td:first-child{text-align:left}"
    ".fairuse-report td.gain{background:#e5f5e0}"
    ".fairuse-report td.violation{background:#fee0d2}"
    ".fairuse-report .fairuse-plot svg{max-width:100%;height:auto}"
)


def _esc(text):
    return html.escape(str(text), quote=True)


def _html_table(header, rows, verdict_columns=()):
    """An HTML table of string cells; verdict cells get their verdict's class."""
    head = "".join(f"<th>{_esc(cell)}</th>" for cell in header)
    lines = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for row in rows:
        cells = "".join(
            (f'<td class="{_esc(cell)}">' if j in verdict_columns else "<td>")
            + f"{_esc(cell)}</td>"
            for j, cell in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _html_list(items):
    if not items:
        return ""
    return "<ul>" + "".join(f"<li>{_esc(item)}</li>" for item in items) + "</ul>"


def _number(value, signed=False):
    """A risk or gain with three decimals; ``-`` where it is undefined."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _with_interval(value, low, high):
    text = _number(value, signed=True)
    if np.isfinite(low) and np.isfinite(high):
        text += f" [{low:+.3f}, {high:+.3f}]"
    return text


def _fixed_width(header, rows):
    """Lines of a table: the first column left-aligned, the others right."""
    cells = [header, *rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(header))]

    def line(row):
        parts = [row[0].ljust(widths[0])]
        parts += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        return "  ".join(parts).rstrip()

    return [line(row) for row in cells]


def _jsonable(value):
    """Builtin, JSON-compatible copy of ``value``; NaN and inf become None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if pd.isna(value):
        return None
    return str(value)
