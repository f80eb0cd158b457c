"""Reading and writing files safely: atomic outputs, output checks, bounds."""

import os

import pytest

from fairuse_estimators._files import (
    MAX_UNPACKED_BYTES,
    atomic_output,
    check_outputs,
    unpacked_bound,
    write_atomic,
)


def test_atomic_output_failure_keeps_the_previous_file(tmp_path):
    """Check that an error midway leaves the old content and no temporary."""
    path = tmp_path / "out.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(path, overwrite=True) as file:
        file.write("half of the new")
        raise RuntimeError("disk gone")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]
    write_atomic(path, "new")
    assert path.read_text() == "new"


def test_atomic_output_never_replaces_a_file_that_appeared(tmp_path):
    """Check that without overwrite a file created during the write is kept."""
    path = tmp_path / "out.csv"
    with pytest.raises(FileExistsError), atomic_output(path, overwrite=False) as f:
        f.write("mine")
        path.write_text("someone else's")
    assert path.read_text() == "someone else's"
    assert os.listdir(tmp_path) == ["out.csv"]
    other = tmp_path / "model.skops"
    write_atomic(other, b"bytes", overwrite=False)
    assert other.read_bytes() == b"bytes"
    assert oct(other.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_check_outputs(tmp_path):
    """Check each refusal, and that standard output and None pass."""
    data = tmp_path / "data.csv"
    data.write_text("x")
    check_outputs({"--out": "-", "--html": None}, [data], overwrite=False)
    check_outputs({"--out": tmp_path / "new.csv"}, [data], overwrite=False)
    cases = [
        ({"--out": data}, True, "is the input file"),
        ({"--out": data}, False, "is the input file"),
        ({"--out": tmp_path / "no" / "x"}, False, "does not exist"),
        ({"--out": tmp_path}, False, "is a directory"),
        ({"--a": tmp_path / "x", "--b": tmp_path / "x"}, False, "is also the path"),
    ]
    for outputs, overwrite, match in cases:
        with pytest.raises(ValueError, match=match):
            check_outputs(outputs, [data], overwrite=overwrite)
    existing = tmp_path / "old.html"
    existing.write_text("x")
    with pytest.raises(ValueError, match="already exists; pass --overwrite"):
        check_outputs({"--html": existing}, [data], overwrite=False)
    check_outputs({"--html": existing}, [data], overwrite=True)


def test_unpacked_bound():
    """Check the bound: 100 times the file size, at most 2 GiB, or given."""
    assert unpacked_bound(10_000) == 1_000_000
    assert unpacked_bound(10**9) == MAX_UNPACKED_BYTES
    assert unpacked_bound(10, max_unpacked=5) == 5
