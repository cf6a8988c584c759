"""Plots of journey analyses: flow of the top paths, funnel, transition heatmap, attribution bars.

Each function draws what :mod:`cxlib.journey` computed; none computes a statistic.  Without
``ax`` a new Figure is made through the object API (no pyplot state, no backend switching).
The flow picture is a static Sankey drawn with matplotlib patches, so it lands in the PDF as is;
:func:`path_flow_svg` draws the same nodes and bands as an inline SVG for the HTML report (hover a band or a
node for its count; no JavaScript library, so the report stays small); :func:`path_flow_interactive` draws
them as a plotly Sankey.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from ..errors import DataContractError, ParameterError

__all__ = ["path_flow", "path_flow_interactive", "path_flow_svg", "funnel_chart", "transition_heatmap", "attribution_bars", "conversion_incidence"]

PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#843c0c", "#6b7280",
           "#0e7c7b", "#b83b5e", "#5f6caf", "#8c6d31", "#3f7f3f", "#a05195")
END_CONVERTED, END_LOST = "converted", "not converted"


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=size, layout="constrained").subplots()


def _frame(result: Any, columns: Sequence[str], what: str) -> pd.DataFrame:
    frame = result.to_frame() if hasattr(result, "to_frame") else result
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"{what} draws a result of cxlib.journey or its to_frame(); got {type(result).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataContractError(f"{what} needs columns {list(columns)}; missing {missing} (found {list(frame.columns)}).",
                                column=missing[0], rule="column present")
    return frame


def _colors(labels: Sequence[str]) -> dict[str, str]:
    fixed = {END_CONVERTED: "#2e7d32", END_LOST: "#9e9e9e"}
    names = sorted(set(labels) - set(fixed))
    return {**{n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}, **fixed}


def path_flow(paths: Any, *, max_steps: int = 6, sep: str = " > ", gap: float = 0.04, ax: Axes | None = None,
              title: str | None = None) -> Axes:
    """Static Sankey of the top paths: one column per step, bands as wide as the journeys taking them.

    Parameters
    ----------
    paths : PathTable or DataFrame
        ``top_paths(...)`` (its ``(other)`` row is left out) or a frame with ``path``, ``journeys``
        and ``conversions``.
    max_steps : int
        Steps drawn per path; longer paths are cut and marked with ``...``.
    sep : str
        Step separator of the ``path`` text.
    gap : float
        Vertical space between nodes of a column, as a share of all journeys drawn.

    Returns
    -------
    matplotlib.axes.Axes
        Nodes are Rectangles (``gid`` = ``"node:<column>:<label>"``) and bands PathPatches
        (``gid`` = ``"band:<column>:<from>-><to>"``); each path ends in ``converted`` and
        ``not converted`` nodes sized by its conversions.
    """
    frame, flows, nodes = _path_flows(paths, max_steps=max_steps, sep=sep, what="path_flow")
    total = float(frame["journeys"].sum())
    colors = _colors([label for _, label in nodes])
    width = 0.18
    ax = _axes(ax, (10, 5.5))
    pos: dict[tuple[int, str], list[float]] = {}
    for col in sorted({c for c, _ in nodes}):
        here = sorted([k for k in nodes if k[0] == col], key=lambda k: (k[1] in (END_CONVERTED, END_LOST), -nodes[k], k[1]))
        y = 0.0
        for key in here:
            h = nodes[key] / total
            pos[key] = [y, y + h, y, y]  # bottom, top, outgoing cursor, incoming cursor
            ax.add_patch(Rectangle((col - width / 2, y), width, h, facecolor=colors[key[1]], edgecolor="white",
                                   gid=f"node:{col}:{key[1]}"))
            if h > 0.02:
                ax.text(col, y + h / 2, f"{key[1]}\n{nodes[key]:,.0f}", ha="center", va="center", fontsize=7,
                        color="white" if key[1] != END_LOST else "black")
            y += h + gap
    for (i, a, b), w in sorted(flows.items(), key=lambda kv: (kv[0][0], pos[(kv[0][0], kv[0][1])][0],
                                                               pos[(kv[0][0] + 1, kv[0][2])][0])):
        h = w / total
        src, dst = pos[(i, a)], pos[(i + 1, b)]
        y0, y1 = src[2], dst[3]
        src[2] += h
        dst[3] += h
        x0, x1 = i + width / 2, i + 1 - width / 2
        xm = (x0 + x1) / 2
        verts = [(x0, y0), (xm, y0), (xm, y1), (x1, y1), (x1, y1 + h), (xm, y1 + h), (xm, y0 + h), (x0, y0 + h),
                 (x0, y0)]
        codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO, MplPath.CURVE4,
                 MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
        ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=colors[a], alpha=0.35, edgecolor="none",
                               gid=f"band:{i}:{a}->{b}"))
    n_cols = max(c for c, _ in nodes) + 1
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(max(v[1] for v in pos.values()) + gap, -gap)
    ax.set_xticks(range(n_cols), [f"step {c + 1}" for c in range(n_cols)])
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or f"Top {len(frame)} paths ({total:,.0f} journeys)")
    return ax


def _path_flows(paths: Any, *, max_steps: int, sep: str, what: str
                ) -> tuple[pd.DataFrame, dict[tuple[int, str, str], float], dict[tuple[int, str], float]]:
    """The drawn paths, the bands ``(column, from, to) -> journeys`` and nodes ``(column, label) -> journeys``.

    Layout only (no statistic): shared by :func:`path_flow` and :func:`path_flow_interactive`, so the
    static and the interactive Sankey show the same numbers.
    """
    frame = _frame(paths, ("path", "journeys", "conversions"), what)
    frame = frame[(frame["path"] != "(other)") & (frame["journeys"] > 0)]
    if frame.empty:
        raise DataContractError(f"{what} has no path to draw (all journeys are in '(other)').", rule="non-empty")
    if not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ParameterError(f"max_steps={max_steps!r} must be a whole number >= 1.")
    flows: dict[tuple[int, str, str], float] = {}
    nodes: dict[tuple[int, str], float] = {}
    for p, n, c in frame[["path", "journeys", "conversions"]].itertuples(index=False):
        steps = [s for s in str(p).split(sep) if s] or ["(no touchpoint)"]
        if len(steps) > max_steps:
            steps = steps[:max_steps - 1] + ["..."]
        nodes[(0, steps[0])] = nodes.get((0, steps[0]), 0.0) + n
        for i, (a, b) in enumerate(zip(steps, steps[1:])):
            flows[(i, a, b)] = flows.get((i, a, b), 0.0) + n
        last = len(steps) - 1
        for end, w in ((END_CONVERTED, c), (END_LOST, n - c)):
            if w > 0:
                flows[(last, steps[-1], end)] = flows.get((last, steps[-1], end), 0.0) + w
    for (i, _, b), w in flows.items():
        nodes[(i + 1, b)] = nodes.get((i + 1, b), 0.0) + w
    return frame, flows, nodes


def path_flow_interactive(paths: Any, *, max_steps: int = 6, sep: str = " > ", title: str | None = None,
                          height: int = 520) -> Any:
    """Interactive Sankey of the top paths (plotly), the same nodes and bands as :func:`path_flow`.

    Parameters
    ----------
    paths : PathTable or DataFrame
        As for :func:`path_flow`.
    max_steps, sep : int, str
        As for :func:`path_flow`.
    title : str, optional
        Figure title (default: the number of paths and journeys drawn).
    height : int
        Height in pixels (the width follows the page).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``sankey`` trace: node ``i`` has label ``"<touchpoint>"`` and customdata
        ``"step <column + 1>"``; link values are journeys.  Nodes are pinned to their step column
        (``arrangement="fixed"`` with x positions), so the picture reads left to right like the
        static one; hovering shows the counts.

    Examples
    --------
    >>> fig = path_flow_interactive(pd.DataFrame({"path": ["a > b", "b"], "journeys": [10, 5],
    ...                                           "conversions": [4, 0]}))
    >>> sorted(zip(fig.data[0].node.label, fig.data[0].node.customdata))[:2]
    [('a', 'step 1'), ('b', 'step 1')]
    >>> sum(fig.data[0].link.value)  # a->b 10, then b ends: 4 + 6 converted / not, 5 not converted
    25.0
    """
    import plotly.graph_objects as go

    frame, flows, nodes = _path_flows(paths, max_steps=max_steps, sep=sep, what="path_flow_interactive")
    order = sorted(nodes, key=lambda k: (k[0], k[1] in (END_CONVERTED, END_LOST), -nodes[k], k[1]))
    index = {k: i for i, k in enumerate(order)}
    colors = _colors([label for _, label in nodes])
    n_cols = max(c for c, _ in nodes) + 1
    total = float(frame["journeys"].sum())
    ys: dict[tuple[int, str], float] = {}
    for col in range(n_cols):  # node centres stacked top-down in each column, as in the static figure
        y = 0.0
        here = [k for k in order if k[0] == col]
        for key in here:
            h = nodes[key] / total
            ys[key] = y + h / 2
            y += h + 0.04
        scale = max(y - 0.04, 1e-9)
        for key in here:
            ys[key] = 0.01 + 0.98 * ys[key] / max(scale, 1.0)
    links = sorted(flows.items(), key=lambda kv: (kv[0][0], index[(kv[0][0], kv[0][1])],
                                                  index[(kv[0][0] + 1, kv[0][2])]))
    trace = go.Sankey(
        arrangement="fixed",
        node=dict(label=[k[1] for k in order], customdata=[f"step {k[0] + 1}" for k in order],
                  color=[colors[k[1]] for k in order], pad=12, thickness=16,
                  x=[0.01 + 0.98 * k[0] / max(n_cols - 1, 1) for k in order], y=[ys[k] for k in order],
                  hovertemplate="%{label} (%{customdata}): %{value:,.0f} journeys<extra></extra>"),
        link=dict(source=[index[(i, a)] for (i, a, _), _ in links],
                  target=[index[(i + 1, b)] for (i, _, b), _ in links],
                  value=[float(w) for _, w in links],
                  color=[_rgba(colors[a], 0.35) for (_, a, _), _ in links],
                  hovertemplate="%{source.label} -> %{target.label}: %{value:,.0f} journeys<extra></extra>"))
    fig = go.Figure(trace)
    fig.update_layout(title=title or f"Top {len(frame)} paths ({total:,.0f} journeys)", height=height,
                      font=dict(size=11), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def path_flow_svg(paths: Any, *, max_steps: int = 6, sep: str = " > ", title: str | None = None,
                  width: int = 820, height: int = 460, gap: float = 0.04) -> str:
    """The flow of the top paths as an inline SVG for the HTML report: the nodes and bands of :func:`path_flow`.

    Hovering a band or a node shows its journeys (an SVG ``<title>``, read by browsers and screen
    readers) and lifts the band out of the others (CSS); no script and no plotting library are
    embedded, so the figure costs a few kilobytes.  Labels from the data are HTML-escaped.

    Parameters
    ----------
    paths : PathTable or DataFrame
        As for :func:`path_flow`.
    max_steps, sep, gap
        As for :func:`path_flow`.
    title : str, optional
        Title above the flow (default: the number of paths and journeys drawn).
    width, height : int
        Size of the drawing in SVG units; it scales to the width of the page.

    Returns
    -------
    str
        ``<figure class="cx-flow">`` holding the ``<svg>`` (one ``<path class="band">`` per band, one
        ``<rect class="node">`` per node).

    Examples
    --------
    >>> svg = path_flow_svg(pd.DataFrame({"path": ["a > b", "b"], "journeys": [10, 5], "conversions": [4, 0]}))
    >>> svg.count('class="band"'), svg.count('class="node"')
    (4, 6)
    >>> "<title>a → b: 10 journeys</title>" in svg
    True
    """
    from ..escape import escape_html

    frame, flows, nodes = _path_flows(paths, max_steps=max_steps, sep=sep, what="path_flow_svg")
    total = float(frame["journeys"].sum())
    colors = _colors([label for _, label in nodes])
    n_cols = max(c for c, _ in nodes) + 1
    top, bottom, left, right, node_w = 34.0, 24.0, 10.0, 10.0, 92.0
    step = (width - left - right - node_w) / max(n_cols - 1, 1)
    heights = [sum(nodes[k] for k in nodes if k[0] == c) / total + gap * (sum(1 for k in nodes if k[0] == c) - 1)
               for c in range(n_cols)]
    scale = (height - top - bottom) / max(heights)
    pos: dict[tuple[int, str], list[float]] = {}
    rects, labels = [], []
    for col in range(n_cols):
        here = sorted([k for k in nodes if k[0] == col],
                      key=lambda k: (k[1] in (END_CONVERTED, END_LOST), -nodes[k], k[1]))
        y = top
        for key in here:
            h = nodes[key] / total * scale
            x = left + col * step
            pos[key] = [y, y, y]  # top, outgoing cursor, incoming cursor
            name = escape_html(key[1])
            rects.append(f'<rect class="node" x="{x:.1f}" y="{y:.1f}" width="{node_w:.1f}" height="{max(h, 0.5):.1f}" '
                         f'fill="{colors[key[1]]}"><title>{name} (step {col + 1}): {nodes[key]:,.0f} journeys'
                         f"</title></rect>")
            if h >= 22:
                ink = "#000" if key[1] == END_LOST else "#fff"
                labels.append(f'<text x="{x + node_w / 2:.1f}" y="{y + h / 2 - 2:.1f}" fill="{ink}">{name}</text>'
                              f'<text x="{x + node_w / 2:.1f}" y="{y + h / 2 + 11:.1f}" fill="{ink}">'
                              f"{nodes[key]:,.0f}</text>")
            y += h + gap * scale
    bands = []
    for (i, a, b), w in sorted(flows.items(), key=lambda kv: (kv[0][0], pos[(kv[0][0], kv[0][1])][0],
                                                               pos[(kv[0][0] + 1, kv[0][2])][0])):
        h = w / total * scale
        src, dst = pos[(i, a)], pos[(i + 1, b)]
        y0, y1 = src[1], dst[2]
        src[1] += h
        dst[2] += h
        x0, x1 = left + i * step + node_w, left + (i + 1) * step
        xm = (x0 + x1) / 2
        d = (f"M{x0:.1f},{y0:.1f} C{xm:.1f},{y0:.1f} {xm:.1f},{y1:.1f} {x1:.1f},{y1:.1f} L{x1:.1f},{y1 + h:.1f} "
             f"C{xm:.1f},{y1 + h:.1f} {xm:.1f},{y0 + h:.1f} {x0:.1f},{y0 + h:.1f} Z")
        bands.append(f'<path class="band" d="{d}" fill="{colors[a]}"><title>{escape_html(a)} → {escape_html(b)}: '
                     f"{w:,.0f} journeys</title></path>")
    steps = "".join(f'<text class="step" x="{left + c * step + node_w / 2:.1f}" y="{height - 6:.1f}">step {c + 1}'
                    f"</text>" for c in range(n_cols))
    heading = escape_html(title or f"Top {len(frame)} paths ({total:,.0f} journeys)")
    style = ("<style>.cx-flow svg{width:100%;height:auto;font-family:'DejaVu Sans',sans-serif}"
             ".cx-flow .band{fill-opacity:.35}.cx-flow .band:hover{fill-opacity:.8}"
             ".cx-flow .node:hover{stroke:#000;stroke-width:1.5}.cx-flow text{font-size:11px;text-anchor:middle;"
             "pointer-events:none}.cx-flow .step{fill:#444}.cx-flow .head{font-size:14px;font-weight:bold}</style>")
    return (f'<figure class="cx-flow">{style}<svg viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{heading}" xmlns="http://www.w3.org/2000/svg">'
            f'<text class="head" x="{width / 2:.1f}" y="18">{heading}</text>'
            + "".join(bands) + "".join(rects) + "".join(labels) + steps + "</svg></figure>")


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def funnel_chart(result: Any, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Funnel as horizontal bars of the overall rate per step, with CI whiskers and counts.

    Parameters
    ----------
    result : Funnel or DataFrame
        ``funnel(...)`` or its frame (columns ``segment, step_index, step, n_reached, overall_rate,
        overall_ci_lower, overall_ci_upper``); one bar group per step, one bar per segment.
    """
    frame = _frame(result, ("segment", "step_index", "step", "n_reached", "overall_rate", "overall_ci_lower",
                            "overall_ci_upper"), "funnel_chart")
    segments = list(dict.fromkeys(frame["segment"]))
    steps = frame.drop_duplicates("step_index").sort_values("step_index")["step"].tolist()
    ax = _axes(ax, (8, 1 + 0.6 * len(steps) * max(1, len(segments) ** 0.5)))
    h = 0.8 / len(segments)
    for j, seg in enumerate(segments):
        g = frame[frame["segment"] == seg].sort_values("step_index")
        y = np.arange(len(g)) + (j - (len(segments) - 1) / 2) * h
        est = g["overall_rate"].to_numpy(float)
        err = np.clip(np.nan_to_num(np.vstack([est - g["overall_ci_lower"].to_numpy(float),
                                               g["overall_ci_upper"].to_numpy(float) - est])), 0, None)
        ax.barh(y, est, height=h * 0.9, color=PALETTE[j % len(PALETTE)], label=str(seg), xerr=err,
                error_kw={"ecolor": "black", "capsize": 2, "lw": 0.8})
        for yy, e, top, n in zip(y, est, np.nan_to_num(g["overall_ci_upper"].to_numpy(float)), g["n_reached"]):
            ax.text(max(e, top) + 0.01, yy, f"{e:.0%} (n={n:,.0f})", va="center", fontsize=7)
    ax.set_yticks(np.arange(len(steps)), steps)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.25)
    ax.set_xlabel("share of journeys entering the funnel (95% CI)" if "ci_level" not in frame
                  else f"share of journeys entering the funnel ({frame['ci_level'].iloc[0]:.0%} CI)")
    if len(segments) > 1:
        ax.legend(title=None, fontsize=8, loc="lower right")
    ax.set_title(title or "Funnel")
    return ax


def transition_heatmap(result: Any, *, annotate: bool = True, ax: Axes | None = None,
                       title: str | None = None) -> Axes:
    """Heatmap of transition probabilities (rows: from, columns: to), annotated in percent.

    Parameters
    ----------
    result : TransitionMatrix or DataFrame
        ``transition_matrix(...)`` or a square-ish probability table (rows = from-states).
    """
    probs = result.probabilities if hasattr(result, "probabilities") else result
    if not isinstance(probs, pd.DataFrame) or probs.empty:
        raise ParameterError("transition_heatmap draws a TransitionMatrix or a non-empty probability table.")
    ax = _axes(ax, (1.5 + 0.5 * probs.shape[1], 1 + 0.45 * probs.shape[0]))
    im = ax.imshow(probs.to_numpy(float), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(probs.shape[1]), list(probs.columns), rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(probs.shape[0]), list(probs.index), fontsize=7)
    if annotate:
        for (i, j), v in np.ndenumerate(probs.to_numpy(float)):
            if v >= 0.005:
                ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if v > 0.5 else "black")
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="transition probability")
    ax.set_title(title or "Transition probabilities")
    return ax


def attribution_bars(result: Any, *, value: str = "share", methods: Sequence[str] | None = None,
                     ax: Axes | None = None, title: str | None = None) -> Axes:
    """Attributed share (or conversions, or removal effect) per channel and method, with CI whiskers.

    Parameters
    ----------
    result : Attribution or DataFrame
        ``attribute(...)`` or its frame.
    value : {"share", "conversions", "removal_effect"}
        What the bars show; whiskers are the columns ``<value>_ci_lower`` / ``<value>_ci_upper``.
    methods : sequence of str, optional
        Methods to draw (default all in the result, Markov first).
    """
    if value not in ("share", "conversions", "removal_effect"):
        raise ParameterError(f"value={value!r} is not allowed; choose one of ['share', 'conversions', "
                             "'removal_effect'].")
    frame = _frame(result, ("method", "channel", value, f"{value}_ci_lower", f"{value}_ci_upper"),
                   "attribution_bars")
    methods = list(methods) if methods is not None else list(dict.fromkeys(frame["method"]))
    if value == "removal_effect":
        methods = [m for m in methods if m == "markov"]
    order = (frame[frame["method"] == methods[0]].sort_values(value, ascending=False)["channel"].tolist())
    ax = _axes(ax, (8, 1 + 0.35 * len(order) * max(1, len(methods) ** 0.5)))
    h = 0.8 / len(methods)
    for j, m in enumerate(methods):
        g = frame[frame["method"] == m].set_index("channel").reindex(order)
        y = np.arange(len(order)) + (j - (len(methods) - 1) / 2) * h
        est = g[value].to_numpy(float)
        lo, hi = g[f"{value}_ci_lower"].to_numpy(float), g[f"{value}_ci_upper"].to_numpy(float)
        err = np.clip(np.vstack([np.nan_to_num(est - lo), np.nan_to_num(hi - est)]), 0, None)
        ax.barh(y, est, height=h * 0.9, color=PALETTE[j % len(PALETTE)], label=m.replace("_", " "), xerr=err,
                error_kw={"ecolor": "black", "capsize": 2, "lw": 0.8})
    ax.set_yticks(np.arange(len(order)), order)
    ax.invert_yaxis()
    level = frame["ci_level"].iloc[0] if "ci_level" in frame else 0.95
    ax.set_xlabel({"share": "share of conversions", "conversions": "attributed conversions",
                   "removal_effect": "removal effect"}[value] + f" (bootstrap {level:.0%} CI)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "Attribution by channel")
    return ax


_UNITS = {"min": 60.0, "h": 3600.0, "D": 86400.0}


def conversion_incidence(result: Any, *, unit: str = "h", log_x: bool = True, ax: Axes | None = None,
                         title: str | None = None) -> Axes:
    """Cumulative incidence of conversion and of abandonment over time since journey start.

    Parameters
    ----------
    result : TimeToConvert or DataFrame
        ``time_to_convert(...)`` or its ``curve`` (columns ``time_seconds, conversion_probability,
        ci_lower, ci_upper, abandonment_probability``).
    unit : {"min", "h", "D"}
        Time unit of the x axis.
    log_x : bool
        Logarithmic time axis (journeys last from minutes to days); time 0 is left out.

    Returns
    -------
    matplotlib.axes.Axes
        Lines with ``gid`` ``"conversion"`` (step curve, with its CI band) and ``"abandonment"``,
        and, for a TimeToConvert, a dashed ``"conversion_share"`` line at the plain share of
        converted journeys (where the conversion curve ends when nothing is censored).
    """
    if unit not in _UNITS:
        raise ParameterError(f"unit={unit!r} is not allowed; choose one of {list(_UNITS)}.")
    curve = result.curve if hasattr(result, "curve") else result
    curve = _frame(curve, ("time_seconds", "conversion_probability", "ci_lower", "ci_upper",
                           "abandonment_probability"), "conversion_incidence")
    if log_x:
        curve = curve[curve["time_seconds"] > 0]
    if curve.empty:
        raise DataContractError("conversion_incidence has no time to draw.", rule="non-empty")
    x = curve["time_seconds"].to_numpy(float) / _UNITS[unit]
    ax = _axes(ax, (8, 4.5))
    ax.step(x, curve["conversion_probability"], where="post", color="#2e7d32", label="converted", gid="conversion")
    ax.fill_between(x, curve["ci_lower"].to_numpy(float), curve["ci_upper"].to_numpy(float), step="post",
                    color="#2e7d32", alpha=0.2, lw=0)
    ax.step(x, curve["abandonment_probability"], where="post", color="#9e9e9e", label="abandoned",
            gid="abandonment")
    share = getattr(result, "conversion_share", None)
    if share is not None and np.isfinite(share):
        ax.axhline(share, color="#2e7d32", ls="--", lw=0.8, gid="conversion_share",
                   label=f"share of finished journeys converted ({share:.1%})")
    if log_x:
        ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel({"min": "minutes", "h": "hours", "D": "days"}[unit] + " since the journey's first event")
    level = getattr(result, "ci_level", None)
    ax.set_ylabel("cumulative incidence" + (f" ({level:.0%} CI)" if level else ""))
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or "Time to conversion, abandonment competing (Aalen-Johansen)")
    return ax
