"""
Audit a one-hot model on the heart data
=======================================

A clinical model that takes ``sex`` and ``age_group`` as one-hot inputs is
the most common way to use group attributes. Does every group it asks for
those attributes get better predictions in return? This example fits such a
model on the bundled heart disease data, audits it with
:func:`~fairuse_estimators.audit_fair_use` on held-out patients, and compares
it with a :class:`~fairuse_estimators.FairUseClassifier` fitted on the same
rows.
"""

# %%
# Data and models
# ---------------
# The group columns stay inside ``X``. The personalized model one-hot encodes
# them; the generic model is the same logistic regression without them.
import matplotlib.pyplot as plt
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairuse_estimators import FairUseClassifier, audit_fair_use
from fairuse_estimators.datasets import load_heart

X, y = load_heart(return_X_y=True)
groups = ["sex", "age_group"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.4, stratify=y, random_state=0
)
onehot = make_pipeline(
    make_column_transformer((OneHotEncoder(), groups), remainder=StandardScaler()),
    LogisticRegression(),
).fit(X_train, y_train)
generic = make_pipeline(StandardScaler(), LogisticRegression()).fit(
    X_train.drop(columns=groups), y_train
)

# %%
# The audit
# ---------
# Rationality compares each group's error under the one-hot model with its
# error under the generic model; envy-freeness compares it with the error
# the group would get by reporting each other group. The exact McNemar test
# runs on the test rows of each group, with Holm's correction.
report = audit_fair_use(onehot, X_test, y_test, group_columns=groups, generic=generic)
frame = report.to_frame()
frame[["n", "risk_generic", "risk_personalized", "gain", "rationality"]].round(3)

# %%
# A negative ``gain`` is a group whose error went up when the model started
# using its attributes. ``inconclusive`` means the test rows cannot tell a
# gain from a loss: with a few dozen patients per group, that is common.
frame[["worst_envy", "envied_group", "envy_freeness"]].round(3)

# %%
# Gains with their bounds
# -----------------------
# Each bound is one-sided, at the level of its test after Holm's correction
# over the groups, so a bound crosses 0 exactly when its verdict is
# significant. A bound can end exactly at the gain (when one model is never
# worse), so rounding is clipped away from the bar lengths.
labels = [", ".join(group) for group in frame.index]
below = (frame["gain"] - frame["gain_low"]).clip(lower=0)
above = (frame["gain_high"] - frame["gain"]).clip(lower=0)
fig, ax = plt.subplots(figsize=(6, 3))
ax.errorbar(frame["gain"], labels, xerr=[below, above], fmt="o", capsize=4)
ax.axvline(0, color="grey", linestyle="--")
ax.set_xlabel("error of generic model - error of one-hot model")
ax.set_title("Gain of the one-hot model per group (test rows)")
fig.tight_layout()

# %%
# The routed alternative
# ----------------------
# :class:`~fairuse_estimators.FairUseClassifier` fits the generic, one-hot,
# intersectional and decoupled variants on the training rows, and routes a
# group away from the generic model only on a significant cross-fitted gain.
# Its :meth:`~fairuse_estimators.FairUseClassifier.audit` tests the routed
# model and each variant on the same test rows.
clf = FairUseClassifier(
    make_pipeline(StandardScaler(), LogisticRegression()),
    group_columns=groups,
    cv=3,
    random_state=0,
).fit(X_train, y_train)
clf.audit(X_test, y_test).summary_table()[
    ["risk", "risk_generic", "harmed_groups", "rationality_violations"]
].round(3)
