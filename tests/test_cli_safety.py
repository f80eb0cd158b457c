"""The fairuse command under hostile and careless input: files, outputs, text."""

import io
import json
import resource
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
from conftest import COMMAND_ENV, assert_one_line_error, fairuse, fairuse_main
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from fairuse_estimators import FairUseClassifier
from fairuse_estimators._files import (
    TRUSTED_TYPES,
    spreadsheet_safe,
    terminal_safe,
    untrusted_entries,
)
from fairuse_estimators.datasets import list_datasets, load_csv, load_dataset

sio = pytest.importorskip("skops.io")

ENV = COMMAND_ENV


def _snapshot(folder):
    """Every file under ``folder`` with its bytes, to show nothing changed."""
    return {
        path.relative_to(folder): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def heart_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "heart.csv"
    load_dataset("heart").frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def small_model(heart_csv):
    """A small fitted classifier on the heart data, and its columns."""
    data = load_csv(heart_csv, target="y", group_columns="sex,age_group")
    clf = FairUseClassifier(
        make_pipeline(StandardScaler(), LogisticRegression()),
        group_columns=data.group_columns,
        variants=("generic", "onehot"),
        cv=2,
        random_state=0,
    )
    return clf.fit(data.data, data.target)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, small_model):
    path = tmp_path_factory.mktemp("model") / "model.skops"
    sio.dump(small_model, path)
    return path


def _edited(data, edit):
    """A skops file's bytes with ``edit`` applied to its parsed schema."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == "schema.json":
                schema = json.loads(content)
                edit(schema)
                content = json.dumps(schema).encode()
            archive.writestr(name, content)
    return out.getvalue()


def _writes(marker):
    return f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')"


# ---------------------------------------------------------- hostile models


def _with_key_type(module, name, key):
    """Edit: one more entry in the estimator's state, whose key skops turns
    into a key by calling ``module.name(key)`` while loading."""

    def edit(schema):
        state = schema["content"]
        state["content"][key] = {
            "__class__": "str",
            "__module__": "builtins",
            "__loader__": "JsonNode",
            "content": '"x"',
            "is_json": True,
        }
        state["key_types"]["content"].append(
            {"__class__": name, "__module__": module, "__loader__": "TypeNode"}
        )

    return edit


def test_predict_refuses_file_that_runs_code_while_loading(
    model_file, heart_csv, tmp_path
):
    """Check that a file whose schema makes skops run a shell command while
    loading is refused, and that the command never runs."""
    marker = tmp_path / "ran-while-loading"
    hostile = tmp_path / "hostile.skops"
    helper = ("sklearn.utils._testing", "assert_run_python_script_without_output")
    hostile.write_bytes(
        _edited(model_file.read_bytes(), _with_key_type(*helper, _writes(marker)))
    )
    before = _snapshot(tmp_path)
    result = fairuse("predict", hostile, heart_csv, "--out", tmp_path / "out.csv")
    assert_one_line_error(result, "Refusing to load", f"'{'.'.join(helper)}'")
    assert _snapshot(tmp_path) == before
    # The file is live: trusting what it reports, as a prefix rule did, runs it.
    untrusted = sio.get_untrusted_types(file=hostile)
    assert all(t.startswith(("fairuse_estimators.", "sklearn.")) for t in untrusted)
    sio.load(hostile, trusted=untrusted)
    assert marker.read_text() == "ran"


def _runstring_pipeline(code):
    """A Pipeline of FunctionTransformers that executes ``code`` on transform,
    built from numpy's and scikit-learn's own functions."""
    from numpy.testing._private.utils import runstring
    from sklearn.utils._indexing import _safe_indexing

    final = DummyClassifier().fit(np.zeros((2, 1)), [0, 1])
    return make_pipeline(
        FunctionTransformer(
            np.full_like, kw_args={"fill_value": code, "dtype": object}
        ),
        FunctionTransformer(_safe_indexing, kw_args={"indices": 0}),
        FunctionTransformer(_safe_indexing, kw_args={"indices": 0}),
        FunctionTransformer(str),
        FunctionTransformer(runstring, kw_args={"dict": {}}),
        final,
    )


def test_predict_refuses_file_that_runs_code_at_predict_time(
    small_model, heart_csv, tmp_path
):
    """Check that a model built with skops.io.dump alone, whose generic model
    runs code when it predicts, is refused and nothing runs."""
    from sklearn.base import clone

    marker = tmp_path / "ran-at-predict"
    hostile_model = clone(small_model).fit(*load_dataset("heart", return_X_y=True))
    hostile_model.estimators_["generic"] = _runstring_pipeline(_writes(marker))
    hostile = tmp_path / "hostile.skops"
    sio.dump(hostile_model, hostile)
    before = _snapshot(tmp_path)
    result = fairuse("predict", hostile, heart_csv)
    assert_one_line_error(result, "Refusing to load", "FunctionTransformer")
    assert result.stdout == ""
    assert _snapshot(tmp_path) == before
    untrusted = sio.get_untrusted_types(file=hostile)
    assert "numpy.testing._private.utils.runstring" in untrusted
    loaded = sio.load(hostile, trusted=untrusted)
    with pytest.raises(Exception):  # noqa: B017 - the payload breaks predict after
        loaded.predict(load_dataset("heart").data)
    assert marker.read_text() == "ran"


@pytest.mark.parametrize(
    ("module", "name", "loader"),
    [
        ("fairuse_estimators.cli", "main", "FunctionNode"),
        ("sklearn.datasets._lfw", "remove", "FunctionNode"),
        ("numpy.testing._private.utils", "runstring", "FunctionNode"),
        ("builtins", "eval", "TypeNode"),
        (
            "sklearn.utils._testing",
            "assert_run_python_script_without_output",
            "TypeNode",
        ),
    ],
)
def test_predict_refuses_functions_from_trusted_packages(
    model_file, heart_csv, tmp_path, module, name, loader, capsys
):
    """Check that a function is refused by its exact name, whatever package it
    lives in, the command's own entry point included."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")

    def edit(schema):
        state = schema["content"]
        state["content"]["extra"] = {
            "__class__": name,
            "__module__": module,
            "__loader__": loader,
        }
        state["key_types"]["content"].append(
            {"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"}
        )

    hostile = tmp_path / "hostile.skops"
    hostile.write_bytes(_edited(model_file.read_bytes(), edit))
    result = fairuse_main(
        capsys, "predict", hostile, heart_csv, "--out", tmp_path / "out.csv"
    )
    assert_one_line_error(result, "Refusing to load", f"'{module}.{name}'")
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "out.csv").exists()


def test_predict_refuses_types_skops_trusts_by_default(
    small_model, heart_csv, tmp_path
):
    """Check that a step skops trusts by default, such as a FunctionTransformer
    of a numpy ufunc, is refused too: trust is the exact list only."""
    pipe = make_pipeline(FunctionTransformer(np.abs), small_model)
    path = tmp_path / "pipe.skops"
    sio.dump(pipe, path)
    assert sorted(sio.get_untrusted_types(file=path)) == sorted(
        [
            "fairuse_estimators._classifier.FairUseClassifier",
            "fairuse_estimators._groups.GroupEncoding",
            "fairuse_estimators._report.FairUseReport",
        ]
    )
    assert_one_line_error(
        fairuse("predict", path, heart_csv),
        "sklearn.preprocessing._function_transformer.FunctionTransformer",
    )


def test_untrusted_entries_walks_every_node():
    """Check that an untrusted node is found wherever it sits, even under a
    key skops does not walk for that loader, and that a cached reference and
    the trusted bit generators pass."""
    ok = {"__loader__": "JsonNode", "__module__": "builtins", "__class__": "str"}
    hidden = {"__loader__": "ObjectNode", "__module__": "os", "__class__": "system"}
    schema = {
        "__loader__": "DictNode",
        "__module__": "builtins",
        "__class__": "dict",
        "content": {"a": ok, "b": {"__loader__": "CachedNode", "__id__": 1}},
        "key_types": [ok],
        "unusual": [[{"deep": hidden}]],
    }
    assert untrusted_entries(schema) == [("ObjectNode", "os.system")]
    generator = {
        "__loader__": "RandomGeneratorNode",
        "__module__": "numpy.random._generator",
        "__class__": "Generator",
        "content": {
            "bit_generator": {"content": {"bit_generator": {"content": '"PCG64"'}}}
        },
    }
    assert untrusted_entries(generator) == []
    generator["content"]["bit_generator"]["content"]["bit_generator"]["content"] = (
        '"seed"'
    )
    assert untrusted_entries(generator) == [
        ("RandomGeneratorNode", "numpy.random.seed")
    ]
    assert "ReduceNode" not in TRUSTED_TYPES and "FunctionNode" not in TRUSTED_TYPES


def _zip_bomb(path, unpacked_mb):
    """A skops-like zip whose one array entry inflates to ``unpacked_mb``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", json.dumps({"__loader__": "ObjectNode"}))
        with archive.open("0.npy", "w", force_zip64=True) as entry:
            block = bytes(2**20)
            for _ in range(unpacked_mb):
                entry.write(block)


def test_predict_refuses_zip_bomb_fast(heart_csv, tmp_path):
    """Check that a small file declaring a huge unpacked size is refused within
    a second, before any entry is read, and that the bound can be raised."""
    from fairuse_estimators._files import UnsafeFileError, read_model_file

    bomb = tmp_path / "bomb.skops"
    _zip_bomb(bomb, unpacked_mb=400)
    assert bomb.stat().st_size < 2 * 2**20
    start = time.perf_counter()
    with pytest.raises(UnsafeFileError, match="400.0 MB of unpacked data"):
        read_model_file(bomb)
    assert time.perf_counter() - start < 1.0
    result = fairuse("predict", bomb, heart_csv)
    assert_one_line_error(result, "400.0 MB of unpacked data", "--max-unpacked-mb")
    # Raised, the bound lets the file through to the schema check.
    result = fairuse("predict", bomb, heart_csv, "--max-unpacked-mb", "500")
    assert_one_line_error(result, "an object of type 'None.None'")


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: np.arange(3), "holds a ndarray, not a fitted FairUseClassifier"),
        (lambda: {"a": 1}, "holds a dict, not a fitted FairUseClassifier"),
        (
            lambda: LogisticRegression().fit([[0.0], [1.0]], [0, 1]),
            "holds a LogisticRegression, not a fitted FairUseClassifier",
        ),
        (
            lambda: make_pipeline(StandardScaler(), LogisticRegression()).fit(
                [[0.0], [1.0]], [0, 1]
            ),
            "holds a Pipeline, not a fitted FairUseClassifier",
        ),
        (lambda: FairUseClassifier(), "FairUseClassifier that was never fitted"),
    ],
)
def test_predict_refuses_files_that_are_not_models(
    heart_csv, tmp_path, make, fragment, capsys
):
    """Check that an array, a dict, another estimator or an unfitted classifier
    is refused with one line, never a traceback."""
    path = tmp_path / "other.skops"
    sio.dump(make(), path)
    assert_one_line_error(fairuse_main(capsys, "predict", path, heart_csv), fragment)


@pytest.mark.parametrize(
    "content", [b"hello", b"PK\x03\x04broken", b""], ids=["text", "broken", "empty"]
)
def test_predict_refuses_files_that_are_not_zip(heart_csv, tmp_path, content, capsys):
    """Check that text, a broken zip and an empty file are refused in one line."""
    path = tmp_path / "bad.skops"
    path.write_bytes(content)
    result = fairuse_main(capsys, "predict", path, heart_csv)
    assert_one_line_error(result, "is not a model file")


def test_predict_refuses_truncated_model(model_file, heart_csv, tmp_path, capsys):
    """Check that a model file cut short, as a full disk leaves it, is refused."""
    path = tmp_path / "cut.skops"
    path.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    result = fairuse_main(capsys, "predict", path, heart_csv)
    assert_one_line_error(result, "is not a model file")


# ------------------------------------------------- same answers as Python


@pytest.mark.parametrize("name", list_datasets())
def test_predict_equals_python_api_on_bundled_data(name, tmp_path):
    """Check that `fairuse predict` gives exactly the Python API's predictions
    on the same file, for every bundled dataset (regression sets included,
    whose task `fit` chooses from the numeric target)."""
    data = load_dataset(name)
    path = tmp_path / f"{name}.csv"
    data.frame.to_csv(path, index=False)
    model = tmp_path / "model.skops"
    groups = ",".join(data.group_columns)
    (target,) = data.frame.columns.drop(data.data.columns)
    result = fairuse(
        "fit", path, "--target", target, "--groups", groups, "--out", model
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "predictions.csv"
    assert fairuse("predict", model, path, "--out", out).returncode == 0
    clf = sio.load(model, trusted=sio.get_untrusted_types(file=model))
    X = load_csv(path, target=target, group_columns=groups, task=data.task).data
    predictions = pd.read_csv(out)
    if data.task == "regression":
        assert type(clf).__name__ == "FairUseRegressor"
        assert list(predictions.columns) == ["prediction"]
        assert_allclose(predictions["prediction"], clf.predict(X), rtol=1e-12)
        return
    assert_array_equal(predictions["prediction"], clf.predict(X))
    assert_allclose(predictions.iloc[:, 1:], clf.predict_proba(X), rtol=1e-12)


def test_predict_keeps_groups_named_like_missing_values(tmp_path):
    """Check that group values such as "NA", "None" or "null" are groups in
    `predict` as in `fit`, so every row gets the route the Python API gives."""
    rng = np.random.default_rng(0)
    names = np.array(["NA", "None", "N/A", "null", "nan", "ok"])
    n = 600
    group = names[rng.integers(len(names), size=n)]
    x = rng.normal(size=n)
    # Each group has its own threshold: personalization moves predictions.
    shift = {name: t for name, t in zip(names, np.linspace(-1.5, 1.5, len(names)))}
    y = (x > np.vectorize(shift.get)(group)).astype(int)
    path = tmp_path / "na.csv"
    pd.DataFrame({"x": x, "x2": rng.normal(size=n), "g": group, "y": y}).to_csv(
        path, index=False
    )
    model = tmp_path / "model.skops"
    result = fairuse(
        "fit", path, "--target", "y", "--groups", "g", "--out", model,
        "--min-gain", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    clf = sio.load(model, trusted=sio.get_untrusted_types(file=model))
    assert sorted(g for (g,) in clf.groups_) == sorted(names)
    assert any(v != "generic" for v, _ in clf.routing_.values())
    result = fairuse("predict", model, path)
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(io.StringIO(result.stdout))
    X = load_csv(path, target="y", group_columns="g").data
    assert_array_equal(predictions["prediction"], clf.predict(X))
    assert_allclose(predictions[["proba_0", "proba_1"]], clf.predict_proba(X))
    # pandas' own reader would have withheld five groups: the old disagreement.
    plain = pd.read_csv(path).drop(columns="y")
    assert (clf.predict_proba(plain) != clf.predict_proba(X)).any()


# ----------------------------------------------------------------- outputs


def test_predict_never_overwrites_its_inputs(model_file, heart_csv, tmp_path, capsys):
    """Check that --out naming the data or the model file is refused, even with
    --overwrite, and both stay intact."""
    data = tmp_path / "data.csv"
    data.write_bytes(heart_csv.read_bytes())
    model = tmp_path / "model.skops"
    model.write_bytes(model_file.read_bytes())
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    before = _snapshot(tmp_path)
    for out in (data, model, link):
        for extra in ([], ["--overwrite"]):
            result = fairuse_main(capsys, "predict", model, data, "--out", out, *extra)
            assert_one_line_error(result, "is the input file", "would destroy it")
    assert _snapshot(tmp_path) == before


def test_fit_refuses_outputs_before_fitting(heart_csv, tmp_path, capsys):
    """Check that fit refuses an input, an existing file or a missing directory
    as output at once, before any fit runs, and leaves every file alone."""
    data = tmp_path / "data.csv"
    data.write_bytes(heart_csv.read_bytes())
    existing = tmp_path / "old.html"
    existing.write_text("old report")
    base = ["fit", data, "--target", "y", "--groups", "sex,age_group", "-v"]
    cases = [
        (["--out", data], "is the input file"),
        (["--out", tmp_path / "m.skops", "--html", data], "is the input file"),
        (["--out", tmp_path / "m.skops", "--html", existing], "already exists"),
        (["--out", tmp_path / "missing" / "m.skops"], "does not exist"),
        (["--out", tmp_path], "is a directory"),
        (["--out", tmp_path / "a", "--json", tmp_path / "a"], "is also the path"),
    ]
    before = _snapshot(tmp_path)
    for extra, fragment in cases:
        result = fairuse_main(capsys, *base, *extra)
        assert_one_line_error(result, fragment)
        assert "[FairUseClassifier]" not in result.stdout + result.stderr
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["demo", "audit"])
def test_reports_refuse_existing_files_unless_overwrite(heart_csv, tmp_path, command):
    """Check that --html and --json replace an existing file only with
    --overwrite."""
    target = tmp_path / "report.json"
    target.write_text("old")
    args = [command, "--json", target, "--html", tmp_path / "r.html"]
    if command == "audit":
        args[1:1] = [heart_csv, "--target", "y", "--groups", "sex,age_group"]
    assert_one_line_error(fairuse(*args, cwd=tmp_path), "already exists", "--overwrite")
    assert target.read_text() == "old"
    assert not (tmp_path / "r.html").exists()
    result = fairuse(*args, "--overwrite", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text())["metric"] == "error"


def test_predict_replaces_existing_output_only_with_overwrite(
    model_file, heart_csv, tmp_path
):
    """Check that an existing predictions file is kept without --overwrite and
    replaced, with the same permissions, with it."""
    out = tmp_path / "out.csv"
    out.write_text("old")
    out.chmod(0o640)
    assert_one_line_error(
        fairuse("predict", model_file, heart_csv, "--out", out), "already exists"
    )
    assert out.read_text() == "old"
    result = fairuse("predict", model_file, heart_csv, "--out", out, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(out)) == 303
    assert out.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def _file_size_limit(n_bytes):
    """A preexec function: writes past ``n_bytes`` fail as on a full disk."""

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))

    return limit


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory, heart_csv):
    """303,000 rows of the heart data."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    frame = pd.read_csv(heart_csv)
    pd.concat([frame] * 1000, ignore_index=True).to_csv(path, index=False)
    return path


def test_full_disk_keeps_the_previous_output(model_file, big_csv, tmp_path):
    """Check that a write that fails for lack of space leaves the previous
    predictions and model intact, no partial file, and exits 2."""
    out = tmp_path / "out.csv"
    out.write_text("previous predictions\n")
    result = fairuse(
        "predict", model_file, big_csv, "--out", out, "--overwrite",
        preexec_fn=_file_size_limit(2**16),
    )  # fmt: skip
    assert_one_line_error(result, "File too large")
    assert out.read_text() == "previous predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]

    model = tmp_path / "model.skops"
    model.write_bytes(b"previous model")
    result = fairuse(
        "fit", _heart_copy(tmp_path),
        "--target", "y", "--groups", "sex,age_group", "--out", model,
        "--overwrite", preexec_fn=_file_size_limit(2**16),
    )  # fmt: skip
    assert_one_line_error(result, "File too large")
    assert model.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "heart.csv",
        "model.skops",
        "out.csv",
    ]


def _heart_copy(folder):
    path = folder / "heart.csv"
    load_dataset("heart").frame.to_csv(path, index=False)
    return path


def test_kill_during_write_keeps_the_previous_output(model_file, big_csv, tmp_path):
    """Check that `kill -9` while predictions are being written leaves the
    previous file exactly as it was."""
    out = tmp_path / "out.csv"
    out.write_text("previous predictions\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "fairuse_estimators.cli", "predict", str(model_file),
         str(big_csv), "--out", str(out), "--overwrite"],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    caught = False
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        partial = [p for p in tmp_path.glob(".out.csv.*.tmp") if p.stat().st_size]
        if partial:
            process.send_signal(signal.SIGKILL)
            caught = True
            break
        time.sleep(0.001)
    process.wait()
    assert caught, "the write finished before the kill; use a larger file"
    assert process.returncode == -signal.SIGKILL
    assert out.read_text() == "previous predictions\n"


# ------------------------------------------------------------------- text


def test_predictions_cannot_run_as_spreadsheet_formulas(tmp_path):
    """Check that class labels starting with = or @ are written as text, while
    numbers, negative ones included, stay numbers."""
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=n)
    labels = np.where(x > 0, '=HYPERLINK("http://x","y")', "-0.5")
    frame = pd.DataFrame(
        {"x": x, "x2": rng.normal(size=n), "g": rng.choice(["a", "b"], n), "y": labels}
    )
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "m.skops"
    assert (
        fairuse("fit", path, "--target", "y", "--groups", "g", "--out", model)
    ).returncode == 0
    result = fairuse("predict", model, path)
    assert result.returncode == 0, result.stderr
    written = pd.read_csv(io.StringIO(result.stdout), dtype=str)
    assert set(written["prediction"]) == {'\'=HYPERLINK("http://x","y")', "-0.5"}
    assert not written.iloc[:, 1:].apply(lambda c: c.str.startswith("'")).any().any()
    table = spreadsheet_safe(
        pd.DataFrame({"text": ["@SUM(A1)", "+1+1", "\tx", "ok", "-3"], "n": [-1] * 5})
    )
    assert table["text"].tolist() == ["'@SUM(A1)", "'+1+1", "'\tx", "ok", "-3"]
    assert table["n"].tolist() == [-1] * 5


def test_control_characters_never_reach_the_terminal(tmp_path):
    """Check that escape sequences in group values are printed escaped."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "g": rng.choice(["\x1b[2J\x1b[31mred", "plain\u202e"], n),
            "y": rng.integers(2, size=n),
        }
    )
    path = tmp_path / "ctrl.csv"
    frame.to_csv(path, index=False)
    result = fairuse("audit", path, "--target", "y", "--groups", "g")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "\\x1b[2J\\x1b[31mred" in result.stdout and "plain\\u202e" in result.stdout
    assert terminal_safe("a\nb\x07") == "a\nb\\x07"


def _into_head(arguments):
    """Run ``fairuse ARGUMENTS | head -1`` in a shell."""
    return subprocess.run(
        f"{sys.executable} -m fairuse_estimators.cli {arguments} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
        timeout=300,
    )


def test_broken_pipe_stops_quietly(model_file, big_csv):
    """Check that `fairuse predict ... | head -1` ends without an error line."""
    result = _into_head(f"predict {model_file} {big_csv}")
    assert result.stdout == "prediction,proba_0,proba_1\n"
    assert "error" not in result.stderr


def test_fit_into_a_closed_pipe_still_saves_the_model(heart_csv, tmp_path):
    """Check that `fairuse fit ... | head -1` writes the model and the JSON
    report before the reader goes away."""
    out, report = tmp_path / "model.skops", tmp_path / "report.json"
    result = _into_head(
        f"fit {heart_csv} --target y --groups sex,age_group --out {out} --json {report}"
    )
    assert result.stdout.startswith("Fair-use audit:"), result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert json.loads(report.read_text())["metric"] == "error"
    from fairuse_estimators._files import read_model_file

    assert read_model_file(out).groups_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["logistic", "forest", "mlp", "boosting"])
def test_every_estimator_of_fit_writes_only_trusted_types(name, heart_csv, tmp_path):
    """Check that the exact list covers every file `fairuse fit` can write, so
    that the command loads its own models, and nothing more is needed."""
    from fairuse_estimators._estimators import make_estimator
    from fairuse_estimators._files import read_model_file

    data = load_csv(heart_csv, target="y", group_columns="sex,age_group")
    base = make_estimator(name, 0)
    if name == "mlp":  # the same classes after 50 iterations as after 2000
        base.set_params(estimator__mlpclassifier__max_iter=50)
    # Every variant's model is of the same classes, so two variants suffice.
    clf = FairUseClassifier(
        base, group_columns=data.group_columns, cv=2,
        variants=("generic", "onehot"), random_state=0,
    ).fit(data.data, data.target)  # fmt: skip
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    schema = json.loads(zipfile.ZipFile(path).read("schema.json"))
    assert untrusted_entries(schema) == []
    loaded = read_model_file(path)
    assert_allclose(loaded.predict_proba(data.data), clf.predict_proba(data.data))
