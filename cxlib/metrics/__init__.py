"""CX metrics with honest uncertainty: every estimate travels with its n, interval and method.

One question, one module:

- :mod:`~cxlib.metrics.survey`: NPS (adjusted Wald, Rocks 2016), CSAT (top-2-box, Wilson), CES (mean, t)
  and score distributions;
- :mod:`~cxlib.metrics.customers`: churn and retention (from counts or subscriptions), repeat purchase and
  acquisition rates;
- :mod:`~cxlib.metrics.support`: resolution and first-response times, SLA share, backlog, hold and handle times;
- :mod:`~cxlib.metrics.journeys`: conversion, bounce and cart-abandonment rates;
- :mod:`~cxlib.metrics._core`: the :class:`MetricResult` schema; the interval formulas re-exported here
  (:func:`wilson_interval`, :func:`nps_interval`, ...) live in the statistics kernel, :mod:`cxlib.stats`.

Every metric returns one :class:`MetricResult`; :func:`by_segment` (``by_segment(nps, data,
segment="loyalty_tier")``) returns a frame with the columns of :data:`METRIC_COLUMNS`, one row per segment,
indexed by the segment column(s), ``segment`` holding the label.  (``nps(data, by=...)`` and
``nps(data, segment=...)`` still return that frame for one release, with a DeprecationWarning.)
"""
from __future__ import annotations

from ..periods import in_period, period_bounds, period_labels  # re-exported; their home is cxlib.periods
from ..stats import (  # re-exported; their home is cxlib.stats
                    NPS_PSEUDO_COUNT,
                    by_segment,
                    median_interval,
                    nps_interval,
                    t_interval_mean,
                    wilson_interval,
)
from ._core import DISTRIBUTION_COLUMNS, METRIC_COLUMNS, MetricResult
from .customers import (
                    acquisition_rate,
                    churn_from_counts,
                    churn_rate,
                    repeat_purchase_rate,
                    retention_from_counts,
                    retention_rate,
                    subscription_status,
)
from .journeys import DEFAULT_GAP, bounce_rate, cart_abandonment_rate, conversion_rate, journey_table
from .support import (
                    backlog,
                    durations,
                    first_response_time,
                    handle_time,
                    hold_time,
                    resolution_time,
                    resolved_within,
                    sla_share,
)
from .survey import ces, csat, mean_score, nps, nps_counts, recode_nps, score_distribution

__all__ = ["DEFAULT_GAP", 
    "METRIC_COLUMNS", "DISTRIBUTION_COLUMNS", "NPS_PSEUDO_COUNT", "MetricResult", "by_segment",
    "wilson_interval", "nps_interval", "t_interval_mean", "median_interval", "period_bounds", "period_labels",
    "in_period",
    "nps", "csat", "ces", "mean_score", "score_distribution", "nps_counts", "recode_nps",
    "churn_rate", "retention_rate", "churn_from_counts", "retention_from_counts", "subscription_status",
    "repeat_purchase_rate", "acquisition_rate",
    "resolution_time", "resolved_within",
    "first_response_time", "sla_share", "backlog", "hold_time", "handle_time", "durations",
    "conversion_rate", "bounce_rate", "cart_abandonment_rate", "journey_table",
]
