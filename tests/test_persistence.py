"""Saving and loading FairUseClassifier: skops trust, joblib, version records."""

import io
import json
import pickle
import re
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from conftest import random_grouped_data
from numpy.testing import assert_array_equal
from packaging.version import Version
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fairuse_estimators import FairUseClassifier, FairUseVersionWarning, __version__

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_trusted_types():
    """The types the README says a skops file needs trusted."""
    text = README.read_text()
    block = re.search(r"```text\n(.*?)```", text, flags=re.S).group(1)
    return sorted(block.split())


@pytest.fixture(scope="module")
def data():
    return random_grouped_data(0, n=300)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    clf = FairUseClassifier(group_columns=["g0", "g1"], random_state=0)
    return clf.fit(X, y)


def _assert_same_predictions(loaded, original, X):
    assert_array_equal(loaded.predict(X), original.predict(X))
    assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))


def test_skops_trusts_only_documented_types_for_pipeline(data):
    """Check that a Pipeline ending in the classifier loads with the README types."""
    sio = pytest.importorskip("skops.io")
    X, y = data
    scale = ColumnTransformer(
        [("scale", StandardScaler(), ["f0", "f1", "f2", "f3"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    clf = FairUseClassifier(
        LogisticRegression(), group_columns=["g0", "g1"], random_state=0
    )
    pipe = Pipeline([("scale", scale), ("clf", clf)]).fit(X, y)
    dumped = sio.dumps(pipe)
    trusted = _readme_trusted_types()
    assert sorted(sio.get_untrusted_types(data=dumped)) == trusted
    assert all(name.startswith("fairuse_estimators.") for name in trusted)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(dumped)
    loaded = sio.loads(dumped, trusted=trusted)
    _assert_same_predictions(loaded, pipe, X)
    assert dict(loaded[-1].routing_) == dict(pipe[-1].routing_)


def test_fold_ensembles_round_trip_with_one_more_trusted_type(data, tmp_path):
    """Check that a classifier deploying its fold models saves and loads with
    skops (trusting the README types and FoldEnsemble, nothing else) and with
    joblib, predicting as before."""
    sio = pytest.importorskip("skops.io")
    X, y = data
    clf = FairUseClassifier(
        group_columns=["g0", "g1"], ensemble=True, random_state=0
    ).fit(X, y)
    dumped = sio.dumps(clf)
    extra = "fairuse_estimators._variants.FoldEnsemble"
    assert sorted(sio.get_untrusted_types(data=dumped)) == sorted(
        [*_readme_trusted_types(), extra]
    )
    assert extra in README.read_text()
    loaded = sio.loads(dumped, trusted=[*_readme_trusted_types(), extra])
    _assert_same_predictions(loaded, clf, X)
    assert loaded.ensemble and len(loaded.estimators_["generic"].estimators_) == 5
    joblib.dump(clf, tmp_path / "m.joblib")
    _assert_same_predictions(joblib.load(tmp_path / "m.joblib"), clf, X)


def test_fairuse_classifier_records_package_version(fitted, data):
    """Check that the saved state holds the version and a reload does not warn."""
    assert fitted.__getstate__()["_fairuse_version"] == __version__
    assert not hasattr(fitted, "_fairuse_version")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FairUseVersionWarning)
        loaded = pickle.loads(pickle.dumps(fitted))
    assert not hasattr(loaded, "_fairuse_version")
    _assert_same_predictions(loaded, fitted, data[0])


def _other_version():
    """A version string of the same length as this one, for editing saved bytes."""
    other = ("9" if __version__[0] != "9" else "8") + __version__[1:]
    assert len(other) == len(__version__) and other != __version__
    return other


def test_joblib_load_from_other_version_warns(fitted, data, tmp_path):
    """Check that loading a joblib file saved by another version warns."""
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    saved = path.read_bytes()
    assert saved.count(__version__.encode()) == 1
    path.write_bytes(saved.replace(__version__.encode(), _other_version().encode()))
    with pytest.warns(FairUseVersionWarning, match=_other_version()) as record:
        loaded = joblib.load(path)
    warning = record[0].message
    assert warning.original_version == _other_version()
    assert warning.current_version == __version__
    assert warning.estimator_name == "FairUseClassifier"
    _assert_same_predictions(loaded, fitted, data[0])


def test_skops_load_from_other_version_warns(fitted, data, tmp_path):
    """Check that loading a skops file saved by another version warns."""
    sio = pytest.importorskip("skops.io")
    saved = zipfile.ZipFile(io.BytesIO(sio.dumps(fitted)))
    # A file from another version records that version wherever it appears
    # (the estimator's state and its report's settings).
    recorded = f'"content": "\\"{__version__}\\""'
    edited = io.BytesIO()
    with zipfile.ZipFile(edited, "w") as archive:
        for name in saved.namelist():
            content = saved.read(name)
            if name == "schema.json":
                schema = content.decode()
                assert schema.count(recorded) >= 1
                other = recorded.replace(__version__, _other_version())
                content = schema.replace(recorded, other).encode()
            archive.writestr(name, content)
    path = tmp_path / "model.skops"
    path.write_bytes(edited.getvalue())
    with pytest.warns(FairUseVersionWarning, match=_other_version()):
        loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    _assert_same_predictions(loaded, fitted, data[0])


def test_fairuse_classifier_state_without_version_warns(fitted):
    """Check that a state saved before versions were recorded warns as unknown."""
    state = fitted.__getstate__()
    del state["_fairuse_version"]
    blank = FairUseClassifier.__new__(FairUseClassifier)
    with pytest.warns(FairUseVersionWarning, match="fairuse_estimators unknown"):
        blank.__setstate__(state)
    assert_array_equal(blank.groups_, fitted.groups_)
    assert np.array_equal(blank._route, fitted._route)


# ------------------------------------------------------------ golden files

GOLDEN = Path(__file__).resolve().parent / "data"


def _golden_cases():
    cases = []
    for expected_path in sorted(GOLDEN.glob("golden_*.json")):
        expected = json.loads(expected_path.read_text())
        for name, model in expected["models"].items():
            for file in model["files"]:
                cases.append(
                    pytest.param(expected["version"], model, file, id=f"{name}-{file}")
                )
    return cases


def _sklearn_versions(schema):
    """Every ``_sklearn_version`` a skops schema records."""
    found, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if isinstance(node.get("_sklearn_version"), dict):
                found.add(json.loads(node["_sklearn_version"]["content"]))
            stack.extend(node.values())
    return found


def _skip_if_written_by_newer_libraries(path):
    """Skip where scikit-learn or numpy is older than the one that wrote ``path``.

    Neither reads what a later release of it pickled: numpy 1 has no
    ``numpy._core``, and scikit-learn's estimators gain and lose attributes. The
    golden files are written with current releases, so the run on the declared
    minimum versions (``make test-min``) cannot load them; every later run does.
    """
    schema = json.loads(zipfile.ZipFile(path.with_suffix(".skops")).read("schema.json"))
    written = max(_sklearn_versions(schema), key=Version)
    if Version(sklearn.__version__) < Version(written):
        pytest.skip(f"{path.name} was written with scikit-learn {written}")
    numpy_1 = np.lib.NumpyVersion(np.__version__) < "2.0.0"
    if path.suffix == ".joblib" and numpy_1 and b"numpy._core" in path.read_bytes():
        pytest.skip(f"{path.name} was written with numpy 2")


def _load_golden(path, version):
    """Load a golden file as a user would, warning only if the version moved."""
    _skip_if_written_by_newer_libraries(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FairUseVersionWarning)
        if path.suffix == ".skops":
            sio = pytest.importorskip("skops.io")
            assert sorted(sio.get_untrusted_types(file=path)) == sorted(
                _readme_trusted_types()
            )
            loaded = sio.load(path, trusted=_readme_trusted_types())
        else:
            loaded = joblib.load(path)
    moved = [w for w in caught if issubclass(w.category, FairUseVersionWarning)]
    assert bool(moved) == (version != __version__)
    return loaded


def _assert_same_records(actual, expected):
    """Compare two ``to_json(orient="split")`` records, numbers to 1e-12."""
    assert actual["columns"] == expected["columns"]
    assert len(actual["data"]) == len(expected["data"])
    for row, expected_row in zip(actual["data"], expected["data"]):
        for value, expected_value in zip(row, expected_row):
            if isinstance(expected_value, float):
                assert value == pytest.approx(expected_value, rel=1e-12, abs=1e-12)
            else:
                assert value == expected_value


@pytest.mark.parametrize(("version", "model", "file"), _golden_cases())
def test_golden_model_files_keep_predictions_routes_and_report(
    heart, version, model, file
):
    """Check that model files saved by earlier versions load with their results."""
    X, _ = heart
    loaded = _load_golden(GOLDEN / file, version)
    np.testing.assert_allclose(
        loaded.predict_proba(X), np.asarray(model["predict_proba"]), rtol=1e-12
    )
    routing = [
        [list(group), variant, None if reported is None else list(reported)]
        for group, (variant, reported) in loaded.routing_.items()
    ]
    assert routing == model["routing"]
    frame = loaded.audit_report_.to_frame().reset_index()
    # Columns added since a file was saved are blank for it: its report kept
    # no power of its tests, so no verdict turns untestable.
    recorded = model["frame"]["columns"]
    added = [column for column in frame.columns if column not in recorded]
    assert added == ["detectable_gain"]
    assert frame["detectable_gain"].isna().all()
    frame = frame[recorded]
    # Since then a group that envies none names no envied group (it used to
    # name the least bad other group), and a group routed to the generic
    # model says why it is untested; every other recorded value stands.
    expected = json.loads(json.dumps(model["frame"]))
    envy, named = recorded.index("worst_envy"), recorded.index("envied_group")
    verdict, note = recorded.index("rationality"), recorded.index("note")
    for row, route in zip(expected["data"], loaded.audit_report_.routes):
        if row[envy] <= 0:
            row[envy], row[named] = row[envy] + 0.0, ""
        if route == 0 and row[verdict] == "untested" and not row[note]:
            row[note] = (
                "untested: routed to the generic model, whose predictions it gets"
            )
    _assert_same_records(json.loads(frame.to_json(orient="split")), expected)


def test_report_state_has_a_schema_and_no_derived_arrays(fitted):
    """Check that a report's persisted state carries its schema number and
    not the per-model arrays it computes on use, and that a state from before
    schemas were numbered migrates."""
    report = fitted.audit_report_
    report.to_frame()  # computes and keeps the arrays of the first model
    state = report.__getstate__()
    assert state["schema"] == 4 and "_arrays" not in state
    # Schema 3 added the fields of partial reporting and schema 4 the routing
    # record; states without them, numbered or not, migrate.
    added = {"schema", "reported_labels", "participation", "must_report", "gate"}
    old = {k: v for k, v in state.items() if k not in added}
    blank = type(report).__new__(type(report))
    blank.__setstate__(old)
    assert blank.schema == 4 and blank.must_report is None and blank.gate is None
    assert blank.to_frame().equals(report.to_frame().drop(columns="decision"))
    assert blank.routing_frame().empty


def test_golden_report_has_the_current_schema():
    """Check that the report of a golden file loads with the current schema."""
    path = sorted(GOLDEN.glob("heart_evidence_*.joblib"))[0]
    _skip_if_written_by_newer_libraries(path)
    golden = joblib.load(path)
    assert golden.audit_report_.schema == 4
    # An old report advises all columns or none, as its routes say.
    advice = golden.audit_report_.minimal_reporting()
    nothing = [g for g, must in zip(advice.index, advice["must_report"]) if not must]
    assert nothing == golden.audit_report_.generic_groups()
