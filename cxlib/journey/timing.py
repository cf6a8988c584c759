"""Time between touchpoints and time to convert (medians with intervals; cumulative incidence of conversion with
abandonment as a competing event and open journeys censored)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..display import displayable
from ..engine.sql import literal
from ..errors import DataContractError, ParameterError, check_choice
from ..stats import check_alpha, z_value
from .bysegment import by_segment, journey_split
from .sessions import Journeys, _timedelta, as_journeys
from .sql import median_with_ci

__all__ = ["time_between", "time_to_convert", "TimeToConvert", "aalen_johansen", "GAP_COLUMNS", "TTC_COLUMNS",
           "CURVE_COLUMNS", "ANY"]

ANY = "(any)"
#: Columns of :func:`time_between`, in order.
GAP_COLUMNS = ("source", "target", "n", "median_seconds", "ci_lower", "ci_upper", "ci_level", "p25_seconds",
               "p75_seconds", "p90_seconds", "mean_seconds", "method")
#: Columns of :meth:`TimeToConvert.to_frame`, in order.
TTC_COLUMNS = ("statistic", "horizon_seconds", "estimate", "ci_lower", "ci_upper", "ci_level", "n", "n_events",
               "method")


def _need_times(js: Journeys) -> None:
    if not js.has_times:
        raise ParameterError("These journeys come from path counts without event times; timing needs events "
                             "(use journeyize on the events table).")


def time_between(journeys: Any, *, by: Literal["source", "pair", "none"] = "source",
                 alpha: float = 0.05) -> pd.DataFrame:
    """Time from one touchpoint to the next: median (with CI), quartiles, 90th percentile and mean, in seconds.

    Parameters
    ----------
    journeys : Journeys or events
    by : {"source", "pair", "none"}
        Group by the touchpoint left (``target`` is ``(any)``), by the (source, target) pair, or not at all.
    alpha : float
        1 - confidence level of the median interval.

    Returns
    -------
    DataFrame
        Columns :data:`GAP_COLUMNS`, one row per group, ordered by ``n`` descending.

    Notes
    -----
    The median's interval is distribution-free: the order statistics ``X_(l)``, ``X_(n-l+1)`` with
    ``l`` the largest rank such that ``P(Bin(n, 1/2) < l) <= alpha/2`` (Conover 1999, sec. 3.2);
    gaps between events of a journey are not independent, so read it as approximate.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a"] * 3 + ["b"] * 2,
    ...     "timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:01", "2025-01-01 10:03",
    ...                                  "2025-01-01 11:00", "2025-01-01 11:05"]),
    ...     "touchpoint": ["search", "cart", "purchase", "search", "cart"]})
    >>> from cxlib.journey import journeyize
    >>> time_between(journeyize(ev, gap="1h"), by="none")[["n", "median_seconds"]].values.tolist()
    [[3.0, 120.0]]
    """
    check_alpha(alpha)
    check_choice("by", by, ("source", "pair", "none"))
    js = as_journeys(journeys)
    _need_times(js)
    src = "tp[i]" if by != "none" else literal(ANY)
    dst = "tp[i + 1]" if by == "pair" else literal(ANY)
    values = f"""SELECT {src} AS source, {dst} AS target, epoch(times[i + 1] - times[i]) AS x
FROM (SELECT touchpoints AS tp, times, unnest(generate_series(1, len(touchpoints) - 1)) AS i
      FROM {js.table} WHERE len(touchpoints) > 1)"""
    med = median_with_ci(js.backend, values, ["source", "target"], alpha)
    more = js.backend.df(f"""SELECT source, target, quantile_cont(x, 0.25)::DOUBLE AS p25_seconds,
quantile_cont(x, 0.75)::DOUBLE AS p75_seconds, quantile_cont(x, 0.9)::DOUBLE AS p90_seconds,
avg(x)::DOUBLE AS mean_seconds FROM ({values}) GROUP BY ALL""")
    out = med.rename(columns={"median": "median_seconds"}).merge(more, on=["source", "target"], how="left")
    out["n"] = out["n"].astype(float)
    out = out.assign(ci_level=1 - alpha, method="median with binomial order-statistic CI; quantiles by linear "
                     "interpolation").sort_values(["n", "source", "target"], ascending=[False, True, True],
                                                  kind="mergesort")
    return out[list(GAP_COLUMNS)].reset_index(drop=True)


#: Columns of :attr:`TimeToConvert.curve`, in order.
CURVE_COLUMNS = ("time_seconds", "conversion_probability", "ci_lower", "ci_upper", "abandonment_probability",
                 "at_risk", "conversions", "abandonments", "censored")


def aalen_johansen(durations, events, weights=None, *, alpha: float = 0.05) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of event 1 with event 2 competing, and delta-method intervals.

    Parameters
    ----------
    durations : array-like
        Times (any unit, >= 0).
    events : array-like of int
        1 = event of interest (conversion), 2 = competing event (abandonment), 0 = censored.
    weights : array-like, optional
        Number of units each row stands for (default 1).
    alpha : float
        1 - confidence level.

    Returns
    -------
    DataFrame
        One row per distinct time: :data:`CURVE_COLUMNS` (``conversion_probability`` is the
        incidence of event 1, ``abandonment_probability`` that of event 2; counts weighted).

    Notes
    -----
    With ``n_j`` at risk just before the distinct time ``t_j``, ``d_1j``, ``d_2j`` events of each
    kind there and ``S`` the Kaplan-Meier survival of *any* event,
    ``F_1(t) = sum_{t_j <= t} S(t_{j-1}) d_1j / n_j`` (Aalen & Johansen 1978).  Ties between the
    two kinds need no jitter: both leave the risk set at ``t_j``.  Variance by the Greenwood-type
    delta method of Collett (2015, sec. 12.2 / p. 411; the formula of lifelines'
    ``AalenJohansenFitter``)

    ``Var F(t) = sum a_j (F(t) - F(t_j))^2 + sum S(t_{j-1})^2 d_1j (n_j - d_1j) / n_j^3
    - 2 sum S(t_{j-1}) d_1j / n_j^2 (F(t) - F(t_j))``, ``a_j = d_j / (n_j (n_j - d_j))``,

    evaluated with cumulative sums (O(n)); the interval is formed on ``log(-log F)``, so it lies
    in (0, 1); it is NaN where ``F`` is 0 (at a last time where everyone at risk has the event,
    ``n_j = d_j``, the infinite ``a_j`` multiplies ``(F(t) - F(t_j))^2 = 0`` and is taken as 0).
    Only the censored (0) rows are censored: a competing event is not.

    References
    ----------
    Aalen, O. O., Johansen, S. (1978). An empirical transition matrix for non-homogeneous Markov
    chains based on censored observations. Scand. J. Statist. 5, 141-150.
    Collett, D. (2015). Modelling Survival Data in Medical Research, 3rd ed., ch. 12.

    Examples
    --------
    >>> cif = aalen_johansen([60, 120, 200, 300, 600], [1, 1, 2, 1, 0])
    >>> cif["conversion_probability"].round(3).tolist()
    [0.2, 0.4, 0.4, 0.6, 0.6]
    >>> cif["abandonment_probability"].round(3).tolist()
    [0.0, 0.0, 0.2, 0.2, 0.2]
    """
    d = pd.DataFrame({"t": np.asarray(durations, float), "e": np.asarray(events, int),
                      "w": np.ones(len(durations)) if weights is None else np.asarray(weights, float)})
    if d.empty:
        raise DataContractError("No durations to estimate a cumulative incidence from.", rule="non-empty table")
    if not d["e"].isin([0, 1, 2]).all():
        raise ParameterError(f"events must be 0 (censored), 1 (event) or 2 (competing); found "
                             f"{sorted(set(d['e']) - {0, 1, 2})}.")
    g = d.assign(d1=d["w"] * (d["e"] == 1), d2=d["w"] * (d["e"] == 2), c=d["w"] * (d["e"] == 0)).groupby("t")[
        ["w", "d1", "d2", "c"]].sum()
    t = g.index.to_numpy(float)
    removed, d1, d2 = g["w"].to_numpy(), g["d1"].to_numpy(), g["d2"].to_numpy()
    n = removed[::-1].cumsum()[::-1]
    dd = d1 + d2
    with np.errstate(invalid="ignore", divide="ignore"):
        S = np.cumprod(1 - dd / n)
        S_prev = np.concatenate([[1.0], S[:-1]])
        F1 = np.cumsum(S_prev * d1 / n)
        F2 = np.cumsum(S_prev * d2 / n)
        # at a time where everyone left at risk has an event (n_j = d_j) a_j is infinite but multiplies
        # (F(t) - F(t_j))^2 = 0 (no later time exists), so its term is 0; lifelines gives NaN there
        a = np.where((dd > 0) & (n > dd), dd / (n * (n - dd)), 0.0)
        b = S_prev ** 2 * d1 * (n - d1) / n ** 3
        c = S_prev * d1 / n ** 2
        A, AF, AFF = np.cumsum(a), np.cumsum(a * F1), np.cumsum(a * F1 ** 2)
        C, CF = np.cumsum(c), np.cumsum(c * F1)
        var = F1 ** 2 * A - 2 * F1 * AF + AFF + np.cumsum(b) - 2 * (F1 * C - CF)
        z = z_value(alpha)
        lf = np.log(-np.log(F1))
        se = np.sqrt(var) / (F1 * np.abs(np.log(F1)))
        lo, hi = np.exp(-np.exp(lf + z * se)), np.exp(-np.exp(lf - z * se))
    ok = np.isfinite(lo) & np.isfinite(hi) & (F1 > 0)
    return pd.DataFrame({"time_seconds": t, "conversion_probability": F1, "ci_lower": np.where(ok, lo, np.nan),
                         "ci_upper": np.where(ok, hi, np.nan), "abandonment_probability": F2, "at_risk": n,
                         "conversions": d1, "abandonments": d2, "censored": g["c"].to_numpy()})


@displayable(tables=("table",))
@dataclass(frozen=True)
class TimeToConvert:
    """Time from journey start to conversion, with abandonment as a competing event.

    Attributes
    ----------
    table : DataFrame
        Columns :data:`TTC_COLUMNS`: the median among converters (``median_converters``), the
        time by which half of all journeys have converted (``median_cumulative_incidence``, NaN
        when fewer than half ever convert, the usual case), and the cumulative incidence of
        conversion at each horizon (``conversion_by``, Aalen-Johansen with delta-method CI).
    curve : DataFrame
        The Aalen-Johansen curves, columns :data:`CURVE_COLUMNS`.
    conversion_share : float
        Plain share of converted journeys among those with a known outcome (the curve's limit
        when no journey is censored).
    """

    table: pd.DataFrame
    curve: pd.DataFrame
    ci_level: float
    conversion_share: float = float("nan")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


@journey_split
def time_to_convert(journeys: Any, *, horizons: Sequence[str | pd.Timedelta] = ("1D", "7D", "30D"),
                    alpha: float = 0.05, segment: str | None = None, segments: Any = None) -> TimeToConvert:
    """Time to convert: median among converters (CI) and the cumulative incidence of conversion over all journeys.

    Per segment: ``by_segment(time_to_convert, journeys, segment=..., segments=...)``, a
    :class:`~cxlib.journey.BySegment` (:func:`cxlib.journey.by_segment`; ``by=`` here is deprecated).

    Parameters
    ----------
    journeys : Journeys or events
    horizons : sequence of durations
        Times after journey start at which the cumulative incidence of conversion is reported.
    alpha : float
        1 - confidence level.

    Returns
    -------
    TimeToConvert

    Notes
    -----
    Every journey ends in one of three ways, and only one of them is censoring.  A converted
    journey has its event (1) at ``ended_at - started_at``; an abandoned one has the *competing*
    event (2) at its last event -- it can no longer convert, so treating it as censored (as a
    Kaplan-Meier ``1 - S(t)`` of conversion would) pretends it might still convert like the
    journeys left at risk and overstates conversion (on the synthetic world: 54% "converted by one
    day" when 19% of journeys ever convert).  Only journeys still open at the end of observation
    are censored, at ``observation_end - started_at``.  The cumulative incidence
    ``F_1(t) = P(converted by t)`` is the Aalen-Johansen estimate (:func:`aalen_johansen`,
    Aalen & Johansen 1978; Putter, Fiocco & Geskus 2007 on why ``1 - KM`` is wrong here);
    without censoring ``F_1(inf)`` is the plain share of converted journeys.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c", "c", "d"],
    ...     "timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 12:00", "2025-01-02 10:00",
    ...                                  "2025-01-02 11:00", "2025-01-03 10:00", "2025-01-03 10:30",
    ...                                  "2025-01-09 10:00"]),
    ...     "touchpoint": ["search", "purchase", "search", "purchase", "search", "cart", "search"]})
    >>> from cxlib.journey import journeyize
    >>> ttc = time_to_convert(journeyize(ev, gap="1D"), horizons=["1h", "7D"])
    >>> ttc.to_frame().set_index("statistic").loc["median_converters", ["estimate", "n"]].astype(float).tolist()
    [5400.0, 2.0]
    >>> ttc.to_frame().query("statistic == 'conversion_by'")["estimate"].round(3).tolist()
    [0.333, 0.667]
    """
    if segment is not None:
        def run(j: Journeys) -> Any:
            return time_to_convert(j, horizons=horizons, alpha=alpha)
        return by_segment(run, journeys, segment, segments)
    check_alpha(alpha)
    js = as_journeys(journeys)
    _need_times(js)
    hs = [_timedelta(h, "horizon") for h in horizons]
    obs_end = literal(pd.Timestamp(js.observation_end).isoformat(sep=" "))
    t = js.journey_table
    med = median_with_ci(js.backend, f"SELECT epoch(ended_at - started_at) AS x FROM {t} WHERE converted", [], alpha)
    dur = js.backend.df(f"""
SELECT CASE WHEN outcome = 'censored' THEN epoch(TIMESTAMP {obs_end} - started_at)
            ELSE epoch(ended_at - started_at) END::DOUBLE AS d,
       CASE outcome WHEN 'conversion' THEN 1 WHEN 'abandonment' THEN 2 ELSE 0 END AS e, sum(weight)::DOUBLE AS w
FROM {t} GROUP BY ALL ORDER BY d, e""")
    if dur.empty:
        raise DataContractError("No journey to time.", rule="non-empty table")
    curve = aalen_johansen(dur["d"], dur["e"], dur["w"], alpha=alpha)
    n_all, n_conv = float(dur["w"].sum()), float(dur.loc[dur["e"] == 1, "w"].sum())
    known = float(dur.loc[dur["e"] > 0, "w"].sum())
    F = curve["conversion_probability"].to_numpy()
    half = np.flatnonzero(F >= 0.5)
    rows = [{"statistic": "median_converters", "horizon_seconds": np.nan,
             "estimate": float(med["median"].iloc[0]) if len(med) else np.nan,
             "ci_lower": float(med["ci_lower"].iloc[0]) if len(med) else np.nan,
             "ci_upper": float(med["ci_upper"].iloc[0]) if len(med) else np.nan, "n": n_conv, "n_events": n_conv,
             "method": "median time from first event to conversion among converted journeys (seconds); "
                       "binomial order-statistic CI"},
            {"statistic": "median_cumulative_incidence", "horizon_seconds": np.nan,
             "estimate": float(curve["time_seconds"].iloc[half[0]]) if len(half) else np.nan,
             "ci_lower": np.nan, "ci_upper": np.nan, "n": n_all, "n_events": n_conv,
             "method": "time by which half of all journeys have converted, Aalen-Johansen (seconds; NaN when "
                       "fewer than half convert)"}]
    times = curve["time_seconds"].to_numpy()
    for h in hs:
        secs = h.total_seconds()
        pos = np.searchsorted(times, secs, side="right") - 1
        r = curve.iloc[max(pos, 0)]
        rows.append({"statistic": "conversion_by", "horizon_seconds": secs,
                     "estimate": float(r["conversion_probability"]) if pos >= 0 else 0.0,
                     "ci_lower": float(r["ci_lower"]) if pos >= 0 else np.nan,
                     "ci_upper": float(r["ci_upper"]) if pos >= 0 else np.nan, "n": n_all, "n_events": n_conv,
                     "method": "Aalen-Johansen cumulative incidence of conversion (abandonment competing, open "
                               "journeys censored), delta-method log(-log) CI"})
    table = pd.DataFrame(rows).assign(ci_level=1 - alpha)
    return TimeToConvert(table=table[list(TTC_COLUMNS)], curve=curve[list(CURVE_COLUMNS)], ci_level=1 - alpha,
                         conversion_share=n_conv / known if known else float("nan"))
