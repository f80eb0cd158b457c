"""FairUseReport: the evidence that each group's route was chosen on."""

import numpy as np
import pandas as pd

from ._variants import VARIANTS, find_candidate

GENERIC_LABEL = "-"


def group_label(group):
    """Readable label of a group tuple, e.g. ``"female, <60"``."""
    return ", ".join(map(str, group))


class FairUseReport:
    """Per-group risks of every candidate predictor, and the routes taken.

    A candidate is the generic model or a personalized variant with the
    reported group fixed. The risk matrix holds the risk of every candidate on
    the rows of every intersectional group; a *truthful* risk is that of a
    group's own personalized prediction. Risks are unweighted averages over
    the individuals of a group.

    Reports are built by :class:`~fairuse_estimators.FairUseClassifier`;
    their state is plain lists and arrays so that joblib and skops carry it.

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
        Variant of each candidate.
    candidate_groups : array-like of int of shape (n_candidates,)
        Reported group of each candidate, ``-1`` for the generic model.
    routes : array-like of int of shape (n_groups,)
        Candidate each group is routed to.
    notes : list of str
        Per-group remarks (absent candidates and why), ``""`` for none.
    n_withheld : int, default=0
        Rows whose group was withheld (missing) at fit; they trained the
        generic model only.
    evidence : str, default=""
        How the risks were estimated, e.g. ``"5-fold cross-fitting"``.
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
        routes,
        notes,
        n_withheld=0,
        evidence="",
    ):
        self.metric = str(metric)
        self.group_columns = [str(c) for c in group_columns]
        self.group_values = [list(g) for g in groups]
        self.n = np.asarray(n, dtype=np.int64)
        self.risks = np.asarray(risks, dtype=float)
        self.variants = [str(v) for v in variants]
        self.candidate_variants = [str(v) for v in candidate_variants]
        self.candidate_groups = np.asarray(candidate_groups, dtype=np.int64)
        self.routes = np.asarray(routes, dtype=np.int64)
        self.notes = [str(note) for note in notes]
        self.n_withheld = int(n_withheld)
        self.evidence = str(evidence)

    @property
    def groups(self):
        """Intersectional groups as tuples, in report order."""
        return [tuple(g) for g in self.group_values]

    def candidate_index(self, variant, group):
        """Index of the candidate ``(variant, group)``, or ``-1`` if absent."""
        return find_candidate(
            self.candidate_variants, self.candidate_groups, variant, group
        )

    def candidate_label(self, candidate, group=None):
        """Name of a candidate; from ``group``'s viewpoint when one is given."""
        variant = self.candidate_variants[candidate]
        reported = self.candidate_groups[candidate]
        if variant == "generic" or reported == group:
            return variant
        return f"{variant} as ({group_label(self.group_values[reported])})"

    def _index(self):
        names = self.group_columns or ["group"]
        if not self.group_values:
            return pd.MultiIndex.from_arrays([[] for _ in names], names=names)
        return pd.MultiIndex.from_tuples(self.groups, names=names)

    def _truthful_risk(self, variant):
        risks = np.full(len(self.n), np.nan)
        for g in range(len(self.n)):
            candidate = self.candidate_index(variant, g)
            if candidate >= 0:
                risks[g] = self.risks[g, candidate]
        return risks

    def to_frame(self):
        """One row per group: size, route, risks and the gain of the route.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by the group columns, with columns ``n``, ``route``,
            ``risk_generic``, ``risk_personalized`` (risk of the routed
            candidate), ``gain`` (``risk_generic - risk_personalized``), one
            ``risk_<variant>`` column per personalized variant (the group's
            truthful prediction; ``nan`` where the candidate is absent) and
            ``note``.
        """
        rows = np.arange(len(self.n))
        frame = pd.DataFrame(
            {
                "n": self.n,
                "route": [
                    self.candidate_label(c, g) for g, c in enumerate(self.routes)
                ],
                "risk_generic": self.risks[rows, 0] if len(rows) else [],
                "risk_personalized": self.risks[rows, self.routes],
            },
            index=self._index(),
        )
        frame["gain"] = frame["risk_generic"] - frame["risk_personalized"]
        for variant in VARIANTS[1:]:
            if variant in self.variants:
                frame[f"risk_{variant}"] = self._truthful_risk(variant)
        frame["note"] = self.notes
        return frame

    def risk_matrix(self):
        """Risk of every candidate on every group.

        Returns
        -------
        matrix : pandas.DataFrame of shape (n_groups, n_candidates)
            Rows are groups; columns are a MultiIndex ``(variant,
            reported_group)`` with reported group ``"-"`` for the generic
            model.
        """
        columns = pd.MultiIndex.from_tuples(
            [
                (
                    variant,
                    GENERIC_LABEL if g < 0 else group_label(self.group_values[g]),
                )
                for variant, g in zip(self.candidate_variants, self.candidate_groups)
            ],
            names=["variant", "reported_group"],
        )
        return pd.DataFrame(self.risks, index=self._index(), columns=columns)

    def __repr__(self):
        header = (
            f"FairUseReport(metric={self.metric!r}, groups={len(self.n)}, "
            f"candidates={len(self.candidate_variants)}, evidence={self.evidence!r}, "
            f"withheld rows={self.n_withheld})"
        )
        if not len(self.n):
            return header
        columns = ["n", "route", "risk_generic", "risk_personalized", "gain"]
        with pd.option_context("display.width", 120, "display.precision", 4):
            return f"{header}\n{self.to_frame()[columns].to_string()}"
