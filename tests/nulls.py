"""Null worlds for the paired tests: two candidates with equal true risk.

Each world is one group of ``n`` rows with labels ``y`` and the class
probabilities of two candidates, ``proba`` of shape ``(2, n, 2)``; many worlds
are drawn at once and stacked as the groups of one
:class:`~fairuse_estimators._metrics.Evidence`, so that one call of the paired
tests runs them all. The families are the nulls users meet:

- ``exchangeable``: the two candidates are independent draws of the same
  noisy model;
- ``trade``: one over-predicts and one under-predicts the positive class by
  the same amount, so they trade errors between the classes at equal risk;
- ``skewed``: an under-confident and an over-confident candidate, tuned to the
  same expected loss; the over-confident one is rarely but badly wrong, so
  the per-row loss differences are skewed;
- ``imbalanced``: exchangeable candidates at a prevalence of 0.2;
- ``sharpness``: two perfectly calibrated candidates, one sharper than the
  other (a null for calibration only).

Used by ``benchmarks/validity.py`` (the size tables) and the light
simulation tests of the suite.
"""

import numpy as np
from scipy.special import expit, logit

FAMILIES = ("exchangeable", "trade", "skewed", "imbalanced", "sharpness", "calibration")
#: The metrics each family is a null for.
NULL_FOR = {
    "exchangeable": (
        "error",
        "auc",
        "log_loss",
        "brier",
        "ece",
        "fnr",
        "balanced_error",
    ),
    # Trading errors between the classes moves fnr: not a null for it.
    "trade": ("error", "auc", "log_loss", "brier", "ece", "balanced_error"),
    "skewed": ("log_loss", "brier"),
    "imbalanced": ("error", "auc", "log_loss", "brier", "ece", "fnr", "balanced_error"),
    "sharpness": ("ece",),
    # Not a null: the candidates after the first lower the log loss but
    # raise the error (see draw).
    "calibration": (),
}
# Logit scales of the skewed family's candidates, tuned by quadrature so that
# their expected losses are equal (see _tune_skewed).
_SKEWED = {"log_loss": (0.6, 1.4610), "brier": (0.6, 1.5709)}


def draw(family, n_worlds, n, rng, metric="log_loss", n_candidates=2, noise=(1, 1)):
    """Labels and candidates' probabilities of ``n_worlds`` null worlds.

    ``n_candidates`` and ``noise`` (the noise scale of each candidate) apply
    to the exchangeable, trade and imbalanced families; unequal noise makes a
    world with a real difference, for coverage.

    Returns
    -------
    y : ndarray of int of shape (n_worlds * n,)
    proba : ndarray of shape (n_candidates, n_worlds * n, 2)
    group_ids : ndarray of int of shape (n_worlds * n,)
        The world of each row.
    """
    size = n_worlds * n
    group_ids = np.repeat(np.arange(n_worlds), n)
    scales = np.resize(noise, n_candidates)
    if family in ("exchangeable", "imbalanced", "trade"):
        base = logit(0.2) if family == "imbalanced" else 0.0
        signal = rng.normal(size=size)
        y = (rng.random(size) < expit(base + 1.5 * signal)).astype(int)
        # Trade: candidates alternately over- and under-predict.
        shifts = np.resize([0.8, -0.8], n_candidates) * (family == "trade")
        scores = [
            base + 1.5 * signal + shift + scale * rng.normal(size=size)
            for shift, scale in zip(shifts, scales)
        ]
    elif family == "skewed":
        q = rng.beta(2, 2, size=size)
        y = (rng.random(size) < q).astype(int)
        under, over = _SKEWED[metric]
        scores = [under * logit(q), over * logit(q)]
    elif family == "calibration":
        # The first candidate is over-confident with the right threshold; the
        # others are calibrated but shifted: a lower log loss, a higher error.
        signal = rng.normal(size=size)
        y = (rng.random(size) < expit(1.5 * signal)).astype(int)
        # True error 0.265 against 0.274, log loss 0.688 against 0.538.
        scores = [4.0 * signal] + [
            1.5 * signal + 0.3 + 0.2 * rng.normal(size=size)
            for _ in range(n_candidates - 1)
        ]
    elif family == "sharpness":
        q = rng.beta(2, 2, size=size)
        y = (rng.random(size) < q).astype(int)
        # The coarse candidate knows only which half q falls in: E[q | half].
        coarse = np.where(q < 0.5, 5 / 16, 11 / 16)
        scores = [logit(q), logit(coarse)]
    else:
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}.")
    positive = np.clip(expit(np.array(scores)), 1e-6, 1 - 1e-6)
    proba = np.stack([1 - positive, positive], axis=2)
    return y, proba, group_ids


def _tune_skewed(metric, under=0.6):
    """The over-confident scale whose expected loss equals the under-confident
    candidate's, for ``q ~ Beta(2, 2)``, by quadrature (run once)."""
    from scipy.integrate import quad
    from scipy.optimize import brentq
    from scipy.stats import beta

    def loss(p, q):
        if metric == "log_loss":
            return -(q * np.log(p) + (1 - q) * np.log(1 - p))
        return (q - p) ** 2 + q * (1 - q)

    def risk(scale):
        return quad(lambda q: beta.pdf(q, 2, 2) * loss(expit(scale * logit(q)), q),
                    1e-9, 1 - 1e-9)[0]  # fmt: skip

    target = risk(under)
    return brentq(lambda s: risk(s) - target, 1.0, 5.0)


#: Null worlds for the regression losses, and the metrics each is a null for
#: (``"pinball"`` at the 0.9 quantile).
REGRESSION_NULL_FOR = {
    # Two independent noisy copies of one model: a null for every loss.
    "exchangeable": ("squared_error", "absolute_error", "pinball", "poisson"),
    # Exchangeable, with Student t (3 degrees of freedom) noise in the target
    # and the candidates: loss differences with very heavy tails.
    "heavy_tailed": ("squared_error", "absolute_error", "pinball"),
    # A target whose noise grows as exp(signal), and candidates biased by
    # +0.5 and -0.5: equal squared and absolute error for symmetric noise.
    "heteroscedastic": ("squared_error", "absolute_error"),
    # A biased candidate against an unbiased noisy one of equal squared error
    # (bias 0.5, noise sd 0.5): the loss differences are skewed.
    "skewed": ("squared_error",),
    # Negative binomial counts (overdispersed) with exchangeable candidates.
    "overdispersed": ("poisson",),
}


def draw_regression(family, n_worlds, n, rng, metric="squared_error"):
    """Target and two candidates' predictions of ``n_worlds`` null worlds.

    Returns
    -------
    y : ndarray of float of shape (n_worlds * n,)
    predictions : ndarray of float of shape (2, n_worlds * n)
    group_ids : ndarray of int of shape (n_worlds * n,)
    """
    size = n_worlds * n
    group_ids = np.repeat(np.arange(n_worlds), n)
    signal = rng.normal(size=size)
    if metric == "poisson":
        mean = np.exp(0.5 * signal + 1.0)
        if family == "overdispersed":  # variance mean + mean**2 / 2
            y = rng.negative_binomial(2, 2 / (2 + mean)).astype(float)
        elif family == "exchangeable":
            y = rng.poisson(mean).astype(float)
        else:
            raise ValueError(f"{family!r} is no null of the poisson deviance.")
        predictions = mean * np.exp(0.3 * rng.normal(size=(2, size)))
        return y, predictions, group_ids
    if family == "exchangeable":
        y = signal + rng.normal(size=size)
        predictions = signal + 0.5 * rng.normal(size=(2, size))
    elif family == "heavy_tailed":
        y = signal + rng.standard_t(3, size=size)
        predictions = signal + 0.5 * rng.standard_t(3, size=(2, size))
    elif family == "heteroscedastic":
        y = signal + np.exp(signal) * rng.normal(size=size)
        predictions = signal + np.array([[0.5], [-0.5]])
    elif family == "skewed":
        y = signal + rng.normal(size=size)
        predictions = np.stack([signal + 0.5, signal + 0.5 * rng.normal(size=size)])
    else:
        raise ValueError(f"family must be one of {tuple(REGRESSION_NULL_FOR)}.")
    return y, predictions, group_ids
