"""FairUseReport: risks, routes and fair-use verdicts of personalized models."""

import json
import math

import numpy as np
import pandas as pd

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
    """Readable label of a group tuple, e.g. ``"female, <60"``."""
    return ", ".join(map(str, group))


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
        """Intersectional groups as tuples, in report order."""
        return [tuple(g) for g in self.group_values]

    @property
    def alpha(self):
        """Significance level of the verdicts."""
        return self.settings.get("alpha", 0.1)

    def candidate_index(self, variant, group):
        """Index of the candidate ``(variant, group)``, or ``-1`` if absent."""
        return find_candidate(
            self.candidate_variants, self.candidate_groups, variant, group
        )

    def candidate_label(self, candidate, group=None):
        """Name of a candidate; from ``group``'s viewpoint when one is given."""
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
        for column, values in self._envy_columns(own, cross, envy).items():
            frame[column] = values
        if self.routes is not None:
            for variant in VARIANTS[1:]:
                if variant in self.variants:
                    frame[f"risk_{variant}"] = self._truthful_risk(variant)
        frame["note"] = self._notes(k)
        return frame

    def _envy_columns(self, own, cross, envy):
        m = len(own)
        pair_verdicts = _verdicts(envy, self.alpha)
        reduction = own[:, None] - cross
        np.fill_diagonal(reduction, np.nan)
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

    def _truthful_risk(self, variant):
        risks = np.full(len(self.n), np.nan)
        for g in range(len(self.n)):
            candidate = self.candidate_index(variant, g)
            if candidate >= 0:
                risks[g] = self.risks[g, candidate]
        return risks

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
        """
        k = self._model(model)
        _, envy = self._tests(k)
        own, cross = self._risk_under(k)
        untested = self._untested("envy", k)
        verdicts = _verdicts(envy, self.alpha)
        labels = [group_label(g) for g in self.group_values]
        rows = [
            (g, h) for g in range(len(labels)) for h in range(len(labels)) if g != h
        ]
        g_index = np.array([g for g, _ in rows], dtype=int)
        h_index = np.array([h for _, h in rows], dtype=int)
        return pd.DataFrame(
            {
                "group": [labels[g] for g in g_index],
                "reported_group": [labels[h] for h in h_index],
                "risk_own": own[g_index],
                "risk_reported": cross[g_index, h_index],
                "gap": cross[g_index, h_index] - own[g_index],
                "gap_low": envy[g_index, h_index, _FIELD["low"]],
                "gap_high": envy[g_index, h_index, _FIELD["high"]],
                "p_value": np.fmin(
                    envy[g_index, h_index, _FIELD["p_gain_adjusted"]],
                    envy[g_index, h_index, _FIELD["p_violation_adjusted"]],
                ),
                "verdict": verdicts[g_index, h_index],
                "note": [untested[g][h] if untested else "" for g, h in rows],
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
            ``None``.
        """

        def records(frame):
            return frame.reset_index().to_dict(orient="records")

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

        Returns
        -------
        text : str
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            with open(path, "w", encoding="utf-8") as file:
                file.write(text + "\n")
        return text

    def __repr__(self):
        header = (
            f"FairUseReport(metric={self.metric!r}, groups={len(self.n)}, "
            f"candidates={len(self.candidate_variants)}, models={self.models!r}, "
            f"evidence={self.evidence!r}, withheld rows={self.n_withheld})"
        )
        if not len(self.n):
            return header
        frame = self.to_frame()
        columns = [
            c
            for c in (
                "n",
                "route",
                "risk_generic",
                "risk_personalized",
                "gain",
                "rationality",
                "envy_freeness",
            )
            if c in frame
        ]
        with pd.option_context("display.width", 120, "display.precision", 4):
            return f"{header}\n{frame[columns].to_string()}"


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
