"""Write the golden model files that ``tests/test_persistence.py`` loads.

Run once with the version the files record; later versions must keep loading
them with the same predictions and routes:

    python tests/data/make_golden.py

A change to the report updates the expected frames, with its reason:

    python tests/data/make_golden.py --update-frames "why the report changed"
"""

import json
from pathlib import Path

import joblib
import skops.io as sio

from fairuse_estimators import FairUseClassifier, __version__
from fairuse_estimators._estimators import make_estimator
from fairuse_estimators.datasets import load_heart

HERE = Path(__file__).parent
GROUPS = ["sex", "age_group"]
CONFIGS = {
    "evidence": {},
    "best": {"routing": "best"},
}


def update_frames(reason):
    """Rewrite the expected report frames of every golden file, keeping its
    predictions and routes, and record why: later versions may change the
    report, never what a saved model predicts."""
    for path in sorted(HERE.glob("golden_*.json")):
        expected = json.loads(path.read_text())
        for model in expected["models"].values():
            clf = joblib.load(HERE / model["files"][1])
            frame = clf.audit_report_.to_frame()
            model["frame"] = json.loads(frame.reset_index().to_json(orient="split"))
        expected.setdefault("frame_changes", []).append(reason)
        path.write_text(json.dumps(expected, indent=1) + "\n")


def main():
    X, y = load_heart(return_X_y=True)
    expected = {"version": __version__, "models": {}}
    for name, params in CONFIGS.items():
        clf = FairUseClassifier(
            make_estimator("logistic"), group_columns=GROUPS, random_state=0, **params
        ).fit(X, y)
        stem = f"heart_{name}_{__version__}"
        sio.dump(clf, HERE / f"{stem}.skops")
        joblib.dump(clf, HERE / f"{stem}.joblib")
        frame = clf.audit_report_.to_frame()
        expected["models"][name] = {
            "files": [f"{stem}.skops", f"{stem}.joblib"],
            "params": params,
            "predict_proba": clf.predict_proba(X).tolist(),
            "routing": [
                [list(group), variant, None if reported is None else list(reported)]
                for group, (variant, reported) in clf.routing_.items()
            ],
            "frame": json.loads(frame.reset_index().to_json(orient="split")),
        }
    path = HERE / f"golden_{__version__}.json"
    path.write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--update-frames"]:
        update_frames(" ".join(sys.argv[2:]))
    else:
        main()
