"""Support metrics from tickets: resolution and first-response times, SLA share, backlog, hold and handle times.

Each returns one :class:`~cxlib.metrics.MetricResult`; per channel or segment use :func:`cxlib.metrics.by_segment`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError, check_choice
from ..stats import Segment, check_alpha, median_interval
from ._core import MetricResult, apply_grouped, metric_split, warn_small
from .customers import proportion_result
from .survey import mean_score

TimeUnit = Literal["seconds", "minutes", "hours", "days"]
TIME_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
Statistic = Literal["mean", "median"]
STATISTICS = ("mean", "median")


def _require(tickets: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in tickets.columns]
    if missing:
        raise DataContractError(f"{what} needs the tickets columns {list(columns)}; missing {missing} "
                                f"(optional columns of the contract may be absent from a source).",
                                table="tickets", column=missing[0], rule="column present")


def durations(tickets: pd.DataFrame, *, start: str = "opened_at", end: str = "resolved_at",
              unit: TimeUnit = "hours") -> pd.Series:
    """``end - start`` in ``unit`` (NaN where ``end`` is missing).

    >>> t = pd.DataFrame({"opened_at": pd.to_datetime(["2025-10-01 10:00"] * 2),
    ...                   "resolved_at": pd.to_datetime(["2025-10-01 12:30", None])})
    >>> durations(t).tolist()
    [2.5, nan]
    """
    check_choice("unit", unit, tuple(TIME_UNITS))
    _require(tickets, [start, end], "A duration")
    delta = pd.to_datetime(tickets[end]) - pd.to_datetime(tickets[start])
    return delta.dt.total_seconds() / TIME_UNITS[unit]


def _duration_metric(tickets: pd.DataFrame, *, metric: str, end: str, segment: Segment, statistic: str, unit: str,
                     alpha: float, what: str) -> MetricResult | pd.DataFrame:
    check_choice("statistic", statistic, STATISTICS)
    frame = tickets.assign(_duration=durations(tickets, end=end, unit=unit).to_numpy())
    if statistic == "mean":
        return mean_score(frame, col="_duration", metric=metric, segment=segment, alpha=alpha,
                          what=f"mean {what} in {unit} (total time / tickets with a {end})")

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        values = sub["_duration"].dropna().to_numpy(dtype=float)
        n = int(values.size)
        warn_small(metric, label, n, 1, "tickets")
        lo, hi = median_interval(values, alpha=alpha)
        return MetricResult(metric=metric, segment=label, estimate=float(np.median(values)) if n else np.nan,
                            ci_lower=lo, ci_upper=hi, ci_level=1 - alpha, n=n,
                            method=f"median {what} in {unit}; order-statistic (binomial) interval")

    return apply_grouped(frame, segment, one)


@metric_split
def resolution_time(tickets: pd.DataFrame, *, segment: Segment = None, statistic: Statistic = "mean",
                    unit: TimeUnit = "hours", alpha: float = 0.05) -> MetricResult:
    """Average or median resolution time of solved tickets, with its interval.

    Parameters
    ----------
    tickets : DataFrame
        ``opened_at`` and ``resolved_at`` (missing = unresolved, left out), plus the segment columns
        (``channel``, ``category``...) for :func:`cxlib.metrics.by_segment`.
    statistic : {"mean", "median"}
        ``"mean"`` is total resolution time of solved tickets / number solved (t interval; fine
        for skewed times from a few dozen tickets on); ``"median"`` is robust to the long tail
        (distribution-free order-statistic interval).
    unit : {"seconds", "minutes", "hours", "days"}
        Unit of the result.
    alpha : float
        ``1 - confidence level``.

    Returns
    -------
    MetricResult
        ``n`` is the number of solved tickets.

    Notes
    -----
    Unresolved tickets are right-censored: leaving them out biases the mean down when the
    backlog is large; report :func:`backlog` beside it.

    Examples
    --------
    >>> t = pd.DataFrame({"opened_at": pd.to_datetime(["2025-10-01 10:00"] * 3),
    ...     "resolved_at": pd.to_datetime(["2025-10-01 11:00", "2025-10-01 13:00", None])})
    >>> r = resolution_time(t)
    >>> r.estimate, r.n
    (2.0, 2)
    """
    check_alpha(alpha)
    return _duration_metric(tickets, metric="resolution_time", end="resolved_at", segment=segment, statistic=statistic,
                            unit=unit, alpha=alpha, what="resolution time")


@metric_split
def first_response_time(tickets: pd.DataFrame, *, segment: Segment = None,
                        statistic: Statistic = "mean", unit: TimeUnit = "minutes",
                        alpha: float = 0.05) -> MetricResult:
    """Average or median time to the first agent or bot response, over tickets that got one.

    Examples
    --------
    >>> t = pd.DataFrame({"opened_at": pd.to_datetime(["2025-10-01 10:00"] * 2),
    ...     "first_response_at": pd.to_datetime(["2025-10-01 10:04", "2025-10-01 10:08"])})
    >>> first_response_time(t).estimate
    6.0
    """
    check_alpha(alpha)
    return _duration_metric(tickets, metric="first_response_time", end="first_response_at", segment=segment,
                            statistic=statistic, unit=unit, alpha=alpha, what="first-response time")


@metric_split
def sla_share(tickets: pd.DataFrame, *, minutes: float = 10.0, segment: Segment = None,
              alpha: float = 0.05) -> MetricResult:
    """Share of tickets first answered within ``minutes`` of opening, with a Wilson interval.

    Parameters
    ----------
    minutes : float
        The service-level target (10 minutes by default, the common chat/phone target).

    Notes
    -----
    Tickets never answered count as missing the SLA: dropping them would flatter the share.

    Examples
    --------
    >>> t = pd.DataFrame({"opened_at": pd.to_datetime(["2025-10-01 10:00"] * 4),
    ...     "first_response_at": pd.to_datetime(["2025-10-01 10:04", "2025-10-01 10:10",
    ...                                          "2025-10-01 10:30", None])})
    >>> sla_share(t).estimate
    0.5
    """
    check_alpha(alpha)
    if not minutes > 0:
        raise ParameterError(f"minutes={minutes!r} must be a positive SLA target in minutes.")
    wait = durations(tickets, end="first_response_at", unit="minutes")
    frame = tickets.assign(_met=(wait <= minutes).to_numpy())

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        return proportion_result("sla_share", label, int(sub["_met"].sum()), len(sub), alpha=alpha,
                                 method=f"tickets first answered within {minutes:g} min (unanswered = missed); "
                                        "Wilson interval")

    return apply_grouped(frame, segment, one)


@metric_split
def resolved_within(tickets: pd.DataFrame, *, hours: float = 24.0, segment: Segment = None,
                    observed_until: Any = None, alpha: float = 0.05) -> MetricResult:
    """Share of tickets resolved within ``hours`` of opening, free of the censoring that biases mean times.

    Parameters
    ----------
    hours : float
        Resolution target (24 hours by default).
    observed_until : timestamp, optional
        End of observation (default: the latest ``opened_at``/``first_response_at``/``resolved_at`` in
        ``tickets``). Tickets opened less than ``hours`` before it are left out: whether they will be
        resolved in time is not yet known.

    Notes
    -----
    A mean resolution time over solved tickets is biased down for a recent period, whose slow tickets
    are still open; comparing periods on it flatters the latest one. The share resolved within a
    fixed horizon, among tickets old enough to know, is comparable across periods.

    Examples
    --------
    >>> t = pd.DataFrame({"opened_at": pd.to_datetime(["2025-10-01 08:00", "2025-10-01 09:00", "2025-10-05 00:00"]),
    ...     "resolved_at": pd.to_datetime(["2025-10-01 12:00", "2025-10-03 09:00", "2025-10-05 01:00"])})
    >>> r = resolved_within(t, hours=24)
    >>> r.estimate, r.n
    (0.5, 2)
    """
    check_alpha(alpha)
    if not hours > 0:
        raise ParameterError(f"hours={hours!r} must be a positive resolution target in hours.")
    _require(tickets, ["opened_at", "resolved_at"], "The share resolved in time")
    opened = pd.to_datetime(tickets["opened_at"])
    if observed_until is None:
        stamps = [pd.to_datetime(tickets[c]).max() for c in ("opened_at", "first_response_at", "resolved_at")
                  if c in tickets.columns]
        observed_until = max(s for s in stamps if not pd.isna(s))
    horizon = pd.Timedelta(hours=hours)
    known = (opened <= pd.Timestamp(observed_until) - horizon).to_numpy()
    met = (durations(tickets, end="resolved_at", unit="hours") <= hours).to_numpy()
    frame = tickets.assign(_met=met)[known]

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        return proportion_result("resolved_within", label, int(sub["_met"].sum()), len(sub), alpha=alpha,
                                 method=f"tickets resolved within {hours:g} h of opening (tickets opened in the last "
                                        f"{hours:g} h of observation left out); Wilson interval")

    return apply_grouped(frame, segment, one)


@metric_split
def backlog(tickets: pd.DataFrame, *, at: Any, segment: Segment = None) -> MetricResult:
    """Open tickets at the instant ``at``: opened before it and not resolved by then.

    Returns
    -------
    MetricResult
        ``estimate`` is the count (no interval: it is a census); ``n`` the tickets opened before ``at``.

    Examples
    --------
    >>> t = pd.DataFrame({"opened_at": pd.to_datetime(["2025-10-01", "2025-10-02", "2025-12-30"]),
    ...     "resolved_at": pd.to_datetime(["2025-10-03", None, None])})
    >>> backlog(t, at="2025-11-01").estimate
    1.0
    """
    _require(tickets, ["opened_at", "resolved_at"], "The backlog")
    at = pd.Timestamp(at)
    opened = pd.to_datetime(tickets["opened_at"]) < at
    resolved = pd.to_datetime(tickets["resolved_at"])
    frame = tickets.assign(_opened=opened.to_numpy(), _open=(opened & (resolved.isna() | (resolved > at))).to_numpy())

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        return MetricResult(metric="backlog", segment=label, estimate=float(sub["_open"].sum()),
                            n=int(sub["_opened"].sum()), method=f"tickets open at {at} (count; census, no interval)")

    return apply_grouped(frame, segment, one)


@metric_split
def hold_time(tickets: pd.DataFrame, *, segment: Segment = None,
              alpha: float = 0.05) -> MetricResult:
    """Mean hold time in minutes (optional column ``hold_minutes``) with a t interval.

    Examples
    --------
    >>> hold_time(pd.DataFrame({"hold_minutes": [1.0, 2.0, 3.0, None]})).estimate
    2.0
    """
    _require(tickets, ["hold_minutes"], "The hold time")
    return mean_score(tickets, col="hold_minutes", metric="hold_time", segment=segment, alpha=alpha, scale=(0, None),
                      what="mean hold time in minutes")


@metric_split
def handle_time(tickets: pd.DataFrame, *, segment: Segment = None,
                alpha: float = 0.05) -> MetricResult:
    """Mean agent handle time in minutes (optional column ``handle_minutes``) with a t interval.

    Examples
    --------
    >>> handle_time(pd.DataFrame({"handle_minutes": [4.0, 6.0]})).estimate
    5.0
    """
    _require(tickets, ["handle_minutes"], "The handle time")
    return mean_score(tickets, col="handle_minutes", metric="handle_time", segment=segment, alpha=alpha,
                      scale=(0, None), what="mean handle time in minutes")
