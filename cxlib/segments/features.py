"""The customer feature table: one row per customer, built with DuckDB SQL from the contract tables.

Recency, frequency and monetary value come from ``transactions``; engagement from ``events``
(journey touchpoints); the latest NPS, CSAT and CES from ``survey_responses``; support load from
``tickets``.  Only what happened on or before the observation end is used, so the table describes
customers as they were known on that day (no look-ahead).
"""
from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ..engine.backends import duckdb_backend
from ..errors import DataContractError, ParameterError

__all__ = ["FEATURE_COLUMNS", "ATTRIBUTE_COLUMNS", "customer_features"]

#: Customer attributes carried into the feature table (rule-based segments and profiles).
ATTRIBUTE_COLUMNS = ("region", "age_band", "loyalty_tier", "acquisition_channel")

#: Columns of :func:`customer_features` (after the ``customer_id`` index), in this order.
FEATURE_COLUMNS = ("tenure_days", "recency_days", "frequency", "purchases_per_month", "monetary", "total_spend",
                   "returned_share",
                   "events", "active_days", "journeys", "journeys_per_month", "latest_nps", "latest_csat", "latest_ces", "responses",
                   "tickets", "complaints", "open_tickets", *ATTRIBUTE_COLUMNS)

_SQL = """
WITH c AS (
    SELECT customer_id, signup_date, region, age_band, loyalty_tier, acquisition_channel
    FROM customers WHERE signup_date <= $end
), t AS (
    SELECT customer_id, max(timestamp) AS last_purchase, count(*) AS frequency, avg(amount) AS monetary,
           sum(amount) AS total_spend, sum(returned_items)::DOUBLE / sum(items) AS returned_share
    FROM transactions WHERE timestamp < $stop GROUP BY customer_id
), e AS (
    SELECT customer_id, count(*) AS events, count(DISTINCT CAST(timestamp AS DATE)) AS active_days,
           {journeys} AS journeys
    FROM events WHERE timestamp < $stop AND timestamp >= $since GROUP BY customer_id
), s AS (
    SELECT customer_id, count(*) AS responses,
           arg_max(nps, responded_at) FILTER (WHERE nps IS NOT NULL) AS latest_nps,
           arg_max(csat, responded_at) FILTER (WHERE csat IS NOT NULL) AS latest_csat,
           arg_max(ces, responded_at) FILTER (WHERE ces IS NOT NULL) AS latest_ces
    FROM survey_responses WHERE responded_at < $stop GROUP BY customer_id
), k AS (
    SELECT customer_id, count(*) AS tickets, count(*) FILTER (WHERE ticket_type = 'complaint') AS complaints,
           count(*) FILTER (WHERE resolved_at IS NULL OR resolved_at >= $stop) AS open_tickets
    FROM tickets WHERE opened_at < $stop GROUP BY customer_id
)
SELECT c.customer_id,
       date_diff('day', c.signup_date, $end)::DOUBLE AS tenure_days,
       date_diff('second', t.last_purchase, $stop) / 86400.0 AS recency_days,
       coalesce(t.frequency, 0)::DOUBLE AS frequency,
       coalesce(t.frequency, 0) / greatest(date_diff('day', c.signup_date, $end) + 1, 7) * 30.4375 AS purchases_per_month,
       t.monetary, coalesce(t.total_spend, 0)::DOUBLE AS total_spend,
       t.returned_share,
       coalesce(e.events, 0)::DOUBLE AS events, coalesce(e.active_days, 0)::DOUBLE AS active_days,
       coalesce(e.journeys, 0)::DOUBLE AS journeys,
       coalesce(e.journeys, 0) / least(greatest(date_diff('day', c.signup_date, $end) + 1, 7), $window) * 30.4375
           AS journeys_per_month,
       s.latest_nps::DOUBLE AS latest_nps, s.latest_csat::DOUBLE AS latest_csat, s.latest_ces::DOUBLE AS latest_ces,
       coalesce(s.responses, 0)::DOUBLE AS responses,
       coalesce(k.tickets, 0)::DOUBLE AS tickets, coalesce(k.complaints, 0)::DOUBLE AS complaints,
       coalesce(k.open_tickets, 0)::DOUBLE AS open_tickets,
       c.region, c.age_band, c.loyalty_tier, c.acquisition_channel
FROM c LEFT JOIN t USING (customer_id) LEFT JOIN e USING (customer_id) LEFT JOIN s USING (customer_id)
     LEFT JOIN k USING (customer_id)
ORDER BY c.customer_id
"""

_NEEDED = {"customers": ("customer_id", "signup_date", *ATTRIBUTE_COLUMNS),
           "transactions": ("customer_id", "timestamp", "amount", "items", "returned_items"),
           "events": ("customer_id", "timestamp"),
           "survey_responses": ("customer_id", "responded_at", "nps", "csat", "ces"),
           "tickets": ("customer_id", "opened_at", "resolved_at", "ticket_type")}


def _check_views(con: duckdb.DuckDBPyConnection) -> bool:
    """Raise if a needed table or column is missing; return whether ``events`` has ``journey_id``."""
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    has_journey = False
    for table, cols in _NEEDED.items():
        if table not in present:
            raise DataContractError(f"The feature table needs table {table!r}; found {sorted(present)}.",
                                    table=table, rule="table present")
        found = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        missing = [c for c in cols if c not in found]
        if missing:
            raise DataContractError(f"Table {table!r} lacks column(s) {missing}; found {sorted(found)}.",
                                    table=table, column=missing[0], rule="column present")
        if table == "events":
            has_journey = "journey_id" in found
    return has_journey


def customer_features(data: Any, *, observation_end: Any, engagement_days: float = 365.0) -> pd.DataFrame:
    """One row of behavioural, engagement and CX features per customer known at ``observation_end``.

    Parameters
    ----------
    data : Dataset, duckdb connection, DuckDBBackend or mapping of table name to DataFrame
        Needs ``customers``, ``transactions``, ``events``, ``survey_responses`` and ``tickets``
        (:mod:`cxlib.schema`).  A :class:`~cxlib.data.Dataset` is queried through its
        :meth:`~cxlib.data.Dataset.connection`, so the aggregation runs in DuckDB on the files.
    observation_end : date-like
        Last day observed (inclusive): records up to the end of that day count; customers who
        signed up later are left out.
    engagement_days : float, default 365
        Window of the engagement features (``events``, ``active_days``, ``journeys``): the last year,
        so that old and new customers are compared on the same footing.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (sorted), columns :data:`FEATURE_COLUMNS`:

        - ``tenure_days``: days from sign-up to the observation end;
        - ``recency_days``: days from the last purchase to the end of the observation day (NaN: never bought);
        - ``frequency``: purchases (baskets) up to the end; ``purchases_per_month``: frequency per mean
          month (30.44 days) of tenure (at least a week counted); ``monetary``: mean basket value (EUR, NaN if
          none); ``total_spend``: their sum; ``returned_share``: items returned / items bought;
        - ``events``, ``active_days``, ``journeys``: touchpoints, distinct days with a touchpoint and
          distinct journeys (``journey_id``; days when the column is absent) in the engagement window;
          ``journeys_per_month``: those journeys per mean month of the part of the window the customer was
          known (``min(tenure, engagement_days)``, at least a week), so new and old customers compare;
        - ``latest_nps``, ``latest_csat``, ``latest_ces``: the customer's most recent answer (NaN: none);
          ``responses``: surveys answered;
        - ``tickets``, ``complaints``: tickets opened; ``open_tickets``: not resolved by the end;
        - the customer attributes :data:`ATTRIBUTE_COLUMNS`.

    Raises
    ------
    DataContractError
        A needed table or column is missing.

    Examples
    --------
    >>> ts = pd.Timestamp
    >>> tables = {
    ...   "customers": pd.DataFrame({"customer_id": ["C1", "C2"], "signup_date": [ts("2025-01-01")] * 2,
    ...       "region": ["North", "South"], "age_band": ["25-34"] * 2, "loyalty_tier": ["gold", "bronze"],
    ...       "acquisition_channel": ["web"] * 2}),
    ...   "transactions": pd.DataFrame({"customer_id": ["C1", "C1"], "timestamp": [ts("2025-03-01"), ts("2025-03-11")],
    ...       "amount": [10.0, 30.0], "items": [1, 2], "returned_items": [0, 1]}),
    ...   "events": pd.DataFrame({"customer_id": ["C2"], "timestamp": [ts("2025-03-05 10:00")]}),
    ...   "survey_responses": pd.DataFrame({"customer_id": ["C1", "C1"], "responded_at": [ts("2025-02-01"),
    ...       ts("2025-03-01")], "nps": [3, 9], "csat": [2, None], "ces": [None, None]}),
    ...   "tickets": pd.DataFrame({"customer_id": ["C2"], "opened_at": [ts("2025-03-02")], "resolved_at": [pd.NaT],
    ...       "ticket_type": ["complaint"]})}
    >>> f = customer_features(tables, observation_end="2025-03-31")
    >>> f.loc["C1", ["recency_days", "frequency", "monetary", "latest_nps", "latest_csat"]].astype(float).tolist()
    [21.0, 2.0, 20.0, 9.0, 2.0]
    >>> f.loc["C2", ["frequency", "events", "open_tickets"]].astype(float).tolist()
    [0.0, 1.0, 1.0]
    """
    end = pd.Timestamp(observation_end).normalize()
    if not engagement_days > 0:
        raise ParameterError(f"engagement_days={engagement_days!r} must be positive.")
    stop = end + pd.Timedelta(days=1)
    since = stop - pd.Timedelta(days=float(engagement_days))
    backend = duckdb_backend(data)
    if backend.con is None:
        raise ParameterError("customer_features needs named tables (a Dataset, a DuckDB connection or a mapping of "
                             "tables), not a single relation.")
    con = backend.con
    journeys = "count(DISTINCT journey_id)" if _check_views(con) else "count(DISTINCT CAST(timestamp AS DATE))"
    out = con.execute(_SQL.format(journeys=journeys),
                      {"end": end.to_pydatetime(), "stop": stop.to_pydatetime(),
                       "since": since.to_pydatetime(), "window": float(engagement_days)}).df()
    out = out.set_index("customer_id")
    numeric = [c for c in FEATURE_COLUMNS if c not in ATTRIBUTE_COLUMNS]
    out[numeric] = out[numeric].astype(float).replace({np.inf: np.nan})
    out.attrs.update(observation_end=end, engagement_days=float(engagement_days))
    return out[list(FEATURE_COLUMNS)]
