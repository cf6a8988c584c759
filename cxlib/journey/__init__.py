"""Customer journey analysis over the ``events`` table, as DuckDB SQL.

One module per question:

* :mod:`~cxlib.journey.sessions` -- cut events into journeys (:func:`journeyize`, :func:`from_paths`);
* :mod:`~cxlib.journey.sql` -- the fused journey SQL (run on a :class:`cxlib.engine.DuckDBBackend`);
* :mod:`~cxlib.journey.scale` -- the scale path: journeys and their counts on DuckDB or Spark;
* :mod:`~cxlib.journey.paths` -- frequent paths and path lengths;
* :mod:`~cxlib.journey.funnel` -- ordered funnels with intervals and a two-segment test;
* :mod:`~cxlib.journey.transitions` -- transition matrix and directly-follows graph;
* :mod:`~cxlib.journey.attribution` -- exact Markov removal effects, heuristics, bootstrap intervals;
* :mod:`~cxlib.journey.timing` -- time between touchpoints and time to convert (cumulative incidence,
  abandonment competing);
* :mod:`~cxlib.journey.failpoints` -- touchpoints after which journeys fail;
* :mod:`~cxlib.journey.bysegment` -- any of these per segment: :func:`by_segment` (``segment=``, ``segments=``);
  :func:`funnel` and :func:`path_lengths` take ``segment=`` themselves.

Cutting events into journeys is lazy: each aggregation runs one DuckDB query that cuts and
aggregates in the same window pass (SQL built in :mod:`~cxlib.journey.sql`); tables are written
only when a caller asks for them.

Importing the package has no side effects.
"""
from __future__ import annotations

from .attribution import Attribution, attribute, removal_effects
from .bysegment import BySegment, by_segment, segment_journeys
from .failpoints import FailPoints, fail_points
from .funnel import Funnel, FunnelComparison, compare_funnels, funnel
from .paths import PathTable, path_lengths, top_paths
from .sessions import Journeys, from_paths, journeyize
from .timing import TimeToConvert, aalen_johansen, time_between, time_to_convert
from .transitions import DirectlyFollows, TransitionMatrix, directly_follows, transition_matrix

__all__ = ["Journeys", "journeyize", "from_paths", "PathTable", "top_paths", "path_lengths", "Funnel", "funnel",
           "FunnelComparison", "compare_funnels", "TransitionMatrix", "transition_matrix", "DirectlyFollows",
           "directly_follows", "Attribution", "attribute", "removal_effects", "TimeToConvert", "time_between",
           "time_to_convert", "aalen_johansen", "FailPoints", "fail_points", "BySegment", "by_segment",
           "segment_journeys"]
