"""Files the ``fairuse`` command reads and writes.

- Model files are loaded only when every object in them is of a type on an
  exact allow-list (:data:`TRUSTED_TYPES`), checked on the file's own schema
  before skops builds anything, and only when their declared unpacked size is
  within a bound.
- Outputs are checked before any work starts (the directory exists and is
  writable, the path is not an input, an existing file is replaced only when
  asked) and written atomically: a temporary file in the same directory,
  flushed to disk, then renamed over the target, so that a failed or
  interrupted write leaves the previous file or no file.
- Text that reaches a spreadsheet or a terminal is neutralized.
"""

import errno
import io
import json
import os
import tempfile
import unicodedata
import zipfile
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
from sklearn._loss._loss import CyHalfBinomialLoss, CyHalfSquaredError

#: Exact types a model file may hold, by skops loader. These are the objects
#: ``fairuse fit`` writes for each of its estimators (see
#: :mod:`._estimators`), a Pipeline of them, and the containers, arrays and
#: random generators skops needs to store them. A function, a method, a
#: partial, an ``operator`` function, a generic ``__reduce__`` or any other
#: type is refused.
TRUSTED_TYPES = {
    "ObjectNode": frozenset(
        {
            "fairuse_estimators._classifier.FairUseClassifier",
            "fairuse_estimators._regressor.FairUseRegressor",
            "fairuse_estimators._groups.GroupEncoding",
            "fairuse_estimators._report.FairUseReport",
            "fairuse_estimators._variants.FoldEnsemble",
            "sklearn.pipeline.Pipeline",
            "sklearn.preprocessing._data.StandardScaler",
            "sklearn.preprocessing._label.LabelBinarizer",
            "sklearn.preprocessing._label.LabelEncoder",
            "sklearn.linear_model._logistic.LogisticRegression",
            "sklearn.ensemble._forest.RandomForestClassifier",
            "sklearn.tree._classes.DecisionTreeClassifier",
            "sklearn.calibration.CalibratedClassifierCV",
            "sklearn.calibration._CalibratedClassifier",
            "sklearn.calibration._SigmoidCalibration",
            "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
            "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
            "sklearn.ensemble._hist_gradient_boosting.gradient_boosting."
            "HistGradientBoostingClassifier",
            "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
            "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
            "sklearn._loss.loss.HalfBinomialLoss",
            "sklearn._loss.link.LogitLink",
            "sklearn._loss.link.Interval",
            # The regressors of the command line's named estimators.
            "sklearn.linear_model._ridge.Ridge",
            "sklearn.ensemble._forest.RandomForestRegressor",
            "sklearn.tree._classes.DecisionTreeRegressor",
            "sklearn.neural_network._multilayer_perceptron.MLPRegressor",
            "sklearn.ensemble._hist_gradient_boosting.gradient_boosting."
            "HistGradientBoostingRegressor",
            "sklearn._loss.loss.HalfSquaredError",
            "sklearn._loss.link.IdentityLink",
            # ... and those fitted for metric="poisson" or "pinball".
            "sklearn.linear_model._glm.glm.PoissonRegressor",
            "sklearn.linear_model._quantile.QuantileRegressor",
            "sklearn._loss.loss.HalfPoissonLoss",
            "sklearn._loss.loss.PinballLoss",
            "sklearn._loss.link.LogLink",
        }
    ),
    "TreeNode": frozenset({"sklearn.tree._tree.Tree"}),
    # Before scikit-learn 1.9 the compiled loss names the extension's own module,
    # ``_loss``, which the import above registers as scikit-learn's; files
    # written there record that name. Either way it is the same class.
    "LossNode": frozenset(
        {
            "sklearn._loss._loss.CyHalfBinomialLoss",
            f"{CyHalfBinomialLoss.__module__}.CyHalfBinomialLoss",
            *(
                f"{module}.{loss}"
                for module in ("sklearn._loss._loss", CyHalfSquaredError.__module__)
                for loss in ("CyHalfSquaredError", "CyHalfPoissonLoss", "CyPinballLoss")
            ),
        }
    ),
    "NdArrayNode": frozenset(
        {"numpy.ndarray"}
        | {
            f"numpy.{kind.__name__}"
            for kind in (
                np.bool_,
                np.int8,
                np.int16,
                np.int32,
                np.int64,
                np.uint8,
                np.uint16,
                np.uint32,
                np.uint64,
                np.float16,
                np.float32,
                np.float64,
            )
        }
    ),
    "RandomStateNode": frozenset({"numpy.random.mtrand.RandomState"}),
    "RandomGeneratorNode": frozenset({"numpy.random._generator.Generator"}),
    "DictNode": frozenset({"builtins.dict"}),
    "ListNode": frozenset({"builtins.list"}),
    "TupleNode": frozenset({"builtins.tuple"}),
    "JsonNode": frozenset(
        f"builtins.{name}" for name in ("str", "int", "float", "bool", "NoneType")
    ),
    # Dict key types: skops calls them on each key.
    "TypeNode": frozenset(f"builtins.{name}" for name in ("str", "int")),
}
#: Bit generators a numpy Generator in a model file may name.
TRUSTED_BIT_GENERATORS = frozenset({"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"})
#: Every type name above, as skops's ``trusted`` argument wants them.
TRUSTED_TYPE_NAMES = sorted(
    {name for names in TRUSTED_TYPES.values() for name in names}
    | {f"numpy.random.{name}" for name in TRUSTED_BIT_GENERATORS}
)
#: A file may unpack to at most this many times its own size ...
MAX_UNPACK_RATIO = 100
#: ... and to at most this many bytes, unless the caller raises the bound.
MAX_UNPACKED_BYTES = 2 * 1024**3
#: Leading characters that make a spreadsheet read a cell as a formula (OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class UnsafeFileError(ValueError):
    """A file the command refuses to read."""


# ------------------------------------------------------------------ models


def unpacked_bound(file_size, max_unpacked=None):
    """Largest total unpacked size accepted for a file of ``file_size`` bytes."""
    if max_unpacked is not None:
        return int(max_unpacked)
    return min(MAX_UNPACK_RATIO * max(int(file_size), 1), MAX_UNPACKED_BYTES)


def untrusted_entries(schema):
    """``(loader, type name)`` of every object in a skops schema not on the list.

    Parameters
    ----------
    schema : dict
        The parsed ``schema.json`` of a skops file.

    Returns
    -------
    entries : list of (str, str)
        In the order the schema is walked, without repeats. Every dict that
        names a loader is checked, wherever it sits, so that no object skops
        could build escapes the check.
    """
    found, seen = [], set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(reversed(list(node.values())))
        if "__loader__" not in node:
            continue
        loader = node["__loader__"]
        if loader == "CachedNode":  # a reference to an object checked elsewhere
            continue
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        entries = []
        if name not in TRUSTED_TYPES.get(loader, ()):
            entries.append((str(loader), name))
        if loader == "RandomGeneratorNode":
            bit_generator = _bit_generator_name(node)
            if bit_generator not in TRUSTED_BIT_GENERATORS:
                entries.append((str(loader), f"numpy.random.{bit_generator}"))
        for entry in entries:
            if entry not in seen:
                seen.add(entry)
                found.append(entry)
    return found


def _bit_generator_name(node):
    try:
        state = node["content"]["bit_generator"]["content"]["bit_generator"]
        return str(json.loads(state["content"]))
    except (KeyError, TypeError, ValueError):
        return None


def read_model_file(path, *, max_unpacked=None):
    """Load a skops model file whose every object is of a trusted type.

    The file is read into memory once, so that what is checked is what is
    loaded. Before any entry is read, its declared unpacked size must stay
    within :func:`unpacked_bound`; then every object of its schema must be
    of a type in :data:`TRUSTED_TYPES`. Only then does skops build it, with
    the same fixed list as ``trusted``.

    Parameters
    ----------
    path : path-like
        The skops file.
    max_unpacked : int, default=None
        Bound on the total unpacked size in bytes; ``None`` means
        ``min(100 * file size, 2 GiB)``.

    Returns
    -------
    model : object

    Raises
    ------
    UnsafeFileError
        If the file is not a skops file, unpacks to more than the bound, or
        holds an untrusted type.
    """
    import skops.io as sio

    path = Path(path)
    data = path.read_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeFileError(
            f"{str(path)!r} is not a model file written by `fairuse fit` (it is "
            f"not a skops zip file: {exc})."
        ) from exc
    declared = sum(entry.file_size for entry in entries)
    bound = unpacked_bound(len(data), max_unpacked)
    if declared > bound:
        raise UnsafeFileError(
            f"Refusing to load {str(path)!r}: it declares {_size(declared)} of "
            f"unpacked data, more than the bound of {_size(bound)} "
            f"({MAX_UNPACK_RATIO} times the file size, at most "
            f"{_size(MAX_UNPACKED_BYTES)}). If you trust the file, raise the bound "
            "with --max-unpacked-mb."
        )
    try:
        schema = json.loads(archive.read("schema.json"))
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, RecursionError) as exc:
        raise UnsafeFileError(
            f"{str(path)!r} is not a model file written by `fairuse fit` (its "
            f"skops schema could not be read: {type(exc).__name__})."
        ) from exc
    untrusted = untrusted_entries(schema)
    if untrusted:
        loader, name = untrusted[0]
        more = f" and {len(untrusted) - 1} more" if len(untrusted) > 1 else ""
        raise UnsafeFileError(
            f"Refusing to load {str(path)!r}: it holds {_describe(loader, name)}"
            f"{more}, which `fairuse predict` does not trust. If you trust the "
            "file, load it in Python with skops.io.load(path, trusted=...) after "
            "reviewing skops.io.get_untrusted_types(file=path)."
        )
    try:
        return sio.loads(data, trusted=TRUSTED_TYPE_NAMES)
    except Exception as exc:  # skops raises type, key and value errors alike
        raise UnsafeFileError(
            f"{str(path)!r} is not a model file written by `fairuse fit` (skops "
            f"could not load it: {type(exc).__name__}: {exc})."
        ) from exc


def _describe(loader, name):
    kinds = {
        "FunctionNode": "the function",
        "MethodNode": "a method of",
        "PartialNode": "a partial function",
        "OperatorFuncNode": "the operator function",
        "TypeNode": "the type",
    }
    return f"{kinds.get(loader, 'an object of type')} {name!r}"


def _size(n_bytes):
    return f"{n_bytes / 1024**2:,.1f} MB"


# ----------------------------------------------------------------- outputs


def check_outputs(outputs, inputs, *, overwrite):
    """Refuse output paths that cannot or must not be written, before any work.

    Parameters
    ----------
    outputs : dict of str to path-like or None
        Option name (for the message, e.g. ``"--out"``) to output path;
        ``None`` and ``"-"`` (standard output) are skipped.
    inputs : list of path-like
        Files the command reads; never overwritten, even with ``overwrite``.
    overwrite : bool
        Whether an existing output file may be replaced.

    Raises
    ------
    ValueError
        Naming the option and the path.
    """
    chosen = {}
    for option, path in outputs.items():
        if path is None or str(path) == "-":
            continue
        path = Path(path)
        where = f"{option} {str(path)!r}"
        for other, other_path in chosen.items():
            if _same_path(path, other_path):
                raise ValueError(
                    f"{where} is also the path of {other}; give each output its "
                    "own file."
                )
        chosen[option] = path
        if path.is_dir():
            raise ValueError(f"{where} is a directory; give a file name.")
        directory = path.parent
        if not directory.is_dir():
            raise ValueError(
                f"The directory {str(directory)!r} of {where} does not exist; "
                "create it first."
            )
        if not os.access(directory, os.W_OK | os.X_OK):
            raise ValueError(
                f"The directory {str(directory)!r} of {where} is not writable."
            )
        for source in inputs:
            if _same_path(path, Path(source)):
                raise ValueError(
                    f"{where} is the input file {str(source)!r}; writing there "
                    "would destroy it. Choose another output path."
                )
        if os.path.lexists(path) and not overwrite:
            raise ValueError(
                f"{where} already exists; pass --overwrite to replace it, or "
                "choose another path."
            )


def _same_path(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


@contextmanager
def atomic_output(path, *, overwrite, text=True):
    """Write a file atomically: everything or, on failure, nothing changes.

    The content goes to a temporary file in the target's directory, which is
    flushed to disk and then renamed onto ``path``. Without ``overwrite`` the
    rename refuses to replace a file that appeared in the meantime.

    Parameters
    ----------
    path : path-like
        Target file.
    overwrite : bool
        Whether an existing file at ``path`` may be replaced.
    text : bool, default=True
        Yield a UTF-8 text file (``newline=""``, as the csv module wants)
        rather than a binary one.

    Yields
    ------
    file : file object
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=directory
    )
    try:
        os.fchmod(descriptor, _new_file_mode(path))
        options = {"encoding": "utf-8", "newline": ""} if text else {}
        with open(descriptor, "w" if text else "wb", **options) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            _link_new(temporary, path)
        _fsync_directory(directory)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def write_atomic(path, content, *, overwrite=True):
    """Write ``content`` (str or bytes) to ``path`` with :func:`atomic_output`."""
    with atomic_output(path, overwrite=overwrite, text=isinstance(content, str)) as f:
        f.write(content)


def _new_file_mode(path):
    """An existing file's mode, or what ``open`` would give a new file."""
    with suppress(OSError):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _link_new(temporary, path):
    """Rename ``temporary`` to ``path`` unless ``path`` exists."""
    try:
        os.link(temporary, path)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise FileExistsError(
                errno.EEXIST, f"{str(path)!r} appeared while it was being written"
            ) from exc
        # No hard links here (some network and FAT file systems): rename.
        if os.path.lexists(path):
            raise
        os.replace(temporary, path)
        return
    os.unlink(temporary)


def _fsync_directory(directory):
    with suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# -------------------------------------------------------------- neutralizing


def spreadsheet_safe(frame):
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas.

    Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading apostrophe (OWASP's advice against CSV injection);
    text that reads as a number, such as ``"-0.5"``, and numeric columns stay
    as they are.
    """
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype.kind in "biufc":
            continue
        frame[column] = frame[column].map(_neutralized)
    return frame


def _neutralized(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def terminal_safe(text):
    """``text`` with control and format characters escaped, newlines kept.

    Group values and column names from a user's file reach the terminal; an
    escape sequence among them must not move the cursor or recolor it.
    """
    return "".join(
        char
        if char == "\n" or unicodedata.category(char) not in ("Cc", "Cf")
        else repr(char)[1:-1]
        for char in str(text)
    )
