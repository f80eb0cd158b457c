"""The fairuse command, driven as a subprocess."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from conftest import HEART_GROUPS, assert_one_line_error, fairuse, threshold_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.tree import DecisionTreeClassifier

from fairuse_estimators import FairUseClassifier, __version__
from fairuse_estimators._estimators import make_estimator
from fairuse_estimators.cli import main
from fairuse_estimators.datasets import load_heart
from fairuse_estimators.plotting import VERDICT_COLORS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def heart_csv(tmp_path_factory):
    """The bundled heart data as a user's CSV file."""
    path = tmp_path_factory.mktemp("data") / "heart.csv"
    load_heart().frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def threshold_csv(tmp_path_factory):
    """Groups whose labels follow their own thresholds: personalization helps."""
    X, y = threshold_data({"late": 0.8, "early": -0.6, "mid": 0.0}, 0)
    path = tmp_path_factory.mktemp("data") / "thresholds.csv"
    X.assign(y=y).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def flchain_demo(tmp_path_factory):
    """`fairuse demo` with its defaults (flchain), its JSON report and its time."""
    folder = tmp_path_factory.mktemp("demo")
    start = time.perf_counter()
    result = fairuse("demo", "--json", "demo.json", cwd=folder)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    report = json.loads((folder / "demo.json").read_text())
    return result, folder, report, elapsed


def closing_paragraph(text):
    """The demo's closing paragraph in ``text``, unwrapped."""
    lines = []
    for line in text[text.index("What this shows:") :].splitlines():
        if not line.strip() or line.startswith("```"):
            break
        lines.append(line)
    return " ".join(" ".join(lines).split())


def _label(report, row):
    return ", ".join(str(row[column]) for column in report["group_columns"])


def test_fairuse_demo_prints_summary_and_writes_html(flchain_demo):
    """Check that `fairuse demo` prints the summary and writes its page, fast."""
    result, folder, _, elapsed = flchain_demo
    page = folder / "fairuse-demo.html"
    assert f"Wrote {page}" in result.stdout
    assert "on the flchain data: fitted on 5511 rows, audited on 2363 held-out" in (
        result.stdout
    )
    assert "Groups under the 'routed' model:" in result.stdout
    for group in ["female, 70+", "male, 60-69"]:
        assert group in result.stdout
    assert "<svg" in page.read_text(encoding="utf-8")
    assert "Warning" not in result.stderr
    assert elapsed < 60


def test_fairuse_demo_ends_with_a_harm_prevented_and_a_gain(flchain_demo):
    """Check that the demo's closing paragraph names a group a variant would
    harm and the routed model keeps on the generic model, and the groups that
    gain significantly, with the report's own numbers."""
    result, _, report, _ = flchain_demo
    text = closing_paragraph(result.stdout)
    assert result.stdout.index("Models (") < result.stdout.index("What this shows:")
    routed = report["models"]["routed"]["groups"]
    protected = [
        (variant, row)
        for variant, model in report["models"].items()
        if variant != "routed"
        for g, row in enumerate(model["groups"])
        if row["gain"] < 0 and routed[g]["route"] == "generic"
    ]
    assert protected, "no variant harms a group the routed model keeps generic"
    for variant, row in protected:
        label = _label(report, row)
        if f"({label})" in text and f"the {variant} variant would raise" in text:
            break
    else:
        raise AssertionError(f"no harmed and protected group named in {text!r}")
    assert (
        f"({label}) from {row['risk_generic']:.3f} to {row['risk_personalized']:.3f}"
    ) in text
    assert "The routed model protects this group: it keeps it on the generic" in text
    gaining = [row for row in routed if row["rationality"] == "gain"]
    assert gaining, "no group gains significantly under the routed model"
    for row in gaining:
        claim = re.search(
            rf"\({re.escape(_label(report, row))}\) gains ([0-9.]+) \(routed to "
            rf"{re.escape(row['route'])}: error [0-9.]+ to [0-9.]+; significant, "
            r"adjusted p ([=<]) ([0-9.]+)\)",
            text,
        )
        assert claim, (_label(report, row), text)
        assert float(claim[1]) == pytest.approx(row["gain"], abs=5e-4)
        # Two significant figures, or a bound: all the paragraph claims of p.
        if claim[2] == "<":
            assert row["p_gain"] < float(claim[3])
        else:
            assert float(claim[3]) == pytest.approx(row["p_gain"], rel=0.05)
        assert row["p_gain"] <= report["alpha"]


def test_fairuse_demo_quoted_in_readme_and_docs_is_its_output(flchain_demo):
    """Check that the closing paragraph quoted in the README and the command's
    page is what `fairuse demo` prints."""
    printed = closing_paragraph(flchain_demo[0].stdout)
    for page in [ROOT / "README.md", ROOT / "docs" / "cli.rst"]:
        assert closing_paragraph(page.read_text(encoding="utf-8")) == printed, page


def test_fairuse_demo_on_heart_says_why_nothing_gains(tmp_path):
    """Check that on the small heart data the closing paragraph says that no
    group gains and that its groups are too small for the tests to have power,
    naming the smallest group."""
    result = fairuse("demo", "--dataset", "heart", "--json", "h.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = closing_paragraph(result.stdout)
    report = json.loads((tmp_path / "h.json").read_text())
    rows = report["models"]["routed"]["groups"]
    assert all(row["route"] == "generic" for row in rows)
    sizes = [row["n"] for row in rows]
    smallest = _label(report, rows[sizes.index(min(sizes))])
    assert "No group gains significantly: the held-out groups have " in text
    assert f"{min(sizes)} to {max(sizes)} rows (the smallest is ({smallest}))" in text
    assert "too few for the tests to have power" in text
    assert "no gain of any size could be detected" in text


def test_fairuse_demo_takes_another_dataset(tmp_path):
    """Check that --dataset picks a bundled dataset and --html the page's path."""
    result = fairuse("demo", "--dataset", "whas500", "--html", "w.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "on the whas500 data" in result.stdout
    assert (tmp_path / "w.html").is_file()
    assert not (tmp_path / "fairuse-demo.html").exists()


def test_fairuse_audit_prints_summary_and_writes_reports(threshold_csv, tmp_path):
    """Check that `fairuse audit` audits on a held-out split and writes HTML and
    JSON with the options given."""
    result = fairuse(
        "audit", threshold_csv, "--target", "y", "--groups", "group",
        "--metric", "brier", "--test", "bootstrap", "--alpha", "0.05",
        "--test-size", "0.25", "--seed", "3",
        "--html", tmp_path / "a.html", "--json", tmp_path / "a.json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "audited on 600 held-out rows" in result.stdout
    assert "risk brier" in result.stdout and "bootstrap test at alpha=0.05" in (
        result.stdout
    )
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["metric"] == "brier" and report["alpha"] == 0.05
    assert report["random_state"] == 3 and report["test"] == "bootstrap"
    assert sum(row["n"] for row in report["models"]["routed"]["groups"]) == 600
    assert [row["model"] for row in report["summary"]] == [
        "routed", "onehot", "intersectional", "decoupled",
    ]  # fmt: skip
    assert "<svg" in (tmp_path / "a.html").read_text()


@pytest.mark.parametrize("ensemble", [False, True])
def test_fairuse_fit_and_predict_match_the_python_api(ensemble, heart_csv, tmp_path):
    """Check that a model saved by `fit` predicts through `predict` as it does
    when fitted in Python, refitted or with the fold models deployed."""
    model = tmp_path / "model.skops"
    result = fairuse(
        "fit", heart_csv, "--target", "y", "--groups", "sex,age_group",
        "--estimator", "forest", "--seed", "1", "--out", model,
        *(["--ensemble"] if ensemble else []),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"Saved the fitted model to {model}" in result.stdout
    untrusted = skops.io.get_untrusted_types(file=model)
    assert "sklearn.tree._tree.Tree" in untrusted
    assert ("fairuse_estimators._variants.FoldEnsemble" in untrusted) is ensemble
    out = tmp_path / "predictions.csv"
    result = fairuse("predict", model, heart_csv, "--out", out)
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(out)
    X, y = load_heart(return_X_y=True)
    clf = FairUseClassifier(
        make_estimator("forest", 1), group_columns=HEART_GROUPS, random_state=1,
        ensemble=ensemble,
    ).fit(X, y)  # fmt: skip
    assert list(predictions.columns) == ["prediction", "proba_0", "proba_1"]
    assert_array_equal(predictions["prediction"], clf.predict(X))
    assert_allclose(predictions[["proba_0", "proba_1"]], clf.predict_proba(X))


class ForeignClassifier(DecisionTreeClassifier):
    """A classifier skops does not know, as a file from elsewhere could hold."""


def test_fairuse_predict_refuses_files_trusting_foreign_types(heart_csv, tmp_path):
    """Check that predict refuses a model whose file asks to trust a type from
    outside scikit-learn, numpy and this package."""
    X, y = load_heart(return_X_y=True)
    clf = FairUseClassifier(
        ForeignClassifier(max_depth=2), group_columns=HEART_GROUPS, cv=2
    ).fit(X, y)
    path = tmp_path / "foreign.skops"
    skops.io.dump(clf, path)
    assert f"{__name__}.ForeignClassifier" in skops.io.get_untrusted_types(file=path)
    result = fairuse("predict", path, heart_csv)
    assert_one_line_error(result, "Refusing to load", f"'{__name__}.ForeignClassifier'")
    assert result.stdout == ""


@pytest.fixture(scope="module")
def bad_csvs(tmp_path_factory, heart_csv):
    """CSV files with the mistakes a new user makes."""
    folder = tmp_path_factory.mktemp("bad")
    frame = pd.read_csv(heart_csv)
    frame.assign(y=np.arange(len(frame)) % 3).to_csv(folder / "multi.csv", index=False)
    frame.assign(sex="female").to_csv(folder / "one_sex.csv", index=False)
    (folder / "not_a_model.skops").write_text("hello")
    return folder


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["audit", "{bad}/missing.csv", "--target", "y", "--groups", "sex"],
         ["No CSV file found", "missing.csv"]),
        (["audit", "{heart}", "--target", "outcome", "--groups", "sex"],
         ["target column 'outcome' is not in"]),
        (["fit", "{heart}", "--target", "y", "--groups", "sex,race", "--out", "m"],
         ["group columns ['race'] are not in"]),
        (["audit", "{bad}/multi.csv", "--target", "y", "--groups", "sex,age_group"],
         ["holds 3 classes", "needs a binary target"]),
        (["audit", "{bad}/one_sex.csv", "--target", "y", "--groups", "sex,age_group"],
         ["group column 'sex'", "single value, 'female'"]),
        (["audit", "{heart}", "--target", "y", "--groups", "sex,sex"],
         ["names the column(s) ['sex'] more than once"]),
        (["predict", "{bad}/missing.skops", "{heart}"], ["No model file found"]),
        (["predict", "{bad}/not_a_model.skops", "{heart}"],
         ["is not a model file written by `fairuse fit`"]),
        (["audit", "{heart}", "--target", "y", "--groups", "sex,age_group",
          "--alpha", "2"],
         ["'alpha' parameter of FairUseClassifier must be a float", "Got 2.0"]),
    ],
)  # fmt: skip
def test_fairuse_input_mistakes_end_with_one_line_and_exit_2(
    args, fragments, bad_csvs, heart_csv
):
    """Check that each common mistake gets a one-line message and exit code 2."""
    args = [a.format(bad=bad_csvs, heart=heart_csv) for a in args]
    assert_one_line_error(fairuse(*args), *fragments)


def test_fairuse_missing_option_is_a_usage_error(heart_csv):
    """Check that a missing required option exits 2 with argparse's usage."""
    result = fairuse("audit", heart_csv, "--groups", "sex")
    assert result.returncode == 2
    assert "the following arguments are required: --target" in result.stderr


@pytest.mark.parametrize("command", [[], ["demo"], ["audit"], ["fit"], ["predict"]])
def test_fairuse_help_on_every_subcommand(command):
    """Check that --help works on the command and every subcommand."""
    result = fairuse(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {' '.join(['fairuse', *command])}")
    if not command:
        for name in ["demo", "audit", "fit", "predict"]:
            assert name in result.stdout


def _close_to(image, color, tolerance=0.08):
    """Mask of the pixels of ``image`` within ``tolerance`` of a hex color."""
    from matplotlib.colors import to_rgb

    return (np.abs(image[..., :3] - np.array(to_rgb(color))) < tolerance).all(axis=2)


def test_fairuse_audit_html_renders_table_and_plot_in_chromium(threshold_csv, tmp_path):
    """Check that headless Chromium renders the page with its table and a plot
    whose bars have the gain color."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip(
            "chromium is not installed (Debian package 'chromium'; `make chromium` "
            "installs it as root with apt-get, as CI does)"
        )
    image_module = pytest.importorskip("matplotlib.image")
    page = tmp_path / "report.html"
    result = fairuse(
        "audit", threshold_csv, "--target", "y", "--groups", "group", "--html", page
    )
    assert result.returncode == 0, result.stderr
    shot = tmp_path / "shot.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu",
         f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    image = image_module.imread(shot)
    assert image.shape[:2] == (2000, 1200)
    # The first table sits in the top 400 pixels: dark text and grey borders.
    dark = (image[:400, :, :3] < 0.35).all(axis=2)
    assert dark.sum() > 2000
    rows_with_ink = np.flatnonzero(dark.any(axis=1))
    assert len(rows_with_ink) > 60
    # The gains plot draws the significant gains in their verdict's color.
    green = _close_to(image, VERDICT_COLORS["gain"])
    assert green.sum() > 5000
    assert np.flatnonzero(green.any(axis=1)).min() > rows_with_ink.min()


def test_fairuse_fit_without_skops_says_how_to_install(heart_csv, tmp_path):
    """Check that fit without skops installed ends with the install command."""
    code = (
        "import sys; sys.modules['skops'] = None; sys.modules['skops.io'] = None\n"
        "from fairuse_estimators.cli import main\n"
        f"sys.exit(main(['fit', {str(heart_csv)!r}, '--target', 'y', "
        f"'--groups', 'sex,age_group', '--out', {str(tmp_path / 'm.skops')!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
        check=False,
    )
    assert_one_line_error(result, "pip install skops (from a source checkout")
    assert not (tmp_path / "m.skops").exists()


@pytest.mark.parametrize("min_gain, personalized", [("0.01", True), ("1.0", False)])
def test_fairuse_audit_passes_the_gate_options(
    min_gain, personalized, threshold_csv, tmp_path
):
    """Check that --min-gain and --gate-loss reach the routing."""
    result = fairuse(
        "audit", threshold_csv, "--target", "y", "--groups", "group",
        "--gate-loss", "brier", "--min-gain", min_gain,
        "--json", tmp_path / "a.json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "a.json").read_text())
    routes = {row["route"] for row in report["models"]["routed"]["groups"]}
    assert (routes != {"generic"}) is personalized


def test_fairuse_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"fairuse {__version__}"
