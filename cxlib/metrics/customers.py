"""Customer-base metrics: churn and retention, repeat purchase and acquisition rates."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .._deprecation import renamed_arguments
from ..errors import DataContractError, ParameterError, check_choice
from ..periods import period_bounds
from ..stats import Segment, check_alpha, segment_keys, wilson_interval
from ._core import MetricResult, apply_grouped, metric_split, warn_small

ChurnDefinition = Literal["cohort", "textbook"]
CHURN_DEFINITIONS = ("cohort", "textbook")


def proportion_result(metric: str, segment: str, x: int, n: int, *, alpha: float, method: str) -> MetricResult:
    """A share ``x / n`` with its Wilson interval as a :class:`MetricResult`.

    >>> proportion_result("share", "all", 3, 4, alpha=0.05, method="demo").estimate
    0.75
    """
    warn_small(metric, segment, n, 1, "observations")
    lo, hi = wilson_interval(x, n, alpha=alpha)
    p = x / n if n else np.nan
    se = float(np.sqrt(p * (1 - p) / n)) if n else np.nan
    return MetricResult(metric=metric, segment=segment, estimate=float(p), ci_lower=float(lo), ci_upper=float(hi),
                        ci_level=1 - alpha, se=se, n=int(n), method=method)


def _check_counts(**counts: Any) -> dict[str, int]:
    out = {}
    for name, value in counts.items():
        if not (isinstance(value, (int, np.integer)) and value >= 0):
            raise ParameterError(f"{name}={value!r} must be a non-negative integer count of customers.")
        out[name] = int(value)
    if out["start"] == 0:
        raise ParameterError("start=0: a churn or retention rate needs customers at the start of the period.")
    if out["end"] < out["acquired"]:
        raise ParameterError(f"end={out['end']} is smaller than acquired={out['acquired']}: the customers at the "
                             "end include those acquired during the period, so end >= acquired.")
    return out


def churn_from_counts(*, start: int, end: int, acquired: int, alpha: float = 0.05) -> MetricResult:
    """Churn rate from customer counts: ``(start + acquired - end) / start``.

    Parameters
    ----------
    start, end : int
        Customers at the start and at the end of the period.
    acquired : int
        Customers acquired during the period (included in ``end`` if they stayed).
    alpha : float
        ``1 - confidence level`` of the Wilson interval.

    Returns
    -------
    MetricResult
        ``estimate`` is the share lost, ``n = start``. The Wilson interval treats the lost
        customers as binomial out of ``start``; it is NaN when more customers were lost than
        were there at the start (heavy churn among the newly acquired), where that model fails.

    Notes
    -----
    :math:`\\text{lost} = S + A - E`, :math:`\\text{churn} = \\text{lost}/S`.

    References
    ----------
    The textbook example (e.g. Fader & Hardie's and most CRM texts' worked example): 750
    customers at the start of the year, 600 at the end and 110 acquired: 260 lost, 34.7%.

    Examples
    --------
    >>> r = churn_from_counts(start=750, end=600, acquired=110)
    >>> round(r.estimate, 4), r.n
    (0.3467, 750)
    """
    check_alpha(alpha)
    c = _check_counts(start=start, end=end, acquired=acquired)
    lost = c["start"] + c["acquired"] - c["end"]
    if lost < 0:
        raise ParameterError(f"start + acquired - end = {lost} < 0: more customers at the end than could be there.")
    if lost > c["start"]:
        return MetricResult(metric="churn_rate", estimate=lost / c["start"], n=c["start"], ci_level=1 - alpha,
                            method="churn = (start + acquired - end) / start; no interval (lost > start)")
    return proportion_result("churn_rate", "all", lost, c["start"], alpha=alpha,
                             method="churn = (start + acquired - end) / start; Wilson interval")


def retention_from_counts(*, start: int, end: int, acquired: int, alpha: float = 0.05) -> MetricResult:
    """Retention rate from customer counts: ``(end - acquired) / start`` (the complement of churn).

    Examples
    --------
    >>> round(retention_from_counts(start=750, end=600, acquired=110).estimate, 4)
    0.6533
    """
    check_alpha(alpha)
    c = _check_counts(start=start, end=end, acquired=acquired)
    retained = c["end"] - c["acquired"]
    if retained > c["start"]:
        raise ParameterError(f"end - acquired = {retained} exceeds start = {c['start']}: check the counts.")
    return proportion_result("retention_rate", "all", retained, c["start"], alpha=alpha,
                             method="retention = (end - acquired) / start; Wilson interval")


@renamed_arguments(by="segment")
def subscription_status(subscriptions: pd.DataFrame, *, period: Any, id_col: str = "customer_id",
                        segment: Segment = None) -> pd.DataFrame:
    """One row per customer: active at the start of ``period``, active at its end, acquired during it.

    A customer is active at an instant when one of their subscriptions has started before it and
    not ended by then (a missing ``end_date`` is still active). A subscription ending on the first
    day of the period counts as active at the start and lost during the period.

    Returns
    -------
    DataFrame
        Columns ``id_col``, the ``segment`` columns (kept when given), ``active_start``, ``active_end``,
        ``acquired`` (bool).

    Examples
    --------
    >>> subs = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-06-01", "2025-03-01"]),
    ...     "end_date": pd.to_datetime([None, "2025-02-01", None])})
    >>> subscription_status(subs, period="2025")[["active_start", "active_end", "acquired"]].sum().tolist()
    [2, 2, 1]
    """
    start, end = period_bounds(period)
    keys = segment_keys(segment)
    needed = [id_col, "start_date", "end_date", *keys]
    missing = [c for c in needed if c not in subscriptions.columns]
    if missing:
        raise DataContractError(f"subscriptions need columns {needed}; missing {missing}.", table="subscriptions",
                                column=missing[0], rule="column present")
    s = pd.to_datetime(subscriptions["start_date"])
    e = pd.to_datetime(subscriptions["end_date"])
    flags = pd.DataFrame({
        "active_start": (s < start) & (e.isna() | (e >= start)),
        "active_end": (s < end) & (e.isna() | (e >= end)),
        "started": (s >= start) & (s < end),
    })
    for c in [id_col, *keys]:
        flags[c] = subscriptions[c].to_numpy()
    out = flags.groupby([*keys, id_col], observed=True, sort=True)[["active_start", "active_end", "started"]].any()
    out["acquired"] = out["started"] & ~out["active_start"]
    return out.drop(columns="started").reset_index()


def _rate_from_status(status: pd.DataFrame, *, which: str, definition: str, period: Any, alpha: float,
                      segment: Segment) -> MetricResult | pd.DataFrame:
    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        s = int(sub["active_start"].sum())
        e = int(sub["active_end"].sum())
        a = int(sub["acquired"].sum())
        if definition == "cohort":
            kept = int((sub["active_start"] & sub["active_end"]).sum())
            x = s - kept if which == "churn_rate" else kept
            text = ("share of the customers active at the start not active at the end" if which == "churn_rate"
                    else "share of the customers active at the start still active at the end")
            return proportion_result(which, label, x, s, alpha=alpha, method=f"{text} of {period}; Wilson interval")
        if s == 0:
            warn_small(which, label, 0, 1, "customers at the start")
            return MetricResult(metric=which, segment=label, estimate=np.nan, n=0, ci_level=1 - alpha,
                                method="textbook rate; no customers at the start")
        if which == "churn_rate":
            r = churn_from_counts(start=s, end=e, acquired=a, alpha=alpha)
        else:
            r = retention_from_counts(start=s, end=e, acquired=a, alpha=alpha)
        return replace(r, segment=label, method=r.method + f" over {period}")

    return apply_grouped(status, segment, one)


@metric_split
def churn_rate(subscriptions: pd.DataFrame, *, period: Any, definition: ChurnDefinition = "cohort",
               segment: Segment = None, alpha: float = 0.05,
               id_col: str = "customer_id") -> MetricResult:
    """Churn rate over a period from subscription records.

    Parameters
    ----------
    subscriptions : DataFrame
        ``start_date``, ``end_date`` (missing = still active) and ``id_col`` (plus the segment
        columns for :func:`cxlib.metrics.by_segment`: merge customer attributes in first).
    period : str, Period or (start, end)
        The period, e.g. ``"2025Q4"`` (see :class:`~cxlib.periods.Period`).
    definition : {"cohort", "textbook"}
        ``"cohort"`` (default): the share of customers active at the start who are no longer
        active at the end, a true binomial proportion with a Wilson interval. ``"textbook"``:
        ``(start + acquired - end) / start`` as in :func:`churn_from_counts`, which also counts
        customers acquired and lost within the period.
    alpha : float
        ``1 - confidence level``.
    id_col : str
        Customer identifier; a customer is active if any of their subscriptions is.

    Returns
    -------
    MetricResult
        ``n`` is the number of customers active at the start (per segment with
        :func:`cxlib.metrics.by_segment`).

    Examples
    --------
    >>> subs = pd.DataFrame({"customer_id": list("abcd"),
    ...     "start_date": pd.to_datetime(["2024-01-01"] * 3 + ["2025-05-01"]),
    ...     "end_date": pd.to_datetime(["2025-03-01", None, None, "2025-08-01"])})
    >>> r = churn_rate(subs, period="2025")
    >>> round(r.estimate, 4), r.n
    (0.3333, 3)
    >>> round(churn_rate(subs, period="2025", definition="textbook").estimate, 4)
    0.6667
    """
    check_alpha(alpha)
    check_choice("definition", definition, CHURN_DEFINITIONS)
    status = subscription_status(subscriptions, period=period, id_col=id_col, segment=segment)
    return _rate_from_status(status, which="churn_rate", definition=definition, period=period, alpha=alpha,
                             segment=segment)


@metric_split
def retention_rate(subscriptions: pd.DataFrame, *, period: Any, definition: ChurnDefinition = "cohort",
                   segment: Segment = None, alpha: float = 0.05,
                   id_col: str = "customer_id") -> MetricResult:
    """Retention rate over a period from subscription records (the complement of :func:`churn_rate`).

    Examples
    --------
    >>> subs = pd.DataFrame({"customer_id": list("abc"),
    ...     "start_date": pd.to_datetime(["2024-01-01"] * 3),
    ...     "end_date": pd.to_datetime(["2025-03-01", None, None])})
    >>> round(retention_rate(subs, period="2025").estimate, 4)
    0.6667
    """
    check_alpha(alpha)
    check_choice("definition", definition, CHURN_DEFINITIONS)
    status = subscription_status(subscriptions, period=period, id_col=id_col, segment=segment)
    return _rate_from_status(status, which="retention_rate", definition=definition, period=period, alpha=alpha,
                             segment=segment)


@metric_split
def repeat_purchase_rate(transactions: pd.DataFrame, *, period: Any = None, segment: Segment = None,
                         alpha: float = 0.05, id_col: str = "customer_id",
                         time_col: str = "timestamp") -> MetricResult:
    """Share of purchasing customers who bought at least twice (in ``period`` if given).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": list("aab"),
    ...     "timestamp": pd.to_datetime(["2025-10-02", "2025-11-05", "2025-10-09"])})
    >>> repeat_purchase_rate(tx, period="2025Q4").estimate
    0.5
    """
    check_alpha(alpha)
    keys = segment_keys(segment)
    frame = transactions
    if period is not None:
        start, end = period_bounds(period)
        t = pd.to_datetime(frame[time_col])
        frame = frame[(t >= start) & (t < end)]
    per_customer = frame.groupby([*keys, id_col], observed=True).size().rename("purchases").reset_index()

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        return proportion_result("repeat_purchase_rate", label, int((sub["purchases"] >= 2).sum()), len(sub),
                                 alpha=alpha, method="customers with 2+ purchases / purchasing customers; Wilson")

    return apply_grouped(per_customer, segment, one)


@metric_split
def acquisition_rate(customers: pd.DataFrame, *, period: Any, segment: Segment = None,
                     alpha: float = 0.05, date_col: str = "signup_date") -> MetricResult:
    """New customers in ``period`` per customer already acquired at its start, with an exact Poisson interval.

    Notes
    -----
    With :math:`A` acquisitions and :math:`S` customers at the start, the rate is :math:`A/S`;
    the interval is Garwood's exact Poisson interval for :math:`A` divided by :math:`S`:
    :math:`[\\chi^2_{2A,\\alpha/2}/2,\\ \\chi^2_{2A+2,1-\\alpha/2}/2] / S`.

    References
    ----------
    Garwood, F. (1936). Fiducial limits for the Poisson distribution. Biometrika 28, 437-442.

    Examples
    --------
    >>> cust = pd.DataFrame({"signup_date": pd.to_datetime(["2024-01-01"] * 4 + ["2025-02-01"])})
    >>> acquisition_rate(cust, period="2025").estimate
    0.25
    """
    check_alpha(alpha)
    start, end = period_bounds(period)
    d = pd.to_datetime(customers[date_col])
    frame = customers.assign(_before=(d < start).to_numpy(), _new=((d >= start) & (d < end)).to_numpy())

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        s, a = int(sub["_before"].sum()), int(sub["_new"].sum())
        warn_small("acquisition_rate", label, s, 1, "customers at the start")
        lo = stats.chi2.ppf(alpha / 2, 2 * a) / 2 if a > 0 else 0.0
        hi = stats.chi2.ppf(1 - alpha / 2, 2 * a + 2) / 2
        rate = a / s if s else np.nan
        return MetricResult(metric="acquisition_rate", segment=label, estimate=float(rate),
                            ci_lower=float(lo / s) if s else np.nan, ci_upper=float(hi / s) if s else np.nan,
                            ci_level=1 - alpha, se=float(np.sqrt(a) / s) if s else np.nan, n=s,
                            method=f"customers acquired in {period} / customers at its start; exact Poisson interval")

    return apply_grouped(frame, segment, one)
