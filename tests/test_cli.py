"""The fairuse command."""

import subprocess
import sys


def test_fairuse_demo_prints_routes():
    """Check that `fairuse demo` prints every heart group's route and risks."""
    result = subprocess.run(
        [sys.executable, "-m", "fairuse_estimators.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "risk: error, evidence: 5-fold cross-fitting" in out
    for group in ["female 60+", "male   60+"]:
        assert group in out
    assert "risk_generic" in out and "route" in out
    assert "Warning" not in result.stderr


def test_fairuse_help_lists_demo():
    """Check that --help describes the demo subcommand."""
    result = subprocess.run(
        [sys.executable, "-m", "fairuse_estimators.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo" in result.stdout
