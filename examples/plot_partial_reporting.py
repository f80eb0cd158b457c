"""
Partial reporting: ask only for the attributes that help
========================================================

With ``reporting="partial"`` a person may report any subset of the group
attributes and gets the best certified model for what she reported. On the
bundled flchain data (death within the follow-up, grouped by sex and age
group) the age group helps people over 70 and sex adds nothing to it: the
report says who must report the age group, and that nobody needs to report
sex. A person who gives only her age group would get the generic model under
all-or-nothing reporting; under partial reporting she gets the model on age.
"""

# %%
# Fit on 80% of the rows
# ----------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairuse_estimators import FairUseClassifier
from fairuse_estimators.datasets import load_flchain

X, y = load_flchain(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)
base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
clf = FairUseClassifier(
    base, group_columns=["sex", "age_group"], reporting="partial", random_state=0
).fit(X_train, y_train)
print(clf.routing_)

# %%
# What each group must report
# ---------------------------
# The columns a group must report to get its route, and those that add
# nothing for it, from the out-of-fold evidence of the fit.
print(clf.audit_report_.minimal_reporting())

# %%
# Rows that report their age group only
# -------------------------------------
# On the test rows, the sex is masked: all-or-nothing reporting would score
# these rows with the generic model; partial reporting routes them on age.
age_only = X_test.assign(sex=None)
features = X_test.drop(columns=["sex", "age_group"]).to_numpy()
generic = clf.estimators_["generic"].predict(features)
routed = clf.predict(age_only)
ages = sorted(X_test["age_group"].unique())
errors = {
    "all or nothing (generic)": [
        np.mean(generic[X_test["age_group"] == a] != y_test[X_test["age_group"] == a])
        for a in ages
    ],
    "partial reporting": [
        np.mean(routed[X_test["age_group"] == a] != y_test[X_test["age_group"] == a])
        for a in ages
    ],
}
fig, ax = plt.subplots(figsize=(6, 3.5))
width = 0.38
for k, (label, values) in enumerate(errors.items()):
    ax.bar(np.arange(len(ages)) + (k - 0.5) * width, values, width, label=label)
ax.set_xticks(np.arange(len(ages)), ages)
ax.set_xlabel("age group (reported alone)")
ax.set_ylabel("test error")
ax.legend()
fig.tight_layout()

# %%
# The participatory guarantee on new rows
# ---------------------------------------
# :meth:`~fairuse_estimators.FairUseClassifier.audit` grades the routes on the
# test rows, and tests for every group that reporting both attributes is not
# worse than reporting either one alone.
report = clf.audit(X_test, y_test)
print(report.participation_frame().round(3))
