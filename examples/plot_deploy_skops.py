"""
Deploying a routed model with skops
===================================

A routed :class:`~fairuse_estimators.FairUseClassifier` is saved like any
scikit-learn model. `skops <https://skops.readthedocs.io>`_ files are the
safe choice when a model crosses a trust boundary: loading one runs no code
and builds only the types you name as trusted. This example fits a model,
saves it, checks what the file asks to trust, loads it back and serves
predictions, including for patients who withhold their group.
"""

# %%
# Fit and save
# ------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairuse_estimators import FairUseClassifier
from fairuse_estimators.datasets import load_whas500

data = load_whas500()
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.3, stratify=data.target, random_state=0
)
clf = FairUseClassifier(
    make_pipeline(StandardScaler(), LogisticRegression()),
    group_columns=data.group_columns,
    cv=3,
    random_state=0,
).fit(X_train, y_train)

folder = tempfile.TemporaryDirectory()
path = Path(folder.name) / "whas500-fairuse.skops"
sio.dump(clf, path)
print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")

# %%
# What the file asks to trust
# ---------------------------
# Beyond the types skops trusts by default (numpy, scikit-learn's own
# estimators), a fitted classifier needs only the package's three types. Trust
# this list, and nothing else the file reports unless you know where it comes
# from (a tree-based base estimator adds ``sklearn.tree._tree.Tree``).
TRUSTED = [
    "fairuse_estimators._classifier.FairUseClassifier",
    "fairuse_estimators._groups.GroupEncoding",
    "fairuse_estimators._report.FairUseReport",
]
unknown = sio.get_untrusted_types(file=path)
print("asks to trust:", unknown)
assert set(unknown) <= set(TRUSTED), set(unknown) - set(TRUSTED)

# %%
# Load and serve
# --------------
# The loaded model predicts exactly like the fitted one, routes included, and
# carries its ``audit_report_``: the evidence behind each route ships with
# the model. Loading under another version of ``fairuse_estimators`` would
# raise a :class:`~fairuse_estimators.FairUseVersionWarning`.
loaded = sio.load(path, trusted=TRUSTED)
proba = clf.predict_proba(X_test)[:, 1]
proba_loaded = loaded.predict_proba(X_test)[:, 1]
print("identical predictions:", np.array_equal(proba, proba_loaded))
print("routes:", {", ".join(g): v for g, (v, _) in loaded.routing_.items()})
print("groups that need not report:", loaded.audit_report_.generic_groups())

# %%
# A patient who withholds their sex (a missing value) gets the generic
# model's prediction, which is also what every group on the generic list gets
# anyway: those patients lie on the diagonal. The points off it are patients
# of the groups routed to a personalized candidate.
withheld = loaded.predict_proba(X_test.assign(sex=np.nan))[:, 1]
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(proba, withheld, s=10, alpha=0.6)
ax.plot([0, 1], [0, 1], color="grey", linestyle="--")
ax.set_xlabel("predicted risk, group reported")
ax.set_ylabel("predicted risk, sex withheld")
ax.set_title("Loaded model on test patients")
fig.tight_layout()
folder.cleanup()

# %%
# From the command line
# ---------------------
# The package installs a ``fairuse`` command that does the same without
# writing Python (see :ref:`cli`): ``fit`` fits on every row of a CSV file and
# saves the model with skops, ``predict`` loads it, trusting only types from
# scikit-learn, numpy and fairuse_estimators, and writes a prediction and one
# probability column per class:
#
# .. code-block:: bash
#
#    fairuse fit whas500.csv --target y --groups sex,age_group --out model.skops
#    fairuse predict model.skops new_patients.csv --out predictions.csv
#
# ``fairuse audit`` fits on a training split of the file and audits the routed
# model and the standard personalizations on the held-out rows, and
# ``fairuse demo`` does the same on a bundled dataset.
