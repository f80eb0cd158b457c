"""
Reading and plotting a fair-use report
======================================

Every fitted :class:`~fairuse_estimators.FairUseClassifier` keeps its
evidence in ``audit_report_``, a :class:`~fairuse_estimators.FairUseReport`;
:func:`~fairuse_estimators.audit_fair_use` and
:meth:`~fairuse_estimators.FairUseClassifier.audit` return one too. This
example reads each of its views and plots the per-group gains.
"""

# %%
# A report
# --------
# Six groups of the Worcester Heart Attack Study (sex by three age bands),
# scaled logistic regression, error rate.
import json

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairuse_estimators import FairUseClassifier
from fairuse_estimators.datasets import load_whas500
from fairuse_estimators.plotting import FairUseDisplay

data = load_whas500()
clf = FairUseClassifier(
    make_pipeline(StandardScaler(), LogisticRegression()),
    group_columns=data.group_columns,
    cv=3,
    random_state=0,
).fit(data.data, data.target)
report = clf.audit_report_
print(report.models, report.evidence)

# %%
# One row per group: ``to_frame``
# -------------------------------
# For the routed model (the default): each group's route, its risk under the
# generic model and under its route, the gain with its bounds and adjusted
# one-sided p-values,
# the rationality verdict, the worst envy and the envy-freeness verdict, and
# the group's risk under each variant.
frame = report.to_frame()
frame[["n", "route", "gain", "p_gain", "p_violation", "rationality"]].round(3)

# %%
# Any audited model can be shown: here the one-hot variant as a personalized
# model of its own, on the same cross-fitted evidence.
onehot = report.to_frame("onehot")
onehot[["gain", "gain_low", "gain_high", "rationality", "envy_freeness"]].round(3)

# %%
# One row per pair of groups: ``envy_frame``
# ------------------------------------------
# ``gap`` is the risk a group would get from another group's predictions
# minus the risk of its own; a negative gap is envy.
pairs = report.envy_frame("onehot")
pairs.sort_values("gap").head(5).round(3)

# %%
# One row per model: ``summary_table``
# ------------------------------------
# The counts of the paper's Table 1: significant rationality and
# envy-freeness gains and violations, and the best and worst group's gain.
report.summary_table().round(3)

# %%
# Everything: ``to_json``
# -----------------------
# The JSON export holds the settings, every frame above for every model, the
# candidates and the risk matrix; missing values become ``null``. Keep it
# next to a deployed model as the record of why each group is routed where
# it is.
record = json.loads(report.to_json())
print(sorted(record))
print({key: record[key] for key in ("metric", "test", "alpha", "correction")})

# %%
# Plotting the gains
# ------------------
# The per-group gains of each personalized variant with their intervals,
# from ``to_frame``. A point left of the dashed line is a group whose
# cross-fitted error is higher under the variant than under the generic
# model.
variants = ["onehot", "intersectional", "decoupled"]
fig, ax = plt.subplots(figsize=(7, 4))
labels = [", ".join(group) for group in frame.index]
for offset, variant in zip((-0.2, 0.0, 0.2), variants):
    gains = report.to_frame(variant)
    # Intervals can end exactly at the gain; clip the rounding.
    below = (gains["gain"] - gains["gain_low"]).clip(lower=0)
    above = (gains["gain_high"] - gains["gain"]).clip(lower=0)
    ax.errorbar(
        gains["gain"],
        [position + offset for position in range(len(labels))],
        xerr=[below, above],
        fmt="o",
        capsize=3,
        label=variant,
    )
ax.set_yticks(range(len(labels)), labels)
ax.axvline(0, color="grey", linestyle="--")
ax.set_xlabel("gain in error over the generic model")
ax.set_title("Cross-fitted gains per group (WHAS500)")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# The same picture, and the envy gaps, with the Display
# -----------------------------------------------------
# :class:`~fairuse_estimators.plotting.FairUseDisplay` draws every model's
# per-group gains with their intervals, colored by verdict, next to a heatmap
# of the envy gaps (rows: the group, columns: the group whose predictions it
# would receive).
display = FairUseDisplay.from_report(report)
