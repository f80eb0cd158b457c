"""The reporting tree: an ordered questionnaire on top of partial reporting.

A sequential reporting system asks one group attribute at a time. The tree
says which attribute to ask first and, for each answer, whether asking the
next one is worth it: a node stops when no answer to any later question
changes the route, and otherwise asks the attribute that brings its people
to their routes with the fewest answers (looking ahead through every later
question), ties going to the attribute whose answers alone lower their risk
most. Every order of questions ends each person who answers them all on the
route of her full group, so the order decides only how much is asked, and
what those who stop early get. Every node serves the route partial reporting
certified for what its people reported, so each step is the gate's
decision and its test (against reporting the parent's attributes only) is
in the report of the child's subset; and the tree never asks an attribute
that changes nobody's route (data minimization).

The tree is plain state (lists and dicts) on the classifier;
:class:`ReportingTree` shows it as text, a frame and a plot, and
:func:`tree_sources` follows it at prediction time.
"""

import numpy as np
import pandas as pd

from ._figures import check_matplotlib
from ._groups import not_a_label
from ._levels import coarser_name
from ._metrics import risk_matrix


def source_label(levels, source):
    """Readable name of candidate ``source = (level, candidate)``."""
    j, c = (int(v) for v in source)
    if j == 0:
        return "generic"
    name, label = coarser_name(levels[j], c)
    return f"{name} as ({label})"


def build_tree(partial, routes, reports):
    """The reporting tree of a partial routing, as plain state.

    Parameters
    ----------
    partial : PartialRouting
    routes : list of ndarray
        Each level's deployed routes (union indices).
    reports : list of FairUseReport
        The report of each non-empty level, in level order.

    Returns
    -------
    tree : dict
        ``columns`` and ``nodes``: per node its ``subset`` and ``values``,
        ``n``, ``route`` (level and candidate), ``label``, the test of the
        step that reached it (``verdict``, ``gain``, ``p_gain``), ``ask``
        (the position of the attribute it asks, ``-1`` for none) and
        ``children`` (node indices).
    """
    levels = partial.levels
    index = {frozenset(level.subset): i for i, level in enumerate(levels)}
    sources = [np.zeros((1, 2), np.intp)]
    sources += [partial.unions[i].sources[routes[i]] for i in range(1, len(levels))]
    risks = [None] + [risk_matrix(u.evidence) for u in partial.unions[1:]]
    k = len(levels[-1].names)
    memo = {}

    def children(i, g, a):
        j = index[frozenset(levels[i].subset) | {a}]
        if i == 0:
            return j, np.arange(levels[j].pool.n_groups)
        return j, np.flatnonzero(partial.projected[j][i] == g)

    def value(i, g):
        """The question node ``(i, g)`` asks: the one whose answers lead its
        people to their routes with the fewest answers, then the one whose
        own answers gain most; with the questions answered below it."""
        if (i, g) in memo:
            return memo[(i, g)]
        route, best = tuple(sources[i][g]), (0.0, 0.0, -1)
        for a in sorted(set(range(k)) - set(levels[i].subset)):
            j, found = children(i, g, a)
            asked, gain, changes = 0.0, 0.0, False
            for c in found:
                questions, _, asks = value(j, c)
                mine = tuple(sources[j][c])
                n = reports[j - 1].n[c]
                here = risks[j][c, partial.unions[j].index(route)]
                there = risks[j][c, partial.unions[j].index(mine)]
                gain += np.nan_to_num(n * (here - there))
                asked += n + questions
                changes |= mine != route or asks >= 0
            better = (asked, -round(gain, 9)) < (best[0], -round(best[1], 9))
            if changes and (best[2] < 0 or better):
                best = (asked, gain, a)
        memo[(i, g)] = best
        return best

    nodes, everyone = [], int((levels[0].block.group_ids >= 0).sum())

    def add(i, g, step):
        level = levels[i]
        values = [] if i == 0 else list(level.encoding.groups[g])
        node = {
            "subset": list(level.subset), "values": values,
            "n": int(reports[i - 1].n[g]) if i else everyone,
            "route": [int(v) for v in sources[i][g]],
            "label": source_label(levels, sources[i][g]), **step,
            "ask": int(value(i, g)[2]), "children": [],
        }  # fmt: skip
        nodes.append(node)
        here = len(nodes) - 1
        if node["ask"] >= 0:
            j, found = children(i, g, node["ask"])
            for c in found:
                nodes[here]["children"].append(len(nodes))
                add(j, c, _step(reports, levels, i, j, c))
        return here

    add(0, 0, {"verdict": "", "gain": np.nan, "p_gain": np.nan})
    return {"columns": list(levels[-1].names), "nodes": nodes}


def _step(reports, levels, i, j, c):
    """The test of the step from a node of level ``i`` to group ``c`` of
    level ``j``: rationality from the root, the participatory test against
    reporting level ``i``'s attributes only below it."""
    report = reports[j - 1]
    if i == 0:
        frame = report.to_frame()
        row = frame.iloc[c]
        return {
            "verdict": str(row["rationality"]),
            "gain": float(row["gain"]),
            "p_gain": float(row["p_gain"]),
        }
    records = report.participation or {"group": []}
    wanted = ", ".join(levels[i].names)
    for k, (g, reported) in enumerate(zip(records["group"], records["reports"])):
        if g == c and reported == wanted:
            return {
                "verdict": records["verdict"][k],
                "gain": float(records["gain"][k]),
                "p_gain": float(records["p_gain"][k]),
            }
    return {"verdict": "untested", "gain": np.nan, "p_gain": np.nan}


def tree_sources(tree, columns, names):
    """The route of each row that answers the tree's questions in order,
    stopping at the first it leaves blank.

    Returns
    -------
    source : ndarray of int of shape (n, 2)
        Level and candidate of each row's route.
    unseen : list of str
        Descriptions of answers no node has; those rows get the generic
        model (``source`` ``(0, 0)``).
    """
    nodes = tree["nodes"]
    n = len(columns[0]) if columns else 0
    at = np.zeros(n, np.intp)
    unseen, lost = [], np.zeros(n, bool)
    for k, node in enumerate(nodes):  # parents come before their children
        a, rows = node["ask"], np.flatnonzero((at == k) & ~lost)
        if a < 0 or not len(rows):
            continue
        kids = node["children"]
        answers = [nodes[c]["values"][nodes[c]["subset"].index(a)] for c in kids]
        values = columns[a][rows]
        try:
            found = pd.Index(answers, dtype=object).get_indexer(
                pd.Index(values, dtype=object)
            )
        except TypeError as exc:  # a list or dict cannot be looked up
            raise not_a_label(names[a], exc) from exc
        given = ~pd.isna(values)
        at[rows[found >= 0]] = np.asarray(kids)[found[found >= 0]]
        strange = given & (found < 0)
        lost[rows[strange]] = True
        after = ", ".join(
            f"{names[p]}={_plain(v)!r}" for p, v in zip(node["subset"], node["values"])
        )
        for v in pd.unique(values[strange]):
            where = f" after {after}" if after else ""
            unseen.append(f"value {_plain(v)!r} in column {names[a]!r}{where}")
    source = np.array([nodes[k]["route"] for k in at], dtype=np.intp).reshape(n, 2)
    source[lost] = 0
    return source, unseen


def _plain(value):
    """A numpy scalar as the Python value it holds, for messages."""
    return value.item() if isinstance(value, np.generic) else value


class ReportingTree:
    """The ordered questionnaire of a ``reporting="sequential"`` classifier.

    Each node is what a person has answered so far; it serves the route
    partial reporting certified for that reporting group, and asks the next
    attribute only when some later answer changes the route. ``str(tree)``
    is the tree as indented text, :meth:`to_frame` one row per node and
    :meth:`plot` a drawing.
    """

    def __init__(self, tree):
        self.columns = list(tree["columns"])
        self.nodes = tree["nodes"]

    def _answer(self, node):
        """``"sex = female"`` for the last answer that reached ``node``."""
        if not node["values"]:
            return "nothing reported"
        return f"{self.columns[node['subset'][-1]]} = {node['values'][-1]}"

    def _depths(self):
        depth = [0] * len(self.nodes)
        last = [None] * len(self.nodes)
        for k, node in enumerate(self.nodes):
            for c in node["children"]:
                depth[c] = depth[k] + 1
                asked, child = node["ask"], self.nodes[c]
                answer = child["values"][child["subset"].index(asked)]
                last[c] = f"{self.columns[asked]} = {answer}"
        return depth, last

    def to_frame(self):
        """One row per node, in the order a reader follows them.

        Returns
        -------
        frame : pandas.DataFrame
            ``depth``, ``answer`` (the answer that reached the node), ``n``,
            ``route``, the step's ``verdict``, ``gain`` and ``p_gain``, and
            ``asks`` (the next question, ``""`` where the tree stops).
        """
        depth, last = self._depths()
        return pd.DataFrame(
            {
                "depth": depth,
                "answer": [a or "nothing reported" for a in last],
                "n": [node["n"] for node in self.nodes],
                "route": [node["label"] for node in self.nodes],
                "verdict": [node["verdict"] for node in self.nodes],
                "gain": [node["gain"] for node in self.nodes],
                "p_gain": [node["p_gain"] for node in self.nodes],
                "asks": [
                    self.columns[node["ask"]] if node["ask"] >= 0 else ""
                    for node in self.nodes
                ],
            }
        )

    def export_text(self):
        """The tree as indented text, one line per node."""
        frame = self.to_frame()
        lines = [f"Reporting tree by {', '.join(self.columns)}:"]
        for row in frame.itertuples(index=False):
            step = ""
            if row.verdict:
                step = f"; step {row.verdict}, gain {row.gain:+.3f}"
            asks = f" -> ask {row.asks}" if row.asks else " -> stop"
            lines.append(
                f"{'  ' * (row.depth + 1)}{row.answer}: {row.route} "
                f"(n={row.n}{step}){asks}"
            )
        return "\n".join(lines)

    def __str__(self):
        return self.export_text()

    __repr__ = __str__

    def plot(self, ax=None):
        """Draw the tree: one box per node, its route and its rows.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.

        Returns
        -------
        ax : matplotlib Axes
        """
        check_matplotlib()
        import matplotlib.pyplot as plt

        frame = self.to_frame()
        if ax is None:
            _, ax = plt.subplots(
                figsize=(3 + 3 * frame["depth"].max(), 0.6 * len(frame) + 1)
            )
        y = -np.arange(len(frame), dtype=float)
        for k, node in enumerate(self.nodes):
            for c in node["children"]:
                ax.plot(
                    [frame["depth"][k], frame["depth"][c]],
                    [y[k], y[c]],
                    color="0.6",
                    zorder=1,
                )
        for k, row in frame.iterrows():
            text = f"{row['answer']}\n{row['route']} (n={row['n']})"
            color = "#d8ecd8" if row["verdict"] == "gain" else "#eeeeee"
            box = {"boxstyle": "round", "facecolor": color}
            ax.text(row["depth"], y[k], text, ha="left", va="center", fontsize=8,
                    bbox=box, zorder=2)  # fmt: skip
        ax.set_xlim(-0.2, frame["depth"].max() + 1.2)
        ax.set_ylim(y.min() - 0.8, 0.8)
        ax.set_axis_off()
        ax.set_title(f"Reporting tree by {', '.join(self.columns)}")
        return ax
