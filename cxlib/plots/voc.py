"""Plots of the voice of the customer: theme shares, theme trends, sentiment by segment, driver quadrant.

Every function takes the result frame of the matching :mod:`cxlib.voc` function (after
:func:`cxlib.privacy.suppress_small_cells` when segments are shown), draws on ``ax`` or on a new
Figure made through the object API, and returns the Axes.  Suppressed rows are drawn as labelled
gaps, never as values.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataContractError

__all__ = ["theme_shares", "theme_trend", "sentiment_by", "driver_quadrant"]


def _axes(ax, size=(6.4, 4.0)):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure
    return Figure(figsize=size, layout="constrained").add_subplot()


def _require(frame: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataContractError(f"{what} needs column(s) {missing}; the frame has {list(frame.columns)}.",
                                column=missing[0], rule="column present")


def _suppressed(frame: pd.DataFrame) -> np.ndarray:
    return frame["suppressed"].fillna(False).to_numpy(bool) if "suppressed" in frame else np.zeros(len(frame), bool)


def theme_shares(frame: pd.DataFrame, *, ax=None, label_col: str = "theme", color: str = "#3b6ea5"):
    """Horizontal bars of theme shares (percent of comments) with their interval as error bars.

    ``frame`` has the columns of :data:`cxlib.voc.THEME_COLUMNS` for one segment; suppressed rows
    show the text "suppressed (n < k)" instead of a bar.

    Examples
    --------
    >>> f = pd.DataFrame({"theme": ["price", "staff"], "share": [0.2, 0.1], "ci_lower": [0.15, 0.07],
    ...                   "ci_upper": [0.25, 0.14], "n": [300, 300]})
    >>> ax = theme_shares(f)
    >>> [round(float(p.get_width()), 1) for p in ax.patches]
    [10.0, 20.0]
    """
    _require(frame, [label_col, "share", "ci_lower", "ci_upper"], "theme_shares")
    ax = _axes(ax)
    f = frame.assign(_s=_suppressed(frame)).sort_values("share", na_position="first", kind="stable")
    y = np.arange(len(f))
    shown = ~f["_s"].to_numpy() & f["share"].notna().to_numpy()
    share = 100 * f["share"].to_numpy(float)
    err = np.vstack([share - 100 * f["ci_lower"].to_numpy(float), 100 * f["ci_upper"].to_numpy(float) - share])
    ax.barh(y[shown], share[shown], xerr=err[:, shown], color=color, ecolor="#333333", capsize=3)
    for yi in y[~shown]:
        ax.text(0, yi, "  suppressed (n < k)", va="center", fontsize=8, color="#666666")
    ax.set_yticks(y, f[label_col].astype(str).tolist())
    ax.set_xlabel("share of comments mentioning the theme (%)")
    ax.set_xlim(left=0)
    return ax


def theme_trend(frame: pd.DataFrame, *, ax=None, themes: list[str] | None = None):
    """One line per theme across periods (the ``segment`` column of :func:`cxlib.voc.theme_trend`), with its
    interval as a band.

    Examples
    --------
    >>> f = pd.DataFrame({"theme": ["price"] * 2, "segment": ["2025Q3", "2025Q4"], "share": [0.1, 0.2],
    ...                   "ci_lower": [0.05, 0.15], "ci_upper": [0.15, 0.25]})
    >>> theme_trend(f).lines[0].get_ydata().tolist()
    [10.0, 20.0]
    """
    _require(frame, ["theme", "segment", "share", "ci_lower", "ci_upper"], "theme_trend")
    ax = _axes(ax)
    periods = sorted(frame["segment"].astype(str).unique())
    x = np.arange(len(periods))
    for theme in themes or list(dict.fromkeys(frame["theme"])):
        sub = frame[frame["theme"] == theme].assign(_s=lambda d: _suppressed(d))
        sub = sub.set_index(sub["segment"].astype(str)).reindex(periods)
        s = sub["share"].where(~sub["_s"].fillna(False).astype(bool)).to_numpy(float) * 100
        line, = ax.plot(x, s, marker="o", label=str(theme))
        ax.fill_between(x, 100 * sub["ci_lower"].to_numpy(float), 100 * sub["ci_upper"].to_numpy(float),
                        where=~np.isnan(s), color=line.get_color(), alpha=0.15, linewidth=0)
    ax.set_xticks(x, periods)
    ax.set_ylabel("share of comments (%)")
    ax.legend(fontsize=8, ncols=2)
    return ax


def sentiment_by(frame: pd.DataFrame, *, ax=None, label_col: str = "segment"):
    """Dot-and-interval plot of mean sentiment per segment (the frame of :func:`cxlib.voc.sentiment_by`).

    Examples
    --------
    >>> f = pd.DataFrame({"segment": ["app", "store"], "estimate": [-0.2, 0.4], "ci_lower": [-0.3, 0.3],
    ...                   "ci_upper": [-0.1, 0.5]})
    >>> sentiment_by(f).collections[0].get_offsets()[:, 0].tolist()
    [-0.2, 0.4]
    """
    _require(frame, [label_col, "estimate", "ci_lower", "ci_upper"], "sentiment_by")
    ax = _axes(ax)
    f = frame.assign(_s=_suppressed(frame)).reset_index(drop=True)
    ok = ~f["_s"].to_numpy() & f["estimate"].notna().to_numpy()
    y = np.arange(len(f))
    est = f["estimate"].to_numpy(float)
    ax.scatter(est[ok], y[ok], color="#3b6ea5", zorder=3)
    ax.hlines(y[ok], f["ci_lower"].to_numpy(float)[ok], f["ci_upper"].to_numpy(float)[ok], color="#3b6ea5")
    for yi in y[~ok]:
        ax.text(0, yi, "suppressed (n < k)", va="center", ha="center", fontsize=8, color="#666666")
    ax.axvline(0, color="#999999", linewidth=0.8)
    ax.set_yticks(y, f[label_col].astype(str).tolist())
    ax.set_xlim(-1, 1)
    ax.set_xlabel("mean VADER compound sentiment (-1 to 1)")
    return ax


def driver_quadrant(frame: pd.DataFrame, *, ax=None):
    """The impact-vs-performance chart (frame of :func:`cxlib.voc.impact_performance`).

    Impact (share of R^2) on the x axis with its bootstrap interval, performance (0-100) on the y
    axis, lines at the quadrant cuts and the quadrant names in the corners.

    Examples
    --------
    >>> f = pd.DataFrame({"driver": ["a", "b"], "impact": [0.7, 0.3], "impact_ci_lower": [0.6, 0.2],
    ...                   "impact_ci_upper": [0.8, 0.4], "performance": [40.0, 80.0],
    ...                   "impact_cut": 0.5, "performance_cut": 60.0})
    >>> ax = driver_quadrant(f)
    >>> ax.collections[0].get_offsets().tolist(), [t.get_text() for t in ax.texts][:2]
    ([[70.0, 40.0], [30.0, 80.0]], ['a', 'b'])
    """
    _require(frame, ["driver", "impact", "impact_ci_lower", "impact_ci_upper", "performance", "impact_cut",
                     "performance_cut"], "driver_quadrant")
    ax = _axes(ax, size=(6.4, 4.8))
    x = 100 * frame["impact"].to_numpy(float)
    y = frame["performance"].to_numpy(float)
    ax.scatter(x, y, color="#3b6ea5", zorder=3)
    ax.hlines(y, 100 * frame["impact_ci_lower"].to_numpy(float), 100 * frame["impact_ci_upper"].to_numpy(float),
              color="#3b6ea5", alpha=0.5)
    for xi, yi, name in zip(x, y, frame["driver"].astype(str)):
        ax.annotate(name, (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=8)
    xc, yc = 100 * float(frame["impact_cut"].iloc[0]), float(frame["performance_cut"].iloc[0])
    ax.axvline(xc, color="#999999", linestyle="--", linewidth=0.8)
    ax.axhline(yc, color="#999999", linestyle="--", linewidth=0.8)
    for (hx, hy), name in {(1, 0): "fix first", (1, 1): "keep up", (0, 0): "monitor",
                           (0, 1): "possible overkill"}.items():
        ax.text(0.98 if hx else 0.02, 0.97 if hy else 0.03, name, transform=ax.transAxes, fontsize=8,
                ha="right" if hx else "left", va="top" if hy else "bottom", color="#666666", style="italic")
    ax.set_xlabel("impact: share of explained variance (%)")
    ax.set_ylabel("performance (0-100)")
    return ax
