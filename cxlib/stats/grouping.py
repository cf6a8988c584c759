"""Splitting by segment (``segment=``, ``segments=``, :func:`by_segment`) and reading numeric columns.

The vocabulary of the whole library (``docs/architecture.md``):

- ``segment=``: the name, or a list of names, of segment column(s) *in the data*; a split call runs its
  one-segment computation per observed level, in sorted order, and stacks the rows into a frame indexed
  by those columns (:func:`iter_groups`, :func:`stack_groups`);
- ``segments=``: labels that come from elsewhere, as one type, a DataFrame with ``customer_id`` and the
  segment column(s), one row per customer (:func:`segment_labels` checks it and converts the old types);
- :func:`by_segment`: the one function that splits an analysis whose result is a single object
  (a metric, a trend test, a driver analysis) and returns the stacked frame.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import renamed, split_running, warn_deprecated
from ..errors import DataContractError, ParameterError

__all__ = ["Segment", "as_frame", "attach_segment_labels", "by_segment", "check_by", "check_segment", "group_index",
           "group_label", "iter_groups", "lead_columns", "normalise_by", "numeric_values", "segment_keys",
           "segment_labels", "split_moved_to_by_segment", "stack_groups"]

#: The type of ``segment=``: one column name, a list of names, or None (no split).
Segment = str | Sequence[str] | None


def as_frame(data: Any, col: str) -> pd.DataFrame:
    """Accept a DataFrame, or a Series/array of values that becomes the column ``col``."""
    if isinstance(data, pd.DataFrame):
        if col not in data.columns:
            raise DataContractError(f"Column {col!r} is missing; the frame has {list(data.columns)}. "
                                    f"Pass col= with the right name.", column=col, rule="column present")
        return data
    if isinstance(data, pd.Series):
        return data.rename(col).to_frame()
    return pd.DataFrame({col: np.asarray(data)})


def numeric_values(frame: pd.DataFrame, col: str, *, low: float | None = None, high: float | None = None,
                   integer: bool = False) -> np.ndarray:
    """The non-missing values of ``col`` as floats, checked against the scale ``[low, high]``."""
    values = pd.to_numeric(frame[col], errors="coerce").astype("float64").to_numpy()
    bad_text = frame[col].notna().to_numpy() & np.isnan(values)
    values = values[~np.isnan(values)]
    outside = np.zeros(values.shape, bool)
    if low is not None:
        outside |= values < low
    if high is not None:
        outside |= values > high
    if integer:
        outside |= values != np.round(values)
    if bad_text.any() or outside.any():
        examples = values[outside][:5].tolist() if outside.any() else frame[col][bad_text].head().tolist()
        raise DataContractError(f"Column {col!r} must hold {'integers' if integer else 'numbers'} in "
                                f"[{low}, {high}]; found {int(outside.sum() + bad_text.sum())} bad values, "
                                f"e.g. {examples}. Check the scale of the survey export.",
                                column=col, rule="scale")
    return values


def segment_keys(segment: Segment) -> list[str]:
    """``segment`` as a list of column names (empty for a call without a split).

    >>> segment_keys("loyalty_tier"), segment_keys(["loyalty_tier", "region"]), segment_keys(None)
    (['loyalty_tier'], ['loyalty_tier', 'region'], [])
    """
    if segment is None:
        return []
    if isinstance(segment, str):
        return [segment]
    return list(segment)


def check_segment(data: pd.DataFrame, segment: Segment, *, table: str | None = None) -> list[str]:
    """``segment`` as a list of column names, after checking that ``data`` has them (names the table and columns)."""
    keys = segment_keys(segment)
    missing = [k for k in keys if k not in data.columns]
    if missing:
        where = f"Table {table!r}" if table else "The frame"
        raise DataContractError(f"{where} lacks the segment column(s) {missing}; it has {list(data.columns)}. "
                                "Join the segment to it first (e.g. merge customers[['customer_id', "
                                f"{missing[0]!r}]] on customer_id).", table=table, column=missing[0],
                                rule="column present")
    return keys


normalise_by = renamed("normalise_by", segment_keys)
check_by = renamed("check_by", check_segment)


def iter_groups(data: pd.DataFrame, keys: Sequence[str]) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """``(key, rows)`` for each observed level of ``keys`` in sorted order; ``key`` is a tuple of levels."""
    for key, sub in data.groupby(list(keys), observed=True, sort=True):
        yield (key if isinstance(key, tuple) else (key,)), sub


def group_index(keys: Sequence[str], index: Sequence[tuple]) -> pd.Index:
    """The index of a split result: named by the ``segment`` columns (a MultiIndex for several)."""
    if len(keys) > 1:
        return (pd.MultiIndex.from_tuples(list(index), names=list(keys)) if len(index)
                else pd.MultiIndex.from_arrays([[]] * len(keys), names=list(keys)))
    return pd.Index([k[0] for k in index], name=keys[0])


def stack_groups(parts: Sequence[pd.DataFrame], index: Sequence[tuple], keys: Sequence[str],
                 columns: Sequence[str]) -> pd.DataFrame:
    """One-row frames stacked into a split result indexed by the ``segment`` columns (:func:`group_index`)."""
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))
    out.index = group_index(keys, index)
    return out


def lead_columns(frame: pd.DataFrame, keys: Sequence[str], key: tuple) -> pd.DataFrame:
    """``frame`` with the ``segment`` columns set to ``key`` put first (for results that are already tables)."""
    return frame.assign(**dict(zip(keys, key)))[[*keys, *[c for c in frame.columns if c not in keys]]]


def group_label(key: Any) -> str:
    """``"gold"`` for one key, ``"gold, North"`` for several."""
    if isinstance(key, tuple):
        return ", ".join(str(k) for k in key)
    return str(key)


def segment_labels(segments: Any, *, segment: Segment = None, where: str = "segments=",
                   stacklevel: int = 4) -> pd.DataFrame:
    """``segments=`` as its one type: a DataFrame with ``customer_id`` and the segment column(s).

    Segment labels that do not sit in the analysed table (an RFM segment, a behavioural cluster, the
    customers' loyalty tier next to events) are passed as ``segments=``: one row per customer, joined on
    ``customer_id``.  The types accepted before keep working for one release and warn, saying how to
    build the frame: a DataFrame *indexed* by customer id (``frame.rename_axis("customer_id").reset_index()``)
    and a mapping of column name to a Series of labels indexed by customer id
    (``pd.DataFrame(mapping).rename_axis("customer_id").reset_index()``).

    Parameters
    ----------
    segments : DataFrame
        ``customer_id`` and the label column(s).
    segment : str or list of str, optional
        Label columns that must be present.
    where : str
        The argument and function, for messages.

    Raises
    ------
    ParameterError
        ``segments`` is of another type.
    DataContractError
        A ``segment`` column is missing, or a customer has several rows.

    Examples
    --------
    >>> segment_labels(pd.DataFrame({"customer_id": ["C1", "C2"], "rfm": ["champions", "lost"]}),
    ...                segment="rfm").values.tolist()
    [['C1', 'champions'], ['C2', 'lost']]
    """
    how = "a DataFrame with a customer_id column and the segment column(s)"
    if isinstance(segments, pd.DataFrame) and "customer_id" in segments.columns:
        frame = segments
    elif isinstance(segments, pd.DataFrame):
        warn_deprecated(f"{where} as a DataFrame indexed by customer id", f"{how}: "
                        "segments.rename_axis('customer_id').reset_index()", stacklevel=stacklevel)
        frame = segments.rename_axis("customer_id").reset_index()
    elif isinstance(segments, Mapping):
        for name, labels in segments.items():
            if not isinstance(labels, pd.Series):
                raise ParameterError(f"{where}: the labels of {name!r} must be a Series indexed by customer_id; "
                                     f"found {type(labels).__name__}. Pass {how}.")
            if labels.index.has_duplicates:
                dup = labels.index[labels.index.duplicated()][:3].tolist()
                raise DataContractError(f"{where}: {name!r} has several labels for customer ids {dup}; give one "
                                        "label per customer.", column=str(name), rule="unique customer_id")
        warn_deprecated(f"{where} as a mapping of name to Series", f"{how}: "
                        "pd.DataFrame(mapping).rename_axis('customer_id').reset_index()", stacklevel=stacklevel)
        frame = (pd.DataFrame({name: labels.astype(object) for name, labels in segments.items()})
                 .rename_axis("customer_id").reset_index())
    else:
        raise ParameterError(f"{where} must be {how}, one row per customer; found {type(segments).__name__}.")
    missing = [k for k in segment_keys(segment) if k not in frame.columns]
    if missing:
        raise DataContractError(f"{where}: the segments frame lacks the segment column(s) {missing}; it has "
                                f"{list(frame.columns)}.", column=missing[0], rule="column present")
    dup = frame["customer_id"][frame["customer_id"].duplicated()]
    if len(dup):
        raise DataContractError(f"{where}: the segments frame has {len(dup)} repeated customer_id row(s), e.g. "
                                f"{dup.head(3).tolist()}; give one row per customer.", column="customer_id",
                                rule="unique customer_id", rows=frame[frame["customer_id"].isin(dup.head(3))])
    return frame


def attach_segment_labels(frame: pd.DataFrame, segments: Any, *, where: str = "segments=",
                          fill: str = "unassigned", stacklevel: int = 5) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with one column per label column of ``segments`` (see :func:`segment_labels`), joined on
    ``customer_id``; customers without a label (or with a missing one) get ``fill``.

    Returns the frame (labels as text) and the names of the label columns added.

    >>> f = pd.DataFrame({"customer_id": ["C1", "C2"], "nps": [9, 3]})
    >>> out, names = attach_segment_labels(f, pd.DataFrame({"customer_id": ["C1"], "rfm": ["champions"]}))
    >>> out.values.tolist(), names
    ([['C1', 9, 'champions'], ['C2', 3, 'unassigned']], ['rfm'])
    """
    labels = segment_labels(segments, where=where, stacklevel=stacklevel)
    if "customer_id" not in frame.columns:
        raise DataContractError(f"{where}: segment labels are joined by customer_id, which the table lacks; it has "
                                f"{list(frame.columns)}.", column="customer_id", rule="column present")
    names = [c for c in labels.columns if c != "customer_id"]
    table = labels.set_index("customer_id")
    out = frame.copy()
    for name in names:
        mapped = out["customer_id"].map(table[name].dropna().astype(object))
        out[name] = mapped.where(mapped.notna(), fill).astype(str)
    return out, names


def split_moved_to_by_segment(home: str, *, data: str = "data", hidden: Sequence[str] = ("segment",),
                              extra: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator of an analysis whose split by segment moved to ``<home>.by_segment`` (its return type is stable).

    The analysis keeps its ``segment=`` keyword (old name ``by=``) for one release: called with it, it still
    returns the split frame and warns that the split moved to :func:`by_segment`; its public signature shows
    neither (``hidden``).  :func:`by_segment` calls the split without a warning.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        name = function.__name__
        sig = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            old = "by" if "by" in kwargs else "segment"
            if "by" in kwargs:
                if kwargs.get("segment") is not None:
                    raise ParameterError(f"{name}: pass segment= only (by= is its deprecated name).")
                kwargs["segment"] = kwargs.pop("by")
            if kwargs.get("segment") is not None and not split_running.get():
                warn_deprecated(f"{name}({old}=...)",
                                f"{home}.by_segment({name}, {data}, segment=...{extra})", stacklevel=3)
            token = split_running.set(True)
            try:
                return function(*args, **kwargs)
            finally:
                split_running.reset(token)

        wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[p for p in sig.parameters.values() if p.name not in hidden])
        wrapper.splits_by_segment = home  # type: ignore[attr-defined]
        return wrapper

    return decorate


def by_segment(analysis: Callable[..., Any], data: Any, segment: Segment, **kwargs: Any) -> Any:
    """Run ``analysis`` once per segment of ``data`` and stack the results into one frame.

    The one way to split an analysis whose result is a single object (a :class:`cxlib.metrics.MetricResult`,
    a trend test's :class:`cxlib.significance.ComparisonResult`, a :class:`cxlib.voc.DriverResult`): called
    without a segment the analysis always returns that object; ``by_segment`` returns the frame.  Analyses
    that already return a table (a funnel, score distributions, theme shares) take ``segment=`` themselves;
    journeys are split by :func:`cxlib.journey.by_segment`.

    Parameters
    ----------
    analysis : callable
        One of the analyses that split this way: every metric of :mod:`cxlib.metrics`,
        :func:`cxlib.significance.trend_test`, :func:`cxlib.significance.respondent_sd`,
        :func:`cxlib.voc.key_drivers`.
    data : DataFrame
        The rows, with the segment column(s).
    segment : str or list of str
        Segment column(s) of ``data``; one result per observed level (combination), in sorted order.
    **kwargs
        Passed to ``analysis`` (``alpha=``, ``col=``...).

    Returns
    -------
    DataFrame or Series
        The analysis' result rows stacked (for a metric the columns of :data:`cxlib.metrics.METRIC_COLUMNS`,
        ``segment`` holding the level's label, ``"gold, North"`` for several columns), indexed by the segment
        column(s); each row is exactly the analysis of that level (computed on the whole data where the
        metric needs it, e.g. journeys cut before they are split).  For an analysis returning a number
        (:func:`~cxlib.significance.respondent_sd`) a Series indexed the same way.

    Raises
    ------
    ParameterError
        ``analysis`` does not split this way, or ``segment`` is empty.

    Examples
    --------
    >>> from cxlib.metrics import nps
    >>> df = pd.DataFrame({"nps": [10, 9, 3, 10, 8, 8], "tier": ["gold"] * 3 + ["silver"] * 3})
    >>> t = by_segment(nps, df, segment="tier")
    >>> t.index.tolist(), t["segment"].tolist(), t["estimate"].round(1).tolist()
    (['gold', 'silver'], ['gold', 'silver'], [33.3, 33.3])
    """
    if not getattr(analysis, "splits_by_segment", None):
        name = getattr(analysis, "__qualname__", type(analysis).__name__)
        raise ParameterError(f"by_segment does not split {name}: it splits the metrics of cxlib.metrics, "
                             "significance.trend_test, significance.respondent_sd and voc.key_drivers. An "
                             "analysis that returns a table takes segment= itself; journeys split with "
                             "cxlib.journey.by_segment.")
    if not segment_keys(segment):
        raise ParameterError("by_segment needs segment=: the segment column(s) of data.")
    token = split_running.set(True)
    try:
        return analysis(data, segment=segment, **kwargs)
    finally:
        split_running.reset(token)
