"""The library's own small linear algebra runs on one BLAS thread; the base
estimator's fits keep the threads the user set."""

from conftest import HEART_GROUPS
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from fairuse_estimators import FairUseClassifier, audit_fair_use
from fairuse_estimators._threads import one_blas_thread


def _blas_threads():
    return {
        lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
    }


class RecordingLogisticRegression(LogisticRegression):
    """A logistic regression noting the BLAS threads it meets in each method."""

    seen = {"fit": set(), "predict": set()}

    def fit(self, X, y, sample_weight=None):
        self.seen["fit"] |= _blas_threads()
        return super().fit(X, y, sample_weight)

    def predict(self, X):
        self.seen["predict"] |= _blas_threads()
        return super().predict(X)


def test_scoring_runs_on_one_blas_thread_and_fits_keep_the_users(heart):
    """Check the threads a base estimator meets inside fit, and that the
    user's limit is back afterwards."""
    X, y = heart
    RecordingLogisticRegression.seen = {"fit": set(), "predict": set()}
    with threadpool_limits(limits=2, user_api="blas"):
        FairUseClassifier(
            make_pipeline(StandardScaler(), RecordingLogisticRegression()),
            group_columns=HEART_GROUPS,
            gate_loss="metric",
            random_state=0,
        ).fit(X, y)
        assert _blas_threads() == {2}
    assert RecordingLogisticRegression.seen["fit"] == {2}
    assert RecordingLogisticRegression.seen["predict"] == {1}


def test_one_blas_thread_limits_inside_and_restores_after():
    @one_blas_thread
    def inside():
        return _blas_threads()

    with threadpool_limits(limits=2, user_api="blas"):
        assert inside() == {1}
        assert _blas_threads() == {2}


def test_audit_of_a_users_model_restores_its_threads(heart):
    X, y = heart
    base = make_pipeline(StandardScaler(), LogisticRegression())
    generic = clone(base).fit(X.drop(columns=HEART_GROUPS), y)
    with threadpool_limits(limits=2, user_api="blas"):
        audit_fair_use(
            FairUseClassifier(base,
                              group_columns=HEART_GROUPS, random_state=0).fit(X, y),
            X, y, group_columns=HEART_GROUPS, generic=generic,
        )  # fmt: skip
        assert _blas_threads() == {2}
