"""Plots of program evaluations: event study, counterfactual, synthetic control, design comparison.

Each function draws what :mod:`cxlib.evaluation` computed; none computes a
statistic.  Without ``ax`` a new Figure is made through the object API (no
pyplot state, nothing global).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import ParameterError

__all__ = ["event_study_plot", "counterfactual_plot", "synthetic_control_plot", "effects_plot"]

_BLUE, _ORANGE, _GREY = "#1f4e79", "#c55a11", "#9ca3af"


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    return ax if ax is not None else Figure(figsize=size, layout="constrained").subplots()


def event_study_plot(result, *, ax: Axes | None = None, ylabel: str | None = None,
                     title: str | None = None) -> Axes:
    """Effects by periods since the program start, with pointwise intervals; leads in grey.

    Parameters
    ----------
    result : EventStudyResult or EffectResult
        An :func:`~cxlib.evaluation.event_study` result, or a
        :func:`~cxlib.evaluation.staggered_did` result (its ``"event_study"`` table).
    ax : Axes, optional
        Where to draw (default: a new Figure).
    ylabel, title : str, optional
        Labels (the title defaults to the pre-trend test's p-value when known).

    Returns
    -------
    matplotlib.axes.Axes
        Error bars (one container per period kind: "pre", "post"), a zero line
        and a dashed line just before event time 0.

    Examples
    --------
    >>> import numpy as np
    >>> from cxlib.evaluation import event_study
    >>> from cxlib.evaluation.simulate import simulate_panel
    >>> panel, _ = simulate_panel(n_units=30, n_periods=8, rng=np.random.default_rng(2))
    >>> es = event_study(panel, outcome="y", unit="unit", time="period", first_treated="first_treated")
    >>> len(event_study_plot(es).containers)
    2
    """
    if hasattr(result, "table") and hasattr(result, "pre_trend_p_value"):
        table, p_pre = result.to_frame(), result.pre_trend_p_value
    elif hasattr(result, "tables") and "event_study" in result.tables:
        table, p_pre = result.tables["event_study"], result.pre_trend_p_value
    else:
        raise ParameterError("event_study_plot() needs an event_study() or staggered_did() result; "
                             f"got {type(result).__name__}.")
    ax = _axes(ax, (6.5, 3.6))
    for kind, color, label in (("pre", _GREY, "before the program (should be ~0)"),
                               ("post", _BLUE, "after the program start")):
        part = table[table["period_kind"] == kind]
        if len(part):
            err = np.vstack([part["estimate"] - part["ci_lower"], part["ci_upper"] - part["estimate"]])
            ax.errorbar(part["event_time"], part["estimate"], yerr=err, fmt="o", color=color, capsize=2,
                        label=label)
    ref = table[table["period_kind"] == "reference"]
    if len(ref):
        ax.plot(ref["event_time"], ref["estimate"], marker="D", linestyle="none", color="black",
                label="reference period")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color=_ORANGE, linestyle="--", linewidth=1)
    ax.set_xlabel("periods since the program start")
    ax.set_ylabel(ylabel or f"effect on {table['metric'].iloc[0]}")
    level = f"{100 * float(table['ci_level'].iloc[0]):g}%"
    pre = "" if p_pre is None or math.isnan(p_pre) else f"; pre-trend test p = {p_pre:.2g}"
    ax.set_title(title or f"Event study ({level} pointwise intervals{pre})", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def counterfactual_plot(result, *, ax: Axes | None = None, ylabel: str | None = None,
                        title: str | None = None) -> Axes:
    """Actual series against the counterfactual (ITS, structural model or synthetic control).

    Parameters
    ----------
    result : EffectResult
        From :func:`~cxlib.evaluation.its`, :func:`~cxlib.evaluation.structural_counterfactual`
        or :func:`~cxlib.evaluation.synthetic_control` (its ``"series"`` table).
    ax : Axes, optional
        Where to draw.
    ylabel, title : str, optional
        Labels.

    Returns
    -------
    matplotlib.axes.Axes
        Line 0 is the actual series, line 1 the counterfactual; the structural
        model adds its prediction band; a dashed line marks the program start.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cxlib.evaluation import its
    >>> t = np.arange(30)
    >>> res = its(pd.DataFrame({"t": t, "y": 10 + 0.1 * t - 2 * (t >= 20) + np.sin(t)}), outcome="y",
    ...           time="t", intervention_start=20)
    >>> [line.get_label() for line in counterfactual_plot(res).lines[:2]]
    ['actual', 'counterfactual (interrupted time series)']
    """
    series = getattr(result, "tables", {}).get("series")
    if series is None or result.design not in ("its", "structural", "synthetic_control"):
        raise ParameterError("counterfactual_plot() needs an its(), structural_counterfactual() or "
                             f"synthetic_control() result; got {getattr(result, 'design', type(result).__name__)!r}.")
    ax = _axes(ax, (6.5, 3.6))
    names = {"its": "interrupted time series", "structural": "structural model",
             "synthetic_control": "synthetic control"}
    actual = "treated" if result.design == "synthetic_control" else "actual"
    cf = {"its": "counterfactual", "structural": "predicted", "synthetic_control": "synthetic"}[result.design]
    ax.plot(series["time"], series[actual], color=_BLUE, label="actual")
    ax.plot(series["time"], series[cf], color=_ORANGE, linestyle="--", label=f"counterfactual ({names[result.design]})")
    if result.design == "structural":
        ax.fill_between(series["time"], series["predicted_lower"], series["predicted_upper"], color=_ORANGE,
                        alpha=0.2, linewidth=0, label=f"{100 * result.ci_level:g}% prediction interval")
    post = series[series["period_kind"] == "post"]
    if len(post):
        ax.axvline(post["time"].iloc[0], color=_GREY, linestyle=":", linewidth=1)
    ax.set_ylabel(ylabel or result.metric)
    ax.set_title(title or f"Actual vs counterfactual: {result.metric}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def synthetic_control_plot(result, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Gap between each unit and its synthetic control: the treated unit over the placebos.

    Parameters
    ----------
    result : EffectResult
        A :func:`~cxlib.evaluation.synthetic_control` result run with placebos.
    ax : Axes, optional
        Where to draw.
    title : str, optional
        Title (default names the permutation p-value).

    Returns
    -------
    matplotlib.axes.Axes
        One grey line per placebo unit, then the treated unit's gap in colour (the last line).
    """
    if getattr(result, "design", None) != "synthetic_control" or "placebo_gaps" not in result.tables:
        raise ParameterError("synthetic_control_plot() needs a synthetic_control() result.")
    gaps = result.tables["placebo_gaps"]
    treated = result.tables["placebos"].loc[lambda d: d["is_treated"], "unit"].iloc[0]
    ax = _axes(ax, (6.5, 3.6))
    for name, part in gaps[gaps["unit"] != treated].groupby("unit", sort=True):
        ax.plot(part["time"], part["gap"], color=_GREY, linewidth=0.7, alpha=0.7)
    own = gaps[gaps["unit"] == treated]
    ax.plot(own["time"], own["gap"], color=_BLUE, linewidth=2, label=f"{treated} (treated)")
    series = result.tables["series"]
    post = series[series["period_kind"] == "post"]
    ax.axvline(post["time"].iloc[0], color=_ORANGE, linestyle="--", linewidth=1)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_ylabel(f"gap in {result.metric} (unit - synthetic)")
    ax.set_title(title or f"Placebo-in-space: permutation p = {result.p_value:.2g}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def effects_plot(frame: pd.DataFrame, *, relative: bool = True, ax: Axes | None = None,
                 title: str | None = None) -> Axes:
    """Forest plot of effects by design (naive vs proper designs), one row per result.

    Parameters
    ----------
    frame : pandas.DataFrame
        Stacked ``EffectResult.to_frame()`` rows.
    relative : bool
        Plot relative effects in percent (default) or absolute effects.
    ax : Axes, optional
        Where to draw.
    title : str, optional
        Title.

    Returns
    -------
    matplotlib.axes.Axes
        One error-bar container per row, naive rows in orange; y tick labels
        ``"metric: design"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cxlib.evaluation import EffectResult
    >>> rows = pd.concat([EffectResult(metric="m", design=d, estimate=-1.0, ci_lower=-2.0, ci_upper=0.0,
    ...                                relative_estimate=-0.1, relative_ci_lower=-0.2, relative_ci_upper=0.0,
    ...                                method="x").to_frame() for d in ("naive", "twfe")])
    >>> [t.get_text() for t in effects_plot(rows).get_yticklabels()]
    ['m: naive', 'm: twfe']
    """
    cols = ("relative_estimate", "relative_ci_lower", "relative_ci_upper") if relative else \
        ("estimate", "ci_lower", "ci_upper")
    missing = [c for c in (*cols, "metric", "design") if c not in frame.columns]
    if missing:
        raise ParameterError(f"effects_plot() needs EffectResult.to_frame() rows; missing {missing}.")
    f = frame.reset_index(drop=True)
    scale = 100.0 if relative else 1.0
    ax = _axes(ax, (6.5, 0.45 * len(f) + 1.2))
    y = np.arange(len(f))[::-1]
    for i, row in f.iterrows():
        est, lo, hi = (scale * row[c] for c in cols)
        err = None if (math.isnan(lo) or math.isnan(hi)) else np.array([[est - lo], [hi - est]])
        ax.errorbar([est], [y[i]], xerr=err, fmt="o", capsize=3,
                    color=_ORANGE if row["design"] == "naive" else _BLUE)
    ax.set_yticks(y, [f"{m}: {d}" for m, d in zip(f["metric"], f["design"])])
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("effect (%)" if relative else "effect")
    ax.set_title(title or "Effect by design (orange: naive)", fontsize=10)
    return ax
