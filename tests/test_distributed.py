"""Candidate fits on a real Dask cluster on this machine."""

import joblib
import numpy as np
import pytest
from conftest import random_grouped_data
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from fairuse_estimators import FairUseClassifier

distributed = pytest.importorskip(
    "distributed", reason="the 'distributed' extra (dask[distributed]) is missing"
)


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two worker processes and a client connected to it."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_fairuse_classifier_fits_on_a_dask_cluster(client):
    """Check that candidate fits run on the workers and change no result."""
    X, y = random_grouped_data(0, n=500, levels=(2, 3))
    clf = FairUseClassifier(
        LogisticRegression(), group_columns=["g0", "g1"], random_state=0
    )
    serial = clone(clf).fit(X, y)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = clone(clf).set_params(n_jobs=-1).fit(X, y)
    workers = {task["worker"] for task in stream.data}
    names = " ".join(str(task["key"]) for task in stream.data)
    assert "fit_and_score" in names
    assert len(workers) == 2, "both worker processes should have fitted candidates"
    assert dict(remote.routing_) == dict(serial.routing_)
    assert_allclose(remote.predict_proba(X), serial.predict_proba(X))
    assert_allclose(remote.audit_report_.risks, serial.audit_report_.risks)
    assert np.array_equal(remote.predict(X), serial.predict(X))


def test_fairuse_regressor_fits_on_a_dask_cluster(client):
    """Check that a regressor's candidate fits run on the workers too, with
    the same routes, risks and predictions as serial fits."""
    from sklearn.linear_model import LinearRegression

    from fairuse_estimators import FairUseRegressor

    X, labels = random_grouped_data(1, n=500, levels=(2, 3))
    y = X["f0"].to_numpy() * np.where(X["g0"] == "level0", 1.0, -1.0) + labels
    reg = FairUseRegressor(
        LinearRegression(), group_columns=["g0", "g1"], random_state=0
    )
    serial = clone(reg).fit(X, y)
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        remote = clone(reg).set_params(n_jobs=-1).fit(X, y)
    assert len({task["worker"] for task in stream.data}) == 2
    assert dict(remote.routing_) == dict(serial.routing_)
    assert_allclose(remote.audit_report_.risks, serial.audit_report_.risks)
    assert_allclose(remote.predict(X), serial.predict(X))
