"""The report's first page: a KPI scorecard a manager reads in a minute.

One tile per headline finding (``cxlib.findings``), in the order given:

* the KPI's label;
* this period's value (from ``trends`` when the finding is a change, or the
  finding's own estimate when it is a level);
* the change vs the comparison period with its confidence interval;
* a significance marker with the p-value (▲/▼ coloured good/bad by the
  finding's ``better`` direction when significant at ``alpha``, grey ● when not);
  with ``q_values`` (the report's false-discovery-adjusted p-values) the marker is
  judged on ``q`` and reads "significant (q = ...)" or "no clear change (q = ...)";
* n and the method's name;
* a sparkline of the KPI over periods when ``trends`` is given.

A finding whose ``comparison`` is non-empty is read as a *change* (estimate =
value in ``period`` minus value in ``comparison``, its CI and the p-value of
the test of no change); otherwise as a *level* (estimate, CI, p-value against
the method's null).  Drawing only: no statistics are computed here.
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ..errors import ParameterError
from ..findings import FINDING_COLUMNS
from ..format import format_ci, format_number, format_p
from .figures import MIN_FONT_PT, PRINT_WIDTH, literal_text
from ..stats import check_alpha

__all__ = ["TREND_COLUMNS", "scorecard_figure", "tile_texts"]

TREND_COLUMNS = ("key", "period", "estimate")
# Okabe-Ito bluish green and vermillion for good/bad news: told apart with red-green colour blindness too.
COLOURS = {"good": "#007a5e", "bad": "#d55e00", "neutral": "#1f4e79", "none": "#6b7280"}
#: Smallest font on a tile, in points (print size).
MIN_FONT = MIN_FONT_PT


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _with_unit(text: str, unit: str) -> str:
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def _signed(value: float, digits: int) -> str:
    text = format_number(value, digits)
    return text if text.startswith("\u2212") or float(value) == 0 else "+" + text


def _verdict(row: pd.Series, alpha: float, q_values: Mapping[str, float] | None = None) -> tuple[str, str, str]:
    """(glyph, words, colour key) of a finding's significance marker (judged on ``q`` when ``q_values`` has it)."""
    p = row["p_value"]
    q = None if q_values is None else q_values.get(str(row.get("key")))
    if q is not None and not _missing(q):
        shown = "q" + format_p(q)[1:]  # "q = 0.064", "q < 0.001": the p-value rule of cxlib.format
        if float(q) >= alpha:
            return "●", f"no clear change ({shown})", "none"
        words = f"significant ({shown})"
        p = q
    elif _missing(p):
        return "○", "level this quarter, no change tested", "none"
    elif float(p) >= alpha:
        return "●", f"not significant, {format_p(p)}", "none"
    else:
        words = f"significant, {format_p(p)}"
    estimate = float(row["estimate"])
    glyph = "▲" if estimate > 0 else ("▼" if estimate < 0 else "●")
    better = row.get("better", "neutral")
    if not str(row.get("comparison") or "") or better == "neutral" or estimate == 0:
        colour = "neutral"
    else:
        colour = "good" if (estimate > 0) == (better == "higher") else "bad"
    return glyph, words, colour


def tile_texts(row: pd.Series, *, level: float | None = None, alpha: float = 0.05,
               digits: int = 1, q_values: Mapping[str, float] | None = None) -> dict[str, str]:
    """The strings drawn on one tile (also what tests and screen readers check).

    Parameters
    ----------
    row : pandas.Series
        One finding (``FINDING_COLUMNS``).
    level : float, optional
        This period's value of a *change* finding (from the trends frame).
    alpha : float, default 0.05
        Significance level of the marker.
    digits : int, default 1
        Decimals of values and intervals.
    q_values : mapping of finding key to adjusted p-value, optional
        The report's false-discovery-adjusted p-values; the marker is judged on them.

    Returns
    -------
    dict
        Keys ``label``, ``value``, ``change``, ``marker``, ``footer``.

    Examples
    --------
    >>> row = pd.Series({"label": "NPS", "estimate": 3.25, "ci_lower": 1.1, "ci_upper": 5.4, "ci_level": 0.95,
    ...                  "p_value": 0.004, "n": 5230, "method": "Welch t-test", "unit": "pts",
    ...                  "better": "higher", "period": "2025Q4", "comparison": "2025Q3"})
    >>> texts = tile_texts(row, level=41.5)
    >>> texts["value"], texts["change"], texts["marker"]
    ('41.5 pts', '+3.2 pts vs 2025Q3 (95% CI 1.1 to 5.4)', '▲ significant, p = 0.004')
    >>> tile_texts({"key": "customers", "estimate": 10000.0, "method": "count", "n": 10000, "p_value": None})["value"]
    '10,000'
    >>> tile_texts({"key": "csat", "estimate": -0.103, "ci_lower": -0.148, "ci_upper": -0.058, "p_value": 0.001,
    ...             "unit": "share", "comparison": "rest", "better": "higher"})["change"]
    '−10.3 pp vs rest (95% CI −14.8 to −5.8)'
    """
    unit = str(row.get("unit") or "")
    estimate = float(row["estimate"])
    comparison = str(row.get("comparison") or "")
    ci_lower, ci_upper = row.get("ci_lower"), row.get("ci_upper")
    if unit == "share":  # a proportion (0..1): shown in percent, a change in percentage points
        estimate, level = 100 * estimate, (None if level is None else 100 * level)
        ci_lower, ci_upper = (None if _missing(v) else 100 * float(v) for v in (ci_lower, ci_upper))
        unit = "pp" if comparison else "%"
    ci_level = row.get("ci_level", 0.95)
    ci_name = f"{format_number(100 * float(ci_level), 0)}% CI" if not _missing(ci_level) else "CI"
    ci = format_ci(ci_lower, ci_upper, digits)
    ci_part = f"{ci_name} {ci}" if ci != "–" else "no CI"
    if comparison:
        change = f"{_with_unit(_signed(estimate, digits), unit)} vs {comparison} ({ci_part})"
        level_unit = "%" if unit == "pp" else unit  # a change in percentage points of a level in percent
        value = _with_unit(format_number(level, digits), level_unit) if level is not None else \
            _with_unit(_signed(estimate, digits), unit)
    else:
        change = ci_part
        exact_count = ci == "–" and estimate.is_integer()  # a count has no decimals and no interval
        value = _with_unit(format_number(estimate, 0 if exact_count else digits), unit)
    glyph, words, _ = _verdict(row, alpha, q_values)
    n = row.get("n")
    footer = " · ".join(x for x in (f"n = {format_number(int(n), 0)}" if not _missing(n) else "",
                                   str(row.get("method") or "")) if x)
    return {"label": str(row.get("label") or row.get("key")), "value": value, "change": change,
            "marker": f"{glyph} {words}", "footer": footer}


def _check_frames(findings: pd.DataFrame, trends: pd.DataFrame | None) -> None:
    if not isinstance(findings, pd.DataFrame):
        raise ParameterError(f"findings must be a DataFrame (cxlib.findings.to_frame); got {type(findings).__name__}.")
    missing = [c for c in FINDING_COLUMNS if c not in findings.columns]
    if missing:
        raise ParameterError(f"findings lacks column(s) {missing}; expected cxlib.findings.FINDING_COLUMNS.")
    if trends is not None:
        missing = [c for c in TREND_COLUMNS if c not in trends.columns]
        if missing:
            raise ParameterError(f"trends lacks column(s) {missing}; expected columns {list(TREND_COLUMNS)}.")


def _draw_sparkline(ax, series: pd.DataFrame, colour: str) -> None:
    spark = ax.inset_axes((0.62, 0.52, 0.33, 0.26))
    spark.set_gid("sparkline")
    y = series["estimate"].to_numpy(dtype=float)
    x = np.arange(len(y))
    spark.plot(x, y, color=COLOURS["neutral"], linewidth=1.2)
    spark.plot(x[-1:], y[-1:], "o", color=colour, markersize=3.5)
    spark.set_axis_off()
    spark.text(0.0, -0.12, str(series["period"].iloc[0]), transform=spark.transAxes, fontsize=MIN_FONT,
               color=COLOURS["none"], ha="left", va="top")
    spark.text(1.0, -0.12, str(series["period"].iloc[-1]), transform=spark.transAxes, fontsize=MIN_FONT,
               color=COLOURS["none"], ha="right", va="top")


def _fit(text: str, width_in: float, size: float) -> str:
    """Wrap ``text`` to lines that fit ``width_in`` inches at ``size`` points (DejaVu Sans: ~0.6 em a character)."""
    chars = max(8, int(width_in * 72 / (0.6 * size)))
    return "\n".join(textwrap.wrap(text, chars)) if len(text) > chars else text


def _draw_tile(ax, texts: dict[str, str], colour: str, trend: pd.DataFrame | None, width_in: float) -> None:
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.add_patch(FancyBboxPatch((0.02, 0.03), 0.96, 0.94, boxstyle="round,pad=0,rounding_size=0.04",
                                facecolor="#f7f9fb", edgecolor="#d9dee4", linewidth=0.8, transform=ax.transAxes))
    spark = trend is not None and len(trend) >= 2
    text_width = width_in * (0.55 if spark else 0.86)
    ax.text(0.06, 0.90, _fit(texts["label"], text_width, 9.5), fontsize=9.5, fontweight="bold", color="#1d232b",
            va="top", linespacing=1.1)
    ax.text(0.06, 0.57, texts["value"], fontsize=15, fontweight="bold", color=COLOURS["neutral"], va="center")
    ax.text(0.06, 0.36, _fit(texts["change"], width_in * 0.88, MIN_FONT), fontsize=MIN_FONT, color="#1d232b",
            va="center")
    ax.text(0.06, 0.21, _fit(texts["marker"], width_in * 0.88, MIN_FONT), fontsize=MIN_FONT, color=colour,
            fontweight="bold", va="center")
    ax.text(0.06, 0.09, _fit(texts["footer"], width_in * 0.88, MIN_FONT), fontsize=MIN_FONT, color=COLOURS["none"],
            va="center")
    if spark:
        _draw_sparkline(ax, trend, colour)


def scorecard_figure(findings: pd.DataFrame, *, trends: pd.DataFrame | None = None, alpha: float = 0.05,
                     ncols: int = 2, digits: int = 1, title: str | None = None,
                     q_values: Mapping[str, float] | None = None, width: float = PRINT_WIDTH) -> Figure:
    """Draw the KPI scorecard: one tile per finding, ``ncols`` tiles a row.

    Parameters
    ----------
    findings : pandas.DataFrame
        Rows of ``cxlib.findings.to_frame`` (columns ``FINDING_COLUMNS``), in display order.
    trends : pandas.DataFrame, optional
        Long frame ``key, period, estimate`` (period labels sort in time order,
        e.g. ``2025Q1``): gives this period's level of change findings and the sparklines.
    alpha : float, default 0.05
        Significance level of the markers (the report's ``alpha`` parameter).
    ncols : int, default 2
        Tiles per row; two fit an A4 text width with every text at 8 pt or more.
    digits : int, default 1
        Decimals of values and intervals.
    title : str, optional
        Heading drawn above the tiles.
    q_values : mapping of finding key to adjusted p-value, optional
        The report's false-discovery-adjusted p-values: markers are judged on them (see :func:`tile_texts`).
    width : float, default :data:`PRINT_WIDTH`
        Figure width in inches; at the print width every text prints at its set size (8 pt or more).

    Returns
    -------
    matplotlib.figure.Figure
        Created through the object API (no pyplot state).  Tile axes carry
        ``gid="tile:<key>"``; sparklines ``gid="sparkline"``.

    Raises
    ------
    ParameterError
        Missing columns, ``alpha`` outside (0, 1) or ``ncols < 1``.

    Examples
    --------
    >>> from cxlib.findings import Finding, to_frame
    >>> f = to_frame([Finding(key="nps", section="metrics", label="NPS", estimate=3.2, ci_lower=1.0,
    ...                       ci_upper=5.4, p_value=0.004, n=5230, method="Welch t-test", unit="pts",
    ...                       better="higher", period="2025Q4", comparison="2025Q3")])
    >>> fig = scorecard_figure(f)
    >>> [ax.get_gid() for ax in fig.axes]
    ['tile:nps']
    """
    _check_frames(findings, trends)
    check_alpha(alpha)
    if int(ncols) < 1:
        raise ParameterError(f"ncols={ncols!r} must be at least 1.")
    n_tiles = len(findings)
    ncols = max(1, min(int(ncols), n_tiles or 1))
    nrows = max(1, math.ceil(n_tiles / ncols))
    head = 0.4 if title else 0.0
    tile_w = float(width) / ncols
    fig = Figure(figsize=(float(width), 1.55 * nrows + head), dpi=100)
    if n_tiles == 0:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No findings recorded.", ha="center", va="center", fontsize=12, color=COLOURS["none"])
        return fig
    if title:
        fig.suptitle(title, x=0.01, y=0.995, ha="left", va="top", fontsize=13, fontweight="bold",
                     color=COLOURS["neutral"])
    grid = fig.add_gridspec(nrows, ncols, left=0.005, right=0.995, bottom=0.005,
                            top=1 - head / fig.get_figheight() - 0.005, wspace=0.03, hspace=0.06)
    for i, (_, row) in enumerate(findings.reset_index(drop=True).iterrows()):
        trend = None
        level = None
        if trends is not None:
            trend = trends.loc[trends["key"] == row["key"]].sort_values("period", kind="stable")
            here = trend.loc[trend["period"] == row["period"], "estimate"]
            if str(row.get("comparison") or "") and len(here):
                level = float(here.iloc[-1])
        ax = fig.add_subplot(grid[i // ncols, i % ncols])
        ax.set_gid(f"tile:{row['key']}")
        colour = COLOURS[_verdict(row, alpha, q_values)[2]]
        _draw_tile(ax, tile_texts(row, level=level, alpha=alpha, digits=digits, q_values=q_values), colour, trend,
                   tile_w)
    return literal_text(fig)  # finding labels come from data: drawn as written, never as mathtext
