"""Segment and alert plots: the choice of k, what sets segments apart, and the alerts with their intervals.

Statistics come from :mod:`cxlib.segments` and :mod:`cxlib.actions`; nothing is estimated here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataContractError, ParameterError

__all__ = ["selection_curve", "profile_heatmap", "alert_forest"]

_UNIT = {"nps": (1.0, "NPS points"), "csat": (100.0, "CSAT percentage points"), "ces": (1.0, "CES points"),
         "churn": (100.0, "churn percentage points"), "sla_share": (100.0, "SLA share percentage points"),
         "resolved_24h": (100.0, "resolved-in-24-h percentage points"),
         "conversion": (100.0, "conversion percentage points")}


def _new_ax(size) -> Axes:
    return Figure(figsize=size, layout="constrained").subplots()


def _require(frame: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataContractError(f"{what} needs column(s) {missing}; found {list(frame.columns)}.", column=missing[0],
                                rule="column present")


def selection_curve(selection: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """The selection criterion against the number of segments, the chosen k marked.

    >>> sel = pd.DataFrame({"k": [2, 3, 4], "criterion": ["silhouette"] * 3, "value": [0.3, 0.4, 0.2],
    ...                     "chosen": [False, True, False]})
    >>> ax = selection_curve(sel)
    >>> ax.lines[0].get_ydata().tolist(), ax.collections[0].get_offsets().tolist()
    ([0.3, 0.4, 0.2], [[3.0, 0.4]])
    """
    _require(selection, ("k", "criterion", "value", "chosen"), "selection_curve")
    ax = ax or _new_ax((5.5, 3.2))
    ax.plot(selection["k"].to_numpy(), selection["value"].to_numpy(dtype=float), marker="o", color="#4c72b0")
    best = selection[selection["chosen"]]
    ax.scatter(best["k"].to_numpy(dtype=float), best["value"].to_numpy(dtype=float), s=120, facecolors="none",
               edgecolors="#c44e52", linewidths=2, zorder=3, label="chosen")
    crit = str(selection["criterion"].iloc[0])
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("mean silhouette width (higher is better)" if crit == "silhouette" else "BIC (lower is better)")
    ax.set_xticks(selection["k"].to_numpy())
    ax.legend(frameon=False, fontsize=8)
    return ax


def profile_heatmap(profile: pd.DataFrame, *, labels: dict[str, str] | None = None, ax: Axes | None = None,
                    limit: float = 1.5) -> Axes:
    """Hedges' g of each feature (columns) in each segment against the rest (rows), diverging colours.

    >>> p = pd.DataFrame({"segment": ["S1", "S1", "S2", "S2"], "feature": ["a", "b", "a", "b"],
    ...                   "effect_size": [1.0, -0.5, -1.0, 0.5], "n": [5, 5, 3, 3]})
    >>> ax = profile_heatmap(p)
    >>> ax.images[0].get_array().tolist(), [t.get_text() for t in ax.get_yticklabels()]
    ([[1.0, -0.5], [-1.0, 0.5]], ['S1 (n = 5)', 'S2 (n = 3)'])
    """
    _require(profile, ("segment", "feature", "effect_size", "n"), "profile_heatmap")
    if profile.empty:
        raise ParameterError("profile is empty: nothing to draw.")
    labels = labels or {}
    features = list(dict.fromkeys(profile["feature"]))
    wide = profile.pivot(index="segment", columns="feature", values="effect_size")[features]
    sizes = profile.groupby("segment")["n"].first()
    ax = ax or _new_ax((1.1 + 0.75 * len(features), 0.9 + 0.45 * len(wide)))
    img = ax.imshow(wide.to_numpy(dtype=float), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(features)), [labels.get(f, f.replace("_", " ")) for f in features], rotation=40,
                  ha="right", fontsize=8)
    ax.set_yticks(range(len(wide)), [f"{s} (n = {int(sizes[s]):,})" for s in wide.index], fontsize=8)
    for (i, j), v in np.ndenumerate(wide.to_numpy(dtype=float)):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(v) > 0.6 * limit else "black")
    ax.figure.colorbar(img, ax=ax, shrink=0.8, label="Hedges' g, segment vs rest")
    return ax


def alert_forest(alerts: pd.DataFrame, *, ax: Axes | None = None, max_rows: int = 25) -> Axes:
    """Each alert's change with its interval, one row per alert, red when worse and blue when better.

    Changes are drawn in display units (CSAT in percentage points); one panel mixes metrics, so the
    row label names the metric and unit.

    >>> a = pd.DataFrame({"segment_column": ["tier"], "segment": ["gold"], "metric": ["nps"], "change": [-8.0],
    ...                   "ci_lower": [-12.0], "ci_upper": [-4.0], "direction": ["worsened"]})
    >>> ax = alert_forest(a)
    >>> ax.lines[0].get_xdata().tolist(), ax.get_yticklabels()[0].get_text()
    ([-12.0, -4.0], 'tier = gold: NPS points')
    """
    _require(alerts, ("segment_column", "segment", "metric", "change", "ci_lower", "ci_upper", "direction"),
             "alert_forest")
    rows = alerts.head(max_rows).reset_index(drop=True)
    ax = ax or _new_ax((7, 0.8 + 0.35 * max(len(rows), 1)))
    if rows.empty:
        ax.text(0.5, 0.5, "no alerts", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
        return ax
    names = []
    for i, r in enumerate(rows.itertuples()):
        scale, unit = _UNIT[r.metric]
        y = len(rows) - 1 - i
        color = "#c44e52" if r.direction == "worsened" else "#4c72b0"
        ax.plot([scale * r.ci_lower, scale * r.ci_upper], [y, y], color=color, linewidth=2)
        ax.plot([scale * r.change], [y], marker="o", color=color)
        names.append((y, f"{r.segment_column} = {r.segment}: {unit}"))
    ax.axvline(0, color="grey", linewidth=0.8, linestyle=":")
    names.sort()
    ax.set_yticks([y for y, _ in names], [n for _, n in names], fontsize=8)
    ax.set_xlabel("change with its confidence interval (metric units)")
    return ax
