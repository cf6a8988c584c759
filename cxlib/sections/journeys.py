"""Glue for the journeys notebook (``notebooks/20_journeys.ipynb``): the analysis window, the segment
filter, the overall conversion rate and its change, pairwise funnel tests, and the headline findings.

Kept here (not in notebook cells) so that the notebook stays a few calls and the logic is tested.
Everything aggregates journeys in DuckDB; no customer identifier leaves this module.
"""
from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..display import displayable
from ..errors import DataContractError, ParameterError
from ..findings import Finding
from ..journey.attribution import Attribution
from ..journey.failpoints import FailPoints
from ..journey.funnel import FUNNEL_COMPARISON_COLUMNS, Funnel, compare_funnels
from ..journey.sessions import Journeys, conversion_counts
from ..engine.sql import ident, literal
from ..periods import Period
from ..stats import check_alpha, holm, newcombe_interval, pooled_z_test, wilson_interval

__all__ = ["Window", "analysis_window", "segment_events", "ConversionRate", "conversion_rate",
           "ConversionChange", "conversion_change", "pairwise_funnel_tests", "journey_findings",
           "RATE_COLUMNS", "CHANGE_COLUMNS", "SECTION", "InteractiveFigure", "interactive_figure"]

SECTION = "journeys"

#: Columns of :meth:`ConversionRate.to_frame`, in order.
RATE_COLUMNS = ("label", "estimate", "ci_lower", "ci_upper", "ci_level", "conversions", "n", "n_censored", "method")
#: Columns of :meth:`ConversionChange.to_frame`, in order.
CHANGE_COLUMNS = ("label", "comparison", "estimate", "estimate_comparison", "difference", "ci_lower", "ci_upper",
                  "ci_level", "statistic", "p_value", "n", "n_comparison", "method")


@displayable()
@dataclass(frozen=True)
class Window:
    """Half-open analysis window ``[start, end)`` and the label used in text and findings."""

    start: pd.Timestamp
    end: pd.Timestamp
    label: str


def _date(value: str, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if pd.isna(ts):
        raise ParameterError(f"{name}={value!r} is not a date; write it like '2025-10-01' (or leave it empty).")
    return ts


def analysis_window(period: str, *, start_date: str = "", end_date: str = "") -> Window:
    """The window of events analysed: the quarter ``period`` unless explicit dates override a bound.

    Parameters
    ----------
    period : str
        Report quarter, e.g. ``"2025Q4"``; gives the default bounds.
    start_date, end_date : str
        ``YYYY-MM-DD``; ``end_date`` is exclusive.  Empty: the quarter's bound.

    Returns
    -------
    Window
        ``label`` is the quarter when both bounds are the quarter's, else ``"first to last day"``.

    Raises
    ------
    ParameterError
        A malformed quarter or date, or ``start >= end``.

    Examples
    --------
    >>> analysis_window("2025Q4")
    Window(start=2025-10-01, end=2026-01-01, label='2025Q4')
    >>> analysis_window("2025Q4", start_date="2025-11-01").label
    '2025-11-01 to 2025-12-31'
    """
    q = Period.parse(period)  # a quarter, or a month or year under a monthly or yearly review
    start = _date(start_date, "start_date") if start_date else q.start
    end = _date(end_date, "end_date") if end_date else q.end
    if start >= end:
        raise ParameterError(f"The analysis window is empty: start {start.date()} is not before end {end.date()} "
                             "(end_date is exclusive).")
    label = str(q) if not (start_date or end_date) else f"{start.date()} to {(end - pd.Timedelta(days=1)).date()}"
    return Window(start=start, end=end, label=label)


def segment_events(con, *, segment_column: str = "", segment_value: str = "", events: str = "events",
                   customers: str = "customers") -> str:
    """Name of a view of ``events`` restricted to the customers of one segment (``events`` itself if none).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection with the ``events`` and ``customers`` views (``Dataset.connection()``).
    segment_column, segment_value : str
        Customer column and the value kept, e.g. ``"loyalty_tier"`` and ``"gold"``; both empty for all
        customers.
    events, customers : str
        Table or view names in ``con``.

    Raises
    ------
    ParameterError
        Only one of the two is given, or the value does not occur (the message lists those that do).
    DataContractError
        The customers table lacks ``segment_column``.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE customers AS SELECT * FROM (VALUES ('a', 'gold'), ('b', 'bronze')) "
    ...                 "t(customer_id, loyalty_tier)")
    >>> _ = con.execute("CREATE TABLE events AS SELECT * FROM (VALUES ('a', 1), ('b', 2), ('a', 3)) t(customer_id, x)")
    >>> view = segment_events(con, segment_column="loyalty_tier", segment_value="gold")
    >>> con.execute(f"SELECT sum(x) FROM {view}").fetchall()
    [(4,)]
    """
    if not segment_column and not segment_value:
        return events
    if not (segment_column and segment_value):
        raise ParameterError(f"segment_column={segment_column!r} and segment_value={segment_value!r}: give both "
                             "(e.g. 'loyalty_tier' and 'gold') or leave both empty for all customers.")
    cols = list(con.sql(f"SELECT * FROM {ident(customers)} LIMIT 0").columns)
    if segment_column not in cols:
        raise DataContractError(f"The {customers!r} table has no column {segment_column!r}; it has {cols}.",
                                table=customers, column=segment_column, rule="required column")
    col = ident(segment_column)
    values = sorted(str(v[0]) for v in con.execute(
        f"SELECT DISTINCT CAST({col} AS VARCHAR) FROM {ident(customers)} WHERE {col} IS NOT NULL").fetchall())
    if str(segment_value) not in values:
        raise ParameterError(f"segment_value={segment_value!r} does not occur in {customers}.{segment_column}; "
                             f"it has {values}.")
    view = "cx_segment_events_" + hashlib.sha256(f"{segment_column}={segment_value}".encode()).hexdigest()[:10]
    keep = f"SELECT customer_id FROM {ident(customers)} WHERE CAST({col} AS VARCHAR) = {literal(segment_value)}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT e.* FROM {ident(events)} e "
                f"WHERE e.customer_id IN ({keep})")
    return view


@displayable()
@dataclass(frozen=True)
class ConversionRate:
    """Share of journeys with a known outcome that converted; columns :data:`RATE_COLUMNS`."""

    label: str
    estimate: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    conversions: int
    n: int
    n_censored: int
    method: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)], columns=list(RATE_COLUMNS))


def conversion_rate(journeys: Journeys, *, label: str = "", alpha: float = 0.05) -> ConversionRate:
    """Journey conversion rate ``c / n`` over journeys with a known outcome, with the Wilson interval.

    The one conversion definition of the workbook (:func:`cxlib.journey.sessions.conversion_counts`,
    also behind the scorecard, the metric trends and the dashboard alerts): censored journeys (still
    open at the end of observation) have no known outcome and are left out of ``n`` (counted in
    ``n_censored``), as in the Markov attribution; counting them as failures would bias the rate
    down at the end of the period.

    Notes
    -----
    Wilson (1927) score interval ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``.

    Examples
    --------
    >>> from cxlib.journey import from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [5, 0], "nulls": [0, 5]}))
    >>> r = conversion_rate(js)
    >>> r.estimate, r.n, round(r.ci_lower, 4), round(r.ci_upper, 4)
    (0.5, 10, 0.2366, 0.7634)
    """
    check_alpha(alpha)
    c, n, n_open = conversion_counts(journeys.outcomes().set_index("outcome")["journeys"])
    lo, hi = wilson_interval(np.array([c]), np.array([n]), alpha=alpha)
    return ConversionRate(label=label, estimate=c / n if n else math.nan, ci_lower=float(lo[0]),
                          ci_upper=float(hi[0]), ci_level=1 - alpha, conversions=c, n=n,
                          n_censored=n_open,
                          method="share of journeys ending in conversion (censored journeys excluded), Wilson score CI")


@displayable()
@dataclass(frozen=True)
class ConversionChange:
    """Difference of two conversion rates (``current - comparison``); columns :data:`CHANGE_COLUMNS`."""

    label: str
    comparison: str
    estimate: float
    estimate_comparison: float
    difference: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    statistic: float
    p_value: float
    n: int
    n_comparison: int
    method: str

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)], columns=list(CHANGE_COLUMNS))


def conversion_change(current: ConversionRate, comparison: ConversionRate, *, alpha: float = 0.05) -> ConversionChange:
    """Change of the conversion rate from ``comparison`` to ``current``: Newcombe CI and pooled z-test.

    Notes
    -----
    Difference ``p1 - p0`` with the Newcombe (1998, method 10) hybrid score interval; two-sided
    pooled two-proportion z-test.  Journeys of one customer in both windows are treated as
    independent (read the p-value as approximate when customers journey often).

    Examples
    --------
    >>> a = ConversionRate("Q4", 0.2, 0.18, 0.22, 0.95, 200, 1000, 0, "m")
    >>> b = ConversionRate("Q3", 0.15, 0.13, 0.17, 0.95, 150, 1000, 0, "m")
    >>> d = conversion_change(a, b)
    >>> round(d.difference, 3), round(d.p_value, 4)
    (0.05, 0.0033)
    """
    check_alpha(alpha)
    k1, n1, k0, n0 = (np.array([float(v)]) for v in (current.conversions, current.n, comparison.conversions,
                                                      comparison.n))
    lo, hi = newcombe_interval(k1, n1, k0, n0, alpha=alpha)
    z, p = pooled_z_test(k1, n1, k0, n0, zero_variance="no_difference")
    return ConversionChange(label=current.label, comparison=comparison.label, estimate=current.estimate,
                            estimate_comparison=comparison.estimate, difference=current.estimate - comparison.estimate,
                            ci_lower=float(lo[0]), ci_upper=float(hi[0]), ci_level=1 - alpha, statistic=float(z[0]),
                            p_value=float(p[0]), n=current.n, n_comparison=comparison.n,
                            method="difference of journey conversion rates, Newcombe hybrid score CI, pooled "
                                   "two-proportion z-test")


def pairwise_funnel_tests(result: Funnel, *, min_entered: int = 30, alpha: float | None = None) -> pd.DataFrame:
    """Overall funnel test for every pair of segments, Holm-adjusted across the pairs.

    Parameters
    ----------
    result : Funnel
        A funnel computed with ``segment=``.
    min_entered : int
        Segments with fewer journeys entering the funnel are left out (too few to test).
    alpha : float, optional
        1 - confidence level of the difference intervals; default the funnel's.

    Returns
    -------
    DataFrame
        The ``test == "funnel"`` row of :func:`~cxlib.journey.compare_funnels` per pair (columns
        :data:`~cxlib.journey.funnel.FUNNEL_COMPARISON_COLUMNS`), ``p_adjusted`` Holm-adjusted over the pairs; empty
        (same columns) with fewer than two testable segments.

    Examples
    --------
    >>> from cxlib.journey import from_paths, funnel
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "a"], "conversions": [0, 0], "nulls": [60, 40]}))
    >>> pairwise_funnel_tests(funnel(js, ["a", "b"])).shape
    (0, 18)
    """
    t = result.table
    entered = t[t["step_index"] == 1].set_index("segment")["n_reached"]
    keep = [s for s in result.segments if entered.get(s, 0) >= min_entered]
    rows = [compare_funnels(result, a, b, alpha=alpha).table.iloc[[0]] for a, b in itertools.combinations(keep, 2)]
    if not rows:
        return pd.DataFrame(columns=list(FUNNEL_COMPARISON_COLUMNS))
    out = pd.concat(rows, ignore_index=True)
    out["p_adjusted"] = holm(out["p_value"].to_numpy(float))
    out["method"] = out["method"] + "; Holm-adjusted across segment pairs"
    return out


def journey_findings(*, rate: ConversionRate, change: ConversionChange | None, fail: FailPoints,
                     attribution: Attribution, period: str, comparison_period: str = "") -> list[Finding]:
    """Headline findings of the journeys section for the executive summary.

    The conversion rate (Wilson CI), its change since ``comparison_period`` (Newcombe CI, z-test p)
    when given, the first-ranked fail touchpoint (risk difference in percentage points, Newcombe CI,
    Holm- or BH-adjusted p, as the fail-point analysis decided) and the touchpoint with the largest
    Markov removal effect (bootstrap percentile CI) among those that not every conversion passes
    (a step such as checkout has a removal effect of exactly 1, which is true but not news).

    Examples
    --------
    >>> from cxlib.journey import attribute, fail_points, from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "a > w", "w > b", "a"],
    ...                               "conversions": [50, 5, 20, 30], "nulls": [10, 45, 30, 10]}))
    >>> fs = journey_findings(rate=conversion_rate(js), change=None, fail=fail_points(js),
    ...                       attribution=attribute(js, n_boot=50, rng=1), period="2025Q4")
    >>> [f.key for f in fs]
    ['journey_conversion_rate', 'journey_top_fail_point', 'journey_top_removal_effect']
    """
    out = [Finding(key="journey_conversion_rate", section=SECTION, label="The journey conversion rate",
                   estimate=rate.estimate, ci_lower=rate.ci_lower, ci_upper=rate.ci_upper, ci_level=rate.ci_level,
                   n=rate.n, method="Wilson score CI; censored journeys excluded", unit="share", better="higher",
                   period=period)]
    if change is not None:
        out.append(Finding(key="journey_conversion_change", section=SECTION, label="The journey conversion rate",
                           estimate=change.difference, ci_lower=change.ci_lower, ci_upper=change.ci_upper,
                           ci_level=change.ci_level, p_value=change.p_value, n=change.n + change.n_comparison,
                           method="Newcombe CI, two-proportion z-test", unit="share", better="higher",
                           period=period, comparison=comparison_period))
    ft = fail.to_frame()
    if len(ft):
        top = ft.iloc[0]
        p_col = "p_holm" if fail.correction == "holm" else "p_bh"
        what = {"abandonment": "abandonment", "low_csat": "low CSAT", "detractor": "the detractor share",
                "complaint": "the complaint rate"}[fail.outcome]
        out.append(Finding(
            key="journey_top_fail_point", section=SECTION,
            label=f"The excess of {what} after '{top['touchpoint']}' over other touchpoints",
            estimate=100 * float(top["risk_difference"]), ci_lower=100 * float(top["ci_lower"]),
            ci_upper=100 * float(top["ci_upper"]), ci_level=fail.ci_level, p_value=float(top[p_col]),
            n=float(top["n_exposed"] + top["n_other"]),
            method=f"risk difference, Newcombe CI, one-sided z-test, {'Holm' if p_col == 'p_holm' else 'BH'}-adjusted",
            unit="pp", better="lower", period=period,
            detail=f"touchpoint={top['touchpoint']}; rate_exposed={float(top['rate_exposed'])!r}; "
                   f"rate_other={float(top['rate_other'])!r}; significant={bool(top['significant'])}"))
    mk = attribution.to_frame().query("method == 'markov'").sort_values(["removal_effect", "channel"],
                                                                        ascending=[False, True])
    # A step every conversion passes (e.g. checkout) has a removal effect of exactly 1: true but not news.
    gatekeepers = mk.loc[mk["removal_effect"] >= 1 - 1e-9, "channel"].tolist()
    mk = mk.loc[mk["removal_effect"] < 1 - 1e-9]
    if len(mk):
        best = mk.iloc[0]
        out.append(Finding(
            key="journey_top_removal_effect", section=SECTION,
            label=f"The removal effect of '{best['channel']}'", estimate=float(best["removal_effect"]),
            ci_lower=float(best["removal_effect_ci_lower"]), ci_upper=float(best["removal_effect_ci_upper"]),
            ci_level=attribution.ci_level, n=attribution.n_journeys,
            method=f"Markov removal effect (order {attribution.order}), bootstrap percentile CI "
                   f"({attribution.n_boot} replicates)", unit="share", better="neutral", period=period,
            detail=f"touchpoint={best['channel']}; steps every conversion passes (removal effect 1, "
                   f"not ranked): {', '.join(gatekeepers) or 'none'}"))
    return out


@displayable(fields=lambda f: {"alt": f.alt, "width": f.width, "height": f.height,
                                "html_chars": len(f.html), "png_bytes": len(f.png)})
@dataclass(frozen=True)
class InteractiveFigure:
    """One figure, two renderings: a plotly ``text/html`` for the HTML report, a PNG for the PDF.

    Both travel in a single display output.  Quarto picks ``text/html`` first for HTML and the
    image for PDF/Typst (its ``displayDataMimeType`` priority); :mod:`cxlib.report.render` does
    the same on its pandoc route.  Attributes: ``html`` (a ``<div>`` plus script, plotly.js
    inlined when ``include_plotlyjs``), ``png`` (bytes), ``alt``, ``width``, ``height``.
    """

    html: str
    png: bytes
    alt: str
    width: int
    height: int

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        import base64

        data = {"text/html": self.html, "image/png": base64.b64encode(self.png).decode("ascii"),
                "text/plain": self.alt}
        return data, {"image/png": {"width": self.width, "height": self.height}}


def interactive_figure(static, interactive, *, div_id: str, alt: str | None = None, include_plotlyjs: bool = True,
                       dpi: int = 150) -> InteractiveFigure:
    """Pair a matplotlib figure (PDF) with a plotly figure (HTML) in one display output.

    Parameters
    ----------
    static : matplotlib.figure.Figure
        The static rendering (``ax.figure`` of :func:`cxlib.plots.journey.path_flow`).
    interactive : str or plotly.graph_objects.Figure
        The interactive rendering: HTML such as the SVG of :func:`cxlib.plots.journey.path_flow_svg`
        (a few kilobytes, the report's choice), or a plotly figure
        (:func:`cxlib.plots.journey.path_flow_interactive`, which embeds plotly.js).
    div_id : str
        HTML id of the figure: fixed, so that two renders of the report are byte-identical
        (plotly would otherwise draw a random id).
    alt : str, optional
        Alternative text (default: the static figure's suptitle or "Figure").
    include_plotlyjs : bool
        Inline plotly.js (about 4.8 MB, so the HTML works offline).  Pass False for every further
        plotly figure of the same report: the library is then embedded once.
    dpi : int
        Resolution of the PNG.
    """
    from ..report.figures import show_figure

    if not isinstance(div_id, str) or not div_id.replace("-", "").replace("_", "").isalnum():
        raise ParameterError(f"div_id={div_id!r} must be a non-empty HTML id of letters, digits, '-' and '_'.")
    shown = show_figure(static, dpi=dpi, alt=alt)
    if isinstance(interactive, str):  # ready HTML, e.g. cxlib.plots.journey.path_flow_svg: no library to embed
        html = f'<div id="{div_id}">{interactive}</div>'
    else:
        html = interactive.to_html(full_html=False, include_plotlyjs=bool(include_plotlyjs), div_id=div_id,
                                   config={"displaylogo": False, "responsive": True})
    return InteractiveFigure(html=html, png=shown.png, alt=shown.alt, width=shown.width, height=shown.height)
