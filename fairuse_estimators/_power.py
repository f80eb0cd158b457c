"""Power of the paired tests: which gain a group's size can show, and which
size a gain needs.

A one-sided test of a gain at level ``alpha`` over a family of ``K`` tests
rejects, at its first Holm step, at ``alpha / K`` (Bonferroni's level, a lower
bound on what Holm's later steps allow): the planning level of a comparison.
Its *power* against a true gain is the chance that it rejects at that level.

- ``"mcnemar"`` (error): exact. Of ``n`` rows, ``D ~ Binomial(n, d)`` are
  discordant (exactly one of the two candidates wrong, ``d`` the
  *disagreement*), and of those ``S ~ Binomial(D, (1 + gain / d) / 2)`` have
  the reference wrong; the test rejects when the binomial tail of ``S`` at
  1/2 is at most the level. The gain is at most ``d``.
- ``"bootstrap"`` of a mean loss difference (error, log loss, Brier): the
  paired Student t-test it combines with the bootstrap-t, with noncentrality
  ``gain * sqrt(n) / sd``, ``sd`` the standard deviation of the per-row loss
  differences (for error, ``sqrt(d - gain**2)``).
- ``"delong"`` (AUC) and the percentile bootstrap (ECE, AUC): the normal
  approximation ``gain / se - z(1 - level)``, ``se`` the standard error of
  the gain (``sd / sqrt(n)``).

The *largest possible gain* of a comparison is the reference's risk: every
row the reference gets wrong made right for error, a perfect candidate for
the other metrics (for AUC, risk ``1 - AUC``). A comparison whose power
stays below :data:`POWER` even against that gain, and that detects no gain up
to it with the spread its test saw (``inf`` detectable gain), is
*untestable*: no candidate could have shown a gain on rows this few. Both
are needed: a perfect candidate's losses can spread more widely than a real
candidate's differences do (heavy-tailed squared errors).
"""

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import binom, nct
from scipy.stats import t as student

#: Power a test must reach for a gain to count as detectable.
POWER = 0.8
#: Kinds of power calculation: none (the comparison was not tested), exact
#: McNemar, Student t, normal approximation.
KINDS = ("none", "mcnemar", "student", "normal")
#: What the report keeps of every tested comparison to compute its power:
#: the kind (index in :data:`KINDS`), ``n``, the spread (disagreement for
#: McNemar, otherwise the standard error of the gain), the degrees of
#: freedom, the largest possible gain, the standard error of the gain
#: against that gain, and the planning level.
POWER_FIELDS = ("kind", "n", "spread", "df", "largest", "spread_largest", "level")
P = {name: i for i, name in enumerate(POWER_FIELDS)}
#: Rows up to which McNemar's power is exact.
EXACT_ROWS = 5000
_BISECTIONS = 30
_CHUNK_CELLS = 2**18


def _critical(n, level):
    """Smallest count ``c(D)`` of ``D = 0..n`` discordant rows at which the
    exact one-sided McNemar test rejects at ``level`` (``D + 1``: never)."""
    total = np.arange(n + 1)
    c = np.asarray(binom.isf(level, total, 0.5), float) + 1
    c = np.where(np.isfinite(c), c, total + 1)
    # isf is a float search: settle each count on the test's own rule.
    for _ in range(2):
        c = np.where(binom.sf(c - 2, total, 0.5) <= level, c - 1, c)
        c = np.where(binom.sf(c - 1, total, 0.5) > level, c + 1, c)
    return np.clip(c, 0, total + 1)


def mcnemar_power(n, gain, disagreement, level):
    """Power of the one-sided McNemar test on ``n`` rows, exact up to
    :data:`EXACT_ROWS` rows and by the normal approximation (with a
    continuity correction) above.

    Parameters
    ----------
    n : int
    gain : float or ndarray
        True difference of error rates (reference minus candidate).
    disagreement : float or ndarray
        True share of rows where exactly one of the two is wrong; taken as
        ``gain`` where it is smaller.
    level : float

    Returns
    -------
    power : ndarray
    """
    gain, disagreement = np.broadcast_arrays(
        np.asarray(gain, float), np.asarray(disagreement, float)
    )
    d = np.clip(np.fmax(disagreement, gain), 0.0, 1.0).ravel()
    share = np.where(d > 0, 0.5 * (1 + gain.ravel() / np.where(d > 0, d, 1)), 0.5)
    if n > EXACT_ROWS:
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = np.sqrt(np.maximum(d - gain.ravel() ** 2, 0.0))
            # The count difference must clear z sqrt(D), plus 1 for continuity.
            excess = gain.ravel() * n - ndtri(1 - level) * np.sqrt(n * d) - 1
            z = excess / (spread * np.sqrt(n))
        power = np.where(spread > 0, ndtr(z), (gain.ravel() > 0) * 1.0)
    else:
        total, critical = np.arange(n + 1)[None], _critical(n, level)[None] - 1
        power = np.empty(len(d))
        step = max(1, _CHUNK_CELLS // (n + 1))
        for start in range(0, len(d), step):
            part = slice(start, start + step)
            tails = binom.sf(critical, total, share[part, None])
            power[part] = (binom.pmf(total, n, d[part, None]) * tails).sum(axis=1)
    return np.where(d > 0, power, 0.0).reshape(gain.shape)


def student_power(gain, se, df, level):
    with np.errstate(divide="ignore", invalid="ignore"):
        return nct.sf(student.isf(level, df), df, gain / se)


def normal_power(gain, se, level):
    with np.errstate(divide="ignore", invalid="ignore"):
        return ndtr(gain / se - ndtri(1 - level))


def _kinds(inputs):
    kind = inputs[:, P["kind"]]
    return np.where(np.isfinite(kind), kind, 0).astype(np.intp)


def largest_gain_power(inputs):
    """Power of each comparison against its largest possible gain; ``nan``
    where it was not tested.

    Parameters
    ----------
    inputs : ndarray of shape (..., len(POWER_FIELDS))

    Returns
    -------
    power : ndarray of shape inputs.shape[:-1]
    """
    inputs = np.asarray(inputs, float)
    flat = inputs.reshape(-1, len(POWER_FIELDS))
    power = _power_at(flat, flat[:, P["largest"]], largest=True)
    return power.reshape(inputs.shape[:-1])


def _power_at(flat, gains, largest=False):
    """Power of the comparisons ``flat`` against ``gains`` (one each)."""
    kinds, power = _kinds(flat), np.full(len(flat), np.nan)
    spread = flat[:, P["spread_largest"] if largest else P["spread"]]
    student_rows = kinds == KINDS.index("student")
    power[student_rows] = student_power(
        gains[student_rows],
        spread[student_rows],
        flat[student_rows, P["df"]],
        flat[student_rows, P["level"]],
    )
    normal_rows = kinds == KINDS.index("normal")
    power[normal_rows] = normal_power(
        gains[normal_rows], spread[normal_rows], flat[normal_rows, P["level"]]
    )
    exact = np.flatnonzero(kinds == KINDS.index("mcnemar"))
    keys = flat[exact][:, [P["n"], P["level"]]]
    for n, level in np.unique(keys, axis=0):
        rows = exact[(keys == (n, level)).all(axis=1)]
        d = gains[rows] if largest else flat[rows, P["spread"]]
        power[rows] = mcnemar_power(int(n), gains[rows], d, level)
    return np.where(np.isfinite(gains), power, np.nan)


def detectable_gains(inputs, power=POWER):
    """Smallest gain each comparison detects with ``power``; ``inf`` when no
    gain up to the largest possible one does, ``nan`` when not tested or
    when the largest possible gain is unknown.

    For McNemar's test the disagreement is the observed one, or the gain
    where that is larger; for the others the standard error is the observed
    one. Found by bisection, all comparisons at once.
    """
    inputs = np.asarray(inputs, float)
    flat = inputs.reshape(-1, len(POWER_FIELDS))
    tested = _kinds(flat) > 0
    high = np.where(tested, np.maximum(flat[:, P["largest"]], 0.0), np.nan)
    found = np.full(len(flat), np.nan)
    reachable = tested & (high > 0)
    reachable[reachable] = _power_at(flat[reachable], high[reachable]) >= power
    # An unknown largest gain (a user's metric) leaves the gain unknown.
    found[tested & ~reachable & np.isfinite(high)] = np.inf
    rows = np.flatnonzero(reachable)
    low, up = np.zeros(len(rows)), high[rows]
    for _ in range(_BISECTIONS):
        middle = 0.5 * (low + up)
        reaches = _power_at(flat[rows], middle) >= power
        up, low = np.where(reaches, middle, up), np.where(reaches, low, middle)
    found[rows] = up
    return found.reshape(inputs.shape[:-1])


def smallest_reaching(reaches, high):
    """Smallest ``x`` in (0, high] with ``reaches(x)``; inf when none."""
    if not np.isfinite(high) or high <= 0 or not reaches(high):
        return np.inf
    low = 0.0
    for _ in range(_BISECTIONS):
        middle = 0.5 * (low + high)
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def model_power(statistics, k, m):
    """Model ``k``'s rationality and envy power, read from a report's
    statistics: for each, the inputs, the power against the largest
    possible gain and the detectable gains. Statistics saved before power
    was kept have none: nothing is then untestable."""
    statistics = statistics or {}
    found = {}
    for key, shape in (("rationality", (m,)), ("envy", (m, m))):
        if f"{key}_power" in statistics:
            inputs = np.asarray(statistics[f"{key}_power"], float)[k]
        else:
            inputs = np.full((*shape, len(POWER_FIELDS)), np.nan)
        found[key] = (inputs, largest_gain_power(inputs), detectable_gains(inputs))
    return found
