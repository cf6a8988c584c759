"""Plots of metrics and tests: trends with interval bands, forest plots, score distributions, sequences.

Each function draws what :mod:`cxlib.metrics` or :mod:`cxlib.significance` computed; none computes
a statistic. Without ``ax`` a new Figure is made through the object API.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataContractError
from ..stats import check_alpha

PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#843c0c", "#6b7280")


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=size, layout="constrained").subplots()


def _need(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataContractError(f"{what} needs columns {list(columns)}; missing {missing} "
                                f"(found {list(frame.columns)}).",
                                column=missing[0], rule="column present")


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Index levels of a grouped metric frame become columns."""
    if any(name is not None for name in frame.index.names):
        return frame.reset_index()
    return frame


def trend_plot(frame: pd.DataFrame, *, x: str = "period", hue: str | None = None, ax: Axes | None = None,
               reference: float | None = None, ylabel: str | None = None, title: str | None = None) -> Axes:
    """Estimates over periods as lines with their confidence intervals as bands.

    Parameters
    ----------
    frame : DataFrame
        A split metric frame (``by_segment(nps, df, segment="quarter")``; index levels are used as columns) or a
        trends table; needs ``x``, ``estimate``, ``ci_lower``, ``ci_upper`` (and ``hue``).
    x : str
        Period column; its values are drawn in sorted order, equally spaced.
    hue : str, optional
        One line and band per value of this column (a segment).
    reference : float, optional
        Horizontal reference line (a target, or last year's level).
    ylabel, title : str, optional
        Labels (the y label defaults to the ``metric`` column's value).

    Returns
    -------
    matplotlib.axes.Axes
        Lines carry the group as their label (``gid="estimate"``), bands ``gid="interval"``.

    Examples
    --------
    >>> t = pd.DataFrame({"period": ["2025Q3", "2025Q4"], "estimate": [20.0, 25.0],
    ...                   "ci_lower": [15.0, 20.0], "ci_upper": [25.0, 30.0]})
    >>> trend_plot(t).lines[0].get_ydata().tolist()
    [20.0, 25.0]
    """
    data = _tidy(frame)
    _need(data, [x, "estimate", "ci_lower", "ci_upper", *([hue] if hue else [])], "trend_plot")
    ax = _axes(ax, (6.5, 3.2))
    periods = sorted(data[x].astype(str).unique())
    pos = {p: i for i, p in enumerate(periods)}
    groups = data.groupby(hue, sort=True, observed=True) if hue else [(None, data)]
    for i, (name, sub) in enumerate(groups):
        sub = sub.assign(_x=sub[x].astype(str).map(pos)).sort_values("_x")
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(sub["_x"], sub["ci_lower"], sub["ci_upper"], color=colour, alpha=0.18, linewidth=0,
                        gid="interval")
        ax.plot(sub["_x"], sub["estimate"], marker="o", color=colour, label=str(name) if hue else "estimate",
                gid="estimate")
    if reference is not None:
        ax.axhline(reference, color="#6b7280", linestyle="--", linewidth=1, gid="reference")
    ax.set_xticks(range(len(periods)), periods, rotation=30 if len(periods) > 4 else 0,
                  ha="right" if len(periods) > 4 else "center")
    metric = str(data["metric"].iloc[0]) if "metric" in data.columns and len(data) else ""
    ax.set_ylabel(ylabel if ylabel is not None else metric)
    if hue:
        ax.legend(title=hue, frameon=False, fontsize="small")
    if title:
        ax.set_title(title, loc="left")
    ax.grid(axis="y", alpha=0.3)
    return ax


def forest_plot(tests: pd.DataFrame, *, ax: Axes | None = None, alpha: float = 0.05, label: str | None = None,
                xlabel: str | None = None, title: str | None = None) -> Axes:
    """Differences with their intervals, one row per comparison; filled markers are significant.

    Parameters
    ----------
    tests : DataFrame
        Comparison rows (``cxlib.significance.TEST_COLUMNS``: ``pairwise(...)`` or stacked ``to_frame()``).
    alpha : float
        Significance level; ``p_adjusted`` is used where present, else ``p_value``.
    label : str, optional
        Column naming each row (default ``comparison``).

    Returns
    -------
    matplotlib.axes.Axes
        One error bar per row (top row first); the markers' face colours say significance.

    Examples
    --------
    >>> t = pd.DataFrame({"comparison": ["gold vs rest"], "difference": [5.0], "ci_lower": [1.0],
    ...                   "ci_upper": [9.0], "p_value": [0.01], "p_adjusted": [0.02]})
    >>> ax = forest_plot(t)
    >>> [tick.get_text() for tick in ax.get_yticklabels()]
    ['gold vs rest']
    """
    label = label or "comparison"
    _need(tests, [label, "difference", "ci_lower", "ci_upper", "p_value"], "forest_plot")
    check_alpha(alpha)
    ax = _axes(ax, (6.5, 0.45 * len(tests) + 1.2))
    p = tests["p_adjusted"].where(tests["p_adjusted"].notna(), tests["p_value"]) if "p_adjusted" in tests else \
        tests["p_value"]
    y = np.arange(len(tests))[::-1]
    diff = tests["difference"].to_numpy(dtype=float)
    lo = tests["ci_lower"].to_numpy(dtype=float)
    hi = tests["ci_upper"].to_numpy(dtype=float)
    significant = (p < alpha).to_numpy()
    ax.hlines(y, lo, hi, color=PALETTE[0], linewidth=2, gid="interval")
    ax.scatter(diff, y, s=40, zorder=3, edgecolors=PALETTE[0],
               facecolors=[PALETTE[0] if s else "white" for s in significant], gid="difference")
    ax.axvline(0, color="#6b7280", linewidth=1, linestyle="--")
    ax.set_yticks(y, tests[label].astype(str).tolist())
    ax.set_xlabel(xlabel or "difference (filled: significant after adjustment)")
    if title:
        ax.set_title(title, loc="left")
    ax.grid(axis="x", alpha=0.3)
    return ax


def distribution_plot(dist: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Stacked horizontal bars of the share of each score per segment (``score_distribution`` output).

    Examples
    --------
    >>> d = pd.DataFrame({"segment": ["all"] * 2, "value": [1, 2], "share": [0.25, 0.75]})
    >>> len(distribution_plot(d).patches)
    2
    """
    _need(dist, ["segment", "value", "share"], "distribution_plot")
    ax = _axes(ax, (6.5, 0.5 * dist["segment"].nunique() + 1.4))
    wide = dist.pivot_table(index="segment", columns="value", values="share", aggfunc="sum", sort=True).fillna(0.0)
    left = np.zeros(len(wide))
    cmap = np.linspace(0.15, 0.85, wide.shape[1])
    for i, value in enumerate(wide.columns):
        colour = (cmap[i], 0.35, 1 - cmap[i])
        ax.barh(range(len(wide)), wide[value], left=left, color=colour, label=str(value), gid=f"score:{value}")
        left += wide[value].to_numpy()
    ax.set_yticks(range(len(wide)), wide.index.astype(str).tolist())
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of responses")
    ax.legend(title="score", ncols=min(wide.shape[1], 7), frameon=False, fontsize="small",
              loc="upper center", bbox_to_anchor=(0.5, -0.25))
    if title:
        ax.set_title(title, loc="left")
    return ax


def sequence_plot(cs: pd.DataFrame, *, reference: float | None = None, ax: Axes | None = None,
                  title: str | None = None) -> Axes:
    """A running estimate with its always-valid confidence sequence (``confidence_sequence`` output).

    Examples
    --------
    >>> cs = pd.DataFrame({"n": [50, 100], "estimate": [10.0, 12.0], "ci_lower": [-20.0, -8.0],
    ...                    "ci_upper": [40.0, 32.0], "metric": "nps"})
    >>> sequence_plot(cs, reference=5.0).lines[0].get_xdata().tolist()
    [50, 100]
    """
    _need(cs, ["n", "estimate", "ci_lower", "ci_upper"], "sequence_plot")
    ax = _axes(ax, (6.5, 3.0))
    ax.fill_between(cs["n"], cs["ci_lower"], cs["ci_upper"], color=PALETTE[0], alpha=0.18, linewidth=0,
                    gid="interval")
    ax.plot(cs["n"], cs["estimate"], color=PALETTE[0], marker=".", gid="estimate")
    if reference is not None:
        ax.axhline(reference, color=PALETTE[1], linestyle="--", linewidth=1, gid="reference")
    ax.set_xlabel("responses so far")
    ax.set_ylabel(str(cs["metric"].iloc[0]) if "metric" in cs.columns and len(cs) else "estimate")
    if title:
        ax.set_title(title, loc="left")
    ax.grid(alpha=0.3)
    return ax
