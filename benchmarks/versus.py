"""Time this working tree against another revision, side by side in one run.

Each task runs through the public API only (``FairUseClassifier.fit``,
``predict_proba``, ``audit`` and ``audit_fair_use``), so that any two
revisions compare. The revision is checked out into a temporary git worktree;
every task runs in a fresh process per tree, the trees alternating, with one
BLAS thread (``--blas installed``: as installed); the best of ``--repeats``
runs is compared. ``--busy`` keeps every other core busy with a CPU-bound
process meanwhile, as on a shared machine.

Run from the repository root::

    .venv/bin/python benchmarks/versus.py HEAD~1
    .venv/bin/python benchmarks/versus.py fa53c4c --repeats 5 --tasks fit audit-error
    .venv/bin/python benchmarks/versus.py HEAD --blas installed --busy
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETUP = """
import time, warnings
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from fairuse_estimators import FairUseClassifier, audit_fair_use
warnings.filterwarnings("ignore")

def data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20))
    codes = [rng.integers(k, size=n) for k in (2, 3)]
    shift = rng.normal(scale=0.7, size=6)[np.ravel_multi_index(codes, (2, 3))]
    y = (X[:, 0] + 0.5 * X[:, 1] + shift + rng.logistic(size=n) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(20)])
    for j, (code, k) in enumerate(zip(codes, (2, 3))):
        frame[f"g{j}"] = np.array([f"level{c}" for c in range(k)])[code]
    return frame, y

def clock(function, *args, **kwargs):
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start
"""

TASKS = {
    "fit": """
X, y = data(100_000)
clf = FairUseClassifier(LogisticRegression(), group_columns=["g0", "g1"],
                        random_state=0)
seconds = clock(clf.fit, X, y)
""",
    "predict": """
X, y = data(100_000)
clf = FairUseClassifier(LogisticRegression(), group_columns=["g0", "g1"],
                        routing="best", random_state=0).fit(X, y)
X_new, _ = data(1_000_000, seed=1)
seconds = clock(clf.predict_proba, X_new)
""",
    "audit-error": """
X, y = data(100_000)
X_test, y_test = data(100_000, seed=1)
onehot = make_pipeline(
    make_column_transformer((OneHotEncoder(), ["g0", "g1"]), remainder="passthrough"),
    LogisticRegression()).fit(X, y)
generic = LogisticRegression().fit(X.drop(columns=["g0", "g1"]), y)
seconds = clock(audit_fair_use, onehot, X_test, y_test, group_columns=["g0", "g1"],
                generic=generic, test="bootstrap", n_bootstrap=1000, random_state=0)
""",
    "audit-auc": """
X, y = data(100_000)
X_test, y_test = data(100_000, seed=1)
onehot = make_pipeline(
    make_column_transformer((OneHotEncoder(), ["g0", "g1"]), remainder="passthrough"),
    LogisticRegression()).fit(X, y)
generic = LogisticRegression().fit(X.drop(columns=["g0", "g1"]), y)
seconds = clock(audit_fair_use, onehot, X_test, y_test, group_columns=["g0", "g1"],
                generic=generic, metric="auc", test="bootstrap", n_bootstrap=1000,
                random_state=0)
""",
    "classifier-audit": """
X, y = data(100_000)
clf = FairUseClassifier(LogisticRegression(), group_columns=["g0", "g1"],
                        random_state=0).fit(X, y)
X_test, y_test = data(100_000, seed=1)
seconds = clock(clf.audit, X_test, y_test, metric="log_loss", n_bootstrap=1000)
""",
}


def run_task(tree, task, blas="one"):
    """Seconds of one task in a fresh process importing ``tree``'s package."""
    code = SETUP + TASKS[task] + "\nprint(json.dumps(seconds))"
    env = dict(os.environ, PYTHONPATH=str(tree))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if blas == "one":
            env[name] = "1"
        else:
            env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="git revision to compare with")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=TASKS)
    parser.add_argument("--blas", choices=["one", "installed"], default="one")
    parser.add_argument("--busy", action="store_true")
    args = parser.parse_args()
    burners = []
    if args.busy:
        burners = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(max(1, (os.cpu_count() or 2) - 1))
        ]
    with tempfile.TemporaryDirectory() as folder:
        old = Path(folder) / "old"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old),
             args.revision],
            check=True, capture_output=True,
        )  # fmt: skip
        try:
            print(
                f"this tree vs {args.revision}: best of {args.repeats}, interleaved, "
                f"BLAS threads {args.blas}"
                + (f", {len(burners)} busy core(s)" if burners else "")
            )
            print(f"{'task':>17} {'this s':>8} {'then s':>8} {'ratio':>6}")
            for task in args.tasks:
                times = {"new": [], "old": []}
                for _ in range(args.repeats):
                    times["new"].append(run_task(ROOT, task, args.blas))
                    times["old"].append(run_task(old, task, args.blas))
                new, then = min(times["new"]), min(times["old"])
                print(f"{task:>17} {new:8.2f} {then:8.2f} {new / then:6.2f}")
        finally:
            for burner in burners:
                burner.kill()
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                check=True, capture_output=True,
            )  # fmt: skip


if __name__ == "__main__":
    main()
