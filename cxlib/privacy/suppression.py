"""Small cells: table cells resting on fewer than ``k`` respondents suppressed or merged.

See :mod:`cxlib.privacy`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..display import displayable
from ..errors import ParameterError, check_choice

__all__ = ["SUPPRESSION_COLUMNS", "Suppression", "suppress_small_cells"]

#: Columns of the suppression log (one row per suppressed cell).
SUPPRESSION_COLUMNS = ("row", "cell", "count", "reason")

SuppressAction = Literal["suppress", "merge"]


@displayable(tables=("table",))
@dataclass(frozen=True)
class Suppression:
    """A table after small-cell suppression, with what was suppressed and why.

    Attributes
    ----------
    table : pandas.DataFrame
        The protected table: the input columns plus ``suppressed`` (bool).  Suppressed rows keep
        their labels; their value columns are NaN, integer columns become nullable ``Int64`` with
        ``<NA>`` (action ``"suppress"``), or they are folded into
        one row labelled ``merged_label`` (action ``"merge"``).
    log : pandas.DataFrame
        One row per suppressed cell, columns :data:`SUPPRESSION_COLUMNS`: original row position,
        cell label, its count and the reason (``"n < k"`` primary, ``"secondary"`` complementary).
    k : int
        Minimum cell size.
    count_col : str
        Column holding the cell sizes.
    action : str
        ``"suppress"`` or ``"merge"``.
    """

    table: pd.DataFrame
    log: pd.DataFrame
    k: int
    count_col: str
    action: str

    @property
    def n_suppressed(self) -> int:
        """Cells suppressed (primary and secondary)."""
        return len(self.log)

    @property
    def note(self) -> str:
        """A sentence for the report saying what was suppressed ("" when nothing was)."""
        if self.log.empty:
            return ""
        primary = int((self.log["reason"] == "n < k").sum())
        secondary = self.n_suppressed - primary
        what = "suppressed" if self.action == "suppress" else "merged into one row"
        text = (f"{primary} cell(s) with fewer than {self.k} respondents {'were' if primary != 1 else 'was'} "
                f"{what} to protect respondents' anonymity")
        if secondary:
            text += f"; {secondary} further cell(s) were suppressed so that they cannot be recovered from totals"
        return text + "."

    def to_frame(self) -> pd.DataFrame:
        """One row: ``k, count_col, action, cells, suppressed_primary, suppressed_secondary, note``."""
        primary = int((self.log["reason"] == "n < k").sum()) if not self.log.empty else 0
        return pd.DataFrame([{"k": self.k, "count_col": self.count_col, "action": self.action,
                              "cells": len(self.table) if self.action == "suppress" else len(self.table) - 1 + self.n_suppressed,
                              "suppressed_primary": primary, "suppressed_secondary": self.n_suppressed - primary,
                              "note": self.note}])


def suppress_small_cells(table: pd.DataFrame, *, count_col: str = "n", k: int = 10,
                         label_cols: Sequence[str] | None = None, value_cols: Sequence[str] | None = None,
                         within: Sequence[str] | None = None, secondary: bool = True,
                         action: SuppressAction = "suppress", merged_label: str = "Other (merged small cells)",
                         sum_cols: Sequence[str] = ()) -> Suppression:
    """Suppress (or merge) every cell of a table that rests on fewer than ``k`` respondents.

    Parameters
    ----------
    table : DataFrame
        One row per reported cell (segment, theme x segment, period...).
    count_col : str
        Respondents behind each row.
    k : int
        Minimum cell size.  10 by default, a common threshold for survey reporting (the
        brief's rule; statistical offices use 5 to 20).
    label_cols : list of str, optional
        Columns that name the cell (kept visible); default the non-numeric columns.
    value_cols : list of str, optional
        Columns blanked for suppressed cells; default every other column but ``count_col``.
        ``count_col`` itself is blanked too (its value would reveal the small size).
    within : list of str, optional
        Columns defining the groups that add up to a published total (e.g. ``["theme"]`` when a
        theme's share is shown per segment).  With ``secondary=True``, a group where exactly one
        cell is suppressed also loses its next smallest cell, so the suppressed one cannot be
        recovered by subtraction.  ``None`` treats the whole table as one group.
    secondary : bool
        Apply the complementary suppression above.
    action : {"suppress", "merge"}
        ``"merge"`` folds the small rows into one row labelled ``merged_label`` whose
        ``count_col`` and ``sum_cols`` are summed and other values are NaN; the merged row itself
        is suppressed when still below ``k``.
    merged_label : str
        Label of the merged row (written in the first label column).
    sum_cols : list of str
        Additive columns (counts) summed by ``"merge"``.

    Returns
    -------
    Suppression
        The protected table, the log and a sentence for the report (:attr:`Suppression.note`).

    Raises
    ------
    ParameterError
        ``k < 1``, an unknown action, or missing columns.

    References
    ----------
    Hundepool, A. et al. (2012). Statistical Disclosure Control. Wiley, chapter 5 (threshold rule,
    secondary suppression).

    Examples
    --------
    >>> t = pd.DataFrame({"segment": ["gold", "silver", "bronze"], "n": [120, 7, 80],
    ...                   "share": [0.31, 0.20, 0.25]})
    >>> s = suppress_small_cells(t, k=10)
    >>> s.table
      segment     n  share  suppressed
    0    gold   120   0.31       False
    1  silver  <NA>    NaN        True
    2  bronze  <NA>    NaN        True
    >>> print(s.note)
    1 cell(s) with fewer than 10 respondents was suppressed to protect respondents' anonymity; 1 further cell(s) were suppressed so that they cannot be recovered from totals.
    """
    check_choice("action", action, ("suppress", "merge"))
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k={k!r} must be a positive integer (10 by default).")
    missing = [c for c in [count_col, *(label_cols or []), *(value_cols or []), *(within or []), *sum_cols]
               if c not in table.columns]
    if missing:
        raise ParameterError(f"Column(s) {missing} are not in the table; it has {list(table.columns)}.")
    counts = pd.to_numeric(table[count_col], errors="coerce").fillna(0).to_numpy()
    if label_cols is None:
        label_cols = [c for c in table.columns if c != count_col and not pd.api.types.is_numeric_dtype(table[c])]
    if value_cols is None:
        value_cols = [c for c in table.columns if c not in label_cols and c != count_col]
    primary = counts < k
    hide = primary.copy()
    if secondary and action == "suppress" and primary.any():
        groups = table.groupby(list(within), sort=False).indices.values() if within else [np.arange(len(table))]
        for idx in groups:
            idx = np.asarray(idx)
            if hide[idx].sum() == 1 and len(idx) > 1:
                open_idx = idx[~hide[idx]]
                hide[open_idx[np.argmin(counts[open_idx])]] = True
    labels = table[list(label_cols)].astype(str).agg(", ".join, axis=1) if label_cols else pd.Series(
        [str(i) for i in range(len(table))], index=table.index)
    log = pd.DataFrame({"row": np.flatnonzero(hide), "cell": labels.to_numpy()[hide], "count": counts[hide],
                        "reason": np.where(primary[hide], "n < k", "secondary")}, columns=list(SUPPRESSION_COLUMNS))
    if action == "suppress":
        out = table.copy()
        blank = [count_col, *value_cols]
        for c in blank:
            if pd.api.types.is_integer_dtype(out[c]):
                out[c] = out[c].astype("Int64")  # counts stay integers, blanks are <NA>
            elif pd.api.types.is_bool_dtype(out[c]):
                out[c] = out[c].astype("boolean")
            out.loc[hide, c] = pd.NA if str(out[c].dtype) in ("Int64", "boolean") else np.nan
        out["suppressed"] = hide
        return Suppression(out.reset_index(drop=True), log, int(k), count_col, action)
    kept = table.loc[~primary].copy()
    kept["suppressed"] = False
    if primary.any():
        merged = {c: np.nan for c in table.columns}
        for c in label_cols:
            merged[c] = ""
        if label_cols:
            merged[label_cols[0]] = merged_label
        merged[count_col] = counts[primary].sum()
        for c in sum_cols:
            merged[c] = pd.to_numeric(table.loc[primary, c]).sum()
        merged["suppressed"] = merged[count_col] < k
        if merged["suppressed"]:
            merged[count_col] = np.nan
            for c in sum_cols:
                merged[c] = np.nan
        kept = pd.concat([kept, pd.DataFrame([merged])], ignore_index=True)
    return Suppression(kept.reset_index(drop=True), log, int(k), count_col, action)
