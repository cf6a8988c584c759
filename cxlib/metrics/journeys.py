"""Journey metrics from touchpoint events: conversion, bounce and cart-abandonment rates.

The journeys are those of :mod:`cxlib.journey.sessions`, the one home of the journey definition
(cut in pandas by :func:`cxlib.journey.sessions.journey_frame`): a journey ends at a conversion, after
an inactivity ``gap`` (when the events carry no journey id) or with the data; one whose last event is
within ``gap`` of the end of observation is still open (``censored``).  Conversion shares count
with :func:`cxlib.journey.sessions.conversion_counts`: open journeys are neither conversions nor
failures.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from .._deprecation import renamed_arguments
from ..journey.sessions import DEFAULT_GAP, KNOWN_OUTCOMES, journey_frame
from ..stats import Segment, check_alpha, segment_keys
from ._core import MetricResult, apply_grouped, metric_split
from .customers import proportion_result

__all__ = ["journey_table", "conversion_rate", "bounce_rate", "cart_abandonment_rate", "DEFAULT_GAP"]

#: Columns of :func:`journey_table` after the ``segment`` columns, in order.
_TABLE_COLUMNS = ("events", "converted", "reached_cart", "converted_after_cart", "outcome")


@renamed_arguments(by="segment")
def journey_table(events: pd.DataFrame, *, journey_col: str | None = "journey_id", gap: str = DEFAULT_GAP,
                  conversion: str = "purchase", cart: str = "cart", segment: Segment = None,
                  observation_end: Any = None) -> pd.DataFrame:
    """One row per journey: number of events, whether it converted, reached the cart, converted after it.

    Parameters
    ----------
    events : DataFrame
        ``customer_id``, ``timestamp``, ``touchpoint`` (and ``journey_col`` if the source has one).
    journey_col : str or None
        Explicit journey identifier, used when every event has one; otherwise journeys are rebuilt
        per customer, a new one starting after an inactivity ``gap``.  Either way a conversion ends
        the journey.
    gap : str
        Pandas timedelta string (default ``"30min"``); also the window within which a journey that
        has not converted is still open at ``observation_end``.
    conversion, cart : str
        Touchpoints marking the conversion and the cart.
    segment : str or list of str, optional
        Segment columns to keep (taken from the journey's first event).
    observation_end : timestamp-like, optional
        End of observation; default the latest event.

    Returns
    -------
    DataFrame
        ``journey`` (the id of :meth:`cxlib.journey.Journeys.to_frame`), the ``segment`` columns, ``events``,
        ``converted``, ``reached_cart``, ``converted_after_cart`` and ``outcome`` (``conversion``,
        ``abandonment`` or ``censored``); ordered by start.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2025-10-01 10:00", "2025-10-01 10:05", "2025-10-02 09:00",
    ...                                  "2025-10-01 11:00"]),
    ...     "touchpoint": ["cart", "purchase", "homepage", "homepage"]})
    >>> journey_table(ev)[["events", "converted_after_cart", "outcome"]].values.tolist()
    [[2, True, 'conversion'], [1, False, 'abandonment'], [1, False, 'censored']]
    """
    keys = segment_keys(segment)
    frame = journey_frame(events, journey_col=journey_col, gap=gap, conversion=conversion,
                          observation_end=observation_end, first=[k for k in keys if k != "customer_id"],
                          reached=(cart,))
    out = frame.rename(columns={"journey_id": "journey", "n_events": "events", f"reached_{cart}": "reached_cart"})
    out["converted_after_cart"] = out["converted"] & out["reached_cart"]  # a conversion is a journey's last event
    return out[["journey", *keys, *_TABLE_COLUMNS]]


def _journey_share(events: pd.DataFrame, *, metric: str, numerator: Callable[[pd.DataFrame], pd.Series],
                   base: Callable[[pd.DataFrame], pd.Series] | None, segment: Segment, alpha: float,
                   journey_col: str | None, gap: str, observation_end: Any,
                   text: str) -> MetricResult | pd.DataFrame:
    check_alpha(alpha)
    table = journey_table(events, journey_col=journey_col, gap=gap, segment=segment,
                          observation_end=observation_end)

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        if base is not None:
            sub = sub[base(sub).to_numpy()]
        x = int(numerator(sub).sum())
        return proportion_result(metric, label, x, len(sub), alpha=alpha, method=f"{text}; Wilson interval")

    return apply_grouped(table, segment, one)


def _known(journeys: pd.DataFrame) -> pd.Series:
    return journeys["outcome"].isin(KNOWN_OUTCOMES)


@metric_split
def conversion_rate(events: pd.DataFrame, *, segment: Segment = None, alpha: float = 0.05,
                    journey_col: str | None = "journey_id", gap: str = DEFAULT_GAP,
                    observation_end: Any = None) -> MetricResult:
    """Share of journeys with a known outcome that reach a purchase, with a Wilson interval.

    Journeys are those of :func:`journey_table`.  The one conversion definition of the workbook
    (:func:`cxlib.journey.sessions.conversion_counts`): journeys still open at the end of observation
    (no purchase, last event within ``gap`` of it) are neither conversions nor failures and are
    left out of ``n``; counting them as failures would bias the rate down at the end of a period.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...     "touchpoint": ["cart", "purchase", "homepage", "homepage"],
    ...     "timestamp": pd.to_datetime(["2025-10-01 10:00", "2025-10-01 10:05", "2025-10-01 09:00",
    ...                                  "2025-10-01 10:04"])})
    >>> r = conversion_rate(ev)  # c's journey is still open at 10:05: left out
    >>> r.estimate, r.n
    (0.5, 2)
    """
    return _journey_share(events, metric="conversion_rate", numerator=lambda j: j["converted"], base=_known,
                          segment=segment, alpha=alpha, journey_col=journey_col, gap=gap,
                          observation_end=observation_end,
                          text="converted journeys / journeys with a known outcome (journeys open at the end "
                               "censored)")


@metric_split
def bounce_rate(events: pd.DataFrame, *, segment: Segment = None, alpha: float = 0.05,
                journey_col: str | None = "journey_id", gap: str = DEFAULT_GAP,
                observation_end: Any = None) -> MetricResult:
    """Share of journeys with a single touchpoint (the visitor left after one step).

    Over every journey of :func:`journey_table` (a purchase ends a journey, so a lone purchase is a
    one-step journey too).

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "touchpoint": ["cart", "purchase", "homepage"],
    ...     "timestamp": pd.to_datetime(["2025-10-01 10:00", "2025-10-01 10:05", "2025-10-01 11:00"])})
    >>> bounce_rate(ev).estimate
    0.5
    """
    return _journey_share(events, metric="bounce_rate", numerator=lambda j: j["events"] == 1, base=None,
                          segment=segment, alpha=alpha, journey_col=journey_col, gap=gap,
                          observation_end=observation_end, text="single-touchpoint journeys / journeys")


@metric_split
def cart_abandonment_rate(events: pd.DataFrame, *, segment: Segment = None, alpha: float = 0.05,
                          journey_col: str | None = "journey_id", gap: str = DEFAULT_GAP,
                          observation_end: Any = None) -> MetricResult:
    """Share of journeys reaching the cart that do not purchase after it.

    One minus the conversion rate of the cart journeys, with the same definition: cart journeys
    still open at the end of observation are left out.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "touchpoint": ["cart", "purchase", "cart", "cart"],
    ...     "timestamp": pd.to_datetime(["2025-10-01 10:00", "2025-10-01 10:05", "2025-10-01 09:00",
    ...                                  "2025-10-01 10:04"])})
    >>> r = cart_abandonment_rate(ev)  # c's cart journey is still open at 10:05: left out
    >>> r.estimate, r.n
    (0.5, 2)
    """
    return _journey_share(events, metric="cart_abandonment_rate", numerator=lambda j: ~j["converted_after_cart"],
                          base=lambda j: j["reached_cart"] & _known(j), segment=segment, alpha=alpha,
                          journey_col=journey_col, gap=gap, observation_end=observation_end,
                          text="cart journeys without a later purchase / cart journeys with a known outcome "
                               "(journeys open at the end censored)")
