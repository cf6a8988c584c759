"""Grouping by segment columns (``by=``) and reading numeric columns, shared by every analysis.

A grouped call runs its one-group computation per observed level of the ``by`` columns, in
sorted order, and stacks the rows into a frame indexed by those columns.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataContractError

__all__ = ["as_frame", "check_by", "group_index", "group_label", "iter_groups", "lead_columns", "normalise_by",
           "numeric_values", "stack_groups"]


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


def normalise_by(by: str | Sequence[str] | None) -> list[str]:
    """``by`` as a list of column names (empty for an ungrouped call)."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def check_by(data: pd.DataFrame, by: str | Sequence[str] | None, *, table: str | None = None) -> list[str]:
    """``by`` as a list of column names, after checking that ``data`` has them (names the table and columns)."""
    keys = normalise_by(by)
    missing = [k for k in keys if k not in data.columns]
    if missing:
        where = f"Table {table!r}" if table else "The frame"
        raise DataContractError(f"{where} lacks the segment column(s) {missing}; it has {list(data.columns)}. "
                                "Join the segment to it first (e.g. merge customers[['customer_id', "
                                f"{missing[0]!r}]] on customer_id).", table=table, column=missing[0],
                                rule="column present")
    return keys


def iter_groups(data: pd.DataFrame, keys: Sequence[str]) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """``(key, rows)`` for each observed level of ``keys`` in sorted order; ``key`` is a tuple of levels."""
    for key, sub in data.groupby(list(keys), observed=True, sort=True):
        yield (key if isinstance(key, tuple) else (key,)), sub


def group_index(keys: Sequence[str], index: Sequence[tuple]) -> pd.Index:
    """The index of a ``by=`` result: named by the ``by`` columns (a MultiIndex for several)."""
    if len(keys) > 1:
        return (pd.MultiIndex.from_tuples(list(index), names=list(keys)) if len(index)
                else pd.MultiIndex.from_arrays([[]] * len(keys), names=list(keys)))
    return pd.Index([k[0] for k in index], name=keys[0])


def stack_groups(parts: Sequence[pd.DataFrame], index: Sequence[tuple], keys: Sequence[str],
                 columns: Sequence[str]) -> pd.DataFrame:
    """One-row frames stacked into a ``by=`` result indexed by the ``by`` columns (:func:`group_index`)."""
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(columns))
    out.index = group_index(keys, index)
    return out


def lead_columns(frame: pd.DataFrame, keys: Sequence[str], key: tuple) -> pd.DataFrame:
    """``frame`` with the ``by`` columns set to ``key`` put first (for results that are already tables)."""
    return frame.assign(**dict(zip(keys, key)))[[*keys, *[c for c in frame.columns if c not in keys]]]


def group_label(key: Any) -> str:
    """``"gold"`` for one key, ``"gold, North"`` for several."""
    if isinstance(key, tuple):
        return ", ".join(str(k) for k in key)
    return str(key)
