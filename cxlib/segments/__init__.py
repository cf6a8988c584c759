"""Customer segments: who the customers are.

One question, one module:

- :mod:`~cxlib.segments.features`: the customer feature table (RFM, engagement, latest CX scores,
  tickets) built with DuckDB SQL (:func:`customer_features`);
- :mod:`~cxlib.segments.rules`: rule-based segments from customer attributes (:func:`rule_segments`,
  :func:`attribute_segments`) and the conventional named RFM segments (:func:`rfm_segments`);
- :mod:`~cxlib.segments.clusters`: data-driven behavioural segments (:class:`BehaviouralSegments`), their
  stability across seeds and bootstrap resamples (:func:`stability`) and plain-language profiles with
  effect sizes (:func:`profile_segments`, :func:`describe_segments`).

Segment labels are ordinary columns: join them to ``customers`` (or attach them to survey responses with
:func:`cxlib.actions.attach_segments`) and pass the column as ``segment=`` to the scorecard, journey funnels,
survival curves, CLV models and alerts (``group=`` to the two-group tests; :func:`cxlib.significance.scorecard`
joins it from ``customers`` itself), split a metric with ``by_segment(nps, data, segment=...)``, or pass the
labels as ``segments=`` (a DataFrame with ``customer_id`` and the label columns) to the journeys, alerts and
CRM action lists (``tests/test_segments_flow.py``).
"""
from __future__ import annotations

from .clusters import (
                    CLUSTER_FEATURES,
                    LOG_FEATURES,
                    PROFILE_COLUMNS,
                    SELECTION_COLUMNS,
                    STABILITY_COLUMNS,
                    BehaviouralSegments,
                    StabilityResult,
                    describe_segments,
                    profile_segments,
                    stability,
                    standardize,
)
from .features import ATTRIBUTE_COLUMNS, FEATURE_COLUMNS, customer_features
from .rules import (
                    NO_PURCHASE,
                    RFM_COLUMNS,
                    RFM_SEGMENT_RULES,
                    RFM_SEGMENTS,
                    attribute_segments,
                    rfm_scores,
                    rfm_segments,
                    rule_segments,
)

__all__ = [
    "FEATURE_COLUMNS", "ATTRIBUTE_COLUMNS", "customer_features",
    "RFM_SEGMENTS", "RFM_SEGMENT_RULES", "RFM_COLUMNS", "NO_PURCHASE", "rfm_scores", "rfm_segments",
    "rule_segments", "attribute_segments",
    "CLUSTER_FEATURES", "LOG_FEATURES", "SELECTION_COLUMNS", "STABILITY_COLUMNS", "PROFILE_COLUMNS",
    "BehaviouralSegments", "StabilityResult", "stability", "profile_segments", "describe_segments", "standardize",
]
