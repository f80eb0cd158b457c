"""The README's usage example runs as written."""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_example_runs(capsys):
    """Check that the README's Python example runs without user warnings."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1
    with warnings.catch_warnings():
        # ConvergenceWarning and this package's warnings are UserWarnings.
        warnings.simplefilter("error", UserWarning)
        exec(compile(blocks[0], str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "('female', '<60')" in out and "gain" in out
