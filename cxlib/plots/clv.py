"""CLV plots: the distribution of customer lifetime values and segment means with intervals.

Statistics come from :mod:`cxlib.clv.report`; nothing is estimated here (the median line is the
median of the values passed in, a display choice).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import ParameterError

__all__ = ["clv_distribution", "segment_means"]


def _new_ax(size) -> Axes:
    return Figure(figsize=size, layout="constrained").subplots()


def clv_distribution(clv: pd.Series, *, currency: str = "EUR", bins: int = 40, ax: Axes | None = None) -> Axes:
    """Histogram of per-customer CLV on a logarithmic value axis, with the median marked.

    >>> ax = clv_distribution(pd.Series([1.0, 2.0, 5.0, 40.0]))
    >>> ax.get_xscale(), len(ax.patches) > 0
    ('log', True)
    """
    v = pd.Series(clv, dtype=float).dropna()
    v = v[v > 0]
    if v.empty:
        raise ParameterError("clv has no positive values to plot.")
    ax = ax or _new_ax((7, 3.6))
    edges = np.logspace(np.log10(v.min()), np.log10(v.max()), bins + 1)
    edges[0], edges[-1] = v.min(), v.max()  # exact ends: rounding must not drop the extremes
    ax.hist(v, bins=edges, color="#4c72b0", alpha=0.85)
    med = float(v.median())
    ax.axvline(med, color="black", linestyle="--", linewidth=1)
    ax.annotate(f"median {med:,.2f} {currency}", xy=(med, 1), xycoords=("data", "axes fraction"), xytext=(4, -12),
                textcoords="offset points", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel(f"customer lifetime value ({currency}, log scale)")
    ax.set_ylabel("customers")
    ax.grid(alpha=0.3)
    return ax


def segment_means(table: pd.DataFrame, *, currency: str = "EUR", ax: Axes | None = None) -> Axes:
    """Mean CLV per segment with its interval, one row per ``segment_column``/``segment`` of the table.

    ``table`` has the columns of :data:`cxlib.clv.report.SEGMENT_COLUMNS`.

    >>> t = pd.DataFrame({"segment_column": ["all", "tier"], "segment": ["all", "gold"], "n": [10, 4],
    ...                   "mean_clv": [3.0, 4.0], "ci_lower": [2.0, 3.0], "ci_upper": [4.0, 5.5]})
    >>> [t.get_text() for t in segment_means(t).get_yticklabels()]
    ['all', 'tier: gold (n = 4)']
    """
    missing = [c for c in ("segment_column", "segment", "n", "mean_clv", "ci_lower", "ci_upper")
               if c not in table.columns]
    if missing:
        raise ParameterError(f"table lacks column(s) {missing}; pass cxlib.clv.report.segment_clv output.")
    ax = ax or _new_ax((7, 0.35 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    m = table["mean_clv"].to_numpy(dtype=float)
    err = np.vstack([m - table["ci_lower"].to_numpy(dtype=float), table["ci_upper"].to_numpy(dtype=float) - m])
    ax.errorbar(m, y, xerr=err, fmt="o", color="#4c72b0", capsize=3, markersize=4)
    labels = ["all" if c == "all" else f"{c.replace('_', ' ')}: {s} (n = {int(n):,})"
              for c, s, n in zip(table["segment_column"], table["segment"], table["n"])]
    ax.set_yticks(y, labels, fontsize=8)
    ax.axvline(m[0], color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel(f"mean customer lifetime value ({currency})")
    ax.grid(alpha=0.3, axis="x")
    return ax
