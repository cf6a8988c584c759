"""Time between touchpoints and time to convert (medians with intervals; Kaplan-Meier view with censoring)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError, check_choice
from ._stats import check_alpha
from .sessions import Journeys, _timedelta, as_journeys
from .sql import literal, median_with_ci

__all__ = ["time_between", "time_to_convert", "TimeToConvert", "GAP_COLUMNS", "TTC_COLUMNS", "ANY"]

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
    med = median_with_ci(js.engine, values, ["source", "target"], alpha)
    more = js.engine.df(f"""SELECT source, target, quantile_cont(x, 0.25)::DOUBLE AS p25_seconds,
quantile_cont(x, 0.75)::DOUBLE AS p75_seconds, quantile_cont(x, 0.9)::DOUBLE AS p90_seconds,
avg(x)::DOUBLE AS mean_seconds FROM ({values}) GROUP BY ALL""")
    out = med.rename(columns={"median": "median_seconds"}).merge(more, on=["source", "target"], how="left")
    out["n"] = out["n"].astype(float)
    out = out.assign(ci_level=1 - alpha, method="median with binomial order-statistic CI; quantiles by linear "
                     "interpolation").sort_values(["n", "source", "target"], ascending=[False, True, True],
                                                  kind="mergesort")
    return out[list(GAP_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class TimeToConvert:
    """Time from journey start to conversion.

    Attributes
    ----------
    table : DataFrame
        Columns :data:`TTC_COLUMNS`: the median among converters, the Kaplan-Meier median over all
        journeys (NaN when fewer than half ever convert), and the cumulative conversion probability
        at each horizon.
    curve : DataFrame
        Kaplan-Meier cumulative conversion ``1 - S(t)``: ``time_seconds, conversion_probability,
        ci_lower, ci_upper, at_risk``.
    """

    table: pd.DataFrame
    curve: pd.DataFrame
    ci_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def time_to_convert(journeys: Any, *, horizons: Sequence[str | pd.Timedelta] = ("1D", "7D", "30D"),
                    alpha: float = 0.05) -> TimeToConvert:
    """Time to convert: median among converters (CI) and a Kaplan-Meier view in which open journeys are censored.

    Parameters
    ----------
    journeys : Journeys or events
    horizons : sequence of durations
        Times after journey start at which the cumulative conversion probability is reported.
    alpha : float
        1 - confidence level.

    Returns
    -------
    TimeToConvert

    Notes
    -----
    A converted journey contributes an event at ``ended_at - started_at``; an abandoned one is
    censored at its last event (it could not convert later without starting a new journey), a
    censored (still open) one at ``observation_end - started_at``.  ``1 - S(t)`` is the
    Kaplan-Meier (1958) estimate with Greenwood's variance and log(-log) intervals (lifelines),
    fitted on distinct (duration, event) pairs weighted by their counts.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
    ...     "timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 12:00", "2025-01-02 10:00",
    ...                                  "2025-01-02 11:00", "2025-01-09 10:00"]),
    ...     "touchpoint": ["search", "purchase", "search", "purchase", "search"]})
    >>> from cxlib.journey import journeyize
    >>> ttc = time_to_convert(journeyize(ev, gap="1D"))
    >>> ttc.to_frame().set_index("statistic").loc["median_converters", ["estimate", "n"]].astype(float).tolist()
    [5400.0, 2.0]
    """
    from lifelines import KaplanMeierFitter

    check_alpha(alpha)
    js = as_journeys(journeys)
    _need_times(js)
    hs = [_timedelta(h, "horizon") for h in horizons]
    obs_end = literal(pd.Timestamp(js.observation_end).isoformat(sep=" "))
    med = median_with_ci(js.engine, f"SELECT epoch(ended_at - started_at) AS x FROM {js.table} WHERE converted",
                         [], alpha)
    dur = js.engine.df(f"""
SELECT CASE WHEN outcome = 'censored' THEN epoch(TIMESTAMP {obs_end} - started_at)
            ELSE epoch(ended_at - started_at) END::DOUBLE AS d, converted::INT AS e, sum(weight)::DOUBLE AS w
FROM {js.table} GROUP BY ALL ORDER BY d, e""")
    if dur.empty:
        raise DataContractError("No journey to time.", rule="non-empty table")
    kmf = KaplanMeierFitter(alpha=alpha).fit(dur["d"], event_observed=dur["e"], weights=dur["w"])
    cd = kmf.cumulative_density_.iloc[:, 0]
    ci = kmf.confidence_interval_cumulative_density_
    curve = pd.DataFrame({"time_seconds": cd.index.to_numpy(float), "conversion_probability": cd.to_numpy(),
                          "ci_lower": ci.iloc[:, 0].to_numpy(), "ci_upper": ci.iloc[:, 1].to_numpy(),
                          "at_risk": kmf.event_table["at_risk"].reindex(cd.index).to_numpy(float)})
    n_all, n_conv = float(dur["w"].sum()), float((dur["w"] * dur["e"]).sum())
    km_med = float(kmf.median_survival_time_)
    rows = [{"statistic": "median_converters", "horizon_seconds": np.nan,
             "estimate": float(med["median"].iloc[0]) if len(med) else np.nan,
             "ci_lower": float(med["ci_lower"].iloc[0]) if len(med) else np.nan,
             "ci_upper": float(med["ci_upper"].iloc[0]) if len(med) else np.nan, "n": n_conv, "n_events": n_conv,
             "method": "median time from first event to conversion among converted journeys (seconds); "
                       "binomial order-statistic CI"},
            {"statistic": "median_kaplan_meier", "horizon_seconds": np.nan,
             "estimate": km_med if np.isfinite(km_med) else np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
             "n": n_all, "n_events": n_conv,
             "method": "Kaplan-Meier median time to conversion over all journeys (seconds; NaN if under half convert)"}]
    for h in hs:
        secs = h.total_seconds()
        pos = np.searchsorted(curve["time_seconds"].to_numpy(), secs, side="right") - 1
        r = curve.iloc[max(pos, 0)]
        rows.append({"statistic": "conversion_by", "horizon_seconds": secs,
                     "estimate": float(r["conversion_probability"]) if pos >= 0 else 0.0,
                     "ci_lower": float(r["ci_lower"]) if pos >= 0 else np.nan,
                     "ci_upper": float(r["ci_upper"]) if pos >= 0 else np.nan, "n": n_all, "n_events": n_conv,
                     "method": "Kaplan-Meier cumulative conversion 1 - S(t), Greenwood log(-log) CI; "
                               "open journeys censored"})
    table = pd.DataFrame(rows).assign(ci_level=1 - alpha)
    return TimeToConvert(table=table[list(TTC_COLUMNS)], curve=curve, ci_level=1 - alpha)
