"""Journey metrics from touchpoint events: conversion, bounce and cart-abandonment rates."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataContractError, ParameterError
from ._core import MetricResult, apply_grouped, check_alpha, normalise_by
from .customers import proportion_result

#: Inactivity gap that closes a journey when the events carry no journey identifier
#: (the 30-minute session timeout of web analytics).
DEFAULT_GAP = "30min"


def journey_table(events: pd.DataFrame, *, journey_col: str | None = "journey_id", gap: str = DEFAULT_GAP,
                  conversion: str = "purchase", cart: str = "cart",
                  by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """One row per journey: number of events, whether it converted, reached the cart, converted after it.

    Parameters
    ----------
    events : DataFrame
        ``customer_id``, ``timestamp``, ``touchpoint`` (and ``journey_col`` if the source has one).
    journey_col : str or None
        Explicit journey identifier; when absent from ``events`` (or None) journeys are rebuilt
        per customer, a new one starting after an inactivity ``gap``.
    gap : str
        Pandas timedelta string (default ``"30min"``).
    conversion, cart : str
        Touchpoints marking the conversion and the cart.
    by : str or list of str, optional
        Columns to keep (taken from the journey's first event).

    Returns
    -------
    DataFrame
        ``journey``, the ``by`` columns, ``events``, ``converted``, ``reached_cart``,
        ``converted_after_cart``.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "timestamp": pd.to_datetime(["2025-10-01 10:00", "2025-10-01 10:05", "2025-10-02 09:00",
    ...                                  "2025-10-01 11:00"]),
    ...     "touchpoint": ["cart", "purchase", "homepage", "homepage"]})
    >>> journey_table(ev)[["events", "converted", "converted_after_cart"]].values.tolist()
    [[2, True, True], [1, False, False], [1, False, False]]
    """
    keys = normalise_by(by)
    needed = ["customer_id", "timestamp", "touchpoint", *keys]
    missing = [c for c in needed if c not in events.columns]
    if missing:
        raise DataContractError(f"events need columns {needed}; missing {missing}.", table="events",
                                column=missing[0], rule="column present")
    try:
        gap_td = pd.Timedelta(gap)
    except ValueError as exc:
        raise ParameterError(f"gap={gap!r} is not a time span; use e.g. '30min' or '1D'.") from exc
    ev = events.sort_values(["customer_id", "timestamp"], kind="stable")
    if journey_col and journey_col in ev.columns and ev[journey_col].notna().all():
        # group on integer codes (hashing the id strings once), report the ids
        journey, ids = pd.factorize(ev[journey_col].astype(str), sort=False)
    else:
        t = pd.to_datetime(ev["timestamp"])
        new = (ev["customer_id"] != ev["customer_id"].shift()) | (t.diff() > gap_td)
        journey, ids = new.cumsum().to_numpy(), None
    is_conv = (ev["touchpoint"] == conversion).to_numpy()
    is_cart = (ev["touchpoint"] == cart).to_numpy()
    frame = pd.DataFrame({"journey": journey, "order": np.arange(len(ev)), "conv": is_conv, "cart": is_cart})
    for k in keys:
        frame[k] = ev[k].to_numpy()
    first_cart = frame[frame["cart"]].groupby("journey")["order"].min()
    last_conv = frame[frame["conv"]].groupby("journey")["order"].max()
    grouped = frame.groupby("journey", sort=False)
    out = pd.DataFrame({"events": grouped.size(), "converted": grouped["conv"].any(),
                        "reached_cart": grouped["cart"].any()})
    for k in keys:
        out[k] = grouped[k].first()
    after = last_conv.reindex(out.index) >= first_cart.reindex(out.index)
    out["converted_after_cart"] = after.fillna(False).astype(bool)
    if ids is not None:
        out.index = pd.Index(np.asarray(ids, dtype=object)[out.index.to_numpy()], name="journey")
    return out.reset_index()[["journey", *keys, "events", "converted", "reached_cart", "converted_after_cart"]]


def _journey_share(events: pd.DataFrame, *, metric: str, numerator: Callable[[pd.DataFrame], pd.Series],
                   base: str | None, by: Any,
                   alpha: float, journey_col: str | None, gap: str, text: str) -> MetricResult | pd.DataFrame:
    check_alpha(alpha)
    table = journey_table(events, journey_col=journey_col, gap=gap, by=by)

    def one(sub: pd.DataFrame, label: str) -> MetricResult:
        if base is not None:
            sub = sub[sub[base]]
        x = int(numerator(sub).sum())
        return proportion_result(metric, label, x, len(sub), alpha=alpha, method=f"{text}; Wilson interval")

    return apply_grouped(table, by, one)


def conversion_rate(events: pd.DataFrame, *, by: str | Sequence[str] | None = None, alpha: float = 0.05,
                    journey_col: str | None = "journey_id", gap: str = DEFAULT_GAP) -> MetricResult | pd.DataFrame:
    """Share of journeys that reach a purchase, with a Wilson interval.

    Journeys are those of :func:`journey_table` (explicit ``journey_id`` or sessions split by
    an inactivity ``gap``).

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "touchpoint": ["cart", "purchase", "homepage"],
    ...     "timestamp": pd.to_datetime(["2025-10-01 10:00", "2025-10-01 10:05", "2025-10-01 11:00"])})
    >>> conversion_rate(ev).estimate
    0.5
    """
    return _journey_share(events, metric="conversion_rate", numerator=lambda j: j["converted"], base=None, by=by,
                          alpha=alpha,
                          journey_col=journey_col, gap=gap, text="journeys with a purchase / journeys")


def bounce_rate(events: pd.DataFrame, *, by: str | Sequence[str] | None = None, alpha: float = 0.05,
                journey_col: str | None = "journey_id", gap: str = DEFAULT_GAP) -> MetricResult | pd.DataFrame:
    """Share of journeys with a single touchpoint (the visitor left after one step).

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "touchpoint": ["cart", "purchase", "homepage"],
    ...     "timestamp": pd.to_datetime(["2025-10-01 10:00", "2025-10-01 10:05", "2025-10-01 11:00"])})
    >>> bounce_rate(ev).estimate
    0.5
    """
    return _journey_share(events, metric="bounce_rate", numerator=lambda j: j["events"] == 1, base=None, by=by,
                          alpha=alpha,
                          journey_col=journey_col, gap=gap, text="single-touchpoint journeys / journeys")


def cart_abandonment_rate(events: pd.DataFrame, *, by: str | Sequence[str] | None = None, alpha: float = 0.05,
                          journey_col: str | None = "journey_id",
                          gap: str = DEFAULT_GAP) -> MetricResult | pd.DataFrame:
    """Share of journeys reaching the cart that do not purchase after it.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "touchpoint": ["cart", "purchase", "cart"],
    ...     "timestamp": pd.to_datetime(["2025-10-01 10:00", "2025-10-01 10:05", "2025-10-01 11:00"])})
    >>> cart_abandonment_rate(ev).estimate
    0.5
    """
    return _journey_share(events, metric="cart_abandonment_rate", numerator=lambda j: ~j["converted_after_cart"],
                          base="reached_cart", by=by, alpha=alpha, journey_col=journey_col, gap=gap,
                          text="cart journeys without a later purchase / journeys reaching the cart")
