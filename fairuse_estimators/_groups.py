"""Group columns inside ``X``: locating them, encoding intersectional groups.

A row's *group* is the tuple of its values in the group columns. Every distinct
tuple seen during ``fit`` is an intersectional group with an integer id; a row
whose group value is missing has *withheld* its group, and a row whose value
(or combination of values) was never seen in training belongs to an *unseen*
group. Both are scored by the generic model.
"""

import warnings
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from .exceptions import ManyGroupsWarning, UnseenGroupWarning, caller_stacklevel

WITHHELD = -2
UNSEEN = -1

#: More intersectional groups than this make ``fit`` warn with a
#: :class:`~fairuse_estimators.ManyGroupsWarning`.
MANY_GROUPS = 50
#: More intersectional groups than this make ``fit`` raise: the pool of
#: ``1 + 3m`` candidates, each scored on every evaluated row, would take
#: far too long, and most groups would rest on a handful of rows.
MAX_GROUPS = 500


def validate_X(estimator, X, reset, y=None):
    """Validate ``X`` (and ``y``) and record or check its columns on ``estimator``.

    DataFrames are checked for their columns only, so that group columns
    of any dtype survive; arrays go through ``check_array`` with no dtype
    conversion. Finiteness is left to the base estimator.
    """
    if hasattr(X, "iloc"):
        repeated = X.columns[X.columns.duplicated()].unique().tolist()
        if repeated:
            raise ValueError(
                f"X has the columns {repeated!r} more than once; every column "
                "of X needs its own name."
            )
        if y is None:
            validate_data(estimator, X, skip_check_array=True, reset=reset)
        else:
            validate_data(estimator, X, y, skip_check_array=True, reset=reset)
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a "
                "minimum of 1 is required."
            )
        return X, y
    if isinstance(X, list | tuple):
        # numpy would turn a list mixing numbers and text into all text.
        X = np.asarray(X, dtype=object)
    check = {"dtype": None, "ensure_all_finite": False, "reset": reset}
    if y is None:
        return validate_data(estimator, X, **check), None
    return validate_data(estimator, X, y, **check)


def _check_names_some(group_columns):
    if not len(group_columns):
        raise ValueError(
            f"group_columns={group_columns!r} names no column. Name the group "
            "attributes, or pass group_columns=None to fit the base estimator "
            "on all of X."
        )


def resolve_group_columns(group_columns, n_features, feature_names=None):
    """Return the integer positions of the group columns inside ``X``.

    Parameters
    ----------
    group_columns : None, str, int or sequence of str or int
        Column names (when ``X`` has column names) or integer positions.
    n_features : int
        Number of columns of ``X``.
    feature_names : ndarray of str or None
        Column names of ``X``, when it has them.

    Returns
    -------
    positions : ndarray of int of shape (n_group_columns,)
    """
    if group_columns is None:
        return np.empty(0, dtype=np.intp)
    if isinstance(group_columns, str | Integral):
        group_columns = [group_columns]
    _check_names_some(group_columns)
    names = None if feature_names is None else list(feature_names)
    positions = []
    for column in group_columns:
        if isinstance(column, bool | np.bool_) or not isinstance(
            column, str | Integral
        ):
            raise TypeError(
                "group_columns must hold column names (str) or integer positions; "
                f"got {column!r} of type {type(column).__name__}."
            )
        if isinstance(column, str):
            if names is None:
                raise ValueError(
                    f"group_columns names the column {column!r}, but X has no "
                    "column names. Pass a pandas DataFrame or give integer "
                    "positions instead; after a ColumnTransformer in a "
                    "pipeline, call its set_output(transform='pandas')."
                )
            if column not in names:
                prefixed = [n for n in names if str(n).endswith(f"__{column}")]
                hint = (
                    f" It holds {prefixed[0]!r}: a ColumnTransformer upstream "
                    "prefixes its output names; create it with "
                    "verbose_feature_names_out=False to keep the group "
                    "column's name."
                    if prefixed
                    else ""
                )
                raise ValueError(
                    f"The group column {column!r} is not a column of X. "
                    f"X has the columns {names!r}.{hint}"
                )
            positions.append(names.index(column))
        else:
            if not -n_features <= column < n_features:
                raise ValueError(
                    f"The group column position {column} is out of range for X "
                    f"with {n_features} columns (integers in group_columns are "
                    "positions, not column labels)."
                )
            positions.append(int(column) % n_features)
    positions = np.asarray(positions, dtype=np.intp)
    if len(np.unique(positions)) != len(positions):
        raise ValueError(
            f"group_columns={group_columns!r} names the same column more than once."
        )
    if len(positions) == n_features:
        raise ValueError(
            f"X has n_features={n_features} column(s), all of them group columns; "
            "the generic model needs at least one other feature."
        )
    return positions


def check_group_count(encoding, names, n_rows, stacklevel=1):
    """Refuse more than ``MAX_GROUPS`` groups, warn above ``MANY_GROUPS``.

    ``names`` are the names of the group columns and ``n_rows`` the number
    of rows with a complete group value. A column with more distinct values
    than half those rows is named as a likely continuous measurement.
    ``stacklevel`` is that of the warning as seen from the caller.
    """
    n_groups = encoding.n_groups
    if n_groups <= MANY_GROUPS:
        return
    counts = ", ".join(
        f"{name!r} has {len(levels)}" for name, levels in zip(names, encoding.levels)
    )
    continuous = [
        name
        for name, levels in zip(names, encoding.levels)
        if len(levels) > max(n_rows / 2, MANY_GROUPS)
    ]
    message = (
        f"The group columns {list(names)!r} define {n_groups} intersectional "
        f"groups in {n_rows} rows (distinct values: {counts})."
    )
    if continuous:
        message += (
            f" The column(s) {continuous!r} have nearly as many distinct values "
            "as rows: they look like continuous measurements. Bin them (for "
            "example with pandas.cut) or remove them from group_columns."
        )
    if n_groups > MAX_GROUPS:
        raise ValueError(
            f"{message} FairUseClassifier handles at most {MAX_GROUPS} groups: "
            "every group adds candidates scored on every row. Use coarser group "
            "columns."
        )
    warnings.warn(
        f"{message} Above {MANY_GROUPS} groups the pool holds more than "
        f"{1 + 3 * MANY_GROUPS} candidates (here up to {1 + 3 * n_groups}), "
        "fitting and auditing take time in proportion, and small groups' risks "
        "rest on few rows.",
        ManyGroupsWarning,
        stacklevel=stacklevel + 1,
    )


def column_names(feature_names, positions):
    """Names of the columns at ``positions``: ``x<j>`` for arrays."""
    if feature_names is not None:
        return [str(feature_names[j]) for j in positions]
    return [f"x{j}" for j in positions]


def split_columns(X, group_indices, feature_names=None):
    """Feature block (float array) and raw group columns of ``X``.

    Parameters
    ----------
    X : DataFrame or ndarray of shape (n, d)
    group_indices : ndarray of int
        Positions of the group columns.
    feature_names : ndarray of str or None
        Column names of ``X``, for the error message.

    Returns
    -------
    features : ndarray of float of shape (n, d - len(group_indices))
    columns : list of ndarray
        The group columns, values as given.
    """
    features = np.delete(np.arange(X.shape[1]), group_indices)
    X_features = X.iloc[:, features] if hasattr(X, "iloc") else X[:, features]
    if _one_float_dtype(X_features):
        # check_array inspects a DataFrame column by column, which dominates
        # the time of predicting a few rows; this is the array it would make.
        X_features = np.asarray(X_features)
    try:
        X_features = check_array(
            X_features, dtype="numeric", ensure_all_finite=False, input_name="X"
        )
        if X_features.dtype == object:  # older scikit-learn keeps object
            X_features = X_features.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "Every column of X except the group columns "
            f"{column_names(feature_names, group_indices)!r} must be numeric; "
            f"converting the others to numbers failed: {exc}. Add a text column "
            "to group_columns or encode it before this estimator."
        ) from exc
    return X_features, [column_values(X, j) for j in group_indices]


def _one_float_dtype(frame):
    """Whether a DataFrame's columns all share one numpy float dtype."""
    dtypes = set(getattr(frame, "dtypes", ()))
    return len(dtypes) == 1 and next(iter(dtypes)) in (np.float64, np.float32)


@contextmanager
def naming_nonfinite(X_features, feature_names, estimator_name):
    """Name the feature columns holding NaN or inf when a base call fails.

    Whether the base accepts missing values cannot be read reliably from its
    tags (a Pipeline starting with an imputer says it does not), so the base
    decides, and its error is completed with the columns ``feature_names``
    of ``X_features``.
    """
    try:
        yield
    except ValueError as exc:
        bad = ~np.isfinite(X_features).all(axis=0)
        if not bad.any():
            raise
        names = [feature_names[j] for j in np.flatnonzero(bad)]
        raise ValueError(
            f"The feature column(s) {names!r} of X hold NaN or infinite values, "
            f"and {estimator_name} failed on them: {exc} Impute or drop these "
            "values before this estimator, or use a base estimator that accepts "
            "missing values. (A missing value in a group column needs no "
            "imputation: it means the group was withheld.)"
        ) from exc


def encode_groups(columns, names, stacklevel=1):
    """Fit a :class:`GroupEncoding` on the group columns; check the groups.

    Parameters
    ----------
    columns : list of ndarray
        The group columns.
    names : list of str
        Their names, for messages.
    stacklevel : int, default=1
        Stack level of a :class:`~fairuse_estimators.ManyGroupsWarning`, as
        seen from the caller.

    Returns
    -------
    encoding : GroupEncoding
    group_ids : ndarray of int
        ``WITHHELD`` where a row has a missing group value.
    """
    encoding = GroupEncoding()
    group_ids = encoding.fit(columns, names)
    if not encoding.n_groups:
        raise ValueError(
            "Every row of X has a missing value in the group columns "
            f"{list(names)!r}, so there is no group to personalize for. Pass "
            "group_columns=None to fit the base estimator alone."
        )
    check_group_count(
        encoding, names, int((group_ids >= 0).sum()), stacklevel=stacklevel + 1
    )
    return encoding, group_ids


def warn_unseen(unseen, consequence, handle_unknown="generic"):
    """Warn of rows with unseen group values, saying what becomes of them,
    or raise with ``handle_unknown="error"``."""
    if not unseen:
        return
    message = unseen_message(unseen)
    if handle_unknown == "error":
        raise ValueError(
            message + " Set handle_unknown='generic' to score them with the "
            "generic model."
        )
    warnings.warn(
        f"{message} {consequence}", UnseenGroupWarning, stacklevel=caller_stacklevel()
    )


def unseen_message(unseen):
    """One sentence on the group values never seen during ``fit``."""
    shown = "; ".join(unseen[:5])
    if len(unseen) > 5:
        shown += f"; and {len(unseen) - 5} more"
    return f"Group values not seen during fit: {shown}."


def group_label(group):
    """Readable label of a group tuple, e.g. ``"female, <60"``.

    A text value holding a comma, a quote at its start, surrounding spaces or
    nothing at all is quoted, so that two groups never share a label:
    ``("a, b", "c")`` reads ``'a, b', c`` and ``("a", "b, c")`` reads
    ``a, 'b, c'``.
    """
    return ", ".join(map(_label_part, group))


def _label_part(value):
    text = str(value)
    if isinstance(value, str) and (
        not text or "," in text or text != text.strip() or text[0] in "'\""
    ):
        return repr(value)
    return text


def column_values(X, position):
    """Return column ``position`` of ``X`` (DataFrame or 2-D array) as 1-D array."""
    if hasattr(X, "iloc"):
        column = X.iloc[:, position]
        if isinstance(column.dtype, np.dtype):
            return column.to_numpy()
        # Extension dtypes (nullable integers, categoricals, strings) keep their
        # values as objects, where numpy would turn Int64 with NA into floats.
        return column.to_numpy(dtype=object)
    return np.asarray(X[:, position])


def not_a_label(name, exc):
    """The error for a value of group column ``name`` that cannot be a group
    label (a list, a dict), from the ``TypeError`` ``exc`` it raised."""
    return TypeError(
        f"The group column {name!r} holds a value that cannot be a group label "
        f"({exc}); group values must be strings, numbers or booleans."
    )


def _python_scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def _sorted_levels(values):
    levels = [_python_scalar(v) for v in pd.unique(values)]
    try:
        return sorted(levels)
    except TypeError:  # mixed types, e.g. strings and numbers in one column
        return sorted(levels, key=lambda v: (type(v).__name__, str(v)))


def _distinct_keys(keys, n_keys):
    """Sorted distinct ``keys`` and each key's position among them: by a
    count of every possible key when there are not many more of them than
    rows, else by sorting."""
    if n_keys > max(4096, 4 * len(keys)):
        distinct = np.unique(keys)
        return distinct, np.searchsorted(distinct, keys)
    seen = np.bincount(keys, minlength=int(n_keys)) > 0
    distinct = np.flatnonzero(seen)
    position = np.cumsum(seen) - 1
    return distinct, position[keys]


class GroupEncoding:
    """Intersectional group ids for the group columns of ``X``.

    The state is plain lists and arrays so that joblib and skops carry it.

    Attributes
    ----------
    levels : list of list
        Sorted levels of each group column seen during ``fit``.
    group_codes : ndarray of int of shape (n_groups, n_group_columns)
        Level codes of each intersectional group, in sorted order.
    """

    def fit(self, columns, names):
        """Learn levels and intersectional groups; return the rows' group ids.

        ``names`` are the names of the group columns, used in error messages.
        """
        # One hashing pass over each column finds its distinct values and
        # its missing ones (those pd.isna finds); the rest reads the codes.
        factorized = []
        for values, name in zip(columns, names):
            try:
                factorized.append(pd.factorize(values))
            except TypeError as exc:  # a list or dict cannot be hashed
                raise not_a_label(name, exc) from exc
        missing = np.zeros(len(columns[0]), dtype=bool)
        for found, _ in factorized:
            missing |= found < 0
        self.levels = []
        codes = np.empty((int((~missing).sum()), len(columns)), dtype=np.intp)
        for j, ((found, distinct), name) in enumerate(zip(factorized, names)):
            found = found[~missing]
            # The levels are the values of the rows with every group value.
            present = np.bincount(found, minlength=len(distinct)) > 0
            try:
                self.levels.append(_sorted_levels(distinct[present]))
            except TypeError as exc:
                raise not_a_label(name, exc) from exc
            index = pd.Index(self.levels[j], dtype=object)
            codes[:, j] = index.get_indexer(pd.Index(distinct, dtype=object))[found]
        keys = self._keys(codes)
        group_keys, ids = _distinct_keys(keys, np.prod(self._dims, dtype=float))
        self.group_codes = np.column_stack(
            np.unravel_index(group_keys, self._dims)
        ).astype(np.intp)
        group_ids = np.full(len(missing), WITHHELD, dtype=np.intp)
        group_ids[~missing] = ids
        return group_ids

    @property
    def _dims(self):
        return tuple(len(levels) for levels in self.levels)

    @property
    def groups(self):
        """The intersectional groups as tuples of level values."""
        return [
            tuple(self.levels[j][c] for j, c in enumerate(codes))
            for codes in self.group_codes
        ]

    @property
    def n_groups(self):
        return len(self.group_codes)

    def _level_codes(self, columns, names):
        """Each row's code among the levels of each column: ``UNSEEN`` for a
        value not among them, ``WITHHELD`` for a missing one."""
        codes = np.empty((len(columns[0]), len(columns)), dtype=np.intp)
        for j, values in enumerate(columns):
            # One hashing pass over the rows finds the distinct values (and
            # the missing ones, as pd.isna does); only those are looked up.
            index = pd.Index(self.levels[j], dtype=object)
            try:
                found, distinct = pd.factorize(values)
                known = index.get_indexer(pd.Index(distinct, dtype=object))
            except TypeError as exc:  # a list or dict cannot be looked up
                raise not_a_label(names[j], exc) from exc
            codes[:, j] = np.append(known, WITHHELD)[found]
        return codes

    def _keys(self, codes):
        if np.prod(self._dims, dtype=float) >= 2**62:
            raise ValueError(
                "The group columns have too many combinations of levels "
                f"({' x '.join(map(str, self._dims))}) to encode."
            )
        return np.ravel_multi_index(codes.T, self._dims)

    def transform(self, columns, names):
        """Return group ids of new rows and a description of unseen values.

        ``names`` are the names of the group columns, used in the descriptions.

        Returns
        -------
        group_ids : ndarray of int
            Group id per row; ``WITHHELD`` where a group value is missing and
            ``UNSEEN`` where a value or combination was not seen in ``fit``.
        unseen : list of str
            One readable description per distinct unseen value or combination.
        """
        codes = self._level_codes(columns, names)
        sizes = np.asarray(self._dims) + 2  # room for WITHHELD and UNSEEN
        if np.prod(sizes, dtype=float) <= max(4096, len(codes) // 2):
            # A table of every code combination costs less than the rows.
            keys = np.ravel_multi_index((codes - WITHHELD).T, sizes)
            group_ids = self._id_table(sizes)[keys]
        else:
            group_ids = self._searched_ids(codes)
        return group_ids, self._describe_unseen(columns, names, codes, group_ids)

    def _id_table(self, sizes):
        """Group id of every combination of codes shifted by ``-WITHHELD``."""
        combinations = np.column_stack(np.unravel_index(np.arange(sizes.prod()), sizes))
        table = np.full(len(combinations), UNSEEN, dtype=np.intp)
        table[(combinations == 0).any(axis=1)] = WITHHELD
        own = np.ravel_multi_index((self.group_codes - WITHHELD).T, sizes)
        table[own] = np.arange(self.n_groups)
        return table

    def _searched_ids(self, codes):
        """Group ids looked up by binary search, for many combinations."""
        group_ids = np.full(len(codes), UNSEEN, dtype=np.intp)
        withheld = (codes == WITHHELD).any(axis=1)
        group_ids[withheld] = WITHHELD
        complete = ~withheld & (codes >= 0).all(axis=1)
        if complete.any():
            group_keys = self._keys(self.group_codes)
            keys = self._keys(codes[complete])
            found = np.minimum(np.searchsorted(group_keys, keys), len(group_keys) - 1)
            hit = group_keys[found] == keys
            group_ids[complete] = np.where(hit, found, UNSEEN)
        return group_ids

    def _describe_unseen(self, columns, names, codes, group_ids):
        unseen = group_ids == UNSEEN
        if not unseen.any():
            return []
        messages = []
        for j, values in enumerate(columns):
            bad = unseen & (codes[:, j] == UNSEEN)
            for value in _sorted_levels(values[bad]) if bad.any() else []:
                messages.append(f"value {value!r} in column {names[j]!r}")
        combos = unseen & (codes >= 0).all(axis=1)
        if combos.any():
            for row in np.unique(codes[combos], axis=0):
                group = tuple(self.levels[j][c] for j, c in enumerate(row))
                messages.append(f"combination {group!r} of {tuple(names)!r}")
        return messages

    def onehot_block(self, group_ids):
        """One indicator per level of each group column, for rows in groups."""
        offsets = np.concatenate([[0], np.cumsum(self._dims)[:-1]])
        block = np.zeros((len(group_ids), sum(self._dims)))
        rows = np.arange(len(group_ids))[:, None]
        block[rows, offsets + self.group_codes[group_ids]] = 1.0
        return block

    def intersectional_block(self, group_ids):
        """One indicator per intersectional group, for rows in groups."""
        block = np.zeros((len(group_ids), self.n_groups))
        block[np.arange(len(group_ids)), group_ids] = 1.0
        return block
