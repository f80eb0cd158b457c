"""FairUseReport: risks, routes and fair-use verdicts of personalized models.

The report holds plain persisted state (the risk matrix, the assignments of
the audited models and their test statistics) and computes each model's
arrays once, on first use; every frame reads them, and the text, HTML and
figure views read the frames.
"""

import json

import numpy as np
import pandas as pd

from . import _html, _text
from ._files import write_atomic
from ._frames import (
    envy_columns,
    jsonable,
    minimal_reporting_frame,
    records,
    routing_frame,
)
from ._groups import group_label
from ._pool import PERSONALIZED, Pool, find_candidate
from ._power import POWER, P, model_power
from ._stats import FIELD, SAME_AS_GENERIC, STAT_FIELDS, comparison_gains, verdicts
from ._version import __version__

GENERIC_LABEL = "-"
#: Version of the persisted state; :meth:`FairUseReport.__setstate__`
#: migrates older states.
SCHEMA = 4


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
    ``"violation"`` (significantly worse), ``"inconclusive"``,
    ``"untestable"`` (no power even against the largest possible gain, with
    the power in the notes) or ``"untested"`` (with the reason in the notes),
    at level ``alpha`` after the family-wise correction.

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
    reported_labels : list of str, default=None
        Under partial reporting, the label of the reported group of each
        candidate of a coarser subset (whose ``candidate_groups`` entry is
        ``-1``: no group of the report owns it), ``""`` for the others.
    participation : dict of lists, default=None
        Under partial reporting, the tests of the participatory guarantee:
        ``group``, ``reports`` (the coarser subset), ``gain``, ``p_gain``,
        ``p_violation`` (adjusted) and ``verdict``.
    must_report : list of list of str, default=None
        Under partial reporting, the group columns each group must report
        to get its route (see :meth:`minimal_reporting`).
    gate : dict, default=None
        For a routed classifier, what the routing saw for each group (the
        fields of ``fairuse_estimators._routing.GateRecord`` as lists, and
        its ``settings``); see :meth:`routing_frame`.

    See Also
    --------
    FairUseClassifier.audit : Audit a routed classifier on new data.
    audit_fair_use : Audit any fitted model.
    fairuse_estimators.plotting.FairUseDisplay : Plot the gains and envy gaps.

    Examples
    --------
    >>> import json
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
    >>> report.models, report.alpha, report.groups[:2]
    (['routed', 'onehot'], 0.1, [('female', '60+'), ('female', '<60')])
    >>> report.to_frame()[["n", "route", "rationality"]]
                        n    route rationality
    sex    age_group
    female 60+         39  generic    untested
           <60         58  generic    untested
    male   60+         52  generic    untested
           <60        154  generic    untested
    >>> pairs = report.envy_frame("onehot")
    >>> pairs[["group", "reported_group", "gap"]].head(3).round(3)
             group reported_group    gap
    0  female, 60+    female, <60  0.000
    1  female, 60+      male, 60+  0.179
    2  female, 60+      male, <60  0.154
    >>> report.summary_table()[["harmed_groups", "rationality_violations"]]
            harmed_groups  rationality_violations
    model
    routed              0                       0
    onehot              0                       0
    >>> report.candidate_label(report.candidate_index("onehot", 1), group=0)
    'onehot as (female, <60)'
    >>> report.risk_matrix().shape, len(report.generic_groups())
    ((4, 5), 4)
    >>> record = json.loads(report.to_json())
    >>> record["metric"], record["test"], record["correction"], len(record["models"])
    ('error', 'mcnemar', 'holm', 2)

    A report can be built by hand, for instance to draw one:

    >>> report = FairUseReport(
    ...     metric="error", group_columns=["sex"], groups=[("<f>",), ("m",)],
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
    ['personalized: rationality violation for group (<f>): gain -0.200 [-0.300, \
-0.100] over the generic model, adjusted p = 0.02']
    >>> page = report.to_html(plots=False)
    >>> page.startswith("<!DOCTYPE html>"), "&lt;f&gt;" in page, "<f>" in page
    (True, True, False)
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
        reported_labels=None,
        participation=None,
        must_report=None,
        gate=None,
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
        self.reported_labels = (
            None if reported_labels is None else [str(v) for v in reported_labels]
        )
        self.participation = participation
        self.must_report = must_report
        self.gate = gate
        self.schema = SCHEMA

    # -------------------------------------------------------- persistence

    def __getstate__(self):
        # The per-model arrays are derived: recomputed after loading.
        return {k: v for k, v in self.__dict__.items() if k != "_arrays"}

    def __setstate__(self, state):
        state = dict(state)
        if state.get("schema", 1) < 2:
            # Schema 1 (0.1.0.dev0 and before) had the same fields, unnumbered.
            state["schema"] = 2
        if state["schema"] < 3:
            # Schema 3 added the fields of partial reporting.
            state.update(reported_labels=None, participation=None, must_report=None)
            state["schema"] = 3
        if state["schema"] < 4:
            # Schema 4 added what the routing saw for each group.
            state.update(gate=None, schema=4)
        self.__dict__.update(state)

    # ------------------------------------------------------------ lookups

    @property
    def groups(self):
        """Intersectional groups as tuples, in report order."""
        return [tuple(g) for g in self.group_values]

    @property
    def group_labels(self):
        """Readable, unambiguous label of each group, e.g. ``"female, <60"``."""
        return [group_label(g) for g in self.group_values]

    @property
    def alpha(self):
        """Significance level of the verdicts."""
        return self.settings.get("alpha", 0.1)

    @property
    def version(self):
        """Version of fairuse_estimators that made the report."""
        return self.settings.get("version", __version__)

    def _pool(self):
        return Pool(
            np.asarray(self.candidate_variants),
            self.candidate_groups,
            len(self.group_values),
        )

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
        """
        return find_candidate(self._pool(), variant, group)

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
        """
        if candidate < 0:
            return "none"
        variant = self.candidate_variants[candidate]
        if self._reported_label(candidate):
            return f"{variant} as ({self._reported_label(candidate)})"
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

    def _model_arrays(self, k):
        """Risks, tests and verdicts of model ``k``, computed once."""
        cache = self.__dict__.setdefault("_arrays", {})
        if k not in cache:
            cache[k] = _compute_arrays(self, k)
        return cache[k]

    def _index(self):
        names = self.group_columns or ["group"]
        if len(names) == 1:
            return pd.Index([g[0] for g in self.group_values], name=names[0])
        if not self.group_values:
            return pd.MultiIndex.from_arrays([[] for _ in names], names=names)
        return pd.MultiIndex.from_tuples(self.groups, names=names)

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
            ``gain`` (``risk_generic - risk_personalized``), its bounds
            ``gain_low`` and ``gain_high``, the adjusted one-sided p-values
            ``p_gain`` and ``p_violation``, ``detectable_gain`` (the
            smallest gain the test detects with power 0.8 at alpha over its
            family; ``inf`` when no possible gain is) and ``rationality``;
            ``worst_envy`` (the largest risk reduction the group would get
            from another group's predictions; negative when its own are
            best), ``envied_group`` (that other group, ``""`` when the
            group envies none), ``p_envy_gain``, ``p_envy_violation``
            and ``envy_freeness``; for a classifier, one ``risk_<variant>``
            column per personalized variant; for a routed classifier,
            ``decision`` (why the group got its route, from
            :meth:`routing_frame`); and ``note``.

        Notes
        -----
        ``gain_low`` and ``gain_high`` are one-sided bounds, each at the
        level of its corrected test (``alpha`` times the raw p-value over
        the adjusted one), so that ``gain_low > 0`` exactly when the
        rationality verdict is ``"gain"`` and ``gain_high < 0`` exactly when
        it is ``"violation"``. ``envy_freeness`` is ``"violation"`` when some
        other group's predictions are significantly better for the group
        (``p_envy_violation``, the smallest adjusted p-value of those tests,
        is at most ``alpha``), and ``"gain"`` when its own are significantly
        better than every other group's (``p_envy_gain``, the largest
        adjusted p-value of those tests, is at most ``alpha``).
        """
        k = self._model(model)
        arrays = self._model_arrays(k)
        rationality = arrays["rationality"]
        frame = pd.DataFrame({"n": self.n}, index=self._index())
        if self.routes is not None and k == 0:
            frame["route"] = [
                self.candidate_label(c, g) for g, c in enumerate(self.routes)
            ]
        frame["risk_generic"] = arrays["generic"]
        frame["risk_personalized"] = arrays["own"]
        frame["gain"] = arrays["gains"]
        frame["gain_low"] = rationality[:, FIELD["low"]]
        frame["gain_high"] = rationality[:, FIELD["high"]]
        frame["p_gain"] = rationality[:, FIELD["p_gain_adjusted"]]
        frame["p_violation"] = rationality[:, FIELD["p_violation_adjusted"]]
        frame["detectable_gain"] = arrays["detectable"]["rationality"]
        frame["rationality"] = arrays["rationality_verdicts"]
        for column, values in envy_columns(arrays, self.group_labels).items():
            frame[column] = values
        if self.routes is not None:
            for variant in PERSONALIZED:
                if variant in self.models:
                    variant_arrays = self._model_arrays(self._model(variant))
                    frame[f"risk_{variant}"] = variant_arrays["own"]
        if self.must_report is not None and k == 0:
            frame["must_report"] = self.minimal_reporting()["must_report"].to_numpy()
        if self.gate is not None and k == 0:
            frame["decision"] = self.routing_frame()["why"].to_numpy()
        frame["note"] = self._notes(arrays)
        return frame

    def minimal_reporting(self):
        """Which group columns each group must report to get its route.

        A group routed to the generic model need report nothing; under
        partial reporting, a group whose route is the one a coarser group
        of it gets need report only that coarser group's columns. The other
        columns add nothing for the group, and need not be asked.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by the group columns, with ``must_report`` and
            ``adds_nothing`` (columns joined by ``", "``, ``""`` for none)
            and ``route``; empty when the report has no routes.
        """
        return minimal_reporting_frame(self, self._index())

    def routing_frame(self):
        """Why each group got its route: the routing's decision and evidence.

        The figures are those the routes were chosen on (for
        ``routing="evidence"``, the gate's one-sided tests of each group's
        own candidates against its baseline, corrected as the gate ran
        them): they explain each route, and are not fresh evidence of its
        gain, which :meth:`to_frame` grades out of fold.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by the group columns, with ``route``; ``decision`` (one
            of ``"routed"``, ``"not_significant"``, ``"below_min_gain"``,
            ``"envy_repair"``, ``"no_candidate"`` and ``"lowest_risk"``);
            ``candidate`` (the own candidate the gate weighed most: the one
            it routed to, else the one closest to passing); its ``gain`` in
            the metric over the baseline, ``p_value`` and ``p_adjusted``;
            ``before_repair`` (the route before envy repair); and ``why``,
            the decision in one sentence. Empty when the report has no
            routing record.
        """
        return routing_frame(self, self._index())

    def participation_frame(self):
        """Tests of the participatory guarantee, under partial reporting.

        For every group and every coarser subset of its columns, the gain
        of the group's route over the route it gets by reporting that subset
        only: a ``"violation"`` means that reporting more made the group
        significantly worse off. Graded on routes chosen out of fold, with
        ``correction`` over the report's comparisons.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``group``, ``reports``, ``gain``, ``p_gain``,
            ``p_violation`` and ``verdict``; empty without partial reporting.
        """
        data = dict(self.participation or {"group": []})
        data["group"] = [self.group_labels[g] for g in data["group"]]
        return pd.DataFrame(data)

    def _notes(self, arrays):
        notes = list(self.notes)
        for g in range(len(notes)):
            why = self._why_not_shown(arrays, g)
            if why:
                notes[g] = "; ".join(filter(None, [notes[g], why]))
        return notes

    def _why_not_shown(self, arrays, g):
        """Why group ``g``'s rationality is untested or untestable, or ``""``."""
        if arrays["rationality_verdicts"][g] == "untestable":
            if arrays["largest_gain"][g] <= 0:
                return "untestable: the generic model's risk is 0, no gain is possible"
            power = arrays["largest_power"]["rationality"][g]
            return (
                f"untestable: power {power:.2f} < {POWER} on {self.n[g]} rows even "
                "against the largest possible gain"
            )
        untested = arrays["untested"]["rationality"]
        why = untested[g] if untested is not None else ""
        if why == SAME_AS_GENERIC and arrays["routed"]:
            why = "routed to the generic model, whose predictions it gets"
        return f"untested: {why}" if why else ""

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
            Rows in order of the group, then the reported group. Columns
            ``group`` and ``reported_group`` (readable labels), ``risk_own``
            (the group's risk under its own predictions), ``risk_reported``
            (under the predictions made for ``reported_group``), ``gap``
            (``risk_reported - risk_own``; negative means envy), its interval
            bounds ``gap_low`` and ``gap_high`` (one-sided, each at the level
            of its corrected test), the adjusted one-sided p-values
            ``p_gain`` (its own predictions are better) and ``p_violation``
            (the other group's are), ``detectable_gap`` (the smallest gap its
            gain test detects with power 0.8), ``verdict`` and ``note`` (why
            a pair was not tested).
        """
        arrays = self._model_arrays(self._model(model))
        envy, untested = arrays["envy"], arrays["untested"]["envy"]
        labels = self.group_labels
        g_index, h_index = np.nonzero(~np.eye(len(labels), dtype=bool))
        pairs = (g_index, h_index)
        return pd.DataFrame(
            {
                "group": [labels[g] for g in g_index],
                "reported_group": [labels[h] for h in h_index],
                "risk_own": arrays["own"][g_index],
                "risk_reported": arrays["cross"][pairs],
                "gap": arrays["gaps"][pairs],
                "gap_low": envy[(*pairs, FIELD["low"])],
                "gap_high": envy[(*pairs, FIELD["high"])],
                "p_gain": envy[(*pairs, FIELD["p_gain_adjusted"])],
                "p_violation": envy[(*pairs, FIELD["p_violation_adjusted"])],
                "detectable_gap": arrays["detectable"]["envy"][pairs],
                "verdict": arrays["envy_verdicts"][pairs],
                "note": [untested[g][h] if untested else "" for g, h in zip(*pairs)],
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
            counts = {
                f"{test}_{verdict}s": int((frame[column] == verdict).sum())
                for test, column in (
                    ("rationality", "rationality"),
                    ("envy", "envy_freeness"),
                )
                for verdict in ("gain", "violation")
            }
            rows.append(
                {
                    "risk": overall[k],
                    "risk_generic": generic,
                    "gain": generic - overall[k],
                    "best_group_gain": finite.max() if len(finite) else np.nan,
                    "worst_group_gain": finite.min() if len(finite) else np.nan,
                    "harmed_groups": int((finite < 0).sum()),
                    **counts,
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
        """
        return pd.DataFrame(
            self.risks, index=self._index(), columns=self._candidate_columns()
        )

    def _reported_label(self, candidate):
        """The fixed label of a coarser subset's reported group, or ``""``."""
        return self.reported_labels[candidate] if self.reported_labels else ""

    def _candidate_columns(self):
        columns = []
        for c, (variant, g) in enumerate(
            zip(self.candidate_variants, self.candidate_groups)
        ):
            label = GENERIC_LABEL if g < 0 else group_label(self.group_values[g])
            columns.append((variant, self._reported_label(c) or label))
        return pd.MultiIndex.from_tuples(columns, names=["variant", "reported_group"])

    # ------------------------------------------------------------- export

    def to_dict(self):
        """Everything in the report as JSON-compatible builtins.

        Returns
        -------
        report : dict
            Settings (metric, test, alpha, correction, n_bootstrap,
            random_state, ``higher_is_better``: whether the metric is a score
            whose risks are its negation, version), the groups, the summary
            table, and per model the per-group frame and the envy pairs, why
            each group got its route (:meth:`routing_frame`); missing values are
            ``None``. A group record names its group by the group columns,
            and a group column that shares the name of a report column (such
            as ``"n"``) by ``"<name> (group)"``.
        """
        settings = ("test", "alpha", "correction", "family", "n_bootstrap")
        settings += ("random_state", "higher_is_better")
        result = {
            "metric": self.metric,
            "evidence": self.evidence,
            **{key: self.settings.get(key) for key in settings},
            "version": self.version,
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
            "minimal_reporting": records(self.minimal_reporting()),
            "participation": records(self.participation_frame()),
            "routing": records(self.routing_frame()),
            "routing_settings": (self.gate or {}).get("settings", {}),
        }
        return jsonable(result)

    def to_json(self, path=None, *, indent=2):
        """The report as JSON text; also written to ``path`` when given.

        Parameters
        ----------
        path : str or path-like, default=None
            File to write, atomically.
        indent : int, default=2
            Spaces per nesting level of the JSON text.

        Returns
        -------
        text : str
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            write_atomic(path, text + "\n")
        return text

    # -------------------------------------------------------------- views

    def violations(self):
        """One sentence per significant fair-use violation, model by model.

        Returns
        -------
        lines : list of str
            Rationality violations (a group significantly worse off than under
            the generic model) and envy-freeness violations (a group
            significantly better served by the predictions made for another
            group), with the estimate, its interval and the adjusted p-value.
        """
        return _text.violations(self)

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
        """
        return _text.summary(self, model)

    def _repr_html_(self):
        return _html.fragment(self)

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
            File to write (UTF-8), atomically.
        plots : bool, default=True
            Whether to draw the plots.

        Returns
        -------
        page : str
            The HTML document.
        """
        page = _html.page(self, plots=plots)
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


def _verdicts(block, alpha, power):
    """Verdicts of a block of comparisons; ``power`` holds their power inputs,
    power against the largest possible gain and detectable gains."""
    _, largest_power, detectable = power
    with np.errstate(invalid="ignore"):
        # Untestable: no power even against the largest possible gain, and no
        # gain up to it detectable with the spread the test saw (a perfect
        # candidate's losses can spread more than a real candidate's
        # differences do, as heavy-tailed squared errors do).
        untestable = (largest_power < POWER) & ~np.isfinite(detectable)
    return verdicts(
        block[..., FIELD["p_gain_adjusted"]],
        block[..., FIELD["p_violation_adjusted"]],
        alpha,
        untestable,
    )


def _compute_arrays(report, k):
    """Risks, tests and verdicts of the report's model ``k``."""
    m = len(report.n)
    if report.statistics is None:
        rationality = np.full((m, len(STAT_FIELDS)), np.nan)
        envy = np.full((m, m, len(STAT_FIELDS)), np.nan)
        untested = {"rationality": None, "envy": None}
    else:
        rationality = np.asarray(report.statistics["rationality"], float)[k]
        envy = np.asarray(report.statistics["envy"], float)[k]
        untested = {
            key: report.statistics[f"{key}_untested"][k]
            for key in ("rationality", "envy")
        }
    power = model_power(report.statistics, k, m)
    largest_power = {key: found[1] for key, found in power.items()}
    model = report.assignments[k]
    cross = np.full((m, m), np.nan)
    available = model >= 0
    cross[:, available] = report.risks[:, model[available]]
    own = np.diagonal(cross).copy()
    generic = report.risks[:, 0] if report.risks.shape[1] else np.full(m, np.nan)
    # Gains and envy gaps are the comparisons the tests ran: (g, a, b)
    # gains R[g, a] - R[g, b], with a = generic or M[g'] and b = M[g].
    gains, gaps = np.full(m, np.nan), np.full((m, m), np.nan)
    g, h = np.nonzero(available[:, None] & available[None, :])
    off = g != h
    gaps[g[off], h[off]] = comparison_gains(
        report.risks, np.column_stack([g[off], model[h[off]], model[g[off]]])
    )
    if report.risks.shape[1]:
        own_rows = np.flatnonzero(available)
        gains[own_rows] = comparison_gains(
            report.risks,
            np.column_stack([own_rows, np.zeros_like(own_rows), model[own_rows]]),
        )
    return {
        "rationality": rationality,
        "envy": envy,
        "untested": untested,
        "generic": generic,
        "own": own,
        "gains": gains,
        "cross": cross,
        "gaps": gaps,
        "rationality_verdicts": _verdicts(
            rationality, report.alpha, power["rationality"]
        ),
        "envy_verdicts": _verdicts(envy, report.alpha, power["envy"]),
        "largest_power": largest_power,
        "largest_gain": power["rationality"][0][:, P["largest"]],
        "detectable": {key: found[2] for key, found in power.items()},
        "routed": report.routes is not None and k == 0,
    }
