"""Planning a study: which gain a group of ``n`` rows can show, and how many
rows a gain needs, for the library's own tests (see :mod:`._power`)."""

from numbers import Integral, Real

import numpy as np

from ._metrics import MEANS, METRICS, REGRESSION_METRICS, base_metric
from ._power import (
    POWER,
    mcnemar_power,
    normal_power,
    smallest_reaching,
    student_power,
)
from ._stats import resolve_test


def _check_planning(metric, test, alpha, n_tests, power):
    if metric not in METRICS + REGRESSION_METRICS:
        raise ValueError(
            f"metric must be one of {METRICS + REGRESSION_METRICS}; got {metric!r}."
        )
    test = resolve_test(test, metric)
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}.")
    if isinstance(n_tests, bool) or not isinstance(n_tests, Integral) or n_tests < 1:
        raise ValueError(
            f"n_tests must be a positive integer (the size of the family the "
            f"test is corrected in); got {n_tests!r}."
        )
    if isinstance(power, bool) or not isinstance(power, Real) or not 0 < power < 1:
        raise ValueError(f"power must be a number in (0, 1); got {power!r}.")
    return test, alpha / n_tests


def _spread_of(metric, test, disagreement, sd):
    """How the planner reads the spread: per gain, for its kind."""
    if test == "mcnemar":
        if sd is not None:
            raise ValueError(
                "sd does not apply to McNemar's test; give disagreement, the "
                "share of rows where exactly one of the two models is wrong."
            )
        if disagreement is not None and not 0 < disagreement <= 1:
            raise ValueError(
                f"disagreement must be a share in (0, 1]; got {disagreement!r}."
            )
        return "mcnemar", lambda gain: gain if disagreement is None else disagreement
    if sd is None and base_metric(metric) == "error" and disagreement is not None:
        if not 0 < disagreement <= 1:
            raise ValueError(
                f"disagreement must be a share in (0, 1]; got {disagreement!r}."
            )
        # Per-row error differences are -1, 0 or 1.
        return "student", lambda gain: np.sqrt(max(disagreement - gain**2, 1e-12))
    if sd is None or isinstance(sd, bool) or not isinstance(sd, Real) or sd <= 0:
        raise ValueError(
            f"sd must be a positive number with test={test!r} and "
            f"metric={metric!r}: the standard deviation of the per-row loss "
            "differences (for auc and ece, sqrt(n) times the standard error "
            f"of the gain in a pilot study); got {sd!r}."
        )
    kind = "student" if test == "bootstrap" and metric in MEANS else "normal"
    return kind, lambda gain: sd


def _power_function(metric, test, alpha, n_tests, disagreement, sd, power=0.5):
    """Validate the settings once; return the test's kind and its power as a
    function of ``(n, gain)``."""
    test, level = _check_planning(metric, test, alpha, n_tests, power)
    kind, spread = _spread_of(metric, test, disagreement, sd)

    def power_at(n, gain):
        if kind == "mcnemar":
            return float(mcnemar_power(n, gain, spread(gain), level))
        se = spread(gain) / np.sqrt(n)
        if kind == "student":
            return float(student_power(gain, se, n - 1, level))
        return float(normal_power(gain, se, level))

    return kind, power_at


def planned_power(
    n, gain, *, metric="error", test="auto", alpha=0.1, n_tests=1,
    disagreement=None, sd=None,
):  # fmt: skip
    """Power of the library's test of a gain on a group of ``n`` rows.

    Parameters
    ----------
    n : int
        Rows of the group (for ``"fnr"`` and ``"fpr"``, its rows of the class
        the rate is on).
    gain : float
        True gain in the metric's risk.
    metric : str, default="error"
        The risk, as in :func:`~fairuse_estimators.audit_fair_use`.
    test : {"auto", "mcnemar", "bootstrap", "delong"}, default="auto"
        The test, as in :func:`~fairuse_estimators.audit_fair_use`.
    alpha : float, default=0.1
        Family-wise significance level.
    n_tests : int, default=1
        Size of the family the test is corrected in (planned at
        ``alpha / n_tests``).
    disagreement : float, default=None
        For error: the share of rows where exactly one model is wrong (with
        McNemar's test ``None`` means the gain itself).
    sd : float, default=None
        For the other tests: the standard deviation of the per-row loss
        differences.

    Returns
    -------
    power : float
        Exact for McNemar's test up to 5,000 rows; the noncentral t for the
        t-type tests; the normal approximation otherwise.

    Examples
    --------
    >>> from fairuse_estimators import planned_power
    >>> round(planned_power(395, 0.05, disagreement=0.2), 3)
    0.8
    """
    _, power_at = _power_function(metric, test, alpha, n_tests, disagreement, sd)
    return power_at(_check_rows(n), gain)


def _check_rows(n):
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 2:
        raise ValueError(f"n must be an integer of at least 2 rows; got {n!r}.")
    return int(n)


def minimum_detectable_gain(
    n, *, metric="error", test="auto", alpha=0.1, n_tests=1, power=POWER,
    disagreement=None, sd=None,
):  # fmt: skip
    """Smallest gain the library's test detects on ``n`` rows with ``power``.

    Parameters
    ----------
    n : int
        Rows of the group (for ``"fnr"`` and ``"fpr"``, its rows of the class
        the rate is on).
    metric : str, default="error"
        The risk, as in :func:`~fairuse_estimators.audit_fair_use`.
    test : {"auto", "mcnemar", "bootstrap", "delong"}, default="auto"
        The test, as in :func:`~fairuse_estimators.audit_fair_use`.
    alpha : float, default=0.1
        Family-wise significance level.
    n_tests : int, default=1
        Size of the family the test is corrected in: the test is planned at
        ``alpha / n_tests``, the first step of Holm's procedure.
    power : float, default=0.8
        Chance of detecting the gain.
    disagreement : float, default=None
        For error: the share of rows where exactly one of the two models is
        wrong. With McNemar's test ``None`` assumes every disagreement
        favours the better model (disagreement equal to the gain), the
        fewest rows any pair of models could need.
    sd : float, default=None
        For the other tests: the standard deviation of the per-row loss
        differences (for auc and ece, ``sqrt(n)`` times the standard error
        of the gain in a pilot study).

    Returns
    -------
    gain : float
        In units of the metric's risk; ``inf`` when no gain is detectable.

    Examples
    --------
    >>> from fairuse_estimators import minimum_detectable_gain
    >>> round(minimum_detectable_gain(200, disagreement=0.2), 3)
    0.071
    """
    kind, power_at = _power_function(
        metric, test, alpha, n_tests, disagreement, sd, power
    )
    n = _check_rows(n)
    if base_metric(metric) == "error" and disagreement is not None:
        largest = disagreement  # only disagreeing rows differ in error
    elif kind == "mcnemar":
        largest = 1.0
    else:
        largest = max(1.0, 10 * sd)
    return float(smallest_reaching(lambda g: power_at(n, g) >= power, largest))


def required_group_size(
    gain, *, metric="error", test="auto", alpha=0.1, n_tests=1, power=POWER,
    disagreement=None, sd=None, max_rows=10_000_000,
):  # fmt: skip
    """Fewest rows a group needs for the library's test to detect ``gain``.

    Parameters
    ----------
    gain : float
        True gain in the metric's risk (for error, 0.02 is two points).
    metric, test, alpha, n_tests, power, disagreement, sd
        As in :func:`minimum_detectable_gain`.
    max_rows : int, default=10_000_000
        Largest size searched.

    Returns
    -------
    n : int
        The smallest ``n`` found by bisection whose power is at least
        ``power`` (the exact McNemar power is a saw-tooth in ``n``, so a few
        sizes just above can fall slightly short).

    Raises
    ------
    ValueError
        When the gain is not positive, exceeds the disagreement, or needs
        more than ``max_rows`` rows.

    Examples
    --------
    >>> from fairuse_estimators import required_group_size
    >>> required_group_size(0.05, disagreement=0.2)
    395
    """
    if isinstance(gain, bool) or not isinstance(gain, Real) or not gain > 0:
        raise ValueError(f"gain must be a positive number; got {gain!r}.")
    _, power_at = _power_function(metric, test, alpha, n_tests, disagreement, sd, power)
    if disagreement is not None and gain > disagreement:
        raise ValueError(
            f"gain ({gain}) cannot exceed disagreement ({disagreement}): only "
            "rows where the models disagree can differ in error."
        )

    def reaches(n):
        return power_at(n, gain) >= power

    high = 2
    while not reaches(high):
        if high >= max_rows:
            raise ValueError(
                f"A gain of {gain} needs more than max_rows={max_rows:,} rows."
            )
        high = min(2 * high, max_rows)
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return int(high)


def plan_table(gains, **settings):
    """The table ``fairuse plan`` prints: rows per group for each gain.

    Parameters
    ----------
    gains : str
        Comma-separated gains, as ``fairuse plan --gains`` takes them.
    **settings : dict
        ``metric``, ``test``, ``alpha``, ``n_tests``, ``power``,
        ``disagreement`` and ``sd``, as in :func:`required_group_size`.

    Returns
    -------
    title : str
    header : list of str
    rows : list of list of str
    """
    try:
        gains = [float(g) for g in gains.split(",")]
    except ValueError:
        raise ValueError(
            f"--gains must be comma-separated numbers; got {gains!r}."
        ) from None
    rows = []
    disagreement = settings.get("disagreement")
    for gain in gains:
        if disagreement is not None and gain > disagreement:
            rows.append([f"{gain:g}", "impossible: gain above the disagreement"])
        else:
            rows.append([f"{gain:g}", f"{required_group_size(gain, **settings):,}"])
    metric = settings.get("metric", "error")
    test = resolve_test(settings.get("test", "auto"), metric)
    title = (
        f"Rows per group for power {settings.get('power', POWER)} with the {test} "
        f"test of {metric} at alpha={settings.get('alpha', 0.1)} over "
        f"{settings.get('n_tests', 1)} test(s):"
    )
    return title, ["gain", "rows per group"], rows
