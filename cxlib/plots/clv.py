"""CLV plots: the CLV distribution, segment means, and the model diagnostics.

Statistics come from :mod:`cxlib.sections.clv` and :mod:`cxlib.clv.diagnostics`; nothing is estimated
here (the median line is the median of the values passed in, a display choice).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import ParameterError

__all__ = ["clv_distribution", "segment_means", "calibration_holdout", "tracking", "frequency_recency"]


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

    ``table`` has the columns of :data:`cxlib.sections.clv.SEGMENT_COLUMNS`.

    >>> t = pd.DataFrame({"segment_column": ["all", "tier"], "segment": ["all", "gold"], "n": [10, 4],
    ...                   "mean_clv": [3.0, 4.0], "ci_lower": [2.0, 3.0], "ci_upper": [4.0, 5.5]})
    >>> [t.get_text() for t in segment_means(t).get_yticklabels()]
    ['all', 'tier: gold (n = 4)']
    """
    missing = [c for c in ("segment_column", "segment", "n", "mean_clv", "ci_lower", "ci_upper")
               if c not in table.columns]
    if missing:
        raise ParameterError(f"table lacks column(s) {missing}; pass cxlib.sections.clv.segment_clv output.")
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


def calibration_holdout(result, *, ax: Axes | None = None) -> Axes:
    """Mean holdout purchases, actual vs expected, by calibration frequency (FHL 2005, Figure 4).

    ``result`` is a :class:`cxlib.clv.diagnostics.CalibrationHoldout`.

    >>> from cxlib.clv.diagnostics import CalibrationHoldout
    >>> t = pd.DataFrame({"frequency_calibration": [0, 1], "label": ["0", "1+"], "n": [5, 3],
    ...                   "actual_mean": [0.2, 1.5], "expected_mean": [0.25, 1.4]})
    >>> r = CalibrationHoldout(t, 5.5, 5.45, 8, 39.0, "week", "BetaGeo conditional expectation")
    >>> [ln.get_label() for ln in calibration_holdout(r).get_lines()]
    ['actual', 'expected (BetaGeo)']
    """
    t = result.table
    ax = ax or _new_ax((6, 3.6))
    x = np.arange(len(t))
    ax.plot(x, t["actual_mean"].to_numpy(dtype=float), "o-", color="black", label="actual")
    model = result.method.split(" ")[0]
    ax.plot(x, t["expected_mean"].to_numpy(dtype=float), "s--", color="#dd8452", label=f"expected ({model})")
    ax.set_xticks(x, t["label"].tolist())
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel(f"mean purchases in the {result.duration:g}-{result.time_unit} holdout")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


def tracking(result, *, cumulative: bool = True, ax: Axes | None = None) -> Axes:
    """Actual vs expected (cumulative) repeat purchases over time, with the end of calibration marked.

    ``result`` is a :class:`cxlib.clv.diagnostics.Tracking` (FHL 2005, Figure 2).

    >>> from cxlib.clv.diagnostics import Tracking
    >>> t = pd.DataFrame({"time": [1.0, 2.0], "actual_cumulative": [1, 3], "expected_cumulative": [1.2, 2.9],
    ...                   "actual_incremental": [1, 2], "expected_incremental": [1.2, 1.7]})
    >>> day = pd.Timestamp("2024-01-01")
    >>> r = Tracking(t, day, day + pd.Timedelta(days=7), day + pd.Timedelta(days=14), 3, "week", "BetaGeo")
    >>> [ln.get_label() for ln in tracking(r).get_lines()]
    ['actual', 'expected (BetaGeo)', 'end of calibration']
    """
    t = result.table
    kind = "cumulative" if cumulative else "incremental"
    ax = ax or _new_ax((7, 3.6))
    ax.plot(t["time"], t[f"actual_{kind}"].to_numpy(dtype=float), color="black", label="actual")
    ax.plot(t["time"], t[f"expected_{kind}"].to_numpy(dtype=float), color="#dd8452", linestyle="--",
            label=f"expected ({result.method.split(' ')[0]})")
    ax.axvline(result.calibration_time, color="grey", linestyle=":", linewidth=1, label="end of calibration")
    ax.set_xlabel(f"{result.time_unit}s since {result.start.date()}")
    ax.set_ylabel(f"{kind} repeat purchases ({result.n_customers:,} customers)")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


def frequency_recency(result, *, ax: Axes | None = None) -> Axes:
    """Heatmap of a :class:`cxlib.clv.diagnostics.FrequencyRecencyGrid` (frequency down, recency across).

    Impossible histories (NaN cells) are left blank.

    >>> from cxlib.clv.diagnostics import FrequencyRecencyGrid
    >>> g = FrequencyRecencyGrid(np.arange(2.0), np.array([0.0, 10.0]), np.array([[1.0, np.nan], [np.nan, 0.6]]),
    ...                          "p_alive", 10.0, float("nan"), "week", "BetaGeo p_alive")
    >>> int(frequency_recency(g).images[0].get_array().count())
    2
    """
    ax = ax or _new_ax((6, 4.5))
    f, r = result.frequency, result.recency
    title = ("probability alive" if result.quantity == "p_alive"
             else f"expected purchases in the next {result.t:g} {result.time_unit}s")
    dr = r[1] - r[0]  # cells centred on the grid points
    vmax = 1.0 if result.quantity == "p_alive" else None
    im = ax.imshow(np.ma.masked_invalid(result.values), origin="lower", aspect="auto", cmap="viridis",
                   vmin=0.0, vmax=vmax, extent=(r[0] - dr / 2, r[-1] + dr / 2, f[0] - 0.5, f[-1] + 0.5),
                   interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, label=title)
    ax.set_xlabel(f"recency ({result.time_unit}s from first to last purchase, age T = {result.T:g})")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title, fontsize=10)
    return ax
