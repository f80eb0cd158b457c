"""
Planning a study: how many rows each group needs
================================================

A verdict on a group is only as good as the group's size allows. Before
collecting data, :func:`~fairuse_estimators.required_group_size` says how
many rows a group needs for the library's test to detect a gain with power
0.8; after an audit, the report's ``detectable_gain`` column says which gain
each group's test could have found, and ``untestable`` marks the groups where
not even the largest possible gain could.
"""

# %%
# Rows per group for a gain in error
# ----------------------------------
# McNemar's test of the error rate learns only from the rows where the two
# models disagree (exactly one of them wrong). The more they disagree for a
# given gain, the noisier the comparison; and the more tests a correction
# runs over (for the gate, up to three candidates per group, over every
# group), the lower each test's level.
import matplotlib.pyplot as plt
import numpy as np

from fairuse_estimators import minimum_detectable_gain, required_group_size

gains = np.array([0.01, 0.02, 0.05, 0.1])
for disagreement in (0.1, 0.2, 0.3):
    for n_tests in (1, 18):
        rows = [
            required_group_size(g, disagreement=disagreement, n_tests=n_tests)
            for g in gains
        ]
        print(f"disagreement {disagreement}, {n_tests:2d} tests:", rows)

# %%
# The smallest detectable gain against the group's size
# -----------------------------------------------------
# Each curve is the gain a group of ``n`` rows detects with power 0.8 at
# ``alpha = 0.1``, alone or in a family of 18 tests (six groups, three
# candidates each). Groups of the bundled heart data's test split hold 11 to
# 52 rows: only gains of about 15 points and more are within reach there.
sizes = np.unique(np.geomspace(20, 5000, 40).astype(int))
fig, ax = plt.subplots(figsize=(6, 4))
for disagreement, color in ((0.1, "C0"), (0.3, "C1")):
    for n_tests, style in ((1, "-"), (18, "--")):
        detectable = [
            minimum_detectable_gain(n, disagreement=disagreement, n_tests=n_tests)
            for n in sizes
        ]
        ax.plot(
            sizes,
            detectable,
            style,
            color=color,
            label=f"disagreement {disagreement}, {n_tests} test(s)",
        )
ax.set_xscale("log")
ax.set_xlabel("rows in the group")
ax.set_ylabel("smallest detectable gain in error")
ax.set_title("McNemar's test, power 0.8, alpha 0.1")
ax.legend()
fig.tight_layout()

# %%
# The same from the command line
# ------------------------------
# ``fairuse plan --disagreement 0.2 --tests 18`` prints the rows per group for
# gains of 1, 2, 5 and 10 points.
