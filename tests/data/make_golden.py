"""Write the golden model files that ``tests/test_persistence.py`` loads.

Run once with the version the files record; later versions must keep loading
them with the same predictions and routes:

    python tests/data/make_golden.py
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
    main()
