"""One fitted FairUseClassifier serving many threads at once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from conftest import random_grouped_data
from numpy.testing import assert_array_equal

from fairuse_estimators import FairUseClassifier

N_THREADS = 8


def test_fairuse_classifier_predicts_from_threads_as_serially():
    """Check that predict and predict_proba from 8 threads match serial calls."""
    X, y = random_grouped_data(3, n=400, levels=(2, 3))
    clf = FairUseClassifier(group_columns=["g0", "g1"], random_state=0).fit(X, y)
    # Batches of different rows, some with withheld groups, so that threads
    # reach different candidates at the same moment.
    rng = np.random.default_rng(0)
    batches = []
    for k in range(N_THREADS):
        batch = X.iloc[rng.choice(len(X), 200)].reset_index(drop=True)
        batch.loc[batch.index % (k + 2) == 0, "g1"] = None
        batches.append(batch)
    serial = [(clf.predict(b), clf.predict_proba(b)) for b in batches]
    barrier = threading.Barrier(N_THREADS)

    def work(batch):
        barrier.wait()
        return [(clf.predict(batch), clf.predict_proba(batch)) for _ in range(5)]

    with ThreadPoolExecutor(N_THREADS) as pool:
        results = list(pool.map(work, batches))
    for expected, repeats in zip(serial, results):
        for pred, proba in repeats:
            assert_array_equal(pred, expected[0])
            assert_array_equal(proba, expected[1])
