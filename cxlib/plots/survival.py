"""Survival plots: Kaplan-Meier curves with confidence bands and the numbers at risk under the axis.

Statistics come from :mod:`cxlib.survival` (``KaplanMeier.curves`` and
:func:`cxlib.sections.churn.at_risk_table`); nothing is estimated here.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import ParameterError

__all__ = ["km_curves"]

_CURVE_NEEDS = ("segment", "time", "survival", "ci_lower", "ci_upper")


def km_curves(curves: pd.DataFrame, *, at_risk: pd.DataFrame | None = None, title: str | None = None,
              time_label: str = "days since start", ax: Axes | None = None) -> Axes:
    """Step curves of Kaplan-Meier survival per segment with shaded confidence bands.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``KaplanMeier.curves`` (columns ``segment, time, survival, ci_lower, ci_upper``).
    at_risk : pandas.DataFrame, optional
        ``segment, time, at_risk`` (from :func:`cxlib.sections.churn.at_risk_table`); printed as a
        small table under the x axis, one row per segment, at the given times (also the x ticks).
    title, time_label : str
        Axes title and x-axis label.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new Figure (object API, no pyplot) when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> c = pd.DataFrame({"segment": ["a"] * 3, "time": [0.0, 1.0, 2.0], "survival": [1.0, 0.5, 0.25],
    ...                   "ci_lower": [1.0, 0.2, 0.05], "ci_upper": [1.0, 0.8, 0.6]})
    >>> ax = km_curves(c, at_risk=pd.DataFrame({"segment": ["a", "a"], "time": [0.0, 2.0], "at_risk": [4, 1]}))
    >>> [line.get_label() for line in ax.get_lines()]
    ['a']
    """
    missing = [c for c in _CURVE_NEEDS if c not in curves.columns]
    if missing:
        raise ParameterError(f"curves lack column(s) {missing}; pass KaplanMeier.curves.")
    if ax is None:
        ax = Figure(figsize=(7, 4.2), layout="constrained").subplots()
    segments = list(dict.fromkeys(curves["segment"]))
    colours = {}
    for seg in segments:
        c = curves[curves["segment"] == seg]
        (line,) = ax.step(c["time"], c["survival"], where="post", label=str(seg), linewidth=1.6)
        colours[seg] = line.get_color()
        ax.fill_between(c["time"], c["ci_lower"], c["ci_upper"], step="post", alpha=0.18, color=line.get_color(),
                        linewidth=0)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share still subscribed")
    ax.set_xlabel(time_label)
    ax.grid(alpha=0.3)
    if len(segments) > 1:
        ax.legend(fontsize=7, loc="lower left", frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    if at_risk is not None and len(at_risk):
        times = sorted(at_risk["time"].unique())
        ax.set_xticks(times)
        ax.set_xlim(min(times[0], 0), max(times[-1], float(curves["time"].max())) * 1.01)
        ax.annotate("At risk", xy=(0, 0), xycoords="axes fraction", xytext=(-4, -38),
                    textcoords="offset points", ha="right", va="top", fontsize=6.5, fontweight="bold")
        for k, seg in enumerate(segments):
            rows = at_risk[at_risk["segment"] == seg]
            for r in rows.itertuples():
                ax.annotate(f"{int(r.at_risk):,}", xy=(r.time, 0), xycoords=("data", "axes fraction"),
                            xytext=(0, -38 - 8 * (k + 1)), textcoords="offset points", ha="center", va="top",
                            fontsize=6.5, color=colours.get(seg, "black"))
    return ax
