"""The closing paragraph of ``fairuse demo``: what the audit shows, in words.

:func:`demo_facts` reads the numbers from a report's public frames and
:func:`demo_story` turns them into a few sentences for a newcomer: which
groups a personalized variant would make worse off and how the routed model
protects them, which groups gain under the routed model and whether
significantly, and, where no gain is significant, whether the groups were
too small for the tests to find one. Nothing in the paragraph is written in
advance: another dataset, seed or option gives another paragraph.
"""

import textwrap

import numpy as np

from ._text import number, shown

#: What each metric's numbers are called in a sentence.
_MEASURES = {"auc": "AUC", "brier": "Brier score", "ece": "ECE", "log_loss": "log loss"}


def demo_facts(report):
    """The numbers the demo's closing paragraph states, read from a report.

    Parameters
    ----------
    report : FairUseReport
        Audit of a routed classifier, as :meth:`FairUseClassifier.audit
        <fairuse_estimators.FairUseClassifier.audit>` returns it: its first
        model is the routed one, the others its personalized variants.

    Returns
    -------
    facts : dict
        ``metric`` (what the numbers are called: ``"AUC"`` for ``auc``),
        ``higher_is_better``, ``alpha``, ``sizes`` (group label to rows),
        and:

        - ``harmed``: one record per group some variant makes worse off than
          the generic model, under its worst variant: ``group``,
          ``variant``, ``risk_generic``, ``risk_variant``, ``loss``,
          ``significant`` (a rationality violation), ``route`` and
          ``routed_gain`` (the group's gain under the routed model);
        - ``gains``: one record per group with a positive gain under the
          routed model, largest first: ``group``, ``route``,
          ``risk_generic``, ``risk_routed``, ``gain``, ``p_gain`` (adjusted)
          and ``significant`` (a rationality gain);
        - ``undetectable``: groups on which no variant's test could detect
          a gain of any size, and ``smallest_detectable``, the smallest
          gain any test could detect (``None`` when none could).

        Risks are as the tables show them: AUC itself for ``auc``.
    """
    frames = {model: report.to_frame(model) for model in report.models}
    routed = frames[report.models[0]]
    labels = report.group_labels
    variants = report.models[1:]

    def column(name):
        values = [frames[m][name].to_numpy(dtype=float) for m in variants]
        return np.column_stack(values) if values else np.empty((len(labels), 0))

    detectable = column("detectable_gain")
    tested = ~np.isnan(detectable).all(axis=1)
    easiest = np.where(np.isnan(detectable), np.inf, detectable)
    easiest = easiest.min(axis=1, initial=np.inf)
    finite = easiest[np.isfinite(easiest)]
    return {
        "metric": _MEASURES.get(report.metric, report.metric),
        "higher_is_better": report.metric == "auc",
        "alpha": report.alpha,
        "sizes": dict(zip(labels, routed["n"].astype(int).tolist())),
        "harmed": _harmed(report, frames, column("gain")),
        "gains": _gains(report, routed),
        "undetectable": [labels[g] for g in np.flatnonzero(tested & np.isinf(easiest))],
        "smallest_detectable": float(finite.min()) if len(finite) else None,
    }


def _route(routed, g):
    return routed["route"].iloc[g] if "route" in routed else "-"


def _harmed(report, frames, gains):
    """A record per group with a negative gain under some variant."""
    routed = frames[report.models[0]]
    worst = np.where(np.isnan(gains), np.inf, gains)
    harmed = []
    for g in np.flatnonzero(worst.min(axis=1, initial=np.inf) < 0):
        variant = report.models[1 + int(worst[g].argmin())]
        frame = frames[variant]
        harmed.append(
            {
                "group": report.group_labels[g],
                "variant": variant,
                "risk_generic": shown(report, frame["risk_generic"].iloc[g]),
                "risk_variant": shown(report, frame["risk_personalized"].iloc[g]),
                "loss": -float(worst[g].min()),
                "significant": frame["rationality"].iloc[g] == "violation",
                "route": _route(routed, g),
                "routed_gain": float(routed["gain"].iloc[g]),
            }
        )
    return harmed


def _gains(report, routed):
    """A record per group with a positive gain under the routed model."""
    gains = routed["gain"].to_numpy(dtype=float)
    order = np.argsort(-np.where(np.isnan(gains), 0.0, gains), kind="stable")
    return [
        {
            "group": report.group_labels[g],
            "route": _route(routed, g),
            "risk_generic": shown(report, routed["risk_generic"].iloc[g]),
            "risk_routed": shown(report, routed["risk_personalized"].iloc[g]),
            "gain": float(gains[g]),
            "p_gain": float(routed["p_gain"].iloc[g]),
            "significant": routed["rationality"].iloc[g] == "gain",
        }
        for g in order
        if gains[g] > 0
    ]


def demo_story(facts, width=88):
    """The demo's closing paragraph: the facts in plain words.

    Parameters
    ----------
    facts : dict
        What :func:`demo_facts` returns.
    width : int, default=88
        Width the paragraph is wrapped to.

    Returns
    -------
    text : str
    """
    sentences = [*_harm_sentences(facts), *_gain_sentences(facts)]
    text = "What this shows: " + " ".join(sentences)
    return textwrap.fill(text, width=width, break_on_hyphens=False)


def _name(label):
    return f"({label})"


def _join(items):
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def _at(facts):
    return f"at alpha={facts['alpha']:g}"


def _harm_sentences(facts):
    harmed = facts["harmed"]
    if not harmed:
        return [
            "on these held-out rows no personalized variant makes any group "
            "worse off than the generic model."
        ]
    verb = "lower" if facts["higher_is_better"] else "raise"
    clauses = []
    for variant in dict.fromkeys(h["variant"] for h in harmed):
        items = [
            f"{_name(h['group'])} from {number(h['risk_generic'])} to "
            f"{number(h['risk_variant'])}"
            for h in harmed
            if h["variant"] == variant
        ]
        clauses.append(
            f"the {variant} variant would {verb} the {facts['metric']} of "
            + _join(items)
        )
    significant = [_name(h["group"]) for h in harmed if h["significant"]]
    if len(harmed) == 1:
        said = "is" if significant else "is not"
        weight = f"This loss of {number(harmed[0]['loss'])} {said} significant"
    elif significant:
        plural = "loss is" if len(significant) == 1 else "losses are"
        weight = f"The {plural} significant for {_join(significant)}"
    else:
        weight = "None of these losses is significant"
    return [
        f"on these held-out rows {'; '.join(clauses)}.",
        f"{weight} {_at(facts)}.",
        *_protection_sentences(harmed),
    ]


def _protection_sentences(harmed):
    """How the routed model treats each group a variant would harm."""
    kept = [h for h in harmed if h["route"] == "generic"]
    moved = [h for h in harmed if h["route"] != "generic" and h["routed_gain"] >= 0]
    exposed = [h for h in harmed if h["routed_gain"] < 0]
    actions = []
    if kept:
        whom = _them(kept, harmed, "it", "them")
        loses = "it loses" if len(kept) == 1 else "they lose"
        actions.append(f"it keeps {whom} on the generic model, so {loses} nothing")
    actions += [
        f"it routes {_them([h], harmed, 'it', 'it')} to {h['route']}, with a gain "
        f"of {number(h['routed_gain'])}"
        for h in moved
    ]
    sentences = []
    if actions:
        whom = _them(kept + moved, harmed, "this group", "these groups")
        sentences.append(f"The routed model protects {whom}: {_join(actions)}.")
    for h in exposed:
        sentences.append(
            f"The routed model does not protect {_name(h['group'])} on these "
            f"rows: routed to {h['route']}, it loses "
            f"{number(-h['routed_gain'])}, as the routes were chosen on the "
            "training rows, which these rows need not repeat."
        )
    return sentences


def _them(records, harmed, one, many):
    """The groups of ``records``: a pronoun when they are all the harmed ones."""
    if records == harmed:
        return one if len(records) == 1 else many
    return _join(_name(h["group"]) for h in records)


def _gain_sentences(facts):
    gains = facts["gains"]
    significant = [g for g in gains if g["significant"]]
    weak = [g for g in gains if not g["significant"]]
    sentences = []
    if significant:
        items = [
            f"{_name(g['group'])} gains {number(g['gain'])} (routed to "
            f"{g['route']}: {facts['metric']} {number(g['risk_generic'])} to "
            f"{number(g['risk_routed'])}; "
            f"significant, adjusted {_p(g['p_gain'])})"
            for g in significant
        ]
        sentences.append(f"Under the routed model, {_join(items)}.")
    if weak:
        items = [f"{_name(g['group'])}, {number(g['gain'])}," for g in weak]
        verb = "gain of" if len(weak) == 1 else "gains of"
        sentences.append(
            f"The {verb} {_join(items)} {'is' if len(weak) == 1 else 'are'} not "
            f"significant {_at(facts)}."
        )
    if not significant:
        sentences += _power_sentences(facts)
    return sentences


def _p(p):
    """A p-value to two significant figures: the test's resolution is coarser."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _power_sentences(facts):
    """Why no gain is significant: too few rows, or no gain to find."""
    # A group absent from the held-out rows has no test to power.
    sizes = {group: n for group, n in facts["sizes"].items() if n > 0}
    smallest = min(sizes, key=sizes.get)
    rows = (
        f"the held-out groups have {min(sizes.values())} to "
        f"{max(sizes.values())} rows (the smallest is {_name(smallest)})"
    )
    lacking = facts["undetectable"]
    detectable = facts["smallest_detectable"]
    if not lacking:
        if detectable is None:
            return [f"No group gains significantly; {rows}."]
        return [
            f"No group gains significantly, although {rows}, enough for the "
            f"best-powered test to detect a gain of {number(detectable)}: "
            "whatever personalizing gains here is too small for the tests to "
            "find reliably."
        ]
    rest = len(sizes) - len(lacking)
    where = "every group" if not rest else f"{len(lacking)} of the {len(sizes)} groups"
    others = ""
    if rest and detectable is not None:
        others = (
            f", and on the {'other' if rest == 1 else 'others'} only gains of "
            f"{number(detectable)} or more could be"
        )
    return [
        f"No group gains significantly: {rows}, too few for the tests to have "
        f"power. On {where} no gain of any size could be detected{others}; "
        "`fairuse plan` says how many rows a group needs."
    ]
